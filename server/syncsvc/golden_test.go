package syncsvc_test

import (
	"testing"

	"github.com/yingji/yingji/syncproto"
)

// TestGolden runs syncproto's golden merge cases: the server decides conflicts with the very
// function (syncproto.Merge) and the very cases the SDK runs.
func TestGolden(t *testing.T) {
	cases, err := syncproto.LoadGolden("../../syncproto/testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

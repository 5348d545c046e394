package knowledge_test

import (
	"testing"

	"github.com/yingji/yingji/server/knowledge"
)

// Every seed entry is valid, and the MSDS sheets carry the CAS and UN numbers of the demo
// city's chemicals.
func TestSeed(t *testing.T) {
	want := map[string][2]string{"液氯": {"7782-50-5", "1017"}, "液氨": {"7664-41-7", "1005"}, "甲醇": {"67-56-1", "1230"},
		"汽油": {"86290-81-5", "1203"}, "液化石油气": {"68476-85-7", "1075"}}
	for _, e := range knowledge.Seed() {
		e.Normalize()
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", e.Title, err)
		}
		if e.Kind == knowledge.KindMSDS {
			w, ok := want[e.Title]
			if !ok || e.CAS != w[0] || e.UN != w[1] {
				t.Errorf("%s: CAS %s UN %s", e.Title, e.CAS, e.UN)
			}
			delete(want, e.Title)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing MSDS: %v", want)
	}
}

func TestValidCAS(t *testing.T) {
	for s, ok := range map[string]bool{"7782-50-5": true, "7664-41-7": true, "67-56-1": true, "86290-81-5": true, "68476-85-7": true,
		"7782-50-4": false, "7782505": false, "": false} {
		if knowledge.ValidCAS(s) != ok {
			t.Errorf("ValidCAS(%q) = %v", s, !ok)
		}
	}
}

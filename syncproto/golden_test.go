package syncproto_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

var update = flag.Bool("update", false, "rewrite the want blocks of testdata/golden from the current Merge (then review the diff by hand)")

const goldenDir = "testdata/golden"

func TestGolden(t *testing.T) {
	cases, err := syncproto.LoadGolden(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	if *update {
		rewriteGolden(t, cases)
		return
	}
	for _, c := range cases {
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			if err := c.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestGoldenCoverage keeps the golden files covering every rule, operation and code.
func TestGoldenCoverage(t *testing.T) {
	cases, err := syncproto.LoadGolden(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen["op:"+c.Mutation.Op] = true
		seen["code:"+c.Want.Code] = true
		if c.Want.Merged {
			seen["merged"] = true
		}
		for name := range c.Mutation.Fields {
			if f, ok := c.Spec.Field(name); ok {
				seen["rule:"+string(f.Rule)] = true
			}
		}
	}
	for _, k := range []string{
		"op:create", "op:update", "op:delete", "merged", "code:",
		"rule:lww", "rule:state", "rule:set", "rule:immutable", "rule:server",
		"code:" + syncproto.CodeUnknownField, "code:" + syncproto.CodeBadValue, "code:" + syncproto.CodeServerOwned,
		"code:" + syncproto.CodeImmutable, "code:" + syncproto.CodeMissingField, "code:" + syncproto.CodeBadTransition,
		"code:" + syncproto.CodeReadOnly, "code:" + syncproto.CodeAppendOnly, "code:" + syncproto.CodeExists,
		"code:" + syncproto.CodeNotFound, "code:" + syncproto.CodeDeleted, "code:" + syncproto.CodeDeleteConflict,
		"code:" + syncproto.CodeBadOp, "code:" + syncproto.CodeBadHLC, "code:" + syncproto.CodeNotDeletable,
	} {
		if !seen[k] {
			t.Errorf("no golden case for %s", k)
		}
	}
}

func TestLoadGoldenErrors(t *testing.T) {
	if _, err := syncproto.LoadGolden(t.TempDir()); err == nil {
		t.Error("an empty directory loaded")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`[{"name":"x","spek":{}}]`), 0o644)
	if _, err := syncproto.LoadGolden(dir); err == nil {
		t.Error("an unknown key loaded")
	}
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`[{"name":"x","spec":{"name":"c"}},{"name":"x","spec":{"name":"c"}}]`), 0o644)
	if _, err := syncproto.LoadGolden(dir); err == nil {
		t.Error("a repeated name loaded")
	}
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`[{"name":"x","spec":{"name":"c","fields":[{"name":"s","type":"string","rule":"state"}]}}]`), 0o644)
	if _, err := syncproto.LoadGolden(dir); err == nil {
		t.Error("a state field without a machine loaded")
	}
	// A wrong want is reported by Check.
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`[{"name":"x","spec":{"name":"c"},"state":{"exists":false},
		"mutation":{"op":"update","hlc":"0000000000000001-00000-n"},"want":{"state":{"exists":false},"code":""}}]`), 0o644)
	cases, err := syncproto.LoadGolden(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cases[0].Check(); err == nil {
		t.Error("Check accepted a wrong code")
	}
}

func rewriteGolden(t *testing.T, cases []syncproto.GoldenCase) {
	byFile := map[string][]syncproto.GoldenCase{}
	var order []string
	for _, c := range cases {
		if _, ok := byFile[c.File]; !ok {
			order = append(order, c.File)
		}
		c.Want = c.Run()
		byFile[c.File] = append(byFile[c.File], c)
	}
	for _, file := range order {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		if err := e.Encode(byFile[file]); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, file), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("rewrote %d golden files: review the diff", len(order))
}

package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yingji/yingji/mobile-sdk/internal/fakeserver"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "yingji-field-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "yingji-field")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code   int
	out    any
	stdout string
	stderr string
}

// field runs the binary with -o json on db.
func field(t *testing.T, db string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-db", db, "-o", "json"}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(r.stdout) != "" {
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		if err := dec.Decode(&r.out); err != nil || dec.More() {
			t.Fatalf("stdout is not exactly one JSON value: %q", r.stdout)
		}
	}
	return r
}

var chinese = regexp.MustCompile(`\p{Han}`)

func expectErr(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "错误 ") || !chinese.MatchString(r.stderr) || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("stderr = %q", r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout on error: %q", r.stdout)
	}
}

func TestOffline(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	r := field(t, db, "create", "hazards", "-json", `{"title":"合同检查","description":"d","level":2}`)
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	id, _ := r.out.(map[string]any)["id"].(string)
	if id == "" {
		t.Fatalf("create printed %v", r.out)
	}
	r = field(t, db, "get", "hazards", id)
	rec, _ := r.out.(map[string]any)
	if r.code != 0 || rec["_state"] != "pending" || rec["title"] != "合同检查" || rec["_seq"] != 0.0 || rec["id"] != id {
		t.Fatalf("get: %+v", r)
	}
	if r := field(t, db, "update", "hazards", id, "-json", `{"description":"离线修改"}`); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	r = field(t, db, "list", "hazards", "-where", "description=离线修改", "-where", "level=2")
	if l, _ := r.out.([]any); r.code != 0 || len(l) != 1 {
		t.Fatalf("list: %+v", r)
	}
	r = field(t, db, "list", "hazards", "-where", "description=d")
	if l, ok := r.out.([]any); r.code != 0 || !ok || len(l) != 0 {
		t.Fatalf("list (no match) must print []: %+v", r)
	}
	r = field(t, db, "pending")
	l, _ := r.out.([]any)
	if r.code != 0 || len(l) != 2 {
		t.Fatalf("pending: %+v", r)
	}
	for _, k := range []string{"mutation_id", "collection", "id", "op", "fields", "created_at"} {
		if _, ok := l[0].(map[string]any)[k]; !ok {
			t.Fatalf("pending entry lacks %s: %v", k, l[0])
		}
	}
	r = field(t, db, "status")
	st, _ := r.out.(map[string]any)
	for _, k := range []string{"server", "user", "device_id", "last_sync", "pending", "rejected", "media_pending", "scopes"} {
		if _, ok := st[k]; !ok {
			t.Fatalf("status lacks %s: %v", k, st)
		}
	}
	if st["pending"] != 2.0 {
		t.Fatalf("status: %v", st)
	}
	if r := field(t, db, "rejected"); r.code != 0 || r.stdout == "" {
		t.Fatalf("rejected: %+v", r)
	}
	if r := field(t, db, "delete", "hazards", id); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	r = field(t, db, "get", "hazards", id)
	if rec, _ := r.out.(map[string]any); rec["_deleted"] != true {
		t.Fatalf("get deleted: %+v", r)
	}

	t.Run("ErrCodes", func(t *testing.T) {
		expectErr(t, field(t, db, "get", "hazards", "00000000-0000-7000-8000-000000000000"), 4)
		expectErr(t, field(t, db, "update", "hazards", "00000000-0000-7000-8000-000000000000", "-json", `{"title":"x"}`), 4)
		expectErr(t, field(t, db, "create", "hazards", "-json", "{not json"), 2)
		expectErr(t, field(t, db, "create", "hazards", "-json", `{"id":"nope","title":"x"}`), 2)
		expectErr(t, field(t, db, "attach", "hazards", id, "photos", "x.jpg"), 2)
		expectErr(t, field(t, db, "sync"), 5)
		expectErr(t, field(t, db, "frobnicate"), 1)
		expectErr(t, field(t, db, "get", "hazards"), 1)
		expectErr(t, field(t, db, "list", "hazards", "-bogus", "x"), 1)
		expectErr(t, field(t, db, "login", "-server", "http://127.0.0.1:1", "-user", "u", "-password", "p"), 3)
	})
	t.Run("OKText", func(t *testing.T) {
		field(t, db, "create", "hazards", "-json", `{"title":"文本表格"}`)
		out, err := exec.Command(bin, "-db", db, "list", "hazards").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "编号") || !strings.Contains(string(out), "待同步") {
			t.Fatalf("text list: %s %v", out, err)
		}
	})
}

func TestOnline(t *testing.T) {
	srv := fakeserver.New()
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "a.db")
	expectErr(t, field(t, db, "login", "-server", srv.URL, "-user", "grid01", "-password", "wrong"), 5)
	r := field(t, db, "login", "-server", srv.URL, "-user", "grid01", "-password", fakeserver.Password)
	if m, _ := r.out.(map[string]any); r.code != 0 || m["server"] != srv.URL || m["user"] == nil {
		t.Fatalf("login: %+v", r)
	}
	r = field(t, db, "create", "hazards", "-json", `{"title":"合同检查"}`)
	id := r.out.(map[string]any)["id"].(string)
	r = field(t, db, "sync")
	st, _ := r.out.(map[string]any)
	for _, k := range []string{"pushed", "applied", "merged", "rejected", "pulled", "media_uploaded"} {
		if _, ok := st[k]; !ok {
			t.Fatalf("sync lacks %s: %+v", k, r)
		}
	}
	if r.code != 0 || st["applied"] != 1.0 {
		t.Fatalf("sync: %+v", r)
	}
	r = field(t, db, "get", "hazards", id)
	if rec, _ := r.out.(map[string]any); rec["_state"] != "synced" || rec["_seq"].(float64) <= 0 {
		t.Fatalf("get after sync: %+v", r)
	}
	expectErr(t, field(t, db, "list", "nope"), 2)
	expectErr(t, field(t, db, "list", "hazards", "-where", "colour=red"), 2)
	expectErr(t, field(t, db, "update", "hazards", id, "-json", `{"colour":"red"}`), 2)
	srv.Close()
	field(t, db, "update", "hazards", id, "-json", `{"description":"离线修改"}`)
	expectErr(t, field(t, db, "sync"), 3)
	if r := field(t, db, "pending"); len(r.out.([]any)) != 1 {
		t.Fatalf("pending after failed sync: %+v", r)
	}
}

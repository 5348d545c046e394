package apptest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSourceHash: the cache key of the server build follows what the binary is built from,
// and nothing else (tests, node_modules, data folders, other files).
func TestSourceHash(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hash := func() string {
		t.Helper()
		h, err := sourceHash(root)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("go.mod", "module x\n")
	write("server/main.go", "package main\n")
	write("server/main_test.go", "package main\n")
	write("migrations/sqlite/0001.sql", "CREATE TABLE t (id TEXT);\n")
	write("admin-web/dist/index.html", "<html></html>")
	h0 := hash()
	for _, unrelated := range []string{"server/main_test.go", "admin-web/node_modules/x/x.go", "data/yingji.db", "README.md",
		"admin-web/src/App.vue", ".git/HEAD", "server/testdata/a.go"} {
		write(unrelated, "changed")
		if hash() != h0 {
			t.Errorf("changing %s changed the build key", unrelated)
		}
	}
	for _, source := range []string{"server/main.go", "go.mod", "migrations/sqlite/0001.sql", "admin-web/dist/index.html", "server/new.go"} {
		before := hash()
		write(source, "changed "+source)
		if hash() == before {
			t.Errorf("changing %s kept the build key", source)
		}
	}
}

// TestBinaryCached: the binary is built into the user cache, once, and found again there.
func TestBinaryCached(t *testing.T) {
	bin := Binary(t)
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache dir:", err)
	}
	if rel, err := filepath.Rel(filepath.Join(cache, "yingji", "testbin"), bin); err != nil || filepath.IsAbs(rel) || rel[:2] == ".." {
		t.Errorf("binary %s is not under the user cache", bin)
	}
	if again, err := cachedBuild(); err != nil || again != bin {
		t.Errorf("second build: %s, %v; want the cached %s", again, err, bin)
	}
	if info, err := os.Stat(bin); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("binary %s: %v", bin, err)
	}
}

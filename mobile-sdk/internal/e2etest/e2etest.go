// Package e2etest holds the helpers the end-to-end test packages (mobile-sdk/e2e*) share: the
// yingji-field binary built once per test binary and run with -o json, a phone (an SDK client
// with its SQLite replica, logged in to the real server), and checks of the server's answers.
package e2etest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
)

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
	buildOut  []byte
)

// Main runs the package's tests and removes the yingji-field binary built for them. Use it as
// func TestMain(m *testing.M) { e2etest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// FieldBin builds yingji-field once for the test binary and returns its path.
func FieldBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-field")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "yingji-field")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "github.com/yingji/yingji/mobile-sdk/cmd/yingji-field").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build yingji-field: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// Field runs yingji-field -o json on db and returns its exit code, decoded output and stderr.
func Field(t *testing.T, db string, args ...string) (int, any, string) {
	t.Helper()
	return FieldWith(t, FieldBin(t), db, args...)
}

// FieldWith is Field with the binary bin.
func FieldWith(t *testing.T, bin, db string, args ...string) (int, any, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-db", db, "-o", "json"}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var out any
	if s := strings.TrimSpace(so.String()); s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatalf("%v: stdout is not JSON: %q", args, s)
		}
	}
	return code, out, se.String()
}

// MustField runs a yingji-field command that must succeed and returns its output.
func MustField(t *testing.T, db string, args ...string) any {
	t.Helper()
	code, out, errOut := Field(t, db, args...)
	if code != 0 {
		t.Fatalf("yingji-field %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// Want checks the status of r and decodes its body into v (unless nil).
func Want(t *testing.T, r apptest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		r.JSON(t, v)
	}
}

// Send makes a request to s, checks the status and decodes the answer into out (unless nil).
func Send(t *testing.T, s *apptest.Server, method, path, token string, body any, want int, out any) {
	t.Helper()
	r := s.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		r.JSON(t, out)
	}
}

// Phone opens an SDK client with its own replica (in t's temporary directory) and logs user in
// to the server at url; it is closed when the test ends.
func Phone(t testing.TB, url, user string, opts sdk.Options) *sdk.Client {
	t.Helper()
	ctx := context.Background()
	c, err := sdk.Open(ctx, filepath.Join(t.TempDir(), user+".db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Login(ctx, url, user, apptest.Password); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// Engines runs fn as a sub-benchmark on a fresh server of each engine, SQLite then PostgreSQL.
func Engines(b *testing.B, fn func(b *testing.B, s *apptest.Server)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			if engine == "sqlite" {
				fn(b, apptest.Start(b))
			} else {
				fn(b, apptest.StartPostgres(b))
			}
		})
	}
}

// Raw is v as JSON (a record field); v must marshal.
func Raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Sync syncs c (the phone of name) and fails the test on an error or a rejected change.
func Sync(t *testing.T, c *sdk.Client, name string) sdk.SyncStats {
	t.Helper()
	st, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync %s: %v", name, err)
	}
	if st.Rejected != 0 {
		rj, _ := c.Rejected(context.Background())
		t.Fatalf("sync %s: %d rejected: %+v", name, st.Rejected, rj)
	}
	return st
}

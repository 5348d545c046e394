package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/local"
	"github.com/yingji/yingji/media/mediatest"
)

func MustOpen(tb testing.TB) *local.Store {
	tb.Helper()
	s, err := local.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	var stores []*local.Store
	mediatest.Run(t, func(t *testing.T) media.Store {
		s := MustOpen(t)
		stores = append(stores, s)
		return s
	})
	// Whatever failed, nothing is left in the temporary folder.
	for _, s := range stores {
		if left, _ := os.ReadDir(filepath.Join(s.Dir(), ".tmp")); len(left) > 0 {
			t.Errorf("%s: %d temporary files left, first %s", s.Dir(), len(left), left[0].Name())
		}
	}
}

func TestLayout(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// An original is a plain file at a sharded path, byte for byte, read-only.
		s := MustOpen(t)
		b := mediatest.Bytes(1, 1000)
		sum := mediatest.SHA256(b)
		if _, err := s.Put(context.Background(), media.Original(sum), bytes.NewReader(b), -1, media.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.Dir(), "originals", sum[:2], sum[2:4], sum)
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s: %v, %d bytes", path, err, len(got))
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm()&0o222 != 0 {
			t.Fatalf("%s is writable: %v", path, fi.Mode())
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), "."+sum+".json")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKDerivative", func(t *testing.T) {
		s := MustOpen(t)
		if _, err := s.Put(context.Background(), "thumbs/320/abcdef.jpg", bytes.NewReader([]byte("x")), 1, media.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(s.Dir(), "thumbs", "320", "ab", "cd", "abcdef.jpg")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrBadKeyOutside", func(t *testing.T) {
		// No key reaches outside the folder.
		parent := t.TempDir()
		s, err := local.New(filepath.Join(parent, "media"))
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range mediatest.BadKeys {
			_, err := s.Put(context.Background(), key, bytes.NewReader([]byte("x")), 1, media.PutOptions{})
			if !errors.Is(err, media.ErrBadKey) {
				t.Fatalf("Put(%q): %v", key, err)
			}
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("%d entries beside the store folder", len(entries))
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("OKRemovesStaleTemps", func(t *testing.T) {
		dir := t.TempDir()
		MustOpenDir(t, dir)
		tmp := filepath.Join(dir, ".tmp")
		stale, fresh := filepath.Join(tmp, "put-1"), filepath.Join(tmp, "put-2")
		for _, p := range []string{stale, fresh} {
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-48 * time.Hour)
		if err := os.Chtimes(stale, old, old); err != nil {
			t.Fatal(err)
		}
		MustOpenDir(t, dir)
		if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stale temporary file kept: %v", err)
		}
		if _, err := os.Stat(fresh); err != nil {
			t.Fatalf("fresh temporary file (a put in progress?) removed: %v", err)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, err := local.New(""); err == nil {
			t.Fatal("no error")
		}
	})
}

func MustOpenDir(tb testing.TB, dir string) *local.Store {
	tb.Helper()
	s, err := local.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkPut64MiB: go test -run '^$' -bench Put64MiB ./media/local
func BenchmarkPut64MiB(b *testing.B) {
	mediatest.BenchmarkPut(b, MustOpen(b), 64<<20)
}

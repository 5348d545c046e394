// Package local is the media store on a local folder, the embedded default under
// DATA_DIR/media. An object lives at its key with the last segment sharded by its first four
// characters (originals/ab/cd/abcd…), beside a hidden JSON sidecar (.abcd….json) holding its
// SHA-256 and content type. A put streams into a temporary file under .tmp in the same
// folder, verifies the hash, fsyncs and renames, so a reader never sees a partial object.
// Keys cannot start a segment with ".", so sidecars and .tmp never collide with objects.
//
// One process should own a folder: puts to the same key are serialised within a Store.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/yingji/yingji/media"
)

const (
	tmpDir   = ".tmp"
	fileMode = 0o440 // objects are never rewritten in place
	dirMode  = 0o750
	// staleTmp is how old a leftover temporary file must be for New to remove it.
	staleTmp = 24 * time.Hour
)

// Store keeps objects in a folder.
type Store struct {
	dir   string
	locks [64]sync.Mutex // by key hash: puts and deletes of one key run one at a time
}

var _ media.Store = (*Store)(nil)

// New opens (creating if needed) the store in dir and removes temporary files left by
// puts that crashed more than a day ago.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local: new: empty folder")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local: new: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), dirMode); err != nil {
		return nil, fmt.Errorf("local: new: %w", err)
	}
	s := &Store{dir: dir}
	s.removeStaleTemps(time.Now().Add(-staleTmp))
	return s, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) removeStaleTemps(before time.Time) {
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.dir, tmpDir, e.Name()))
		}
	}
}

// paths returns the object's file and its sidecar.
func (s *Store) paths(key media.Key) (data, meta string) {
	k := string(key)
	parent, name := "", k
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		parent, name = k[:i], k[i+1:]
	}
	shard := (name + "____")[:4]
	d := filepath.Join(s.dir, filepath.FromSlash(parent), shard[:2], shard[2:])
	return filepath.Join(d, name), filepath.Join(d, "."+name+".json")
}

func (s *Store) lock(key media.Key) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

type sidecar struct {
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// Put implements media.Store.
func (s *Store) Put(ctx context.Context, key media.Key, r io.Reader, size int64, opt media.PutOptions) (media.Info, error) {
	info, err := s.put(ctx, key, r, size, opt)
	if err != nil {
		return media.Info{}, fmt.Errorf("local: put %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) put(ctx context.Context, key media.Key, r io.Reader, size int64, opt media.PutOptions) (media.Info, error) {
	if err := key.Validate(); err != nil {
		return media.Info{}, err
	}
	want, err := media.WantSHA256(key, opt)
	if err != nil {
		return media.Info{}, err
	}
	ct := opt.ContentType
	if ct == "" {
		ct = media.DefaultContentType
	}
	if want != "" {
		// Already stored: verify the caller's bytes without writing them again.
		if have, err := s.stat(key); err == nil && have.SHA256 == want {
			if _, err := readVerify(ctx, io.Discard, r, size, want); err != nil {
				return media.Info{}, err
			}
			return have, nil
		}
	}

	tmp, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "put-*")
	if err != nil {
		return media.Info{}, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum, err := readVerify(ctx, tmp, r, size, want)
	if err != nil {
		return media.Info{}, err
	}
	if err := tmp.Chmod(fileMode); err != nil {
		return media.Info{}, err
	}
	if err := tmp.Sync(); err != nil {
		return media.Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return media.Info{}, err
	}
	meta, err := json.Marshal(sidecar{SHA256: sum, ContentType: ct})
	if err != nil {
		return media.Info{}, err
	}

	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	if have, err := s.stat(key); err == nil && have.SHA256 == sum {
		return have, nil // same bytes: leave the stored object untouched
	}
	dataPath, metaPath := s.paths(key)
	if err := os.MkdirAll(filepath.Dir(dataPath), dirMode); err != nil {
		return media.Info{}, err
	}
	// The sidecar goes first: an object file visible to readers always has its sidecar.
	if err := writeFileAtomic(filepath.Join(s.dir, tmpDir), metaPath, meta); err != nil {
		return media.Info{}, err
	}
	if err := os.Rename(tmp.Name(), dataPath); err != nil {
		return media.Info{}, err
	}
	done = true
	if err := syncDir(filepath.Dir(dataPath)); err != nil {
		return media.Info{}, err
	}
	return s.stat(key)
}

// readVerify copies r to w, checking ctx, the declared size and the wanted hash, and
// returns the hash of what it read.
func readVerify(ctx context.Context, w io.Writer, r io.Reader, size int64, want string) (string, error) {
	h := sha256.New()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1) // one byte more reveals a longer stream
	}
	n, err := io.Copy(io.MultiWriter(w, h), ctxReader{ctx, src})
	if err != nil {
		return "", err
	}
	if size >= 0 && n != size {
		return "", fmt.Errorf("%w: got %d bytes or more, declared %d", media.ErrSizeMismatch, n, size)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return "", fmt.Errorf("%w: got %s, want %s", media.ErrHashMismatch, sum, want)
	}
	return sum, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func writeFileAtomic(tmpDir, path string, b []byte) error {
	f, err := os.CreateTemp(tmpDir, "meta-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Stat implements media.Store.
func (s *Store) Stat(ctx context.Context, key media.Key) (media.Info, error) {
	if err := key.Validate(); err != nil {
		return media.Info{}, fmt.Errorf("local: stat: %w", err)
	}
	info, err := s.stat(key)
	if err != nil {
		return media.Info{}, fmt.Errorf("local: stat %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) stat(key media.Key) (media.Info, error) {
	dataPath, metaPath := s.paths(key)
	fi, err := os.Stat(dataPath)
	if err != nil {
		return media.Info{}, notFound(err)
	}
	return s.info(key, fi, metaPath)
}

func (s *Store) info(key media.Key, fi fs.FileInfo, metaPath string) (media.Info, error) {
	if !fi.Mode().IsRegular() {
		return media.Info{}, fmt.Errorf("%s is not a regular file", fi.Name())
	}
	b, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return media.Info{}, media.ErrNotFound // being deleted
	} else if err != nil {
		return media.Info{}, fmt.Errorf("sidecar: %w", err)
	}
	var m sidecar
	if err := json.Unmarshal(b, &m); err != nil {
		return media.Info{}, fmt.Errorf("sidecar: %w", err)
	}
	return media.Info{Key: key, Size: fi.Size(), SHA256: m.SHA256, ContentType: m.ContentType, ModTime: fi.ModTime()}, nil
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return media.ErrNotFound
	}
	return err
}

// Get implements media.Store.
func (s *Store) Get(ctx context.Context, key media.Key, offset, length int64) (io.ReadCloser, media.Info, error) {
	rc, info, err := s.get(ctx, key, offset, length)
	if err != nil {
		return nil, media.Info{}, fmt.Errorf("local: get %s: %w", key, err)
	}
	return rc, info, nil
}

func (s *Store) get(ctx context.Context, key media.Key, offset, length int64) (io.ReadCloser, media.Info, error) {
	if err := key.Validate(); err != nil {
		return nil, media.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, media.Info{}, err
	}
	dataPath, metaPath := s.paths(key)
	f, err := os.Open(dataPath)
	if err != nil {
		return nil, media.Info{}, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, media.Info{}, err
	}
	info, err := s.info(key, fi, metaPath)
	if err != nil {
		f.Close()
		return nil, media.Info{}, err
	}
	n, err := media.CheckRange(offset, length, info.Size)
	if err != nil {
		f.Close()
		return nil, media.Info{}, err
	}
	return &section{SectionReader: io.NewSectionReader(f, offset, n), f: f}, info, nil
}

type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

// Delete implements media.Store.
func (s *Store) Delete(ctx context.Context, key media.Key) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("local: delete: %w", err)
	}
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	dataPath, metaPath := s.paths(key)
	for _, p := range []string{dataPath, metaPath} { // the object first, then its sidecar
		if err := os.Remove(p); err != nil && !errors.Is(notFound(err), media.ErrNotFound) {
			return fmt.Errorf("local: delete %s: %w", key, err)
		}
	}
	return nil
}

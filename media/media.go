// Package media keeps photo and video evidence: a content-addressed blob store whose objects
// are named by the SHA-256 of their bytes, with a local-folder implementation (the embedded
// default) and a MinIO/S3 one; one conformance suite (mediatest) runs on both. Originals are
// legal evidence: they are stored byte for byte, verified on the way in and never rewritten.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Key names an object in a store. Originals live under "originals/<sha256>", derivatives
// under their own prefixes such as "thumbs/320/<sha256>.jpg".
type Key string

// Original is the key of the original with that SHA-256 (lower-case hex).
func Original(sha256 string) Key { return Key("originals/" + sha256) }

var hexRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 reports whether s is a lower-case hex SHA-256.
func ValidSHA256(s string) bool { return hexRe.MatchString(s) }

// Info describes a stored object.
type Info struct {
	Key         Key
	Size        int64
	SHA256      string // of the object's bytes, when known
	ContentType string
	ModTime     time.Time
}

// PutOptions qualify a Put.
type PutOptions struct {
	// SHA256, when set, is the hash the bytes must have: a mismatch stores nothing and
	// returns ErrHashMismatch.
	SHA256      string
	ContentType string
}

// Store is a blob store.
type Store interface {
	// Put streams r (size bytes, or -1 when unknown) to key, atomically: a reader never sees
	// a partial object, and a failed or mismatched put leaves nothing behind.
	// The bytes must match WantSHA256(key, opt) (ErrHashMismatch) and a known size
	// (ErrSizeMismatch). Putting the bytes an object already has leaves it untouched.
	Put(ctx context.Context, key Key, r io.Reader, size int64, opt PutOptions) (Info, error)
	// Get opens the object; length < 0 reads from offset to the end. The range must lie
	// inside the object (0 <= offset <= offset+length <= size), else ErrBadRange.
	Get(ctx context.Context, key Key, offset, length int64) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key Key) (Info, error)
	// Delete removes the object (for garbage collection); deleting a missing one is no error.
	Delete(ctx context.Context, key Key) error
}

// Errors stores return.
var (
	ErrNotFound     = errors.New("media: not found")
	ErrHashMismatch = errors.New("media: content does not match its SHA-256")
	ErrBadRange     = errors.New("media: range outside the object")
	ErrSizeMismatch = errors.New("media: content does not match its declared size")
	ErrBadKey       = errors.New("media: invalid key")
)

// DefaultContentType is stored when a put names none.
const DefaultContentType = "application/octet-stream"

// MaxKeyLen bounds a key's length in bytes.
const MaxKeyLen = 512

var segmentRe = regexp.MustCompile(`^[a-z0-9_-][a-z0-9._-]*$`)

// Validate checks that k is a safe key: "/"-separated segments of [a-z0-9._-], none empty
// or starting with "." (so no "..", hidden or temporary names), no leading or trailing "/",
// at most MaxKeyLen bytes; an original's name must be a SHA-256. Errors wrap ErrBadKey.
func (k Key) Validate() error {
	s := string(k)
	if s == "" || len(s) > MaxKeyLen {
		return fmt.Errorf("%w: %q", ErrBadKey, s)
	}
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if !segmentRe.MatchString(seg) {
			return fmt.Errorf("%w: %q", ErrBadKey, s)
		}
	}
	if segs[0] == "originals" && (len(segs) != 2 || !ValidSHA256(segs[1])) {
		return fmt.Errorf("%w: %q: an original is originals/<sha256>", ErrBadKey, s)
	}
	return nil
}

// OriginalSHA256 returns the hash an original's key names, and whether k is an original.
func (k Key) OriginalSHA256() (string, bool) {
	h, ok := strings.CutPrefix(string(k), "originals/")
	return h, ok && ValidSHA256(h)
}

// WantSHA256 returns the SHA-256 a put to key must match: opt.SHA256 and, for an original,
// the hash in its key; "" when neither constrains it. When both are set and differ it
// returns ErrHashMismatch at once.
func WantSHA256(key Key, opt PutOptions) (string, error) {
	want := opt.SHA256
	if want != "" && !ValidSHA256(want) {
		return "", fmt.Errorf("media: invalid SHA-256 %q (want 64 lower-case hex digits)", want)
	}
	if h, ok := key.OriginalSHA256(); ok {
		if want != "" && want != h {
			return "", fmt.Errorf("%w: key %s, declared %s", ErrHashMismatch, key, want)
		}
		want = h
	}
	return want, nil
}

// CheckRange validates a Get range against an object of the given size and returns the
// number of bytes it covers.
func CheckRange(offset, length, size int64) (int64, error) {
	if offset < 0 || offset > size {
		return 0, fmt.Errorf("%w: offset %d length %d of %d bytes", ErrBadRange, offset, length, size)
	}
	if length < 0 {
		return size - offset, nil
	}
	if length > size-offset {
		return 0, fmt.Errorf("%w: offset %d length %d of %d bytes", ErrBadRange, offset, length, size)
	}
	return length, nil
}

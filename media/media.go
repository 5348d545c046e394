// Package media keeps photo and video evidence: a content-addressed blob store whose objects
// are named by the SHA-256 of their bytes, with a local-folder implementation (the embedded
// default) and a MinIO/S3 one; one conformance suite (mediatest) runs on both. Originals are
// legal evidence: they are stored byte for byte, verified on the way in and never rewritten.
package media

import (
	"context"
	"errors"
	"io"
	"regexp"
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
	Put(ctx context.Context, key Key, r io.Reader, size int64, opt PutOptions) (Info, error)
	// Get opens the object; length < 0 reads from offset to the end.
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
)

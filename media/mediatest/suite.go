// Package mediatest is the conformance suite every media.Store runs (Run), an upload
// benchmark (BenchmarkPut) and a throw-away MinIO server for the S3 store's tests.
package mediatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/yingji/yingji/media"
)

// StreamSize is the size of the suite's streamed objects: a few MiB, more than one part of
// an S3 store opened with PartSize media/s3store.MinPartSize.
const StreamSize = 7<<20 + 123

// Run puts a store through the media.Store contract. open returns an empty store each call.
func Run(t *testing.T, open func(t *testing.T) media.Store) {
	t.Run("Put", func(t *testing.T) { testPut(t, open) })
	t.Run("Get", func(t *testing.T) { testGet(t, open) })
	t.Run("Stat", func(t *testing.T) { testStat(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("BadKey", func(t *testing.T) { testBadKey(t, open) })
}

// Bytes returns n deterministic pseudo-random bytes.
func Bytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// SHA256 is the lower-case hex SHA-256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// opaque hides everything but Read (size, WriterTo, Seeker) from a store.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func put(t *testing.T, s media.Store, key media.Key, b []byte, opt media.PutOptions) media.Info {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), opt)
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	return info
}

func putOriginal(t *testing.T, s media.Store, b []byte, ct string) (media.Key, media.Info) {
	t.Helper()
	key := media.Original(SHA256(b))
	return key, put(t, s, key, b, media.PutOptions{SHA256: SHA256(b), ContentType: ct})
}

func read(t *testing.T, s media.Store, key media.Key, offset, length int64) ([]byte, media.Info) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key, offset, length)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): read: %v", key, offset, length, err)
	}
	return b, info
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)",
			what, len(got), SHA256(got), len(want), SHA256(want))
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// absent checks that nothing is visible under key.
func absent(t *testing.T, s media.Store, key media.Key) {
	t.Helper()
	_, err := s.Stat(context.Background(), key)
	wantErr(t, fmt.Sprintf("Stat(%s)", key), err, media.ErrNotFound)
	_, _, err = s.Get(context.Background(), key, 0, -1)
	wantErr(t, fmt.Sprintf("Get(%s)", key), err, media.ErrNotFound)
}

func checkInfo(t *testing.T, what string, got media.Info, key media.Key, b []byte, ct string, since time.Time) {
	t.Helper()
	if got.Key != key || got.Size != int64(len(b)) || got.SHA256 != SHA256(b) || got.ContentType != ct {
		t.Fatalf("%s: got %+v, want key %s size %d sha256 %s content type %q",
			what, got, key, len(b), SHA256(b), ct)
	}
	// Some stores keep whole seconds.
	if got.ModTime.Before(since.Truncate(time.Second).Add(-time.Second)) || got.ModTime.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("%s: mod time %v, want about %v", what, got.ModTime, since)
	}
}

func testPut(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		s := open(t)
		b := Bytes(1, 1000)
		since := time.Now()
		key, info := putOriginal(t, s, b, "image/jpeg")
		checkInfo(t, "Put", info, key, b, "image/jpeg", since)
		got, ginfo := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
		checkInfo(t, "Get", ginfo, key, b, "image/jpeg", since)
	})

	t.Run("OKEmpty", func(t *testing.T) {
		s := open(t)
		key, info := putOriginal(t, s, nil, "")
		checkInfo(t, "Put", info, key, nil, media.DefaultContentType, time.Now().Add(-time.Minute))
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, nil)
	})

	t.Run("OKStreamUnknownSize", func(t *testing.T) {
		s := open(t)
		b := Bytes(2, StreamSize)
		key := media.Original(SHA256(b))
		info, err := s.Put(ctx, key, opaque{iotest.HalfReader(bytes.NewReader(b))}, -1, media.PutOptions{ContentType: "video/mp4"})
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Put", info, key, b, "video/mp4", time.Now().Add(-time.Minute))
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
	})

	t.Run("OKStreamKnownSize", func(t *testing.T) {
		s := open(t)
		b := Bytes(3, StreamSize)
		key := media.Original(SHA256(b))
		if _, err := s.Put(ctx, key, opaque{bytes.NewReader(b)}, int64(len(b)), media.PutOptions{SHA256: SHA256(b)}); err != nil {
			t.Fatal(err)
		}
		got, info := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
		checkInfo(t, "Get", info, key, b, media.DefaultContentType, time.Now().Add(-time.Minute))
	})

	t.Run("OKStreamNoHash", func(t *testing.T) {
		// A derivative with no declared hash still gets its SHA-256 recorded.
		s := open(t)
		b := Bytes(4, StreamSize)
		key := media.Key("videos/720/" + SHA256(b) + ".mp4")
		if _, err := s.Put(ctx, key, opaque{bytes.NewReader(b)}, -1, media.PutOptions{ContentType: "video/mp4"}); err != nil {
			t.Fatal(err)
		}
		got, info := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
		checkInfo(t, "Get", info, key, b, "video/mp4", time.Now().Add(-time.Minute))
	})

	t.Run("OKDerivative", func(t *testing.T) {
		s := open(t)
		orig := Bytes(5, 5000)
		thumb := Bytes(6, 700)
		key := media.Key("thumbs/320/" + SHA256(orig) + ".jpg")
		since := time.Now()
		info := put(t, s, key, thumb, media.PutOptions{ContentType: "image/jpeg"})
		checkInfo(t, "Put", info, key, thumb, "image/jpeg", since)
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Stat", info, key, thumb, "image/jpeg", since)
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, thumb)
		absent(t, s, media.Original(SHA256(orig)))
	})

	t.Run("OKRePut", func(t *testing.T) {
		// Putting the same bytes again succeeds and leaves the object untouched.
		s := open(t)
		for _, b := range [][]byte{Bytes(7, 100), Bytes(8, StreamSize)} {
			key, first := putOriginal(t, s, b, "image/png")
			time.Sleep(1100 * time.Millisecond) // past a whole-second mod time
			_, again := putOriginal(t, s, b, "image/png")
			if !again.ModTime.Equal(first.ModTime) || again.Size != first.Size || again.SHA256 != first.SHA256 {
				t.Fatalf("re-put: got %+v, first put %+v", again, first)
			}
			info, err := s.Put(ctx, key, opaque{bytes.NewReader(b)}, -1, media.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !info.ModTime.Equal(first.ModTime) {
				t.Fatalf("re-put without declared hash rewrote the object: %+v, first %+v", info, first)
			}
			got, _ := read(t, s, key, 0, -1)
			sameBytes(t, "Get", got, b)
		}
	})

	t.Run("OKOverwrite", func(t *testing.T) {
		// A derivative may be regenerated with other bytes.
		s := open(t)
		key := media.Key("thumbs/1280/" + SHA256(nil) + ".jpg")
		put(t, s, key, Bytes(9, 300), media.PutOptions{ContentType: "image/jpeg"})
		b := Bytes(10, 400)
		info := put(t, s, key, b, media.PutOptions{ContentType: "image/webp"})
		checkInfo(t, "Put", info, key, b, "image/webp", time.Now().Add(-time.Minute))
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
	})

	t.Run("ErrHashMismatch", func(t *testing.T) {
		s := open(t)
		for _, n := range []int{0, 1000, StreamSize} {
			b := Bytes(11, n)
			wrong := SHA256(append(b[:n:n], 'x'))
			key := media.Original(wrong)
			_, err := s.Put(ctx, key, bytes.NewReader(b), int64(n), media.PutOptions{SHA256: wrong})
			wantErr(t, fmt.Sprintf("Put(%d bytes, declared hash)", n), err, media.ErrHashMismatch)
			absent(t, s, key)
			// The hash an original's key names is enforced without a declared one.
			_, err = s.Put(ctx, key, opaque{bytes.NewReader(b)}, -1, media.PutOptions{})
			wantErr(t, fmt.Sprintf("Put(%d bytes, hash in key)", n), err, media.ErrHashMismatch)
			absent(t, s, key)
			// And on a derivative key, which names no hash.
			dkey := media.Key("thumbs/320/" + wrong + ".jpg")
			_, err = s.Put(ctx, dkey, opaque{bytes.NewReader(b)}, -1, media.PutOptions{SHA256: wrong})
			wantErr(t, fmt.Sprintf("Put(%s)", dkey), err, media.ErrHashMismatch)
			absent(t, s, dkey)
		}
	})

	t.Run("ErrHashMismatchKeyAndOption", func(t *testing.T) {
		s := open(t)
		b := Bytes(12, 10)
		key := media.Original(SHA256(nil))
		_, err := s.Put(ctx, key, bytes.NewReader(b), 10, media.PutOptions{SHA256: SHA256(b)})
		wantErr(t, "Put", err, media.ErrHashMismatch)
		absent(t, s, key)
	})

	t.Run("ErrHashMismatchExisting", func(t *testing.T) {
		// Re-putting an existing original with other bytes fails and keeps the original.
		s := open(t)
		b := Bytes(13, 2000)
		key, _ := putOriginal(t, s, b, "image/jpeg")
		bad := bytes.Clone(b)
		bad[1000] ^= 1
		_, err := s.Put(ctx, key, bytes.NewReader(bad), int64(len(bad)), media.PutOptions{})
		wantErr(t, "Put", err, media.ErrHashMismatch)
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
	})

	t.Run("ErrInvalidSHA256", func(t *testing.T) {
		s := open(t)
		key := media.Key("thumbs/320/x.jpg")
		for _, h := range []string{"abc", strings64("A"), strings64("g")} {
			if _, err := s.Put(ctx, key, bytes.NewReader(nil), 0, media.PutOptions{SHA256: h}); err == nil {
				t.Fatalf("Put with SHA256 %q: no error", h)
			}
		}
		absent(t, s, key)
	})

	t.Run("ErrSizeMismatch", func(t *testing.T) {
		s := open(t)
		for _, n := range []int{100, StreamSize} {
			b := Bytes(14, n)
			key := media.Original(SHA256(b))
			for _, declared := range []int64{int64(n) - 1, int64(n) + 1} {
				_, err := s.Put(ctx, key, opaque{bytes.NewReader(b)}, declared, media.PutOptions{})
				wantErr(t, fmt.Sprintf("Put(%d bytes declared %d)", n, declared), err, media.ErrSizeMismatch)
				absent(t, s, key)
			}
		}
	})

	t.Run("ErrReader", func(t *testing.T) {
		s := open(t)
		boom := errors.New("connection reset")
		for _, n := range []int{100, StreamSize} {
			b := Bytes(15, n)
			key := media.Original(SHA256(b))
			r := io.MultiReader(bytes.NewReader(b[:n-10]), iotest.ErrReader(boom))
			_, err := s.Put(ctx, key, r, int64(n), media.PutOptions{})
			wantErr(t, fmt.Sprintf("Put(%d bytes)", n), err, boom)
			absent(t, s, key)
		}
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		s := open(t)
		b := Bytes(16, StreamSize)
		key := media.Original(SHA256(b))
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := io.MultiReader(bytes.NewReader(b[:StreamSize/2]), cancelReader{cancel}, bytes.NewReader(b[StreamSize/2:]))
		if _, err := s.Put(cctx, key, r, int64(len(b)), media.PutOptions{}); err == nil {
			t.Fatal("Put with a context canceled midway: no error")
		}
		absent(t, s, key)
	})
}

// cancelReader cancels a context when read.
type cancelReader struct{ cancel context.CancelFunc }

func (c cancelReader) Read([]byte) (int, error) { c.cancel(); return 0, io.EOF }

func strings64(c string) string { return string(bytes.Repeat([]byte(c), 64)) }

func testGet(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()
	s := open(t)
	b := Bytes(20, 10000)
	key, _ := putOriginal(t, s, b, "video/mp4")
	big := Bytes(21, StreamSize)
	bigKey, _ := putOriginal(t, s, big, "video/mp4")

	t.Run("OK", func(t *testing.T) {
		for _, c := range []struct {
			name           string
			offset, length int64
		}{
			{"All", 0, -1},
			{"AllExact", 0, 10000},
			{"Head", 0, 1},
			{"Middle", 1234, 4321},
			{"ToEnd", 9000, -1},
			{"LastByte", 9999, 1},
			{"TailExact", 9000, 1000},
			{"EmptyAtEnd", 10000, -1},
			{"EmptyLength", 500, 0},
			{"EmptyLengthAtEnd", 10000, 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, info := read(t, s, key, c.offset, c.length)
				end := int64(len(b))
				if c.length >= 0 {
					end = c.offset + c.length
				}
				sameBytes(t, "Get", got, b[c.offset:end])
				if info.Size != int64(len(b)) || info.SHA256 != SHA256(b) || info.ContentType != "video/mp4" {
					t.Fatalf("Get info %+v, want the whole object's", info)
				}
			})
		}
	})

	t.Run("OKAcrossParts", func(t *testing.T) {
		got, _ := read(t, s, bigKey, 5<<20-100, 200)
		sameBytes(t, "Get", got, big[5<<20-100:5<<20+100])
		got, _ = read(t, s, bigKey, StreamSize-5, -1)
		sameBytes(t, "Get", got, big[StreamSize-5:])
	})

	t.Run("ErrBadRange", func(t *testing.T) {
		for _, c := range []struct {
			name           string
			offset, length int64
		}{
			{"PastEnd", 10001, -1},
			{"FarPastEnd", 1 << 40, 10},
			{"LengthPastEnd", 9000, 1001},
			{"LengthPastEndAtEnd", 10000, 1},
			{"NegativeOffset", -1, 10},
		} {
			t.Run(c.name, func(t *testing.T) {
				rc, _, err := s.Get(ctx, key, c.offset, c.length)
				if err == nil {
					rc.Close()
				}
				wantErr(t, fmt.Sprintf("Get(%d, %d)", c.offset, c.length), err, media.ErrBadRange)
			})
		}
	})

	t.Run("ErrBadRangeEmptyObject", func(t *testing.T) {
		ekey, _ := putOriginal(t, s, nil, "")
		got, _ := read(t, s, ekey, 0, -1)
		sameBytes(t, "Get", got, nil)
		_, _, err := s.Get(ctx, ekey, 1, -1)
		wantErr(t, "Get(1, -1)", err, media.ErrBadRange)
		_, _, err = s.Get(ctx, ekey, 0, 1)
		wantErr(t, "Get(0, 1)", err, media.ErrBadRange)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, k := range []media.Key{media.Original(SHA256([]byte("missing"))), "thumbs/320/missing.jpg"} {
			for _, r := range [][2]int64{{0, -1}, {10, 5}, {0, 0}, {100, -1}} {
				_, _, err := s.Get(ctx, k, r[0], r[1])
				wantErr(t, fmt.Sprintf("Get(%s, %d, %d)", k, r[0], r[1]), err, media.ErrNotFound)
			}
		}
	})
}

func testStat(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := open(t)
		b := Bytes(30, 4096)
		since := time.Now()
		key, _ := putOriginal(t, s, b, "image/heic")
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Stat", info, key, b, "image/heic", since)
	})
	t.Run("OKDefaultContentType", func(t *testing.T) {
		s := open(t)
		b := Bytes(31, 10)
		key := media.Original(SHA256(b))
		put(t, s, key, b, media.PutOptions{})
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Stat", info, key, b, media.DefaultContentType, time.Now().Add(-time.Minute))
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Stat(ctx, media.Original(SHA256(nil)))
		wantErr(t, "Stat", err, media.ErrNotFound)
		_, err = s.Stat(ctx, "thumbs/320/none.jpg")
		wantErr(t, "Stat", err, media.ErrNotFound)
	})
}

func testDelete(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := open(t)
		b := Bytes(40, 3000)
		key, _ := putOriginal(t, s, b, "image/jpeg")
		thumb := media.Key("thumbs/320/" + SHA256(b) + ".jpg")
		put(t, s, thumb, Bytes(41, 30), media.PutOptions{ContentType: "image/jpeg"})
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		absent(t, s, key)
		if _, err := s.Stat(ctx, thumb); err != nil {
			t.Fatalf("deleting the original touched its thumbnail: %v", err)
		}
		// Put again after a delete.
		putOriginal(t, s, b, "image/jpeg")
		got, _ := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
	})
	t.Run("OKMissing", func(t *testing.T) {
		s := open(t)
		key, _ := putOriginal(t, s, Bytes(42, 10), "")
		for range 2 {
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, "thumbs/320/never.jpg"); err != nil {
			t.Fatalf("Delete of a key never stored: %v", err)
		}
	})
}

func testConcurrent(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()
	const n = 8
	t.Run("OKSameKey", func(t *testing.T) {
		s := open(t)
		b := Bytes(50, 1<<20+7)
		key := media.Original(SHA256(b))
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				var r io.Reader = bytes.NewReader(b)
				if i%2 == 1 {
					r = opaque{iotest.HalfReader(r)}
				}
				_, errs[i] = s.Put(ctx, key, r, int64(len(b)), media.PutOptions{ContentType: "image/jpeg"})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		got, info := read(t, s, key, 0, -1)
		sameBytes(t, "Get", got, b)
		checkInfo(t, "Get", info, key, b, "image/jpeg", time.Now().Add(-time.Minute))
	})
	t.Run("OKSameKeyOtherBytes", func(t *testing.T) {
		// Racing puts of different bytes to a derivative: one wins whole, hash and all.
		s := open(t)
		key := media.Key("thumbs/320/" + SHA256(nil) + ".jpg")
		contents := make([][]byte, n)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			contents[i] = Bytes(uint64(60+i), 100_000+i)
			wg.Go(func() {
				_, errs[i] = s.Put(ctx, key, bytes.NewReader(contents[i]), -1, media.PutOptions{ContentType: fmt.Sprintf("image/x-%d", i)})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		got, info := read(t, s, key, 0, -1)
		for i, c := range contents {
			if bytes.Equal(got, c) {
				checkInfo(t, "Get", info, key, c, fmt.Sprintf("image/x-%d", i), time.Now().Add(-time.Minute))
				return
			}
		}
		t.Fatalf("Get: %d bytes that no put sent", len(got))
	})
	t.Run("OKManyKeys", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				b := Bytes(uint64(70+i), 50_000)
				key := media.Original(SHA256(b))
				if _, err := s.Put(ctx, key, bytes.NewReader(b), -1, media.PutOptions{}); err != nil {
					errs[i] = err
					return
				}
				rc, _, err := s.Get(ctx, key, 0, -1)
				if err != nil {
					errs[i] = err
					return
				}
				defer rc.Close()
				got, err := io.ReadAll(rc)
				if err == nil && !bytes.Equal(got, b) {
					err = fmt.Errorf("%s: other bytes read back", key)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	})
}

// BadKeys are keys every store refuses with media.ErrBadKey.
var BadKeys = []media.Key{
	"", "/", "/etc/passwd", "../x", "a/../b", "a/..", "..", ".", "./a", "a/./b",
	`a\b`, `..\..\x`, "a//b", "a/", "/a", ".hidden", "a/.tmp", "A/b", "a b", "a\x00b",
	"thumbs/320/Ä.jpg", "originals/abc", "originals/" + media.Key(strings64("A")),
	"originals/x/" + media.Key(strings64("a")), media.Key(strings64("a") + strings64("b") + strings64("c") + strings64("d") + strings64("e") + strings64("f") + strings64("g") + strings64("h") + "x"),
}

func testBadKey(t *testing.T, open func(t *testing.T) media.Store) {
	ctx := context.Background()
	s := open(t)
	for _, key := range BadKeys {
		_, err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1, media.PutOptions{})
		wantErr(t, fmt.Sprintf("Put(%q)", key), err, media.ErrBadKey)
		_, _, err = s.Get(ctx, key, 0, -1)
		wantErr(t, fmt.Sprintf("Get(%q)", key), err, media.ErrBadKey)
		_, err = s.Stat(ctx, key)
		wantErr(t, fmt.Sprintf("Stat(%q)", key), err, media.ErrBadKey)
		err = s.Delete(ctx, key)
		wantErr(t, fmt.Sprintf("Delete(%q)", key), err, media.ErrBadKey)
	}
}

// BenchmarkPut measures Put of a size-byte stream of unknown length with a declared
// SHA-256 (as uploads of originals are), new content each time; go test reports MB/s.
func BenchmarkPut(b *testing.B, s media.Store, size int) {
	ctx := context.Background()
	data := Bytes(99, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		data[0], data[1], data[2], data[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		sum := SHA256(data)
		b.StartTimer()
		if _, err := s.Put(ctx, media.Original(sum), opaque{bytes.NewReader(data)}, -1, media.PutOptions{SHA256: sum}); err != nil {
			b.Fatal(err)
		}
	}
}

// Package s3store is the media store on MinIO or any S3-compatible service, through
// minio-go v7. Objects are named by their key in one bucket; the SHA-256 is kept in the
// user metadata (x-amz-meta-sha256).
//
// A put is verified before anything becomes visible under its key: a stream that fits in
// one part is hashed in memory and sent in one signed PUT; a longer one goes up as a
// multipart upload that is completed only when the whole stream matched its hash and size,
// and aborted otherwise.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/yingji/yingji/media"
)

const (
	// DefaultPartSize is the multipart part size, and so the largest object sent in one PUT.
	DefaultPartSize = 16 << 20
	// MinPartSize is S3's smallest part but the last.
	MinPartSize = 5 << 20
	// DefaultParallel is how many parts of one put are uploaded at once.
	DefaultParallel = 2

	maxParts   = 10000    // S3's limit
	metaSHA256 = "sha256" // x-amz-meta-sha256
)

// Config locates the bucket.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string // created if missing
	UseSSL    bool
	Region    string // optional
	// PartSize and Parallel bound a put's memory to (Parallel+1)*PartSize bytes.
	PartSize int64 // default DefaultPartSize, at least MinPartSize
	Parallel int   // default DefaultParallel
}

// Store keeps objects in a bucket.
type Store struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	partSize int64
	parallel int
	bufs     sync.Pool // *[]byte of partSize
}

var _ media.Store = (*Store)(nil)

// New connects to the service and creates the bucket if it is missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3store: new: endpoint and bucket are required")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3store: new: part size %d is below %d", cfg.PartSize, MinPartSize)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: new: %w", err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: new: bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return nil, fmt.Errorf("s3store: new: create bucket %s: %w", cfg.Bucket, err)
		}
	}
	s := &Store{
		client:   client,
		core:     minio.Core{Client: client},
		bucket:   cfg.Bucket,
		partSize: cfg.PartSize,
		parallel: cfg.Parallel,
	}
	s.bufs.New = func() any { b := make([]byte, s.partSize); return &b }
	return s, nil
}

// Client is the underlying minio-go client, for what the media.Store interface does not
// cover (presigned URLs, listing for garbage collection).
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Put implements media.Store.
func (s *Store) Put(ctx context.Context, key media.Key, r io.Reader, size int64, opt media.PutOptions) (media.Info, error) {
	info, err := s.put(ctx, key, r, size, opt)
	if err != nil {
		return media.Info{}, fmt.Errorf("s3store: put %s: %w", key, err)
	}
	return info, nil
}

// hashReader reads the stream once, hashing and counting it.
type hashReader struct {
	r    io.Reader
	size int64 // declared, or -1
	h    hash.Hash
	n    int64
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

// fill reads the next part into b; eof reports that the stream ended within it.
func (hr *hashReader) fill(b []byte) (n int, eof bool, err error) {
	n, err = io.ReadFull(hr.r, b)
	hr.h.Write(b[:n])
	hr.n += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return n, true, nil
	}
	return n, false, err
}

// check verifies the whole stream once read, returning its hash.
func (hr *hashReader) check(want string) (string, error) {
	if hr.size >= 0 && hr.n != hr.size {
		return "", fmt.Errorf("%w: got %d bytes or more, declared %d", media.ErrSizeMismatch, hr.n, hr.size)
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	if want != "" && sum != want {
		return "", fmt.Errorf("%w: got %s, want %s", media.ErrHashMismatch, sum, want)
	}
	return sum, nil
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
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1) // one byte more reveals a longer stream
	}
	hr := &hashReader{r: ctxReader{ctx, src}, size: size, h: sha256.New()}

	if want != "" {
		// Already stored: verify the caller's bytes without sending them again.
		if have, err := s.stat(ctx, key); err == nil && have.SHA256 == want {
			b := s.bufs.Get().(*[]byte)
			defer s.bufs.Put(b)
			for eof := false; !eof; {
				if _, eof, err = hr.fill(*b); err != nil {
					return media.Info{}, err
				}
			}
			if _, err := hr.check(want); err != nil {
				return media.Info{}, err
			}
			return have, nil
		}
	}

	first := s.bufs.Get().(*[]byte)
	n, eof, err := hr.fill(*first)
	if err != nil {
		s.bufs.Put(first)
		return media.Info{}, err
	}
	if !eof {
		return s.putMultipart(ctx, key, hr, first, n, want, ct)
	}
	defer s.bufs.Put(first)
	sum, err := hr.check(want)
	if err != nil {
		return media.Info{}, err
	}
	if have, err := s.stat(ctx, key); err == nil && have.SHA256 == sum {
		return have, nil // same bytes: leave the stored object untouched
	}
	_, err = s.core.PutObject(ctx, s.bucket, string(key), bytes.NewReader((*first)[:n]), int64(n), "", sum,
		minio.PutObjectOptions{
			ContentType:          ct,
			UserMetadata:         map[string]string{metaSHA256: sum},
			DisableContentSha256: true, // signed with the payload's SHA-256 instead
		})
	if err != nil {
		return media.Info{}, err
	}
	return s.stat(ctx, key)
}

// putMultipart uploads the stream whose first part is in first[:n], Parallel parts at a
// time, and completes the upload only once the whole stream is verified.
func (s *Store) putMultipart(ctx context.Context, key media.Key, hr *hashReader, first *[]byte, n int, want, ct string) (_ media.Info, err error) {
	meta := map[string]string{}
	if want != "" {
		meta[metaSHA256] = want
	}
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, string(key), minio.PutObjectOptions{ContentType: ct, UserMetadata: meta})
	if err != nil {
		s.bufs.Put(first)
		return media.Info{}, err
	}
	completed := false
	defer func() {
		if !completed {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(actx, s.bucket, string(key), uploadID); aerr != nil && err != nil {
				err = fmt.Errorf("%w (abort upload: %v)", err, aerr)
			}
		}
	}()

	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		parts []minio.CompletePart
		upErr error
		wg    sync.WaitGroup
		slots = make(chan struct{}, s.parallel)
	)
	upload := func(num int, b *[]byte, n int) {
		defer func() { s.bufs.Put(b); <-slots; wg.Done() }()
		data := (*b)[:n]
		sum := sha256.Sum256(data)
		p, err := s.core.PutObjectPart(uctx, s.bucket, string(key), uploadID, num, bytes.NewReader(data), int64(n),
			minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if upErr == nil {
				upErr = fmt.Errorf("part %d: %w", num, err)
				cancel()
			}
			return
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return upErr != nil }

	b, eof := first, false
	var readErr error
	for num := 1; ; num++ {
		if num > maxParts {
			s.bufs.Put(b)
			readErr = fmt.Errorf("more than %d parts of %d bytes", maxParts, s.partSize)
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go upload(num, b, n)
		if eof || failed() {
			break
		}
		b = s.bufs.Get().(*[]byte)
		if n, eof, readErr = hr.fill(*b); readErr != nil || (n == 0 && eof) {
			s.bufs.Put(b)
			break
		}
	}
	wg.Wait()
	if readErr != nil {
		return media.Info{}, readErr
	}
	if upErr != nil {
		return media.Info{}, upErr
	}
	sum, err := hr.check(want)
	if err != nil {
		return media.Info{}, err
	}
	if have, err := s.stat(ctx, key); err == nil && have.SHA256 == sum {
		return have, nil // same bytes: leave the stored object untouched
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	up, err := s.core.CompleteMultipartUpload(ctx, s.bucket, string(key), uploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		return media.Info{}, err
	}
	completed = true
	if want == "" {
		// The hash was unknown when the upload began: record it (a metadata-only copy).
		_, err := s.client.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: s.bucket, Object: string(key), ReplaceMetadata: true,
				UserMetadata: map[string]string{metaSHA256: sum}, ContentType: ct},
			minio.CopySrcOptions{Bucket: s.bucket, Object: string(key), MatchETag: up.ETag})
		if err != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = s.client.RemoveObject(dctx, s.bucket, string(key), minio.RemoveObjectOptions{})
			return media.Info{}, fmt.Errorf("record sha256: %w", err)
		}
	}
	return s.stat(ctx, key)
}

// Stat implements media.Store.
func (s *Store) Stat(ctx context.Context, key media.Key) (media.Info, error) {
	if err := key.Validate(); err != nil {
		return media.Info{}, fmt.Errorf("s3store: stat: %w", err)
	}
	info, err := s.stat(ctx, key)
	if err != nil {
		return media.Info{}, fmt.Errorf("s3store: stat %s: %w", key, err)
	}
	return info, nil
}

func (s *Store) stat(ctx context.Context, key media.Key) (media.Info, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, string(key), minio.StatObjectOptions{})
	if err != nil {
		return media.Info{}, mapErr(err)
	}
	return infoOf(key, oi, oi.Size), nil
}

func infoOf(key media.Key, oi minio.ObjectInfo, size int64) media.Info {
	return media.Info{
		Key:         key,
		Size:        size,
		SHA256:      oi.UserMetadata[http.CanonicalHeaderKey(metaSHA256)],
		ContentType: oi.ContentType,
		ModTime:     oi.LastModified,
	}
}

func mapErr(err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey, resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket:
		return fmt.Errorf("%w (%v)", media.ErrNotFound, err)
	case resp.Code == minio.InvalidRange, resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%w (%v)", media.ErrBadRange, err)
	}
	return err
}

// Get implements media.Store. It costs one request, two when the range is empty or starts
// at the end of the object.
func (s *Store) Get(ctx context.Context, key media.Key, offset, length int64) (io.ReadCloser, media.Info, error) {
	rc, info, err := s.get(ctx, key, offset, length)
	if err != nil {
		return nil, media.Info{}, fmt.Errorf("s3store: get %s: %w", key, err)
	}
	return rc, info, nil
}

func (s *Store) get(ctx context.Context, key media.Key, offset, length int64) (io.ReadCloser, media.Info, error) {
	if err := key.Validate(); err != nil {
		return nil, media.Info{}, err
	}
	if offset < 0 {
		return nil, media.Info{}, fmt.Errorf("%w: offset %d", media.ErrBadRange, offset)
	}
	empty := func() (io.ReadCloser, media.Info, error) {
		info, err := s.stat(ctx, key)
		if err != nil {
			return nil, media.Info{}, err
		}
		if _, err := media.CheckRange(offset, length, info.Size); err != nil {
			return nil, media.Info{}, err
		}
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	if length == 0 {
		return empty()
	}
	var opts minio.GetObjectOptions
	ranged := offset > 0 || length > 0
	if ranged {
		end := int64(0) // to the end
		if length > 0 {
			end = offset + length - 1
		}
		if err := opts.SetRange(offset, end); err != nil {
			return nil, media.Info{}, err
		}
	}
	body, oi, hdr, err := s.core.GetObject(ctx, s.bucket, string(key), opts)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, media.ErrBadRange) {
			return empty() // the range may start at the end: empty, not out of range
		}
		return nil, media.Info{}, err
	}
	total := oi.Size
	if ranged {
		if total, err = contentRangeTotal(hdr.Get("Content-Range")); err != nil {
			body.Close()
			return nil, media.Info{}, err
		}
	}
	if _, err := media.CheckRange(offset, length, total); err != nil {
		body.Close() // the server clamps a range past the end; the contract refuses it
		return nil, media.Info{}, err
	}
	return body, infoOf(key, oi, total), nil
}

// contentRangeTotal parses the object size out of "bytes first-last/total".
func contentRangeTotal(h string) (int64, error) {
	_, total, ok := strings.Cut(h, "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(h, "bytes ") {
		return 0, fmt.Errorf("bad Content-Range %q", h)
	}
	return n, nil
}

// Delete implements media.Store.
func (s *Store) Delete(ctx context.Context, key media.Key) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("s3store: delete: %w", err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, string(key), minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(mapErr(err), media.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("s3store: delete %s: %w", key, err)
	}
	return nil
}

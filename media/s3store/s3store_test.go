package s3store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/mediatest"
	"github.com/yingji/yingji/media/s3store"
)

// One real MinIO server for the package, started on first use.
var server mediatest.SharedMinIO

var buckets atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	server.Close()
	os.Exit(code)
}

// MustOpen opens a store on a new bucket; parts are small so a few MiB go up in several.
func MustOpen(tb testing.TB) *s3store.Store {
	tb.Helper()
	return MustOpenConfig(tb, s3store.Config{PartSize: s3store.MinPartSize})
}

func MustOpenConfig(tb testing.TB, cfg s3store.Config) *s3store.Store {
	tb.Helper()
	srv := server.Server(tb)
	cfg.Endpoint, cfg.AccessKey, cfg.SecretKey = srv.Endpoint, srv.AccessKey, srv.SecretKey
	if cfg.Bucket == "" {
		cfg.Bucket = fmt.Sprintf("yingji-test-%d", buckets.Add(1))
	}
	s, err := s3store.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	var stores []*s3store.Store
	mediatest.Run(t, func(t *testing.T) media.Store {
		s := MustOpen(t)
		stores = append(stores, s)
		return s
	})
	// Whatever failed, no multipart upload is left behind.
	for _, s := range stores {
		for u := range s.Client().ListIncompleteUploads(context.Background(), s.Bucket(), "", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			t.Errorf("%s: incomplete upload of %s left behind", s.Bucket(), u.Key)
		}
	}
}

func TestConformanceDefaultPartSize(t *testing.T) {
	// With the default 16 MiB parts the suite's streams go up in one PUT.
	mediatest.Run(t, func(t *testing.T) media.Store { return MustOpenConfig(t, s3store.Config{}) })
}

func TestNew(t *testing.T) {
	t.Run("OKExistingBucket", func(t *testing.T) {
		s := MustOpen(t)
		b := []byte("evidence")
		key := media.Original(mediatest.SHA256(b))
		if _, err := s.Put(context.Background(), key, bytes.NewReader(b), -1, media.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		again := MustOpenConfig(t, s3store.Config{Bucket: s.Bucket()})
		if _, err := again.Stat(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrPartSize", func(t *testing.T) {
		srv := server.Server(t)
		_, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, Bucket: "x-bucket", PartSize: 1 << 20})
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ErrCredentials", func(t *testing.T) {
		srv := server.Server(t)
		_, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: "nobody", SecretKey: "wrong-secret", Bucket: "yingji-denied"})
		if err == nil {
			t.Fatal("no error")
		}
	})
}

func TestMetadata(t *testing.T) {
	// The hash is in the object's user metadata, for tools other than this store.
	s := MustOpen(t)
	for _, n := range []int{10, mediatest.StreamSize} {
		b := mediatest.Bytes(1, n)
		key := media.Key(fmt.Sprintf("thumbs/%d/x.jpg", n))
		if _, err := s.Put(context.Background(), key, bytes.NewReader(b), -1, media.PutOptions{ContentType: "image/jpeg"}); err != nil {
			t.Fatal(err)
		}
		oi, err := s.Client().StatObject(context.Background(), s.Bucket(), string(key), minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := oi.UserMetadata["Sha256"]; got != mediatest.SHA256(b) || oi.ContentType != "image/jpeg" {
			t.Fatalf("%s: sha256 metadata %q, content type %q", key, got, oi.ContentType)
		}
	}
}

// BenchmarkPut64MiB: go test -run '^$' -bench Put64MiB ./media/s3store
func BenchmarkPut64MiB(b *testing.B) {
	mediatest.BenchmarkPut(b, MustOpenConfig(b, s3store.Config{}), 64<<20)
}

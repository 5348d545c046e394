package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/mediatest"
	"github.com/yingji/yingji/media/s3store"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// TestMediaOnMinIO: with media_s3_* set, the server keeps originals in MinIO: an upload lands
// in the bucket byte for byte and is served back.
func TestMediaOnMinIO(t *testing.T) {
	ctx := context.Background()
	mc, err := mediatest.StartMinIO(ctx)
	if err != nil {
		if !mediatestCI() && errors.Is(err, mediatest.ErrNoMinIO) {
			mediatest.SkipNoMinIO(t, err)
		}
		t.Fatal(err)
	}
	defer mc.Close()
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) {
		c.MediaS3Endpoint, c.MediaS3AccessKey, c.MediaS3SecretKey, c.MediaS3Bucket = mc.Endpoint, mc.AccessKey, mc.SecretKey, "evidence"
	}))
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		img.Set(x, x%48, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	tok := s.LoginAs(t, "safety01", apptest.Password, "mobile", "minio-phone")

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/media/uploads", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", "sha256 "+base64.StdEncoding.EncodeToString([]byte(hash))+",content_type "+base64.StdEncoding.EncodeToString([]byte("image/png")))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("upload: %d, offset %q", res.StatusCode, res.Header.Get("Upload-Offset"))
	}

	st, err := s3store.New(ctx, s3store.Config{Endpoint: mc.Endpoint, AccessKey: mc.AccessKey, SecretKey: mc.SecretKey, Bucket: "evidence"})
	if err != nil {
		t.Fatal(err)
	}
	rc, info, err := st.Get(ctx, media.Original(hash), 0, -1)
	if err != nil {
		t.Fatalf("the original is not in MinIO: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || info.Size != int64(len(data)) {
		t.Fatal("MinIO holds different bytes")
	}
	r := s.Do(t, http.MethodGet, "/api/v1/media/"+hash, tok, nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("download: %d, %d bytes", r.Status, len(r.Body))
	}
}

func mediatestCI() bool { return os.Getenv("CI") == "true" }

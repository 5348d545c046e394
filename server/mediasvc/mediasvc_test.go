package mediasvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/local"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/mediasvc/mediasvctest"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/yingji"
)

func TestReadMetadata(t *testing.T) {
	svc := apptest.Start(t).Media
	read := func(b []byte) mediasvc.Metadata { return svc.ReadMetadata(bytes.NewReader(b), nil) }
	t.Run("OK", func(t *testing.T) {
		md := read(mediasvctest.JPEG(t, 64, 48, &mediasvctest.EXIF{TakenAt: "2026:07:01 14:05:09", Offset: "+09:00", Lat: -33.8568, Lng: 151.2153}))
		if md.TakenAt == nil || !md.TakenAt.Equal(time.Date(2026, 7, 1, 5, 5, 9, 0, time.UTC)) {
			t.Errorf("taken at %v", md.TakenAt)
		}
		if md.Lat == nil || math.Abs(*md.Lat+33.8568) > 1e-5 || math.Abs(*md.Lng-151.2153) > 1e-5 {
			t.Errorf("position %v %v", md.Lat, md.Lng)
		}
	})
	t.Run("OKNoOffsetIsBeijingTime", func(t *testing.T) {
		md := read(mediasvctest.JPEG(t, 64, 48, &mediasvctest.EXIF{TakenAt: "2026:11:28 08:00:00"}))
		if md.TakenAt == nil || !md.TakenAt.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) || md.Lat != nil {
			t.Errorf("%+v", md)
		}
	})
	t.Run("OKNone", func(t *testing.T) {
		if md := read(mediasvctest.JPEG(t, 64, 48, nil)); md.TakenAt != nil || md.Lat != nil {
			t.Errorf("%+v", md)
		}
		if md := read([]byte("not a picture")); md.TakenAt != nil || md.Lat != nil {
			t.Errorf("%+v", md)
		}
	})
	t.Run("OKBroken", func(t *testing.T) {
		good := mediasvctest.JPEG(t, 64, 48, &mediasvctest.EXIF{TakenAt: "2026:11:28 08:00:00", Lat: 30, Lng: 120})
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 1000; i++ { // damaged EXIF blocks must never panic, nor take long (saneTIFF)
			b := bytes.Clone(good)
			for j := 0; j < 8; j++ {
				b[12+rng.IntN(200)] = byte(rng.IntN(256))
			}
			read(b)
		}
	})
}

func TestThumbnails(t *testing.T) {
	t.Run("OKOrientations", func(t *testing.T) {
		for o := uint16(1); o <= 8; o++ {
			src := mediasvctest.JPEG(t, 1000, 500, &mediasvctest.EXIF{Orientation: o})
			out, err := mediasvc.Thumbnails(src, 320, 1280)
			if err != nil {
				t.Fatal(err)
			}
			// Upright the picture is 1000×500, or 500×1000 when turned; never made wider.
			uw, uh := 1000, 500
			if o >= 5 {
				uw, uh = 500, 1000
			}
			for i, w := range []int{320, 1280} {
				img, err := jpeg.Decode(bytes.NewReader(out[i]))
				if err != nil {
					t.Fatal(err)
				}
				wantW := min(w, uw)
				if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantW*uh/uw {
					t.Errorf("orientation %d, width %d: %d×%d, want %d×%d", o, w, b.Dx(), b.Dy(), wantW, wantW*uh/uw)
				}
			}
		}
	})
	t.Run("OKRotated", func(t *testing.T) {
		// Orientation 6: the stored left (red) half is the upright top, the green corner top right.
		out, err := mediasvc.Thumbnails(mediasvctest.JPEG(t, 800, 400, &mediasvctest.EXIF{Orientation: 6}), 320)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := jpeg.Decode(bytes.NewReader(out[0]))
		b := img.Bounds()
		if b.Dx() != 320 || b.Dy() != 640 {
			t.Fatalf("%v", b)
		}
		for _, p := range []struct {
			x, y int
			want string
		}{{160, 100, "red"}, {160, 540, "blue"}, {310, 10, "green"}, {10, 10, "red"}} {
			if got := colorName(img.At(p.x, p.y)); got != p.want {
				t.Errorf("(%d,%d) is %s, want %s", p.x, p.y, got, p.want)
			}
		}
	})
	t.Run("OKTransparentPNG", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
		var buf bytes.Buffer
		png.Encode(&buf, img) // fully transparent
		out, err := mediasvc.Thumbnails(buf.Bytes(), 320)
		if err != nil {
			t.Fatal(err)
		}
		th, _ := jpeg.Decode(bytes.NewReader(out[0]))
		if r, g, b, _ := th.At(100, 100).RGBA(); r < 0xF000 || g < 0xF000 || b < 0xF000 {
			t.Errorf("transparent became %v, want white", th.At(100, 100))
		}
	})
	t.Run("ErrNotAPicture", func(t *testing.T) {
		if _, err := mediasvc.Thumbnails([]byte("%PDF-1.4"), 320); err == nil {
			t.Fatal("no error")
		}
	})
}

func colorName(c color.Color) string {
	r, g, b, _ := c.RGBA()
	switch {
	case r > 2*g && r > 2*b:
		return "red"
	case g > 2*r && g > 2*b:
		return "green"
	case b > 2*r && b > 2*g:
		return "blue"
	}
	return "other"
}

// TestThumbConcurrent: many first requests at once make the thumbnails once and all succeed.
func TestThumbConcurrent(t *testing.T) {
	s := apptest.Start(t)
	c := &mediasvctest.Client{URL: s.URL, Token: s.Login(t, "admin"), HTTP: s.Client}
	photo := mediasvctest.JPEG(t, 2000, 1500, nil)
	sha := mediasvctest.SHA256(photo)
	c.Upload(t, photo, "image/jpeg")
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := c.Do(t, http.MethodGet, "/api/v1/media/"+sha+"/thumb/"+map[int]string{0: "320", 1: "1280"}[w%2], nil)
			if r.Status != http.StatusOK {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d thumbnail requests failed", failed.Load())
	}
}

// failingStore is a media store whose puts fail while fail is set.
type failingStore struct {
	media.Store
	fail atomic.Bool
}

func (f *failingStore) Put(ctx context.Context, key media.Key, r io.Reader, size int64, opt media.PutOptions) (media.Info, error) {
	if f.fail.Load() {
		return media.Info{}, errors.New("disk full")
	}
	return f.Store.Put(ctx, key, r, size, opt)
}

// TestUploadFinishRetried: when storing a complete upload fails inside the server, its data is
// kept, and the next HEAD stores it and reports it complete.
func TestUploadFinishRetried(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ls, err := local.New(filepath.Join(dir, "media"))
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{Store: ls}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := mediasvc.New(ctx, db, store, nil, log, mediasvc.Config{MaxPhoto: 1 << 20, MaxVideo: 1 << 20, MaxAudio: 1 << 20,
		MaxPDF: 1 << 20, UploadDir: filepath.Join(dir, "uploads")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := svc.Uploads("/up/", func(w http.ResponseWriter, r *http.Request, err error) {
		status := mediasvc.HTTPStatus(err)
		if status == 0 {
			status = http.StatusInternalServerError
			if yingji.ErrorKind(err) == yingji.ENOTFOUND {
				status = http.StatusNotFound
			}
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": yingji.ErrorCode(err)})
	})
	if err != nil {
		t.Fatal(err)
	}
	actor := &yingji.Actor{UserID: yingji.NewID(), Username: "tester", Role: yingji.RoleGridWorker, OrgPath: "/x/"}
	mux := http.StripPrefix("/up", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.ServeHTTP(w, r.WithContext(mediasvc.WithActor(r.Context(), actor)))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	c := &mediasvctest.Client{URL: srv.URL}
	photo := mediasvctest.JPEG(t, 320, 240, nil)
	sha := mediasvctest.SHA256(photo)
	r := c.Do(t, http.MethodPost, "/up/", nil, "Upload-Length", itoa(len(photo)),
		"Upload-Metadata", mediasvctest.Metadata("sha256", sha))
	loc := r.Header.Get("Location")
	if r.Status != http.StatusCreated || loc == "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	store.fail.Store(true)
	if r := c.Patch(t, loc, 0, photo); r.Status != http.StatusInternalServerError {
		t.Fatalf("PATCH with a failing store: %d %s", r.Status, r.Body)
	}
	if _, ok, _ := svc.Exists(ctx, actor, sha); ok {
		t.Fatal("recorded although not stored")
	}
	store.fail.Store(false)
	h := c.Do(t, http.MethodHead, loc, nil)
	if h.Status != http.StatusOK || h.Offset() != int64(len(photo)) {
		t.Fatalf("HEAD: %d %v", h.Status, h.Header)
	}
	if _, ok, _ := svc.Exists(ctx, actor, sha); !ok {
		t.Fatal("not stored after the retry")
	}
	if rc, _, err := ls.Get(ctx, media.Original(sha), 0, -1); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, photo) {
			t.Fatal("stored bytes differ")
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// BenchmarkThumbnails12MP measures the thumbnails of a 12-megapixel (4000×3000) phone photo:
// one decode, the 1280 and the 320 px JPEG. Run: go test -run '^$' -bench Thumbnails ./server/mediasvc/
func BenchmarkThumbnails12MP(b *testing.B) {
	photo := photo12MP(b)
	b.SetBytes(int64(len(photo)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := mediasvc.Thumbnails(photo, mediasvc.ThumbWidths...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/pair")
}

// photo12MP is a 4000×3000 JPEG at quality 90 with detail like a photo's (gradients and
// noise), about 4–6 MB, with EXIF orientation 6.
func photo12MP(tb testing.TB) []byte {
	tb.Helper()
	const w, h = 4000, 3000
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(7, 11))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := rng.IntN(48)
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8((x*255/w + n) & 255)
			img.Pix[i+1] = uint8((y*255/h + n) & 255)
			img.Pix[i+2] = uint8(((x+y)*255/(w+h) + n) & 255)
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return mediasvctest.WithEXIF(tb, buf.Bytes(), mediasvctest.EXIF{Orientation: 6})
}

// TestStaleUploadsPurged: an upload left unfinished longer than media_upload_ttl is removed
// with its data the next time someone creates an upload.
func TestStaleUploadsPurged(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	s := apptest.Start(t, apptest.WithClock(func() time.Time { return time.Unix(0, now.Load()) }),
		apptest.WithConfig(func(c *config.Config) { c.MediaUploadTTL = 2 * time.Hour }))
	c := &mediasvctest.Client{URL: s.URL, Token: s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-1"), HTTP: s.Client}
	photo := mediasvctest.JPEG(t, 320, 240, nil)
	old := c.Create(t, photo, "", "image/jpeg")
	c.Patch(t, old.Header.Get("Location"), 0, photo[:100])
	now.Add(int64(3 * time.Hour))
	c.Create(t, mediasvctest.JPEG(t, 100, 100, nil), "", "image/jpeg")
	if h := c.Do(t, http.MethodHead, old.Header.Get("Location"), nil); h.Status != http.StatusNotFound {
		t.Fatalf("stale upload: HEAD %d", h.Status)
	}
	if _, err := os.Stat(filepath.Join(s.Config.MediaUploadDir(), path.Base(old.Header.Get("Location")))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale data left: %v", err)
	}
}

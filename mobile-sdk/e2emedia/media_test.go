// Package e2emedia_test is the media issue's end-to-end test: real SDK clients (and the
// yingji-field command) attach photos offline and upload them to the real server through a
// proxy that cuts an upload halfway; the client restarts and resumes from the server's offset.
//
//	go test -race -count=1 ./mobile-sdk/e2emedia/
package e2emedia_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
)

// The shared end-to-end helpers, under this package's names.
var (
	sum = e2etest.Sum
)

const (
	uploads     = "/api/v1/media/uploads" // the tus collection: creation
	uploadItems = "/api/v1/uploads"       // an upload's own URL (the creation's Location)
	chunk       = 64 << 10                // the clients' upload request size here (several per photo)
)

// photo is a real JPEG of w×h pixels: a gradient with noise, different for every seed, a few
// hundred KB.
func photo(t *testing.T, seed uint64, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.IntN(96))
			img.Set(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) + n, uint8(seed*40) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func open(t *testing.T, path string, opts sdk.Options) *sdk.Client {
	t.Helper()
	c, err := sdk.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// login signs the client in and returns the user's enterprise.
func login(t *testing.T, c *sdk.Client, server, user string) string {
	t.Helper()
	raw, err := c.Login(context.Background(), server, user, apptest.Password)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	var u struct {
		EnterpriseID string `json:"enterprise_id"`
	}
	json.Unmarshal(raw, &u)
	if u.EnterpriseID == "" {
		t.Fatalf("%s has no enterprise: %s", user, raw)
	}
	return u.EnterpriseID
}

func syncOK(t *testing.T, c *sdk.Client) sdk.SyncStats {
	t.Helper()
	st, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return st
}

// webToken signs user in on the web client (his phone session stays).
func webToken(t *testing.T, srv *apptest.Server, user string) string {
	t.Helper()
	res := srv.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": apptest.Password,
		"client": "web", "device_id": "e2emedia-" + user})
	var out struct{ Token string }
	res.JSON(t, &out)
	if res.Status != 200 || out.Token == "" {
		t.Fatalf("web login %s: %d %s", user, res.Status, res.Body)
	}
	return out.Token
}

type mediaInfo struct {
	Status        string `json:"status"`
	ReceivedBytes *int64 `json:"received_bytes"`
	Size          int64  `json:"size"`
}

func info(t *testing.T, srv *apptest.Server, token, sha string) mediaInfo {
	t.Helper()
	res := srv.Do(t, "GET", "/api/v1/media/"+sha+"/info", token, nil)
	var in mediaInfo
	res.JSON(t, &in)
	if res.Status != 200 {
		t.Fatalf("info %s: %d %s", sha, res.Status, res.Body)
	}
	return in
}

// patchBytes adds up the PATCH body bytes the proxy passed on to the server.
func patchBytes(reqs []apptest.Forwarded) int64 {
	var n int64
	for _, r := range reqs {
		if r.Method == "PATCH" {
			n += r.BodyBytes
		}
	}
	return n
}

func hazard(t *testing.T, c *sdk.Client, ent, title string) string {
	t.Helper()
	id, err := c.Create(context.Background(), "hazards", map[string]json.RawMessage{
		"title": json.RawMessage(fmt.Sprintf("%q", title)), "description": json.RawMessage(`"现场照片见附件"`),
		"enterprise_id": json.RawMessage(fmt.Sprintf("%q", ent)), "photos": json.RawMessage(`[]`)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func photosOf(t *testing.T, c *sdk.Client, id string) []string {
	t.Helper()
	r, err := c.Get(context.Background(), "hazards", id)
	if err != nil {
		t.Fatal(err)
	}
	var p []string
	json.Unmarshal(r.Fields["photos"], &p)
	return p
}

// TestMediaE2E is the "Done when": a client offline attaches three photos to a hazard,
// the upload is cut halfway, the client restarts and resumes from the server's offset; the
// server ends with the three originals whose SHA-256 match the files, thumbnails served,
// nothing uploaded twice.
func TestMediaE2E(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := apptest.Start(t)
	proxy := apptest.NewCutProxy(t, srv.URL)
	opts := sdk.Options{RetryBudget: 500 * time.Millisecond, MediaChunkSize: chunk}
	dir := t.TempDir()
	path := filepath.Join(dir, "phone.db")
	c := open(t, path, opts)
	ent := login(t, c, proxy.URL, "safety01")
	syncOK(t, c)
	token := webToken(t, srv, "safety01")

	// Offline: a hazard with three photos from the camera, which the user then deletes.
	proxy.SetDown(true)
	id := hazard(t, c, ent, "配电柜门锁损坏")
	camera := filepath.Join(dir, "DCIM")
	os.Mkdir(camera, 0o700)
	var files [][]byte
	var shas []string
	var total int64
	for i := range 3 {
		b := photo(t, uint64(i+1), 800+40*i, 600)
		if len(b) < 150<<10 || len(b) > 900<<10 {
			t.Fatalf("photo %d is %d bytes, want a few hundred KB", i, len(b))
		}
		f := filepath.Join(camera, fmt.Sprintf("IMG_%04d.jpg", i+1))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := c.Attach(ctx, "hazards", id, "photos", f)
		if err != nil {
			t.Fatalf("attach %d offline: %v", i, err)
		}
		if a.SHA256 != sum(b) || a.Size != int64(len(b)) {
			t.Fatalf("attach %d = %+v, want %s %d", i, a, sum(b), len(b))
		}
		files, shas, total = append(files, b), append(shas, a.SHA256), total+a.Size
	}
	os.RemoveAll(camera)
	want := slices.Sorted(slices.Values(shas))
	if p := photosOf(t, c, id); !slices.Equal(p, want) {
		t.Fatalf("local photos = %v, want %v", p, want)
	}
	st, _ := c.Status(ctx)
	if st.Pending != 4 || st.MediaPending != 3 {
		t.Fatalf("offline status: %d pending, %d media pending", st.Pending, st.MediaPending)
	}
	if _, err := c.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("sync offline: %v", err)
	}

	// Online; the upload is cut halfway: the server gets part of a request body, the phone a
	// dropped connection, then the network is gone again.
	proxy.SetDown(false)
	proxy.CutBodyAt("PATCH", uploadItems+"/", total/2)
	if _, err := c.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("sync cut halfway: %v", err)
	}
	if st, _ := c.Status(ctx); st.Pending != 0 || st.MediaPending != 2 {
		t.Fatalf("after the cut: %d pending (records go first), %d media pending", st.Pending, st.MediaPending)
	}
	// The server: one photo stored, one in progress, one not started (but referred to).
	var offset int64
	states := map[string]int{}
	for _, sha := range shas {
		in := info(t, srv, token, sha)
		states[in.Status]++
		if in.Status == "uploading" {
			// The partial chunk is discarded (it fails its Upload-Checksum): wait for that.
			deadline := time.Now().Add(5 * time.Second)
			for in.ReceivedBytes != nil && *in.ReceivedBytes%chunk != 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				in = info(t, srv, token, sha)
			}
			if in.ReceivedBytes == nil || *in.ReceivedBytes%chunk != 0 {
				t.Fatalf("uploading photo: %+v", in)
			}
			offset = *in.ReceivedBytes
		}
	}
	if states["ready"] != 1 || states["uploading"] != 1 || states["missing"] != 1 || offset <= 0 {
		t.Fatalf("server after the cut: %v, offset %d", states, offset)
	}

	// The app is killed and started again, the network is back.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = open(t, path, opts)
	proxy.SetDown(false)
	mark := len(proxy.Requests())
	st2 := syncOK(t, c)
	if st2.MediaUploaded != 2 || st2.Pushed != 0 {
		t.Fatalf("sync after restart: %+v", st2)
	}
	var media []apptest.Forwarded
	for _, r := range proxy.Requests()[mark:] {
		if strings.HasPrefix(r.Path, uploads) || strings.HasPrefix(r.Path, uploadItems+"/") {
			media = append(media, r)
		}
	}
	if len(media) < 2 || media[0].Method != "HEAD" || media[1].Method != "PATCH" || media[1].Path != media[0].Path {
		t.Fatalf("after restart the phone did not ask its saved upload first: %+v", media[:min(2, len(media))])
	}
	if got := media[1].Header.Get("Upload-Offset"); got != fmt.Sprint(offset) {
		t.Fatalf("resumed at offset %s, the server had %d", got, offset)
	}
	posts := 0
	for _, r := range media {
		if r.Method == "POST" {
			posts++
		}
	}
	if posts != 1 {
		t.Fatalf("%d uploads created after restart, want 1 (the photo never started)", posts)
	}
	got := patchBytes(proxy.Requests())
	if got < total || got > total+chunk {
		t.Fatalf("PATCH bodies carried %d bytes for %d bytes of photos (slack: one chunk, %d)", got, total, chunk)
	}
	t.Logf("photos %d bytes in all, cut at %d, resumed at offset %d, PATCH bodies %d bytes", total, total/2, offset, got)
	if st, _ := c.Status(ctx); st.MediaPending != 0 || st.MediaFailed != 0 || st.Pending != 0 {
		t.Fatalf("status after upload: %+v", st)
	}

	// The server holds the originals byte for byte, and thumbnails.
	for i, sha := range shas {
		res := srv.Do(t, "GET", "/api/v1/media/"+sha, token, nil)
		if res.Status != 200 || sum(res.Body) != sha || !bytes.Equal(res.Body, files[i]) {
			t.Fatalf("original %d: status %d, %d bytes, sha %s", i, res.Status, len(res.Body), sum(res.Body))
		}
		res = srv.Do(t, "GET", "/api/v1/media/"+sha+"/thumb/320", token, nil)
		if res.Status != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumbnail %d: %d %s", i, res.Status, res.Header.Get("Content-Type"))
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.Body)); err != nil || cfg.Width != 320 {
			t.Fatalf("thumbnail %d: %+v, %v", i, cfg, err)
		}
	}

	// The same photo attached to another hazard: the server has it, no byte is sent.
	id2 := hazard(t, c, ent, "配电柜接地线松动")
	again := filepath.Join(dir, "again.jpg")
	os.WriteFile(again, files[0], 0o600)
	if _, err := c.Attach(ctx, "hazards", id2, "photos", again); err != nil {
		t.Fatal(err)
	}
	mark = len(proxy.Requests())
	if st := syncOK(t, c); st.MediaUploaded != 1 || st.Applied != 2 {
		t.Fatalf("sync of the re-attached photo: %+v", st)
	}
	after := proxy.Requests()[mark:]
	if n := patchBytes(after); n != 0 {
		t.Fatalf("a photo the server has was sent again: %d bytes", n)
	}
	dedup := false
	for _, r := range after {
		dedup = dedup || r.Method == "POST" && r.Path == uploads && r.Status == 201 && r.ResHeader.Get("Media-Status") == "ready"
	}
	if !dedup {
		t.Fatalf("no deduplicated creation among %+v", after)
	}

	// Another phone of the enterprise pulls the hazard with the three hashes and fetches a
	// thumbnail once.
	d := open(t, filepath.Join(dir, "other.db"), opts)
	login(t, d, proxy.URL, "principal01")
	syncOK(t, d)
	if p := photosOf(t, d, id); !slices.Equal(p, want) {
		t.Fatalf("the second phone sees photos %v, want %v", p, want)
	}
	thumb, err := d.Thumbnail(ctx, shas[1], 320)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(thumb)
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 320 {
		t.Fatalf("thumbnail file: %+v, %v", cfg, err)
	}
	mark = len(proxy.Requests())
	if p, err := d.Thumbnail(ctx, shas[1], 320); err != nil || p != thumb || len(proxy.Requests()) != mark {
		t.Fatalf("second thumbnail: %s, %v, %d requests", p, err, len(proxy.Requests())-mark)
	}
}

package sdk_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/fakeserver"
)

// tusFake speaks enough of the server's tus protocol for the queue's edge cases, in front of
// the sync fake. The end-to-end test (mobile-sdk/e2emedia) runs against the real server.
type tusFake struct {
	*fakeserver.Server
	URL string

	mu      sync.Mutex
	next    int
	uploads map[string]*tusUp
	objects map[string][]byte
	thumbs  int // thumbnail requests
	reqs    []string
	// Knobs.
	refuse    map[string]bool // hashes whose type is refused at the first byte
	down      int             // drop the next N media requests without an answer
	dropPatch int             // store the Nth PATCH from now, then drop the connection (0: never)
	answer    []int           // the next PATCHes answered with these statuses instead (409, 460, 404)
	body      int64           // PATCH body bytes received
}

type tusUp struct {
	sha  string
	size int64
	data []byte
}

func newTusFake(t *testing.T) *tusFake {
	f := &tusFake{Server: fakeserver.New(), uploads: map[string]*tusUp{}, objects: map[string][]byte{}, refuse: map[string]bool{}}
	t.Cleanup(f.Server.Close)
	u, _ := url.Parse(f.Server.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/media/") {
			f.media(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func tusErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg, "request_id": "r"})
}

func hijackClose(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

func (f *tusFake) media(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+" "+r.Header.Get("Upload-Offset"))
	if f.down > 0 {
		f.down--
		hijackClose(w)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeserver.Token {
		tusErr(w, 401, "auth.unauthorized", "请先登录")
		return
	}
	if strings.Contains(r.URL.Path, "/thumb/") {
		f.thumbs++
		sha := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/media/"), "/")[0]
		if _, ok := f.objects[sha]; !ok {
			tusErr(w, 404, "media.not_ready", "文件尚未上传完成（上传中）")
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write([]byte("thumb of " + sha))
		return
	}
	const base = "/api/v1/media/uploads"
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, base), "/")
	w.Header().Set("Tus-Resumable", "1.0.0")
	switch {
	case r.Method == http.MethodPost && id == "":
		meta := map[string]string{}
		for _, kv := range strings.Split(r.Header.Get("Upload-Metadata"), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), " ")
			b, _ := base64.StdEncoding.DecodeString(v)
			meta[k] = string(b)
		}
		size, _ := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
		if _, ok := f.objects[meta["sha256"]]; ok {
			w.Header().Set("Location", "http://"+r.Host+base+"/"+meta["sha256"])
			w.Header().Set("Upload-Offset", strconv.FormatInt(size, 10))
			w.Header().Set("Media-Status", "ready")
			w.WriteHeader(201)
			return
		}
		f.next++
		id := fmt.Sprintf("up%d", f.next)
		f.uploads[id] = &tusUp{sha: meta["sha256"], size: size}
		w.Header().Set("Location", "http://"+r.Host+base+"/"+id) // no Upload-Offset: 0
		w.WriteHeader(201)
	case r.Method == http.MethodHead:
		if o, ok := f.objects[id]; ok {
			w.Header().Set("Upload-Offset", strconv.Itoa(len(o)))
			w.Header().Set("Upload-Length", strconv.Itoa(len(o)))
			return
		}
		u, ok := f.uploads[id]
		if !ok {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
		w.Header().Set("Upload-Length", strconv.FormatInt(u.size, 10))
	case r.Method == http.MethodPatch:
		body, _ := io.ReadAll(r.Body)
		f.body += int64(len(body))
		if len(f.answer) > 0 {
			st := f.answer[0]
			f.answer = f.answer[1:]
			switch st {
			case 409:
				tusErr(w, 409, "upload.offset_mismatch", "续传位置与服务器不一致")
			case 460:
				tusErr(w, 460, "upload.checksum_mismatch", "本段数据与 Upload-Checksum 不符")
			case 404:
				delete(f.uploads, id)
				tusErr(w, 404, "upload.not_found", "上传不存在或已过期")
			}
			return
		}
		u, ok := f.uploads[id]
		if !ok {
			tusErr(w, 404, "upload.not_found", "上传不存在或已过期")
			return
		}
		off, _ := strconv.Atoi(r.Header.Get("Upload-Offset"))
		if off != len(u.data) {
			tusErr(w, 409, "upload.offset_mismatch", "续传位置与服务器不一致")
			return
		}
		algo, sum, _ := strings.Cut(r.Header.Get("Upload-Checksum"), " ")
		got := sha256.Sum256(body)
		if algo != "sha256" || sum != base64.StdEncoding.EncodeToString(got[:]) {
			tusErr(w, 460, "upload.checksum_mismatch", "本段数据与 Upload-Checksum 不符")
			return
		}
		if off == 0 && f.refuse[u.sha] {
			delete(f.uploads, id)
			tusErr(w, 415, "media.type_not_allowed", "不允许上传该类型的文件（仅限图片、视频、音频和 PDF）")
			return
		}
		u.data = append(u.data, body...)
		drop := false
		if f.dropPatch > 0 {
			f.dropPatch--
			drop = f.dropPatch == 0
		}
		if int64(len(u.data)) == u.size {
			h := sha256.Sum256(u.data)
			delete(f.uploads, id)
			if hex.EncodeToString(h[:]) != u.sha {
				tusErr(w, 460, "media.hash_mismatch", "文件内容与声明的 SHA-256 不符")
				return
			}
			f.objects[u.sha] = u.data
			w.Header().Set("Media-Status", "ready")
		}
		if drop {
			f.down = 1000 // the network is gone
			hijackClose(w)
			return
		}
		w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
		w.WriteHeader(204)
	default:
		tusErr(w, 405, "request.method_not_allowed", "不支持该请求方法")
	}
}

func (f *tusFake) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *tusFake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// mediaFile writes n random bytes to a new file and returns its path, bytes and hash.
func mediaFile(t *testing.T, n int) (string, []byte, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), fmt.Sprintf("photo-%d.jpg", n))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return p, b, hex.EncodeToString(h[:])
}

func openMedia(t *testing.T, path string) *sdk.Client {
	t.Helper()
	c, err := sdk.Open(context.Background(), path, sdk.Options{RetryBudget: 300 * time.Millisecond, MediaChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func loginMedia(t *testing.T, f *tusFake, path string) *sdk.Client {
	t.Helper()
	c := openMedia(t, path)
	if _, err := c.Login(context.Background(), f.URL, "grid01", fakeserver.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func newHazard(t *testing.T, c *sdk.Client) string {
	t.Helper()
	id, err := c.Create(context.Background(), "hazards", map[string]json.RawMessage{"title": json.RawMessage(`"配电箱无门"`)})
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

func mediaState(t *testing.T, c *sdk.Client, sha string) sdk.MediaItem {
	t.Helper()
	items, err := c.Media(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.SHA256 == sha {
			return it
		}
	}
	t.Fatalf("%s not in the queue: %+v", sha, items)
	return sdk.MediaItem{}
}

func TestAttachOffline(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	c := openMedia(t, path)
	id := newHazard(t, c)
	file, data, sha := mediaFile(t, 2500)
	a, err := c.Attach(ctx, "hazards", id, "photos", file)
	if err != nil || a.SHA256 != sha || a.Size != 2500 {
		t.Fatalf("attach = %+v, %v", a, err)
	}
	os.Remove(file) // the user deletes the original: the replica keeps a copy
	if b, err := os.ReadFile(filepath.Join(path+"-media", sha)); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("copy: %v", err)
	}
	if p := photosOf(t, c, id); !slices.Equal(p, []string{sha}) {
		t.Fatalf("photos = %v", p)
	}
	pend, _ := c.Pending(ctx)
	if len(pend) != 2 || pend[1].Op != "update" || string(pend[1].Fields["photos"]) != `["`+sha+`"]` {
		t.Fatalf("pending = %+v", pend)
	}
	st, _ := c.Status(ctx)
	if st.MediaPending != 1 || st.Pending != 2 {
		t.Fatalf("status = %+v", st)
	}
	it := mediaState(t, c, sha)
	if it.State != sdk.MediaQueued || it.ContentType != "application/octet-stream" && it.ContentType != "image/jpeg" ||
		it.Filename != "photo-2500.jpg" || len(it.Records) != 1 || it.Records[0].ID != id {
		t.Fatalf("queue item = %+v", it)
	}

	// The same file again: nothing new to change or send.
	file2 := filepath.Join(t.TempDir(), "again.jpg")
	os.WriteFile(file2, data, 0o600)
	if _, err := c.Attach(ctx, "hazards", id, "photos", file2); err != nil {
		t.Fatal(err)
	}
	if pend, _ := c.Pending(ctx); len(pend) != 2 {
		t.Fatalf("re-attach queued a change: %+v", pend)
	}
	if st, _ := c.Status(ctx); st.MediaPending != 1 {
		t.Fatalf("re-attach: %+v", st)
	}

	// Refusals change nothing and leave no copy behind.
	other, _, osha := mediaFile(t, 10)
	empty := filepath.Join(t.TempDir(), "empty.jpg")
	os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		coll, id, field, file string
		kind                  sdk.Kind
	}{
		{"hazards", id, "photos", filepath.Join(t.TempDir(), "missing.jpg"), sdk.KindInvalid},
		{"hazards", id, "photos", empty, sdk.KindInvalid},
		{"hazards", id, "photos", t.TempDir(), sdk.KindInvalid},
		{"hazards", "00000000-0000-7000-8000-000000000000", "photos", other, sdk.KindNotFound},
		{"hazards", id, "_x", other, sdk.KindInvalid},
		{"bad name", id, "photos", other, sdk.KindInvalid},
	} {
		_, err := c.Attach(ctx, tc.coll, tc.id, tc.field, tc.file)
		if e := sdk.AsError(err); err == nil || e.Kind != tc.kind || !chineseRe(e.Message) {
			t.Errorf("attach %+v: %v, want kind %d", tc, err, tc.kind)
		}
	}
	if _, err := os.Stat(filepath.Join(path+"-media", osha)); !os.IsNotExist(err) {
		t.Errorf("a refused attach left its copy: %v", err)
	}
	if pend, _ := c.Pending(ctx); len(pend) != 2 {
		t.Fatalf("refusals queued changes: %+v", pend)
	}

	// The queue survives the app being killed.
	c.Close()
	c = openMedia(t, path)
	if st, _ := c.Status(ctx); st.MediaPending != 1 || st.Pending != 2 {
		t.Fatalf("after reopen: %+v", st)
	}
}

func chineseRe(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func TestMediaUpload(t *testing.T) {
	ctx := context.Background()
	f := newTusFake(t)
	path := filepath.Join(t.TempDir(), "m.db")
	c := loginMedia(t, f, path)
	id := newHazard(t, c)
	small, _, _ := mediaFile(t, 10)
	if _, err := c.Attach(ctx, "hazards", id, "title", small); sdk.AsError(err).Code != "media.not_a_set" {
		t.Fatalf("attach to a text field: %v", err)
	}
	if _, err := c.Attach(ctx, "hazards", id, "colour", small); sdk.AsError(err).Code != sdk.CodeUnknownField {
		t.Fatalf("attach to an unknown field: %v", err)
	}
	f1, d1, s1 := mediaFile(t, 3500)
	f2, d2, s2 := mediaFile(t, 999)
	for _, p := range []string{f1, f2} {
		if _, err := c.Attach(ctx, "hazards", id, "photos", p); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Sync(ctx)
	if err != nil || st.MediaUploaded != 2 || st.Applied != 3 {
		t.Fatalf("sync = %+v, %v", st, err)
	}
	f.set(func() {
		if !bytes.Equal(f.objects[s1], d1) || !bytes.Equal(f.objects[s2], d2) || f.body != 3500+999 {
			t.Errorf("server has %d objects, %d body bytes", len(f.objects), f.body)
		}
	})
	rec, _, _ := f.Record("hazards", id)
	want, _ := json.Marshal(slices.Sorted(slices.Values([]string{s1, s2})))
	if string(rec.Fields["photos"]) != string(want) {
		t.Fatalf("server photos = %s", rec.Fields["photos"])
	}
	if s, _ := c.Status(ctx); s.MediaPending != 0 || s.MediaFailed != 0 {
		t.Fatalf("status = %+v", s)
	}
	if it := mediaState(t, c, s1); it.State != sdk.MediaDone || it.Uploaded != 3500 {
		t.Fatalf("item = %+v", it)
	}
	if _, err := os.Stat(filepath.Join(path+"-media", s1)); !os.IsNotExist(err) {
		t.Fatalf("the copy of a sent file stays: %v", err)
	}

	// Attached again to another record: the server has it, nothing is sent.
	id2 := newHazard(t, c)
	g, _, _ := mediaFile(t, 3500)
	os.WriteFile(g, d1, 0o600)
	if _, err := c.Attach(ctx, "hazards", id2, "photos", g); err != nil {
		t.Fatal(err)
	}
	f.set(func() { f.body = 0 })
	if st, err := c.Sync(ctx); err != nil || st.MediaUploaded != 1 {
		t.Fatalf("sync = %+v, %v", st, err)
	}
	f.set(func() {
		if f.body != 0 {
			t.Errorf("a file the server has was sent again: %d bytes", f.body)
		}
	})

	// Thumbnails: fetched once, then from the replica's folder.
	p, err := c.Thumbnail(ctx, s1, 320)
	if b, _ := os.ReadFile(p); err != nil || string(b) != "thumb of "+s1 {
		t.Fatalf("thumbnail = %s, %v", p, err)
	}
	if p2, err := c.Thumbnail(ctx, strings.ToUpper(s1), 320); err != nil || p2 != p {
		t.Fatalf("thumbnail again = %s, %v", p2, err)
	}
	f.set(func() {
		if f.thumbs != 1 {
			t.Errorf("%d thumbnail requests, want 1", f.thumbs)
		}
	})
	if _, err := c.Thumbnail(ctx, strings.Repeat("a", 64), 320); sdk.KindOf(err) != sdk.KindNotFound {
		t.Fatalf("thumbnail of a missing file: %v", err)
	}
	if _, err := c.Thumbnail(ctx, s1, 100); sdk.KindOf(err) != sdk.KindInvalid {
		t.Fatalf("thumbnail width 100: %v", err)
	}
	if _, err := c.Thumbnail(ctx, "x", 320); sdk.KindOf(err) != sdk.KindInvalid {
		t.Fatalf("thumbnail of a bad hash: %v", err)
	}
}

func TestMediaRefused(t *testing.T) {
	ctx := context.Background()
	f := newTusFake(t)
	c := loginMedia(t, f, filepath.Join(t.TempDir(), "m.db"))
	id := newHazard(t, c)
	bad, _, sbad := mediaFile(t, 1500)
	good, _, sgood := mediaFile(t, 1200)
	f.set(func() { f.refuse[sbad] = true })
	for _, p := range []string{bad, good} {
		if _, err := c.Attach(ctx, "hazards", id, "photos", p); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Sync(ctx)
	if err != nil || st.MediaUploaded != 1 {
		t.Fatalf("sync = %+v, %v", st, err)
	}
	it := mediaState(t, c, sbad)
	if it.State != sdk.MediaFailed || it.ErrorCode != "media.type_not_allowed" || !chineseRe(it.ErrorMessage) {
		t.Fatalf("refused item = %+v", it)
	}
	if mediaState(t, c, sgood).State != sdk.MediaDone {
		t.Fatal("the other file was not sent")
	}
	if s, _ := c.Status(ctx); s.MediaPending != 0 || s.MediaFailed != 1 {
		t.Fatalf("status = %+v", s)
	}
	n := len(f.requests())
	if _, err := c.Sync(ctx); err != nil || len(f.requests()) != n {
		t.Fatalf("a refused file was tried again: %v, %v", err, f.requests()[n:])
	}
	// The user asks again once the server accepts it.
	f.set(func() { f.refuse[sbad] = false })
	if err := c.RetryMedia(ctx, sbad); err != nil {
		t.Fatal(err)
	}
	if err := c.RetryMedia(ctx, sbad); sdk.KindOf(err) != sdk.KindNotFound {
		t.Fatalf("retry of a queued file: %v", err)
	}
	if st, err := c.Sync(ctx); err != nil || st.MediaUploaded != 1 {
		t.Fatalf("sync = %+v, %v", st, err)
	}
}

func TestMediaResumeAfterKill(t *testing.T) {
	ctx := context.Background()
	f := newTusFake(t)
	path := filepath.Join(t.TempDir(), "m.db")
	c := loginMedia(t, f, path)
	id := newHazard(t, c)
	file, data, sha := mediaFile(t, 4500)
	if _, err := c.Attach(ctx, "hazards", id, "photos", file); err != nil {
		t.Fatal(err)
	}
	f.set(func() { f.dropPatch = 3 }) // two chunks arrive, the third is stored, then the network goes
	_, err := c.Sync(ctx)
	if sdk.KindOf(err) != sdk.KindUnreachable || sdk.KindUnreachable.ExitCode() != 3 {
		t.Fatalf("sync with the network gone: %v", err)
	}
	if it := mediaState(t, c, sha); it.State != sdk.MediaUploading || it.Uploaded != 2000 {
		t.Fatalf("after the cut: %+v", it)
	}
	if rec, _, _ := f.Record("hazards", id); len(rec.Fields["photos"]) < 10 {
		t.Fatal("the record was not pushed before its photo")
	}
	// The app is killed and started again; the network is back.
	c.Close()
	c = openMedia(t, path)
	f.set(func() { f.down, f.body = 0, 0 })
	n := len(f.requests())
	st, err := c.Sync(ctx)
	if err != nil || st.MediaUploaded != 1 {
		t.Fatalf("sync after restart = %+v, %v", st, err)
	}
	reqs := f.requests()[n:]
	if len(reqs) < 2 || !strings.HasPrefix(reqs[0], "HEAD /api/v1/media/uploads/up1") || reqs[1] != "PATCH /api/v1/media/uploads/up1 3000" {
		t.Fatalf("resume: %q", reqs)
	}
	f.set(func() {
		if !bytes.Equal(f.objects[sha], data) || f.body != 1500 {
			t.Errorf("server: %v, %d bytes after restart", bytes.Equal(f.objects[sha], data), f.body)
		}
	})
}

func TestMediaProtocolErrors(t *testing.T) {
	ctx := context.Background()
	f := newTusFake(t)
	c := loginMedia(t, f, filepath.Join(t.TempDir(), "m.db"))
	id := newHazard(t, c)
	file, data, sha := mediaFile(t, 3000)
	if _, err := c.Attach(ctx, "hazards", id, "photos", file); err != nil {
		t.Fatal(err)
	}
	// Offset mismatch → HEAD and resume; bad chunk → sent again; upload gone → created again.
	f.set(func() { f.answer = []int{409, 460, 404} })
	st, err := c.Sync(ctx)
	if err != nil || st.MediaUploaded != 1 {
		t.Fatalf("sync = %+v, %v (%q)", st, err, f.requests())
	}
	f.set(func() {
		if !bytes.Equal(f.objects[sha], data) || f.next != 2 {
			t.Errorf("server: %v, %d uploads created", bytes.Equal(f.objects[sha], data), f.next)
		}
	})
	want := []string{"POST", "PATCH", "HEAD", "PATCH", "PATCH", "POST", "PATCH", "PATCH", "PATCH"}
	var got []string
	for _, r := range f.requests() {
		got = append(got, strings.Fields(r)[0])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}

	// A server that keeps failing: the file stays queued, exit 3.
	file2, _, sha2 := mediaFile(t, 100)
	if _, err := c.Attach(ctx, "hazards", id, "photos", file2); err != nil {
		t.Fatal(err)
	}
	f.set(func() { f.answer = []int{460, 460, 460, 460, 460} })
	if _, err := c.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("sync with bad chunks = %v", err)
	}
	if it := mediaState(t, c, sha2); it.State != sdk.MediaUploading {
		t.Fatalf("item = %+v", it)
	}
}

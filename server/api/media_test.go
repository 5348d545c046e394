package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/mediasvc/mediasvctest"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// tusClient returns a tus client of the server logged in as username.
func tusClient(t *testing.T, s *apptest.Server, username string) *mediasvctest.Client {
	t.Helper()
	return &mediasvctest.Client{URL: s.URL, Token: s.Login(t, username), HTTP: s.Client}
}

// tusError checks an error answer of the upload protocol like apptest.WantError.
func tusError(t *testing.T, r mediasvctest.Response, status int, code string) map[string]any {
	t.Helper()
	return apptest.WantError(t, apptest.Response{Status: r.Status, Header: r.Header, Body: r.Body}, status, code)
}

// mediaInfo reads GET /media/:sha256/info.
func mediaInfo(t *testing.T, s *apptest.Server, token, sha string) (int, mediasvc.Info) {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1/media/"+sha+"/info", token, nil)
	var in mediasvc.Info
	if r.Status == http.StatusOK {
		r.JSON(t, &in)
	}
	return r.Status, in
}

// pushHazard has username report (or change) hazard id of his enterprise with these photos.
func pushHazard(t *testing.T, s *apptest.Server, username, id string, photos []string) {
	t.Helper()
	var ent string
	if err := s.DB.QueryRow(context.Background(), "SELECT enterprise_id FROM users WHERE username = $1", username).Scan(&ent); err != nil {
		t.Fatal(err)
	}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	op := syncproto.OpCreate
	var n int
	s.DB.QueryRow(context.Background(), "SELECT COUNT(*) FROM hazards WHERE id = $1", id).Scan(&n)
	if n > 0 {
		op = syncproto.OpUpdate
	}
	clock := syncproto.NewClock("phone-"+username, nil)
	push := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-" + username, Mutations: []syncproto.Mutation{
		{MutationID: yingji.NewID(), Collection: "hazards", ID: id, Op: op, HLC: clock.Now().String(),
			Fields: map[string]json.RawMessage{"title": raw("储罐区消防通道堵塞"), "enterprise_id": raw(ent), "photos": raw(photos)}},
	}}
	var resp syncproto.PushResponse
	tok := s.LoginAs(t, username, apptest.Password, "mobile", "phone-"+username)
	s.Do(t, http.MethodPost, "/api/v1/sync/push", tok, push).JSON(t, &resp)
	if len(resp.Results) != 1 || resp.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("push hazard: %+v", resp.Results)
	}
}

// storedOriginal reports whether the media store holds the original of sha.
func storedOriginal(t *testing.T, s *apptest.Server, sha string) bool {
	t.Helper()
	_, err := s.MediaStore.Stat(context.Background(), media.Original(sha))
	return err == nil
}

// uploadDirEmpty reports whether no partial upload is left.
func uploadDirEmpty(t *testing.T, s *apptest.Server) bool {
	t.Helper()
	entries, err := os.ReadDir(s.Config.MediaUploadDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) == 0
}

var photoEXIF = &mediasvctest.EXIF{TakenAt: "2026:11:28 09:30:15", Offset: "+08:00", Lat: 30.2231, Lng: 120.3512}

// TestMediaUpload: a photo goes up in two PATCH requests, is verified, stored byte for byte
// with its EXIF time and place, and comes down again; a second upload of it completes at
// creation and stores nothing twice. On both engines.
func TestMediaUpload(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		c := tusClient(t, s, "safety01")
		photo := mediasvctest.JPEG(t, 640, 480, photoEXIF)
		sha := mediasvctest.SHA256(photo)

		if r := c.Do(t, http.MethodHead, "/api/v1/media/"+sha, nil); r.Status != http.StatusNotFound {
			t.Fatalf("HEAD before upload: %d", r.Status)
		}
		opt := c.Do(t, http.MethodOptions, "/api/v1/media/uploads", nil)
		if opt.Status != http.StatusNoContent || !strings.Contains(opt.Header.Get("Tus-Extension"), "checksum") ||
			opt.Header.Get("Tus-Version") != "1.0.0" || opt.Header.Get("Tus-Checksum-Algorithm") == "" {
			t.Fatalf("OPTIONS: %d %v", opt.Status, opt.Header)
		}

		cr := c.Create(t, photo, "", "image/jpeg")
		loc := cr.Header.Get("Location")
		if cr.Status != http.StatusCreated || !strings.Contains(loc, "/api/v1/uploads/") ||
			cr.Header.Get("Media-Status") != "uploading" {
			t.Fatalf("create: %d %v %s", cr.Status, cr.Header, cr.Body)
		}
		half := len(photo) / 2
		r := c.Patch(t, loc, 0, photo[:half])
		if r.Status != http.StatusNoContent || r.Offset() != int64(half) || r.Header.Get("Media-Status") != "" {
			t.Fatalf("first PATCH: %d %v %s", r.Status, r.Header, r.Body)
		}
		// An upload URL of the old form (before uploads moved out of /media/) still works.
		legacy := strings.Replace(loc, "/api/v1/uploads/", "/api/v1/media/uploads/", 1)
		if h := c.Do(t, http.MethodHead, legacy, nil); h.Status != http.StatusOK || h.Offset() != int64(half) {
			t.Fatalf("HEAD %s: %d %v", legacy, h.Status, h.Header)
		}
		if st, in := mediaInfo(t, s, c.Token, sha); st != http.StatusOK || in.Status != "uploading" || in.StatusLabel != "上传中" ||
			in.ReceivedBytes == nil || *in.ReceivedBytes != int64(half) {
			t.Fatalf("info while uploading: %d %+v", st, in)
		}
		r = c.Patch(t, loc, int64(half), photo[half:], "Upload-Checksum", "sha256 "+b64sha(photo[half:]))
		if r.Status != http.StatusNoContent || r.Offset() != int64(len(photo)) || r.Header.Get("Media-Status") != "ready" {
			t.Fatalf("last PATCH: %d %v %s", r.Status, r.Header, r.Body)
		}
		if !storedOriginal(t, s, sha) || !uploadDirEmpty(t, s) {
			t.Fatal("original not stored, or partial data left")
		}
		// The finished upload's URL answers as complete (a client that lost the last answer
		// asks there), also after the data left the upload folder.
		if h := c.Do(t, http.MethodHead, loc, nil); h.Status != http.StatusOK || h.Offset() != int64(len(photo)) ||
			h.Header.Get("Upload-Length") != strconv.Itoa(len(photo)) {
			t.Fatalf("HEAD finished upload: %d %v", h.Status, h.Header)
		}
		if h := tusClient(t, s, "safety02").Do(t, http.MethodHead, loc, nil); h.Status != http.StatusNotFound {
			t.Fatalf("HEAD of another user's finished upload: %d", h.Status)
		}

		st, in := mediaInfo(t, s, c.Token, sha)
		if st != http.StatusOK || in.Status != "ready" || in.Kind != "photo" || in.ContentType != "image/jpeg" ||
			in.Size != int64(len(photo)) || in.Filename != "现场照片.jpg" || in.ReceivedAt == nil || in.UploadedBy == "" {
			t.Fatalf("info: %d %+v", st, in)
		}
		wantTaken := time.Date(2026, 11, 28, 1, 30, 15, 0, time.UTC)
		if in.TakenAt == nil || !in.TakenAt.Equal(wantTaken) {
			t.Errorf("taken_at %v, want %v", in.TakenAt, wantTaken)
		}
		if in.Lat == nil || in.Lng == nil || abs(*in.Lat-30.2231) > 1e-5 || abs(*in.Lng-120.3512) > 1e-5 {
			t.Errorf("lat/lng %v %v", in.Lat, in.Lng)
		}

		get := s.Do(t, http.MethodGet, "/api/v1/media/"+sha, c.Token, nil)
		if get.Status != http.StatusOK || !bytes.Equal(get.Body, photo) || get.Header.Get("ETag") != `"`+sha+`"` ||
			get.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(get.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("GET original: %d %v", get.Status, get.Header)
		}

		// The same bytes again, by another user: complete at creation, nothing stored twice.
		c2 := tusClient(t, s, "township01")
		again := c2.Create(t, photo, "", "image/jpeg")
		if again.Status != http.StatusCreated || again.Offset() != int64(len(photo)) || again.Header.Get("Media-Status") != "ready" ||
			!strings.HasSuffix(again.Header.Get("Location"), "/api/v1/uploads/"+sha) {
			t.Fatalf("dedupe create: %d %v %s", again.Status, again.Header, again.Body)
		}
		if h := c2.Do(t, http.MethodHead, again.Header.Get("Location"), nil); h.Status != http.StatusOK ||
			h.Offset() != int64(len(photo)) || h.Header.Get("Upload-Length") != strconv.Itoa(len(photo)) {
			t.Fatalf("HEAD deduplicated upload: %d %v", h.Status, h.Header)
		}
		if h := c.Do(t, http.MethodHead, "/api/v1/media/"+sha, nil); h.Status != http.StatusOK || h.Header.Get("ETag") != `"`+sha+`"` ||
			h.Header.Get("Content-Length") != strconv.Itoa(len(photo)) {
			t.Fatalf("HEAD media by its uploader: %d %v", h.Status, h.Header)
		}
		// Whoever may not read it learns nothing more from HEAD than from GET.
		if h := c2.Do(t, http.MethodHead, "/api/v1/media/"+sha, nil); h.Status != http.StatusNotFound || h.Header.Get("ETag") != "" {
			t.Fatalf("HEAD media by a user who only claimed the hash: %d %v", h.Status, h.Header)
		}
		var n int
		s.DB.QueryRow(context.Background(), "SELECT COUNT(*) FROM media_objects WHERE sha256 = $1", sha).Scan(&n)
		if n != 1 || !uploadDirEmpty(t, s) {
			t.Fatalf("%d rows for the object, upload dir empty %v", n, uploadDirEmpty(t, s))
		}
		// Deduplication gives no access: township01 sees it only through a record.
		if st, _ := mediaInfo(t, s, c2.Token, sha); st != http.StatusNotFound {
			t.Fatalf("info by a user who only claimed the hash: %d", st)
		}
	})
}

func b64sha(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestMediaUploadResume: a PATCH cut off halfway keeps what arrived; HEAD says how much, and
// the rest completes the upload.
func TestMediaUploadResume(t *testing.T) {
	s := apptest.Start(t)
	c := tusClient(t, s, "grid01")
	photo := mediasvctest.JPEG(t, 1200, 900, photoEXIF)
	photo = append(photo, bytes.Repeat([]byte{0}, 256<<10)...) // trailing bytes after EOI: a bigger body
	sha := mediasvctest.SHA256(photo)
	cr := c.Create(t, photo, "", "image/jpeg")
	loc := cr.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || cr.Status != http.StatusCreated {
		t.Fatalf("create: %d %v", cr.Status, err)
	}

	// A PATCH that announces the whole file but whose connection drops after half of it.
	half := len(photo) / 2
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n", u.Path, u.Host, c.Token, len(photo))
	conn.Write(photo[:half])
	time.Sleep(200 * time.Millisecond)
	conn.Close()

	var off int64
	for deadline := time.Now().Add(10 * time.Second); ; {
		h := c.Do(t, http.MethodHead, loc, nil)
		if h.Status != http.StatusOK || h.Header.Get("Upload-Length") != strconv.Itoa(len(photo)) || h.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("HEAD: %d %v", h.Status, h.Header)
		}
		if off = h.Offset(); off == int64(half) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if off != int64(half) {
		t.Fatalf("offset after the cut %d, want %d", off, half)
	}
	if storedOriginal(t, s, sha) {
		t.Fatal("stored before complete")
	}
	// A phone that lost the Location creates again and is sent to its own upload.
	if again := c.Create(t, photo, "", "image/jpeg"); again.Status != http.StatusCreated || again.Header.Get("Location") != loc ||
		again.Offset() != int64(half) || again.Header.Get("Media-Status") != "uploading" {
		t.Fatalf("create again: %d %v", again.Status, again.Header)
	}
	// Another user starts his own.
	tc := tusClient(t, s, "township01")
	if other := tc.Create(t, photo, "", "image/jpeg"); other.Header.Get("Location") == loc || other.Offset() > 0 {
		t.Fatalf("another user's creation: %d %v", other.Status, other.Header)
	} else {
		tc.Do(t, http.MethodDelete, other.Header.Get("Location"), nil)
	}
	// A PATCH at a wrong offset is refused with the way out.
	tusError(t, c.Patch(t, loc, 0, photo), http.StatusConflict, "upload.offset_mismatch")

	r := c.Patch(t, loc, off, photo[off:])
	if r.Status != http.StatusNoContent || r.Offset() != int64(len(photo)) || r.Header.Get("Media-Status") != "ready" {
		t.Fatalf("resume: %d %v %s", r.Status, r.Header, r.Body)
	}
	get := s.Do(t, http.MethodGet, "/api/v1/media/"+sha, c.Token, nil)
	if !bytes.Equal(get.Body, photo) {
		t.Fatal("downloaded bytes differ")
	}
	// Range requests.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/media/"+sha, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Range", "bytes=100-199")
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, photo[100:200]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(photo)) {
		t.Fatalf("range: %d %v", res.StatusCode, res.Header)
	}
	req.Header.Set("Range", "bytes=0-9,1000-1009")
	if res, err = s.Client.Do(req); err != nil {
		t.Fatal(err)
	}
	multi, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || !strings.HasPrefix(res.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(multi, photo[1000:1010]) || !bytes.Contains(multi, photo[0:10]) {
		t.Fatalf("multiple ranges: %d %v", res.StatusCode, res.Header)
	}
	req.Header.Del("Range")
	req.Header.Set("If-None-Match", `"`+sha+`"`)
	if res, err := s.Client.Do(req); err != nil || res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %v %v", res, err)
	}

	// Termination.
	cr = c.Create(t, []byte("%PDF-1.4\n% a document that never finishes\n"+strings.Repeat("x", 4000)), "", "application/pdf")
	loc = cr.Header.Get("Location")
	if r := c.Do(t, http.MethodDelete, loc, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if h := c.Do(t, http.MethodHead, loc, nil); h.Status != http.StatusNotFound {
		t.Fatalf("HEAD after DELETE: %d", h.Status)
	}
	if !uploadDirEmpty(t, s) {
		t.Fatal("terminated upload left data")
	}
}

// TestMediaUploadRefusals: what the server refuses, each with a stable code and a Chinese
// message, storing nothing.
func TestMediaUploadRefusals(t *testing.T) {
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.MediaMaxPhoto = 64 << 10 }))
	c := tusClient(t, s, "safety01")
	photo := mediasvctest.JPEG(t, 640, 480, nil)
	big := append(mediasvctest.JPEG(t, 640, 480, nil), bytes.Repeat([]byte{0}, 100<<10)...)

	t.Run("ErrHashMismatch", func(t *testing.T) {
		claimed := mediasvctest.SHA256([]byte("other bytes"))
		cr := c.Create(t, photo, claimed, "image/jpeg")
		if cr.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", cr.Status, cr.Body)
		}
		r := c.Patch(t, cr.Header.Get("Location"), 0, photo)
		m := tusError(t, r, mediasvc.StatusChecksumMismatch, "media.hash_mismatch")
		if !strings.Contains(m["message"].(string), "SHA-256") {
			t.Errorf("message %q", m["message"])
		}
		if h := c.Do(t, http.MethodHead, cr.Header.Get("Location"), nil); h.Status != http.StatusNotFound {
			t.Fatalf("HEAD after mismatch: %d", h.Status)
		}
		if storedOriginal(t, s, claimed) || storedOriginal(t, s, mediasvctest.SHA256(photo)) || !uploadDirEmpty(t, s) {
			t.Fatal("a mismatched upload left something")
		}
	})
	t.Run("ErrChecksumMismatch", func(t *testing.T) {
		cr := c.Create(t, photo, "", "image/jpeg")
		loc := cr.Header.Get("Location")
		r := c.Patch(t, loc, 0, photo[:1000], "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(make([]byte, 20)))
		tusError(t, r, mediasvc.StatusChecksumMismatch, "upload.checksum_mismatch")
		if h := c.Do(t, http.MethodHead, loc, nil); h.Offset() != 0 {
			t.Fatalf("offset after a refused chunk: %d", h.Offset())
		}
		tusError(t, c.Patch(t, loc, 0, photo, "Upload-Checksum", "crc32 AAAAAA=="), http.StatusBadRequest, "upload.bad_checksum_algorithm")
		c.Do(t, http.MethodDelete, loc, nil)
	})
	t.Run("ErrTooLargeDeclared", func(t *testing.T) {
		m := tusError(t, c.Create(t, big, "", "image/jpeg"), http.StatusRequestEntityTooLarge, "media.too_large")
		if !strings.Contains(m["message"].(string), "照片不能超过 64 KiB") {
			t.Errorf("message %q", m["message"])
		}
	})
	t.Run("ErrTooLargeSniffed", func(t *testing.T) {
		cr := c.Create(t, big, "", "application/octet-stream") // the declared type is not trusted
		if cr.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", cr.Status, cr.Body)
		}
		m := tusError(t, c.Patch(t, cr.Header.Get("Location"), 0, big), http.StatusRequestEntityTooLarge, "media.too_large")
		if d := m["data"].(map[string]any); d["limit_bytes"] != float64(64<<10) {
			t.Errorf("data %v", d)
		}
		if !uploadDirEmpty(t, s) {
			t.Fatal("refused upload left data")
		}
	})
	t.Run("ErrDisguisedText", func(t *testing.T) {
		text := []byte(strings.Repeat("这不是照片，是一段文字。this is not a photo\n", 100))
		cr := c.Create(t, text, "", "image/jpeg")
		m := tusError(t, c.Patch(t, cr.Header.Get("Location"), 0, text), http.StatusUnsupportedMediaType, "media.type_not_allowed")
		if !strings.Contains(m["message"].(string), "text/plain") {
			t.Errorf("message %q", m["message"])
		}
		if storedOriginal(t, s, mediasvctest.SHA256(text)) || !uploadDirEmpty(t, s) {
			t.Fatal("refused upload left something")
		}
	})
	t.Run("ErrBadCreation", func(t *testing.T) {
		tusError(t, c.Do(t, http.MethodPost, "/api/v1/media/uploads", nil, "Upload-Length", "10"), http.StatusBadRequest, "media.no_sha256")
		tusError(t, c.Do(t, http.MethodPost, "/api/v1/media/uploads", nil, "Upload-Length", "10",
			"Upload-Metadata", mediasvctest.Metadata("sha256", "abc")), http.StatusBadRequest, "media.bad_sha256")
		tusError(t, c.Do(t, http.MethodPost, "/api/v1/media/uploads", nil, "Upload-Defer-Length", "1",
			"Upload-Metadata", mediasvctest.Metadata("sha256", mediasvctest.SHA256(photo))), http.StatusBadRequest, "upload.length_required")
		r := c.Do(t, http.MethodPost, "/api/v1/media/uploads", nil, "Tus-Resumable", "0.2.2", "Upload-Length", "10")
		tusError(t, r, http.StatusPreconditionFailed, "upload.bad_version")
		anon := &mediasvctest.Client{URL: s.URL, HTTP: s.Client}
		tusError(t, anon.Create(t, photo, "", "image/jpeg"), http.StatusUnauthorized, "auth.no_token")
	})
	t.Run("ErrOtherUsersUpload", func(t *testing.T) {
		cr := c.Create(t, photo, "", "image/jpeg")
		other := tusClient(t, s, "safety02")
		if h := other.Do(t, http.MethodHead, cr.Header.Get("Location"), nil); h.Status != http.StatusNotFound {
			t.Fatalf("HEAD of another user's upload: %d", h.Status)
		}
		tusError(t, other.Patch(t, cr.Header.Get("Location"), 0, photo), http.StatusNotFound, "upload.not_found")
		c.Do(t, http.MethodDelete, cr.Header.Get("Location"), nil)
	})
}

// TestMediaAccess: a photo is readable by who may read a record referring to it — safety01
// (his enterprise's hazard) and township01 (his township) — and not by safety02 (another
// enterprise); downloads are audited; thumbnails come upright and cached.
func TestMediaAccess(t *testing.T) {
	s := apptest.Start(t)
	admin := tusClient(t, s, "admin")
	// Stored 1600×800, EXIF orientation 6: upright it is 800×1600.
	photo := mediasvctest.JPEG(t, 1600, 800, &mediasvctest.EXIF{Orientation: 6})
	sha := mediasvctest.SHA256(photo)
	if r := admin.Upload(t, photo, "image/jpeg"); r.Header.Get("Media-Status") != "ready" {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	tok := map[string]string{}
	for _, u := range []string{"safety01", "safety02", "township01", "township02"} {
		tok[u] = s.Login(t, u)
	}
	if st, _ := mediaInfo(t, s, tok["safety01"], sha); st != http.StatusNotFound {
		t.Fatalf("before any record refers to it: %d", st)
	}
	missing := mediasvctest.SHA256([]byte("a photo still on the phone"))
	hazard := yingji.NewID()
	pushHazard(t, s, "safety01", hazard, []string{sha, missing})

	for _, tc := range []struct {
		user   string
		status int
	}{{"safety01", 200}, {"township01", 200}, {"safety02", 404}, {"township02", 404}} {
		if st, _ := mediaInfo(t, s, tok[tc.user], sha); st != tc.status {
			t.Errorf("%s info: %d, want %d", tc.user, st, tc.status)
		}
		r := s.Do(t, http.MethodGet, "/api/v1/media/"+sha, tok[tc.user], nil)
		if tc.status == 404 {
			// Answered as an unknown hash would be, and audited as a refusal.
			wantError(t, r, 404, "media.not_found")
			rows := auditRows(t, s, r.Header.Get("X-Request-ID"))
			if len(rows) != 1 || rows[0].Action != "media.download" || rows[0].Result != "denied" || rows[0].Username != tc.user ||
				rows[0].Detail["route"] != "/api/v1/media/:sha256" || rows[0].Detail["status"] != float64(404) {
				t.Errorf("%s download refusal audit: %+v", tc.user, rows)
			}
		} else if r.Status != 200 || !bytes.Equal(r.Body, photo) {
			t.Errorf("%s download: %d", tc.user, r.Status)
		}
		// HEAD follows the same rule: the size and type only for who may download it.
		h := s.Do(t, http.MethodHead, "/api/v1/media/"+sha, tok[tc.user], nil)
		size := h.Header.Get("Content-Length")
		if h.Status != tc.status || tc.status == 200 && size != strconv.Itoa(len(photo)) ||
			tc.status == 404 && (h.Header.Get("ETag") != "" || size != "" && size != "0") {
			t.Errorf("%s HEAD: %d %v, want %d", tc.user, h.Status, h.Header, tc.status)
		}
		if r := s.Do(t, http.MethodGet, "/api/v1/media/"+sha+"/thumb/320", tok[tc.user], nil); r.Status != tc.status {
			t.Errorf("%s thumbnail: %d, want %d", tc.user, r.Status, tc.status)
		}
	}

	// A photo referred to before it arrives is "missing", shown as 上传中.
	if st, in := mediaInfo(t, s, tok["township01"], missing); st != 200 || in.Status != "missing" || in.StatusLabel != "上传中" {
		t.Fatalf("missing photo: %d %+v", st, in)
	}
	wantError(t, s.Do(t, http.MethodGet, "/api/v1/media/"+mediasvctest.SHA256([]byte("nobody")), tok["safety01"], nil), 404, "media.not_found")
	wantError(t, s.Do(t, http.MethodGet, "/api/v1/media/not-a-hash/info", tok["safety01"], nil), 400, "media.bad_sha256")

	// Thumbnails: JPEG, the asked width, upright (red stored left half is now the top), cached.
	for _, w := range []int{320, 1280} {
		r := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/media/%s/thumb/%d", sha, w), tok["township01"], nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumb %d: %d %v", w, r.Status, r.Header)
		}
		img, err := jpeg.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		wantW := min(w, 800)
		if b.Dx() != wantW || b.Dy() != 2*wantW {
			t.Errorf("thumb %d is %d×%d, want %d×%d", w, b.Dx(), b.Dy(), wantW, 2*wantW)
		}
		top, bottom := img.At(b.Dx()/2, b.Dy()/4), img.At(b.Dx()/2, 3*b.Dy()/4)
		if tr, _, tb, _ := top.RGBA(); tr < tb {
			t.Errorf("thumb %d: top is not red: %v", w, top)
		}
		if br, _, bb, _ := bottom.RGBA(); br > bb {
			t.Errorf("thumb %d: bottom is not blue: %v", w, bottom)
		}
		if _, err := s.MediaStore.Stat(context.Background(), mediasvc.ThumbKey(sha, w)); err != nil {
			t.Errorf("thumb %d not cached: %v", w, err)
		}
	}
	wantError(t, s.Do(t, http.MethodGet, "/api/v1/media/"+sha+"/thumb/99", tok["safety01"], nil), 400, "media.bad_width")

	// Every download of the original is audited, refusals too.
	var page struct {
		Items []struct{ Username, Action, Result string }
	}
	s.Do(t, http.MethodGet, "/api/v1/audit?action=media.download&object_id="+sha+"&page_size=100", s.Login(t, "admin"), nil).JSON(t, &page)
	got := map[string]bool{}
	for _, it := range page.Items {
		got[it.Username+":"+it.Result] = true
	}
	for _, k := range []string{"safety01:ok", "township01:ok", "safety02:denied"} {
		if !got[k] {
			t.Errorf("audit lacks %s: %+v", k, page.Items)
		}
	}

	// Taking the photo off the hazard removes the reference: safety01 loses access.
	clock := syncproto.NewClock("phone-safety01", nil)
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	var resp syncproto.PushResponse
	s.Do(t, http.MethodPost, "/api/v1/sync/push", s.LoginAs(t, "safety01", apptest.Password, "mobile", "phone-safety01"),
		syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-safety01", Mutations: []syncproto.Mutation{
			{MutationID: yingji.NewID(), Collection: "hazards", ID: hazard, Op: syncproto.OpUpdate, HLC: clock.Now().String(),
				Fields: map[string]json.RawMessage{"photos": raw([]string{missing})},
				Base:   map[string]json.RawMessage{"photos": raw([]string{sha, missing})}}}}).JSON(t, &resp)
	if resp.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("update: %+v", resp.Results)
	}
	if st, _ := mediaInfo(t, s, tok["safety01"], sha); st != http.StatusNotFound {
		t.Fatalf("after the photo left the hazard: %d", st)
	}
}

// TestMediaSignedURL: the portal's <img> URLs work without a token, for a few minutes, and
// only as signed.
func TestMediaSignedURL(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	s := apptest.Start(t, apptest.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	c := tusClient(t, s, "safety01")
	photo := mediasvctest.JPEG(t, 800, 600, photoEXIF)
	sha := mediasvctest.SHA256(photo)
	c.Upload(t, photo, "image/jpeg")

	sign := func(token, variant string, ttl int) apptest.Response {
		return s.Do(t, http.MethodPost, "/api/v1/media/"+sha+"/signed-url", token, map[string]any{"variant": variant, "ttl_seconds": ttl})
	}
	var su struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	want(t, sign(c.Token, "thumb320", 60), 200, &su)
	if !strings.HasPrefix(su.URL, "/api/v1/media/"+sha+"/signed/thumb320?") || su.ExpiresAt.Sub(time.Unix(0, now.Load())) > 61*time.Second {
		t.Fatalf("signed url %+v", su)
	}
	r := s.Do(t, http.MethodGet, su.URL, "", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("signed thumb: %d %s", r.Status, r.Body)
	}
	img, err := jpeg.Decode(bytes.NewReader(r.Body))
	if err != nil || img.Bounds().Dx() != 320 {
		t.Fatalf("signed thumb: %v %v", err, img)
	}

	var orig struct{ URL string }
	want(t, sign(c.Token, "original", 0), 200, &orig)
	if r := s.Do(t, http.MethodGet, orig.URL, "", nil); r.Status != 200 || !bytes.Equal(r.Body, photo) {
		t.Fatalf("signed original: %d", r.Status)
	}

	// Tampering: another variant, another object, another user, a later expiry, another signature.
	u, _ := url.Parse(su.URL)
	q := u.Query()
	tamper := func(path string, q url.Values) string { return path + "?" + q.Encode() }
	later := url.Values{"u": q["u"], "exp": {strconv.FormatInt(su.ExpiresAt.Unix()+3600, 10)}, "sig": q["sig"]}
	badSig := url.Values{"u": q["u"], "exp": q["exp"], "sig": {strings.Repeat("0", 64)}}
	other := url.Values{"u": {yingji.NewID()}, "exp": q["exp"], "sig": q["sig"]}
	for _, bad := range []string{
		strings.Replace(su.URL, "thumb320", "original", 1),
		tamper(u.Path, later), tamper(u.Path, badSig), tamper(u.Path, other), u.Path,
	} {
		wantError(t, s.Do(t, http.MethodGet, bad, "", nil), 403, "media.url_invalid")
	}

	// Expired.
	now.Add(int64(61 * time.Second))
	wantError(t, s.Do(t, http.MethodGet, su.URL, "", nil), 403, "media.url_expired")

	// Only for who may read it, and within the limits.
	wantError(t, sign(s.Login(t, "safety02"), "original", 60), 404, "media.not_found")
	wantError(t, sign(c.Token, "original", 601), 400, "media.bad_ttl")
	wantError(t, sign(c.Token, "poster", 60), 400, "media.bad_variant")

	// The original fetched by signed URL is audited as the user who asked for the URL.
	var page struct {
		Items []struct{ Username, Action, Result string }
	}
	s.Do(t, http.MethodGet, "/api/v1/audit?action=media.download&object_id="+sha, s.Login(t, "admin"), nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].Username != "safety01" {
		t.Fatalf("audit %+v", page.Items)
	}
}

// TestMediaRoutesDocumented: the media routes mounted on a running server are all in its
// OpenAPI document, as every route is.
func TestMediaRoutesDocumented(t *testing.T) {
	s := apptest.Start(t)
	r := s.Do(t, http.MethodGet, "/api/v1/openapi.json", "", nil)
	full, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := full.Validate(t.Context()); err != nil {
		t.Fatalf("the document with the media routes is not valid OpenAPI: %v", err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	r.JSON(t, &doc)
	param := regexp.MustCompile(`:([^/]+)`)
	n := 0
	for _, rt := range s.API.Echo.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/media") && !strings.HasPrefix(rt.Path, "/api/v1/uploads") ||
			slices.Contains(s.API.LegacyRoutes(), rt.Method+" "+rt.Path) {
			continue
		}
		n++
		p := param.ReplaceAllString(rt.Path, "{$1}")
		if doc.Paths[p][strings.ToLower(rt.Method)] == nil {
			t.Errorf("%s %s missing from the OpenAPI document", rt.Method, p)
		}
	}
	if n < 11 {
		t.Errorf("%d media routes", n)
	}
}

// TestMediaKinds: a PDF, an audio clip and a video go up in the creation request itself
// (creation-with-upload); their kinds come from their bytes; only photos have thumbnails.
func TestMediaKinds(t *testing.T) {
	s := apptest.Start(t)
	c := tusClient(t, s, "grid01")
	wav := append([]byte("RIFF\x24\x10\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x10\x00\x00"),
		bytes.Repeat([]byte{0, 1}, 2048)...)
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x10\x08mdat"), bytes.Repeat([]byte{7}, 4096)...)
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + strings.Repeat("% 整改通知书\n", 200) + "%%EOF\n")
	for _, tc := range []struct {
		name, declared, kind, ct string
		data                     []byte
	}{
		{"pdf", "application/pdf", "pdf", "application/pdf", pdf},
		{"audio", "", "audio", "audio/wav", wav},
		{"video", "video/mp4", "video", "video/mp4", mp4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sha := mediasvctest.SHA256(tc.data)
			r := c.Do(t, http.MethodPost, "/api/v1/media/uploads", tc.data, "Content-Type", "application/offset+octet-stream",
				"Upload-Length", strconv.Itoa(len(tc.data)), "Upload-Metadata", mediasvctest.Metadata("sha256", sha, "content_type", tc.declared))
			if r.Status != http.StatusCreated || r.Offset() != int64(len(tc.data)) || r.Header.Get("Media-Status") != "ready" {
				t.Fatalf("creation with upload: %d %v %s", r.Status, r.Header, r.Body)
			}
			st, in := mediaInfo(t, s, c.Token, sha)
			if st != 200 || in.Kind != tc.kind || in.ContentType != tc.ct || in.TakenAt != nil {
				t.Fatalf("info: %d %+v", st, in)
			}
			wantError(t, s.Do(t, http.MethodGet, "/api/v1/media/"+sha+"/thumb/320", c.Token, nil), 404, "media.no_thumbnail")
		})
	}
}

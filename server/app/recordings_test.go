package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/media/video/record/recordtest"
	"github.com/yingji/yingji/server/app/apptest"
)

// TestRecordingsAPI: a stream the SFU hands to the server's recorder is listed, played by
// Range, exported, and hidden from those outside the publisher's subtree.
func TestRecordingsAPI(t *testing.T) {
	defer recordtest.Cleanup()
	for _, eng := range []struct {
		name  string
		start func(testing.TB, ...apptest.Option) *apptest.Server
	}{{"SQLite", apptest.Start}, {"PostgreSQL", apptest.StartPostgres}} {
		t.Run(eng.name, func(t *testing.T) {
			src := recordtest.LoadSource(t, "h264", true)
			srv := eng.start(t)
			ctx := context.Background()
			var uid, path string
			if err := srv.DB.QueryRow(ctx, "SELECT id, org_path FROM users WHERE username = 'grid01'").Scan(&uid, &path); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.DB.Exec(ctx, `INSERT INTO video_streams (id, publisher_id, incident_id, org_path, state, started_at)
				VALUES ('st-1', $1, 'inc-9', $2, 'live', $3)`, uid, path, recordtest.Base); err != nil {
				t.Fatal(err)
			}
			v, err := srv.Recorder.AddTrack("st-1", recordtest.H264Codec, webrtc.RTPCodecTypeVideo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := srv.Recorder.AddTrack("st-1", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio)
			if err != nil {
				t.Fatal(err)
			}
			s := recordtest.NewSession(v, a, 1)
			s.Feed(t, src, 0, 300, recordtest.Base) // 12 s: segments of 10 and 2 s
			v.Close()
			a.Close()

			duty := srv.Login(t, "duty01")
			var page struct {
				Items []record.Recording
				Total int
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				r := srv.Do(t, http.MethodGet, "/api/v1/video/recordings?incident_id=inc-9", duty, nil)
				if r.Status != http.StatusOK {
					t.Fatalf("list: %d %s", r.Status, r.Body)
				}
				r.JSON(t, &page)
				if page.Total == 1 && !page.Items[0].Live {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("recording not finished: %s", r.Body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			it := page.Items[0]
			if it.Publisher != uid || it.PublisherName != "周网格" || it.DurationMS < 11900 || it.DurationMS > 12100 {
				t.Errorf("recording %+v", it)
			}
			var rec record.Recording
			srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID, duty, nil).JSON(t, &rec)
			if len(rec.Segments) != 2 || rec.Segments[1].OffsetMS < 9900 {
				t.Fatalf("segments %+v", rec.Segments)
			}

			// A player's Range request, then the whole segment, which ffprobe decodes.
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/video/recordings/"+it.ID+"/segments/0", nil)
			req.Header.Set("Authorization", "Bearer "+duty)
			req.Header.Set("Range", "bytes=0-99")
			res, err := srv.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusPartialContent || res.ContentLength != 100 || res.Header.Get("Content-Type") != "video/mp4" {
				t.Errorf("range: %d %d %s", res.StatusCode, res.ContentLength, res.Header.Get("Content-Type"))
			}
			seg := srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID+"/segments/1", duty, nil)
			if seg.Status != http.StatusOK || int64(len(seg.Body)) != rec.Segments[1].Bytes {
				t.Fatalf("segment: %d, %d bytes", seg.Status, len(seg.Body))
			}
			if p := recordtest.FFprobe(t, seg.Body); p.Duration() < 1.9 || p.Duration() > 2.1 {
				t.Errorf("segment 1 lasts %.3f s", p.Duration())
			}
			var plays int
			srv.DB.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'video.recording.play' AND object_id = $1", it.ID).Scan(&plays)
			if plays < 2 {
				t.Errorf("%d playbacks audited", plays)
			}

			zr := srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID+"/export.zip", duty, nil)
			if zr.Status != http.StatusOK || zr.Header.Get("Content-Type") != "application/zip" {
				t.Fatalf("export: %d %s", zr.Status, zr.Body)
			}
			z, err := zip.NewReader(bytes.NewReader(zr.Body), int64(len(zr.Body)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range z.File {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != "segments/000.mp4 segments/001.mp4 metadata.json segments.csv SHA256SUMS" {
				t.Errorf("zip holds %v", names)
			}

			// The publisher reads his own; a township of another district and no session do not.
			if r := srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID, srv.Login(t, "grid01"), nil); r.Status != http.StatusOK {
				t.Errorf("publisher: %d %s", r.Status, r.Body)
			}
			other := srv.Login(t, "township02")
			apptest.WantError(t, srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID, other, nil), http.StatusNotFound, "video.recording_not_found")
			apptest.WantError(t, srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID+"/segments/0", other, nil), http.StatusNotFound, "video.recording_not_found")
			var op struct{ Total int }
			srv.Do(t, http.MethodGet, "/api/v1/video/recordings", other, nil).JSON(t, &op)
			if op.Total != 0 {
				t.Errorf("township02 lists %d recordings", op.Total)
			}
			if r := srv.Do(t, http.MethodGet, "/api/v1/video/recordings", "", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("no session: %d", r.Status)
			}
			apptest.WantError(t, srv.Do(t, http.MethodGet, "/api/v1/video/recordings/"+it.ID+"/segments/x", duty, nil), http.StatusBadRequest, "video.bad_segment")
			apptest.WantError(t, srv.Do(t, http.MethodGet, "/api/v1/video/recordings?from=yesterday", duty, nil), http.StatusBadRequest, "request.bad_query")
		})
	}
}

package record_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/local"
	"github.com/yingji/yingji/media/mediatest"
	"github.com/yingji/yingji/media/s3store"
	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/media/video/record/recordtest"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/yingji"
)

var minio mediatest.SharedMinIO

func TestMain(m *testing.M) {
	if os.Getenv("RECORD_CRASH_HELPER") != "" {
		crashHelper()
		return
	}
	code := m.Run()
	minio.Close()
	recordtest.Cleanup()
	os.Exit(code)
}

// engines runs f on SQLite and PostgreSQL.
func engines(t *testing.T, f func(t *testing.T, db sqldb.DB)) {
	t.Run("SQLite", func(t *testing.T) {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f(t, db)
	})
	t.Run("PostgreSQL", func(t *testing.T) { f(t, pgtest.Open(t)) })
}

func localStore(t testing.TB) media.Store {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func minioStore(t testing.TB) media.Store {
	srv := minio.Server(t)
	st, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Bucket: fmt.Sprintf("rec-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openRecorder(t testing.TB, db sqldb.DB, st media.Store, spool string, meta record.StreamMeta) *record.Recorder {
	t.Helper()
	r, err := record.New(db, st, nil, nil, record.Config{SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return recordtest.Base.Add(time.Hour) }
	r.Describe = func(context.Context, string) (record.StreamMeta, error) { return meta, nil }
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

var publisher = record.StreamMeta{Publisher: "u-responder", PublisherName: "救援队员甲", OrgPath: "/city/district/", IncidentID: "inc-1"}

func addTrack(t testing.TB, r *record.Recorder, stream string, c webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) video.TrackWriter {
	t.Helper()
	tw, err := r.AddTrack(stream, c, kind)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func closeRecorder(t testing.TB, r *record.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func readSegment(t testing.TB, r *record.Recorder, id string, idx int) []byte {
	t.Helper()
	rc, err := r.OpenSegment(context.Background(), yingji.System, id, idx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func onlyRecording(t testing.TB, r *record.Recorder, stream string) record.Recording {
	t.Helper()
	page, err := r.List(context.Background(), yingji.System, record.Filter{ListParams: yingji.ListParams{PageSize: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range page.Items {
		if x.StreamID == stream {
			ids = append(ids, x.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d recordings of %s, want 1", len(ids), stream)
	}
	rec, err := r.Get(context.Background(), yingji.System, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// checkSegments probes every segment: it decodes, holds the codecs and lasts what the
// database says.
func checkSegments(t *testing.T, r *record.Recorder, rec record.Recording, codecs []string) {
	t.Helper()
	for _, s := range rec.Segments {
		p := recordtest.FFprobe(t, readSegment(t, r, rec.ID, s.Index))
		if fmt.Sprint(p.Codecs()) != fmt.Sprint(codecs) {
			t.Errorf("segment %d codecs %v, want %v", s.Index, p.Codecs(), codecs)
		}
		if want := float64(s.DurationMS) / 1000; !near(p.Duration(), want, 0.1) {
			t.Errorf("segment %d: ffprobe %.3f s, database %.3f s", s.Index, p.Duration(), want)
		}
		if got := s.Ended.Sub(s.Started).Milliseconds(); got != s.DurationMS {
			t.Errorf("segment %d: %s..%s is not %d ms", s.Index, s.Started, s.Ended, s.DurationMS)
		}
	}
}

func TestRecord(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		t.Run("OK", func(t *testing.T) {
			src := recordtest.LoadSource(t, "h264", true)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := recordtest.NewSession(addTrack(t, r, "s1", recordtest.H264Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s1", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio), 1)
			s.Feed(t, src, 0, 625, recordtest.Base) // 25 s
			s.V.Close()
			s.A.Close()
			closeRecorder(t, r)

			rec := onlyRecording(t, r, "s1")
			if rec.Publisher != "u-responder" || rec.IncidentID == nil || *rec.IncidentID != "inc-1" || rec.Live || !rec.Started.Equal(recordtest.Base) {
				t.Errorf("recording %+v", rec)
			}
			var want = []float64{10, 10, 5}
			if len(rec.Segments) != len(want) {
				t.Fatalf("%d segments, want %d: %+v", len(rec.Segments), len(want), rec.Segments)
			}
			for i, s := range rec.Segments {
				if !near(float64(s.DurationMS)/1000, want[i], 0.05) {
					t.Errorf("segment %d lasts %d ms, want %.0f s", i, s.DurationMS, want[i])
				}
				if s.Recovered || !media.ValidSHA256(s.SHA256) {
					t.Errorf("segment %+v", s)
				}
			}
			if !near(float64(rec.DurationMS)/1000, 25, 0.1) || rec.Ended == nil || !near(rec.Ended.Sub(rec.Started).Seconds(), 25, 0.1) {
				t.Errorf("recording lasts %d ms, ended %v", rec.DurationMS, rec.Ended)
			}
			if len(rec.Gaps) != 0 {
				t.Errorf("gaps %+v", rec.Gaps)
			}
			checkSegments(t, r, rec, []string{"h264", "opus"})
			// The incident timeline's hook.
			list, err := r.ListRecordings(context.Background(), "inc-1")
			if err != nil || len(list) != 1 || len(list[0].Segments) != 3 {
				t.Fatalf("ListRecordings: %v %+v", err, list)
			}
			checkScope(t, r, rec)
			checkExport(t, r, rec)
		})

		t.Run("Gap", func(t *testing.T) {
			src := recordtest.LoadSource(t, "h264", false)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := recordtest.NewSession(addTrack(t, r, "s2", recordtest.H264Codec, webrtc.RTPCodecTypeVideo), nil, 2)
			s.Feed(t, src, 0, 300, recordtest.Base) // 12 s
			// The link is cut for 10 s; the publisher comes back in a new session that
			// starts with a key frame (frame 300 is one).
			s.V.Disconnected(recordtest.Base.Add(12 * time.Second))
			s2 := recordtest.NewSession(s.V, nil, 99)
			s2.Feed(t, src, 300, 500, recordtest.Base.Add(22*time.Second)) // 8 s
			s.V.Close()
			closeRecorder(t, r)

			rec := onlyRecording(t, r, "s2")
			if len(rec.Gaps) != 1 {
				t.Fatalf("gaps %+v, want one", rec.Gaps)
			}
			g := rec.Gaps[0]
			if d := g.Ended.Sub(g.Started); d < 9*time.Second || d > 12*time.Second {
				t.Errorf("gap of %s for a 10 s cut", d)
			}
			var durs []int64
			for _, s := range rec.Segments {
				durs = append(durs, (s.DurationMS+50)/100*100)
			}
			if fmt.Sprint(durs) != "[10000 2000 8000]" {
				t.Errorf("segments of %v ms", durs)
			}
			if !rec.Segments[2].Started.Equal(g.Ended) || !rec.Segments[1].Ended.Equal(g.Started) {
				t.Errorf("gap %s..%s between segments ending %s and starting %s", g.Started, g.Ended, rec.Segments[1].Ended, rec.Segments[2].Started)
			}
			if !near(float64(rec.DurationMS)/1000, 20, 0.1) {
				t.Errorf("recording holds %d ms of media, want 20 s (never the gap)", rec.DurationMS)
			}
			checkSegments(t, r, rec, []string{"h264"})
		})

		t.Run("Republish", func(t *testing.T) {
			// The publisher's session ends and a new one publishes the same stream: the
			// recording goes on after a gap.
			src := recordtest.LoadSource(t, "vp8", true)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := recordtest.NewSession(addTrack(t, r, "s3", recordtest.VP8Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s3", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio), 3)
			s.Feed(t, src, 0, 150, recordtest.Base) // 6 s
			s.V.Close()
			s.A.Close()
			s2 := recordtest.NewSession(addTrack(t, r, "s3", recordtest.VP8Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s3", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio), 4)
			s2.Feed(t, src, 200, 300, recordtest.Base.Add(10*time.Second)) // 4 s
			s2.V.Close()
			s2.A.Close()
			closeRecorder(t, r)

			rec := onlyRecording(t, r, "s3")
			if len(rec.Segments) != 2 || len(rec.Gaps) != 1 {
				t.Fatalf("segments %+v gaps %+v", rec.Segments, rec.Gaps)
			}
			if d := rec.Gaps[0].Ended.Sub(rec.Gaps[0].Started); d < 3900*time.Millisecond || d > 4100*time.Millisecond {
				t.Errorf("gap of %s, want 4 s", d)
			}
			checkSegments(t, r, rec, []string{"vp8", "opus"})
		})

		t.Run("Loss", func(t *testing.T) {
			// Frames that lost a packet are left out, never written half.
			src := recordtest.LoadSource(t, "h264", false)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := recordtest.NewSession(addTrack(t, r, "s4", recordtest.H264Codec, webrtc.RTPCodecTypeVideo), nil, 5)
			s.LossyFrames = map[int]bool{}
			for i := 0; i < 250; i += 25 { // every key frame (several packets)
				s.LossyFrames[i+25] = true
			}
			s.Feed(t, src, 0, 250, recordtest.Base)
			s.V.Close()
			closeRecorder(t, r)
			rec := onlyRecording(t, r, "s4")
			checkSegments(t, r, rec, []string{"h264"})
		})
	})
}

func TestRecordMinIO(t *testing.T) {
	src := recordtest.LoadSource(t, "h264", true)
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := openRecorder(t, db, minioStore(t), t.TempDir(), publisher)
	s := recordtest.NewSession(addTrack(t, r, "m1", recordtest.H264Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "m1", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio), 6)
	s.Feed(t, src, 0, 300, recordtest.Base)
	s.V.Close()
	s.A.Close()
	closeRecorder(t, r)
	rec := onlyRecording(t, r, "m1")
	if len(rec.Segments) != 2 {
		t.Fatalf("segments %+v", rec.Segments)
	}
	checkSegments(t, r, rec, []string{"h264", "opus"})
}

// crashHelper records until it is killed: it feeds 5.5 s, says FED and waits.
func crashHelper() {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, os.Getenv("RECORD_DB"))
	if err != nil {
		panic(err)
	}
	st, err := local.New(os.Getenv("RECORD_STORE"))
	if err != nil {
		panic(err)
	}
	t := &testing.T{}

	src := recordtest.LoadSource(t, "h264", true)
	r, err := record.New(db, st, nil, nil, record.Config{SpoolDir: os.Getenv("RECORD_SPOOL")})
	if err != nil {
		panic(err)
	}
	r.Describe = func(context.Context, string) (record.StreamMeta, error) { return publisher, nil }
	if err := r.Open(ctx); err != nil {
		panic(err)
	}
	v, _ := r.AddTrack("crash", recordtest.H264Codec, webrtc.RTPCodecTypeVideo)
	a, _ := r.AddTrack("crash", recordtest.OpusCodec, webrtc.RTPCodecTypeAudio)
	s := recordtest.NewSession(v, a, 7)
	s.Feed(t, src, 0, 138, recordtest.Base) // 5.52 s
	fmt.Println("FED")
	time.Sleep(time.Hour)
}

func TestRecordCrash(t *testing.T) {
	recordtest.MakeClips(t)
	dir := t.TempDir()
	dbPath, storeDir, spool := filepath.Join(dir, "test.db"), filepath.Join(dir, "media"), filepath.Join(dir, "spool")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECORD_CRASH_HELPER=1", "RECORD_DB="+dbPath, "RECORD_STORE="+storeDir, "RECORD_SPOOL="+spool, "RECORDTEST_CLIPS="+recordtest.Dir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "FED\n" {
		cmd.Process.Kill()
		t.Fatalf("helper said %q: %v", line, err)
	}
	cmd.Process.Kill() // SIGKILL mid-segment
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) {
		t.Fatalf("helper: %v", err)
	}

	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := local.New(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	r := openRecorder(t, db, st, spool, publisher) // Open recovers the open segment
	defer closeRecorder(t, r)
	rec := onlyRecording(t, r, "crash")
	if len(rec.Segments) != 1 || !rec.Segments[0].Recovered {
		t.Fatalf("segments %+v", rec.Segments)
	}
	got := float64(rec.Segments[0].DurationMS) / 1000
	if got < 5.52-1 || got > 5.52 {
		t.Errorf("recovered %.3f s of the 5.52 s fed (at most 1 s may be lost)", got)
	}
	if rec.Ended == nil || !rec.Ended.Equal(rec.Segments[0].Ended) {
		t.Errorf("recording ended %v, segment %v", rec.Ended, rec.Segments[0].Ended)
	}
	checkSegments(t, r, rec, []string{"h264", "opus"})
	if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) != 0 {
		t.Errorf("spool folder still holds %v", left)
	}
}

// checkScope: the publisher and watchers above his unit read the recording; others learn
// nothing of it.
func checkScope(t *testing.T, r *record.Recorder, rec record.Recording) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		actor *yingji.Actor
		reads bool
	}{
		{"publisher", &yingji.Actor{UserID: "u-responder", Role: yingji.RoleRescueMember, OrgPath: "/city/district/team/"}, true},
		{"city duty officer", &yingji.Actor{UserID: "u-duty", Role: yingji.RoleDutyOfficer, OrgPath: "/city/"}, true},
		{"other district", &yingji.Actor{UserID: "u-other", Role: yingji.RoleDistrictAdmin, OrgPath: "/city/other/"}, false},
		{"other responder", &yingji.Actor{UserID: "u-r2", Role: yingji.RoleRescueMember, OrgPath: "/city/district/"}, false},
		{"enterprise", &yingji.Actor{UserID: "u-ent", Role: yingji.RoleEnterprisePrincipal, OrgPath: "/city/district/", EnterpriseID: "e1"}, false},
	} {
		_, err := r.Get(ctx, c.actor, rec.ID)
		page, lerr := r.List(ctx, c.actor, record.Filter{IncidentID: "inc-1"})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if c.reads != (err == nil) || c.reads != (page.Total == 1) {
			t.Errorf("%s: get %v, list %d", c.name, err, page.Total)
		}
		if !c.reads && yingji.ErrorCode(err) != "video.recording_not_found" {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// checkExport: the evidence zip holds every segment byte for byte, the metadata and a
// SHA-256 manifest that checks.
func checkExport(t *testing.T, r *record.Recorder, rec record.Recording) {
	var buf bytes.Buffer
	if err := r.Export(context.Background(), yingji.System, rec.ID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	for _, s := range rec.Segments {
		b := files[fmt.Sprintf("segments/%03d.mp4", s.Index)]
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != s.SHA256 {
			t.Errorf("segment %d in the zip differs from the stored one", s.Index)
		}
	}
	sums := strings.Split(strings.TrimSpace(string(files["SHA256SUMS"])), "\n")
	if len(sums) != len(rec.Segments)+2 {
		t.Errorf("SHA256SUMS: %q", sums)
	}
	for _, line := range sums {
		sum, name, _ := strings.Cut(line, "  ")
		if h := sha256.Sum256(files[name]); hex.EncodeToString(h[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
	}
	var m record.ExportManifest
	if err := json.Unmarshal(files["metadata.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Recording.ID != rec.ID || m.Recording.Publisher != "u-responder" || len(m.Segments) != len(rec.Segments) || m.Positions == nil {
		t.Errorf("metadata %+v", m)
	}
	if !strings.Contains(string(files["segments.csv"]), "分段,0,") {
		t.Errorf("segments.csv: %s", files["segments.csv"])
	}
}

// BenchmarkRecord feeds 20 s of 320x240 H.264 + Opus through the recorder into the local
// store (SQLite): one op is one 20 s stream recorded and stored (two segments).
func BenchmarkRecord(b *testing.B) {
	src := recordtest.LoadSource(b, "h264", true)
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "test.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := openRecorder(b, db, localStore(b), b.TempDir(), publisher)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stream := fmt.Sprintf("b%d", i)
		s := recordtest.NewSession(addTrack(b, r, stream, recordtest.H264Codec, webrtc.RTPCodecTypeVideo),
			addTrack(b, r, stream, recordtest.OpusCodec, webrtc.RTPCodecTypeAudio), uint32(i+1))
		s.Feed(b, src, 0, 500, recordtest.Base)
		s.V.Close()
		s.A.Close()
	}
	closeRecorder(b, r)
	b.ReportMetric(float64(b.N*20)/b.Elapsed().Seconds(), "media-s/s")
}

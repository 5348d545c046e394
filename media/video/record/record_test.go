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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/local"
	"github.com/yingji/yingji/media/mediatest"
	"github.com/yingji/yingji/media/s3store"
	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/yingji"
)

var minio mediatest.SharedMinIO

// clips are the media the tests feed, made once per test binary with ffmpeg.
var clips struct {
	dir        string
	h264, opus string
	vp8        string
}

func TestMain(m *testing.M) {
	if os.Getenv("RECORD_CRASH_HELPER") != "" {
		crashHelper()
		return
	}
	dir, err := os.MkdirTemp("", "record-clips")
	if err != nil {
		panic(err)
	}
	clips.dir = dir
	code := m.Run()
	minio.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makeClips encodes 30 s of test picture (H.264 baseline and VP8, 25 fps, a key frame each
// second) and of tone (Opus, 20 ms packets).
func makeClips(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	h := filepath.Join(clips.dir, "clip.h264")
	if _, err := os.Stat(h); err == nil {
		clips.h264, clips.opus, clips.vp8 = h, filepath.Join(clips.dir, "clip.ogg"), filepath.Join(clips.dir, "clip.ivf")
		return
	}
	run := func(args ...string) {
		out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	run("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "30", "-c:v", "libx264", "-profile:v", "baseline",
		"-pix_fmt", "yuv420p", "-threads", "1", "-preset", "veryfast", "-x264-params", "keyint=25:min-keyint=25:scenecut=0:bframes=0:slices=1", "-f", "h264", h+".tmp")
	run("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "30", "-c:a", "libopus", "-page_duration", "20000",
		"-f", "ogg", filepath.Join(clips.dir, "clip.ogg"))
	run("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "30", "-c:v", "libvpx", "-g", "25", "-keyint_min", "25",
		"-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8", "-f", "ivf", filepath.Join(clips.dir, "clip.ivf"))
	if err := os.Rename(h+".tmp", h); err != nil {
		t.Fatal(err)
	}
	clips.h264, clips.opus, clips.vp8 = h, filepath.Join(clips.dir, "clip.ogg"), filepath.Join(clips.dir, "clip.ivf")
}

// source holds a clip as access units: video frames (40 ms) and Opus packets (20 ms).
type source struct {
	codec  string   // h264 or vp8
	frames [][]byte // H.264 Annex-B access units, or VP8 frames
	audio  [][]byte
}

func loadSource(t testing.TB, codec string, audio bool) *source {
	t.Helper()
	makeClips(t)
	s := &source{codec: codec}
	if codec == "h264" {
		b, err := os.ReadFile(clips.h264)
		if err != nil {
			t.Fatal(err)
		}
		var au h264.AnnexB
		if err := au.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		var cur []byte
		for _, n := range au {
			cur = append(cur, 0, 0, 0, 1)
			cur = append(cur, n...)
			if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeIDR || typ == h264.NALUTypeNonIDR {
				s.frames = append(s.frames, cur)
				cur = nil
			}
		}
	} else {
		f, err := os.Open(clips.vp8)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			fr, _, err := r.ParseNextFrame()
			if err != nil {
				break
			}
			s.frames = append(s.frames, fr)
		}
	}
	if audio {
		f, err := os.Open(clips.opus)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, _, err := oggreader.NewWith(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			p, _, err := r.ParseNextPage()
			if err != nil {
				break
			}
			if bytes.HasPrefix(p, []byte("OpusHead")) || bytes.HasPrefix(p, []byte("OpusTags")) {
				continue
			}
			s.audio = append(s.audio, p)
		}
	}
	if len(s.frames) < 700 {
		t.Fatalf("clip has %d frames", len(s.frames))
	}
	return s
}

// session is one publishing session: its RTP sequence numbers and timestamps start at
// random-looking bases, as a new peer connection's do.
type session struct {
	v, a        video.TrackWriter
	vseq, aseq  uint16
	vts, ats    uint32
	h264        codecs.H264Payloader
	vp8         codecs.VP8Payloader
	lossyFrames map[int]bool // frames whose second packet is lost
}

func newSession(v, a video.TrackWriter, seed uint32) *session {
	return &session{v: v, a: a, vseq: uint16(seed * 7), aseq: uint16(seed * 13), vts: seed * 100003, ats: seed * 7919}
}

var base = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// feed sends video frames [from, to) of src; frame i arrives at wall0 + (i-from)*40 ms, with
// the two Opus packets of its time.
func (s *session) feed(t testing.TB, src *source, from, to int, wall0 time.Time) {
	t.Helper()
	for i := from; i < to; i++ {
		at := wall0.Add(time.Duration(i-from) * 40 * time.Millisecond)
		var payloads [][]byte
		if src.codec == "h264" {
			payloads = s.h264.Payload(1200, src.frames[i%len(src.frames)])
		} else {
			payloads = s.vp8.Payload(1200, src.frames[i%len(src.frames)])
		}
		ts := s.vts + uint32((i-from)*3600)
		for j, pl := range payloads {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: s.vseq, Timestamp: ts,
				Marker: j == len(payloads)-1, SSRC: 1}, Payload: pl}
			s.vseq++
			if s.lossyFrames[i] && j == 1 {
				continue
			}
			if err := s.v.WriteRTP(p, at); err != nil {
				t.Fatal(err)
			}
		}
		if s.a != nil {
			for k := 0; k < 2; k++ {
				ai := 2*i + k
				p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.aseq,
					Timestamp: s.ats + uint32((2*(i-from)+k)*960), SSRC: 2}, Payload: src.audio[ai%len(src.audio)]}
				s.aseq++
				if err := s.a.WriteRTP(p, at.Add(time.Duration(k)*20*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.vts += uint32((to - from) * 3600)
	s.ats += uint32((to - from) * 2 * 960)
}

var (
	h264Codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 96}
	vp8Codec  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	opusCodec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
)

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
	r.Now = func() time.Time { return base.Add(time.Hour) }
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

// probe is what ffprobe says of a file.
type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Duration  string `json:"duration"`
		NbFrames  string `json:"nb_read_frames"`
	} `json:"streams"`
}

func (p probe) duration() float64 { d, _ := strconv.ParseFloat(p.Format.Duration, 64); return d }

func (p probe) codecs() []string {
	var c []string
	for _, s := range p.Streams {
		c = append(c, s.CodecName)
	}
	return c
}

// ffprobe decodes every frame of a segment (-count_frames) and fails on any error.
func ffprobe(t testing.TB, b []byte) probe {
	t.Helper()
	f := filepath.Join(t.TempDir(), fmt.Sprintf("seg-%d.mp4", time.Now().UnixNano()))
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"format=duration:stream=codec_name,codec_type,duration,nb_read_frames", "-of", "json", f)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func readSegment(t testing.TB, r *record.Recorder, id string, idx int) []byte {
	t.Helper()
	rc, _, err := r.OpenSegment(context.Background(), yingji.System, id, idx, 0, -1)
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
		p := ffprobe(t, readSegment(t, r, rec.ID, s.Index))
		if fmt.Sprint(p.codecs()) != fmt.Sprint(codecs) {
			t.Errorf("segment %d codecs %v, want %v", s.Index, p.codecs(), codecs)
		}
		if want := float64(s.DurationMS) / 1000; !near(p.duration(), want, 0.1) {
			t.Errorf("segment %d: ffprobe %.3f s, database %.3f s", s.Index, p.duration(), want)
		}
		if got := s.Ended.Sub(s.Started).Milliseconds(); got != s.DurationMS {
			t.Errorf("segment %d: %s..%s is not %d ms", s.Index, s.Started, s.Ended, s.DurationMS)
		}
	}
}

func TestRecord(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		t.Run("OK", func(t *testing.T) {
			src := loadSource(t, "h264", true)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := newSession(addTrack(t, r, "s1", h264Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s1", opusCodec, webrtc.RTPCodecTypeAudio), 1)
			s.feed(t, src, 0, 625, base) // 25 s
			s.v.Close()
			s.a.Close()
			closeRecorder(t, r)

			rec := onlyRecording(t, r, "s1")
			if rec.Publisher != "u-responder" || rec.IncidentID == nil || *rec.IncidentID != "inc-1" || rec.Live || !rec.Started.Equal(base) {
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
			src := loadSource(t, "h264", false)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := newSession(addTrack(t, r, "s2", h264Codec, webrtc.RTPCodecTypeVideo), nil, 2)
			s.feed(t, src, 0, 300, base) // 12 s
			// The link is cut for 10 s; the publisher comes back in a new session that
			// starts with a key frame (frame 300 is one).
			s.v.Disconnected(base.Add(12 * time.Second))
			s2 := newSession(s.v, nil, 99)
			s2.feed(t, src, 300, 500, base.Add(22*time.Second)) // 8 s
			s.v.Close()
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
			src := loadSource(t, "vp8", true)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := newSession(addTrack(t, r, "s3", vp8Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s3", opusCodec, webrtc.RTPCodecTypeAudio), 3)
			s.feed(t, src, 0, 150, base) // 6 s
			s.v.Close()
			s.a.Close()
			s2 := newSession(addTrack(t, r, "s3", vp8Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "s3", opusCodec, webrtc.RTPCodecTypeAudio), 4)
			s2.feed(t, src, 200, 300, base.Add(10*time.Second)) // 4 s
			s2.v.Close()
			s2.a.Close()
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
			src := loadSource(t, "h264", false)
			r := openRecorder(t, db, localStore(t), t.TempDir(), publisher)
			s := newSession(addTrack(t, r, "s4", h264Codec, webrtc.RTPCodecTypeVideo), nil, 5)
			s.lossyFrames = map[int]bool{}
			for i := 0; i < 250; i += 25 { // every key frame (several packets)
				s.lossyFrames[i+25] = true
			}
			s.feed(t, src, 0, 250, base)
			s.v.Close()
			closeRecorder(t, r)
			rec := onlyRecording(t, r, "s4")
			checkSegments(t, r, rec, []string{"h264"})
		})
	})
}

func TestRecordMinIO(t *testing.T) {
	src := loadSource(t, "h264", true)
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := openRecorder(t, db, minioStore(t), t.TempDir(), publisher)
	s := newSession(addTrack(t, r, "m1", h264Codec, webrtc.RTPCodecTypeVideo), addTrack(t, r, "m1", opusCodec, webrtc.RTPCodecTypeAudio), 6)
	s.feed(t, src, 0, 300, base)
	s.v.Close()
	s.a.Close()
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
	clips.dir = os.Getenv("RECORD_CLIPS")
	src := loadSource(t, "h264", true)
	r, err := record.New(db, st, nil, nil, record.Config{SpoolDir: os.Getenv("RECORD_SPOOL")})
	if err != nil {
		panic(err)
	}
	r.Describe = func(context.Context, string) (record.StreamMeta, error) { return publisher, nil }
	if err := r.Open(ctx); err != nil {
		panic(err)
	}
	v, _ := r.AddTrack("crash", h264Codec, webrtc.RTPCodecTypeVideo)
	a, _ := r.AddTrack("crash", opusCodec, webrtc.RTPCodecTypeAudio)
	s := newSession(v, a, 7)
	s.feed(t, src, 0, 138, base) // 5.52 s
	fmt.Println("FED")
	time.Sleep(time.Hour)
}

func TestRecordCrash(t *testing.T) {
	makeClips(t)
	dir := t.TempDir()
	dbPath, storeDir, spool := filepath.Join(dir, "test.db"), filepath.Join(dir, "media"), filepath.Join(dir, "spool")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECORD_CRASH_HELPER=1", "RECORD_DB="+dbPath, "RECORD_STORE="+storeDir, "RECORD_SPOOL="+spool, "RECORD_CLIPS="+clips.dir)
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

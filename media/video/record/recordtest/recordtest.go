// Package recordtest makes media for recorder tests: test clips encoded with ffmpeg (H.264,
// VP8, Opus), RTP sessions that feed them to a video.TrackWriter as a publisher would, and
// ffprobe's view of a file.
package recordtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/yingji/yingji/media/video"
)

// clips are made once per process in a temporary folder (or the one $RECORDTEST_CLIPS names,
// so a child process reuses its parent's); Cleanup removes it.
var clips struct {
	mu         sync.Mutex
	dir        string
	h264, opus string
	vp8        string
}

// Dir is the clips folder (a child process gets it as $RECORDTEST_CLIPS).
func Dir() string { clips.mu.Lock(); defer clips.mu.Unlock(); return clips.dir }

// Cleanup removes the clips; call it from TestMain.
func Cleanup() {
	if os.Getenv("RECORDTEST_CLIPS") == "" && clips.dir != "" {
		os.RemoveAll(clips.dir)
	}
}

// Base is the wall time tests start their streams at.
var Base = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// MakeClips encodes 30 s of test picture (H.264 baseline and VP8, 25 fps, a key frame each
// second) and of tone (Opus, 20 ms packets).
func MakeClips(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	clips.mu.Lock()
	defer clips.mu.Unlock()
	if clips.dir == "" {
		clips.dir = os.Getenv("RECORDTEST_CLIPS")
		if clips.dir == "" {
			d, err := os.MkdirTemp("", "record-clips")
			if err != nil {
				t.Fatal(err)
			}
			clips.dir = d
		}
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
type Source struct {
	Codec  string   // h264 or vp8
	Frames [][]byte // H.264 Annex-B access units, or VP8 frames
	Audio  [][]byte
}

func LoadSource(t testing.TB, codec string, audio bool) *Source {
	t.Helper()
	MakeClips(t)
	s := &Source{Codec: codec}
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
				s.Frames = append(s.Frames, cur)
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
			s.Frames = append(s.Frames, fr)
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
			s.Audio = append(s.Audio, p)
		}
	}
	if len(s.Frames) < 700 {
		t.Fatalf("clip has %d frames", len(s.Frames))
	}
	return s
}

// session is one publishing session: its RTP sequence numbers and timestamps start at
// random-looking bases, as a new peer connection's do.
type Session struct {
	V, A        video.TrackWriter
	vseq, aseq  uint16
	vts, ats    uint32
	h264        codecs.H264Payloader
	vp8         codecs.VP8Payloader
	LossyFrames map[int]bool // frames whose second packet is lost
}

// NewSession starts a publishing session on the writers (a may be nil: video only).
func NewSession(v, a video.TrackWriter, seed uint32) *Session {
	return &Session{V: v, A: a, vseq: uint16(seed * 7), aseq: uint16(seed * 13), vts: seed * 100003, ats: seed * 7919}
}

// Feed sends video frames [from, to) of src; frame i arrives at wall0 + (i-from)*40 ms, with
// the two Opus packets of its time.
func (s *Session) Feed(t testing.TB, src *Source, from, to int, wall0 time.Time) {
	t.Helper()
	for i := from; i < to; i++ {
		at := wall0.Add(time.Duration(i-from) * 40 * time.Millisecond)
		var payloads [][]byte
		if src.Codec == "h264" {
			payloads = s.h264.Payload(1200, src.Frames[i%len(src.Frames)])
		} else {
			payloads = s.vp8.Payload(1200, src.Frames[i%len(src.Frames)])
		}
		ts := s.vts + uint32((i-from)*3600)
		for j, pl := range payloads {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: s.vseq, Timestamp: ts,
				Marker: j == len(payloads)-1, SSRC: 1}, Payload: pl}
			s.vseq++
			if s.LossyFrames[i] && j == 1 {
				continue
			}
			if err := s.V.WriteRTP(p, at); err != nil {
				t.Fatal(err)
			}
		}
		if s.A != nil {
			for k := 0; k < 2; k++ {
				ai := 2*i + k
				p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.aseq,
					Timestamp: s.ats + uint32((2*(i-from)+k)*960), SSRC: 2}, Payload: src.Audio[ai%len(src.Audio)]}
				s.aseq++
				if err := s.A.WriteRTP(p, at.Add(time.Duration(k)*20*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.vts += uint32((to - from) * 3600)
	s.ats += uint32((to - from) * 2 * 960)
}

var (
	H264Codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 96}
	VP8Codec  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	OpusCodec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
)

// probe is what ffprobe says of a file.
type Probe struct {
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

func (p Probe) Duration() float64 { d, _ := strconv.ParseFloat(p.Format.Duration, 64); return d }

func (p Probe) Codecs() []string {
	var c []string
	for _, s := range p.Streams {
		c = append(c, s.CodecName)
	}
	return c
}

// ffprobe decodes every frame of a segment (-count_frames) and fails on any error.
func FFprobe(t testing.TB, b []byte) Probe {
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
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

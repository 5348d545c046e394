package record

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// segMeta is the sidecar of a segment file in the spool folder: enough to finish the segment
// and its recording after a crash without anything else.
type segMeta struct {
	Recording  recordingRow `json:"recording"`
	Index      int          `json:"index"`
	Started    time.Time    `json:"started"`
	Codecs     string       `json:"codecs"`
	Closed     bool         `json:"closed"`
	DurationMS int64        `json:"duration_ms"`
}

func (m segMeta) base() string { return fmt.Sprintf("%s-%06d", m.Recording.ID, m.Index) }

// segTrack is one track of an open segment.
type segTrack struct {
	tw        *trackWriter
	id        int
	timescale uint32
	origin    int64 // the track's RTP timestamp at the segment's start
	originSet bool
	samples   []*fmp4.Sample // complete (duration known), not yet written
	base      uint64         // decode time of samples[0]
	next      uint64         // decode time after the last complete sample
	pend      *fmp4.Sample   // the last sample, waiting for the next to know its duration
	pendDTS   uint64
	lastDur   uint32
}

// segment is a fragmented MP4 file being written: the init (ftyp, moov) at once, then one
// fragment (moof, mdat) each FragmentDuration, each synced to disk, so a crash loses at most
// the fragment being gathered.
type segment struct {
	meta      segMeta
	f         *os.File
	dir       string
	tracks    []*segTrack
	seq       uint32
	flushedAt float64 // media seconds written so far
	bytes     int64
	end       float64 // media seconds of the last sample end
	params    string  // the video parameters the init was made with (a change starts a new segment)
}

func (s *segment) track(tw *trackWriter) *segTrack {
	for _, t := range s.tracks {
		if t.tw == tw {
			return t
		}
	}
	return nil
}

// openSegment creates the files of a segment and writes its init.
func openSegment(dir string, meta segMeta, tracks []*segTrack, params string) (*segment, error) {
	init := fmp4.Init{}
	var codecs []string
	for i, t := range tracks {
		t.id = i + 1
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: t.id, TimeScale: t.timescale, Codec: t.tw.mp4Codec()})
		codecs = append(codecs, t.tw.codecString())
	}
	meta.Codecs = strings.Join(codecs, ",")
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("record: init: %w", err)
	}
	b := buf.Bytes()
	if tracks[0].tw.codec == codecVP8 {
		b = patchVP8(b)
	}
	s := &segment{meta: meta, dir: dir, tracks: tracks, params: params}
	if err := writeMeta(dir, meta); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, meta.base()+".mp4"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("record: segment file: %w", err)
	}
	s.f = f
	if err := s.write(b); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// patchVP8 turns the VP9 sample entry mediacommon writes into a VP8 one: both are "VP codec
// ISO-BMFF" entries with the same vpcC box, only the four-character code differs.
func patchVP8(b []byte) []byte {
	i := strings.Index(string(b), "vp09")
	if i >= 0 {
		copy(b[i:], "vp08")
	}
	return b
}

func (s *segment) write(b []byte) error {
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("record: write segment: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("record: sync segment: %w", err)
	}
	s.bytes += int64(len(b))
	return nil
}

// add appends a sample at decode time dts (in the track's timescale).
func (s *segment) add(t *segTrack, dts uint64, smp *fmp4.Sample) {
	if t.pend != nil {
		if dts <= t.pendDTS {
			return // not after the previous sample: drop it
		}
		t.pend.Duration = uint32(dts - t.pendDTS)
		t.lastDur = t.pend.Duration
		if len(t.samples) == 0 {
			t.base = t.pendDTS
		}
		t.samples = append(t.samples, t.pend)
		t.next = dts
	}
	t.pend, t.pendDTS = smp, dts
	if e := float64(dts) / float64(t.timescale); e > s.end {
		s.end = e
	}
}

// due reports whether a fragment should be written now.
func (s *segment) due(fragment time.Duration) bool {
	return s.end-s.flushedAt >= fragment.Seconds()
}

// flush writes the complete samples as one fragment; final also writes the last sample of
// each track with an estimated duration (the previous one's, or the packet's own).
func (s *segment) flush(final bool) error {
	part := fmp4.Part{SequenceNumber: s.seq + 1}
	for _, t := range s.tracks {
		if final && t.pend != nil {
			d := t.lastDur
			if d == 0 {
				d = t.timescale / 30
			}
			if t.pend.Duration != 0 { // a known own duration (Opus)
				d = t.pend.Duration
			}
			t.pend.Duration = d
			if len(t.samples) == 0 {
				t.base = t.pendDTS
			}
			t.samples = append(t.samples, t.pend)
			t.next = t.pendDTS + uint64(d)
			t.pend = nil
		}
		if len(t.samples) == 0 {
			continue
		}
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: t.id, BaseTime: t.base, Samples: t.samples})
		t.samples = nil
	}
	var end float64
	for _, t := range s.tracks {
		if e := float64(t.next) / float64(t.timescale); e > end {
			end = e
		}
	}
	s.flushedAt = max(s.flushedAt, end)
	if len(part.Tracks) == 0 {
		return nil
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		return fmt.Errorf("record: fragment: %w", err)
	}
	s.seq++
	return s.write(buf.Bytes())
}

// close writes what is left, closes the file and marks the sidecar closed.
func (s *segment) close() (segMeta, error) {
	err := s.flush(true)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.meta.Closed = true
	s.meta.DurationMS = int64(s.flushedAt*1000 + 0.5)
	if werr := writeMeta(s.dir, s.meta); err == nil {
		err = werr
	}
	return s.meta, err
}

// duration is the media written so far.
func (s *segment) duration() time.Duration { return time.Duration(s.flushedAt * float64(time.Second)) }

func writeMeta(dir string, m segMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, m.base()+".json")
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("record: sidecar: %w", err)
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return fmt.Errorf("record: sidecar: %w", err)
	}
	return nil
}

// mp4Codec is the codec description of a track's init.
func (tw *trackWriter) mp4Codec() mp4.Codec {
	switch tw.codec {
	case codecH264:
		return &mp4.CodecH264{SPS: tw.sps, PPS: tw.pps}
	case codecVP8:
		return &mp4.CodecVP9{Width: tw.width, Height: tw.height, Profile: 0, BitDepth: 8, ChromaSubsampling: 1}
	default:
		return &mp4.CodecOpus{ChannelCount: tw.channels}
	}
}

// codecString is the RFC 6381 codec name a MediaSource player asks for.
func (tw *trackWriter) codecString() string {
	switch tw.codec {
	case codecH264:
		if len(tw.sps) >= 4 {
			return fmt.Sprintf("avc1.%02x%02x%02x", tw.sps[1], tw.sps[2], tw.sps[3])
		}
		return "avc1"
	case codecVP8:
		return "vp8"
	default:
		return "opus"
	}
}

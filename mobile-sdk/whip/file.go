package whip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// FileSource sends an H.264 Annex-B (.h264, .264) or IVF (VP8) file at its frame rate,
// optionally in a loop (drills).
type FileSource struct {
	path  string
	loop  bool
	fps   float64
	codec webrtc.RTPCodecCapability

	f    *os.File
	h264 *h264reader.H264Reader
	ivf  *ivfreader.IVFReader
	tick time.Duration
	pend []byte

	wantKey atomic.Bool // RequestKeyFrame: skip to the next key frame
}

// RequestKeyFrame makes the next frame sent a key frame: the frames before the file's next key
// frame are skipped, as an encoder asked for a key frame (PLI) makes one at once.
func (s *FileSource) RequestKeyFrame() { s.wantKey.Store(true) }

var _ KeyFrameSource = (*FileSource)(nil)

// OpenFile opens a file source. fps is the frame rate of an H.264 file (an IVF file carries
// its own timebase); 0 means 30.
func OpenFile(path string, fps float64, loop bool) (*FileSource, error) {
	s := &FileSource{path: path, loop: loop, fps: fps}
	if s.fps <= 0 {
		s.fps = 30
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSource) open() error {
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	s.f = f
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		f.Close()
		return fmt.Errorf("whip: %s: too short", s.path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	if string(head) == "DKIF" {
		r, hdr, err := ivfreader.NewWith(bufio.NewReader(f))
		if err != nil {
			f.Close()
			return fmt.Errorf("whip: %s: %w", s.path, err)
		}
		if fourcc := string(hdr.FourCC[:]); fourcc != "VP80" {
			f.Close()
			return fmt.Errorf("whip: %s: IVF codec %s is not supported (VP8 only)", s.path, strings.TrimSpace(fourcc))
		}
		s.ivf = r
		s.codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		s.tick = time.Duration(float64(time.Second) * float64(hdr.TimebaseNumerator) / float64(hdr.TimebaseDenominator))
		if s.tick <= 0 || s.tick > time.Second {
			s.tick = time.Second / 30
		}
		return nil
	}
	r, err := h264reader.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return fmt.Errorf("whip: %s: not an H.264 Annex-B or IVF file: %w", s.path, err)
	}
	s.h264 = r
	s.codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	s.tick = time.Duration(float64(time.Second) / s.fps)
	return nil
}

// Codec is the file's codec.
func (s *FileSource) Codec() webrtc.RTPCodecCapability { return s.codec }

// Next returns the next frame; at the end it starts over when looping.
func (s *FileSource) Next() (media.Sample, error) {
	if !s.wantKey.Swap(false) {
		return s.following()
	}
	for {
		smp, err := s.following()
		if err != nil || s.isKey(smp.Data) {
			return smp, err
		}
	}
}

// following is the next frame of the file, from its start again when it loops.
func (s *FileSource) following() (media.Sample, error) {
	for {
		smp, err := s.next()
		if errors.Is(err, io.EOF) && s.loop {
			s.f.Close()
			s.h264, s.ivf, s.pend = nil, nil, nil
			if err := s.open(); err != nil {
				return media.Sample{}, err
			}
			continue
		}
		return smp, err
	}
}

// isKey reports whether a frame is a key frame: an IVF (VP8) key frame, or an H.264 access
// unit (Annex-B) with an IDR slice.
func (s *FileSource) isKey(frame []byte) bool {
	if s.ivf != nil {
		return len(frame) > 0 && frame[0]&1 == 0
	}
	for i := 0; i+3 < len(frame); i++ {
		if frame[i] == 0 && frame[i+1] == 0 && frame[i+2] == 1 && frame[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}

func (s *FileSource) next() (media.Sample, error) {
	if s.ivf != nil {
		frame, _, err := s.ivf.ParseNextFrame()
		if err != nil {
			return media.Sample{}, io.EOF
		}
		return media.Sample{Data: frame, Duration: s.tick}, nil
	}
	// One access unit: the parameter sets and SEI before a slice, and the slice.
	for {
		nal, err := s.h264.NextNAL()
		if err != nil {
			return media.Sample{}, io.EOF
		}
		s.pend = append(s.pend, 0, 0, 0, 1)
		s.pend = append(s.pend, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceNonIdr, h264reader.NalUnitTypeCodedSliceIdr,
			h264reader.NalUnitTypeCodedSliceDataPartitionA:
			out := s.pend
			s.pend = nil
			return media.Sample{Data: out, Duration: s.tick}, nil
		}
	}
}

// Close closes the file.
func (s *FileSource) Close() error { return s.f.Close() }

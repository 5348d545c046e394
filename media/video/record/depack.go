package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// unit is one access unit (a video frame or an audio packet) depacketized from RTP.
type unit struct {
	ts      int64    // unwrapped RTP timestamp
	nalus   [][]byte // H.264: the NAL units without parameter sets and delimiters
	payload []byte   // VP8 frame, Opus packet
	key     bool     // a random access point
	dur     int64    // Opus: the packet's duration in 1/48000 s; 0 when unknown
}

// depacketizer turns a track's RTP packets into access units.
type depacketizer interface {
	// push takes one packet and returns the units it completes.
	push(p *rtp.Packet) []unit
	// reset forgets a partial unit and the timestamp origin (a new RTP session follows).
	reset()
}

// tsUnwrapper extends 32-bit RTP timestamps to 64 bits across wrap-arounds.
type tsUnwrapper struct {
	started bool
	last    uint32
	ext     int64
}

func (u *tsUnwrapper) unwrap(ts uint32) int64 {
	if !u.started {
		u.started, u.last, u.ext = true, ts, int64(ts)
		return u.ext
	}
	u.ext += int64(int32(ts - u.last))
	u.last = ts
	return u.ext
}

// seqTracker notices lost packets by their sequence numbers.
type seqTracker struct {
	started bool
	next    uint16
}

// lost reports whether packets were lost before p (and remembers p).
func (s *seqTracker) lost(p *rtp.Packet) bool {
	lost := s.started && p.SequenceNumber != s.next
	s.started, s.next = true, p.SequenceNumber+1
	return lost
}

// h264Depacketizer groups H.264 RTP packets (RFC 6184: single NAL, STAP-A, FU-A) into access
// units by timestamp and marker bit, and learns SPS and PPS from the stream.
type h264Depacketizer struct {
	pkt      codecs.H264Packet
	seq      seqTracker
	tsu      tsUnwrapper
	cur      []byte // Annex-B of the unit being gathered
	curTS    uint32
	tsSet    bool // curTS holds the current or last unit's timestamp
	have     bool
	broken   bool // a packet of the current unit was lost
	sps, pps []byte
}

func newH264Depacketizer(fmtp string) *h264Depacketizer {
	d := &h264Depacketizer{}
	// sprop-parameter-sets in the SDP, when the publisher sends them out of band.
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "sprop-parameter-sets" {
			continue
		}
		for _, b64 := range strings.Split(v, ",") {
			if n, err := decodeBase64(b64); err == nil && len(n) > 0 {
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeSPS:
					d.sps = n
				case h264.NALUTypePPS:
					d.pps = n
				}
			}
		}
	}
	return d
}

func (d *h264Depacketizer) reset() {
	d.pkt = codecs.H264Packet{}
	d.seq, d.tsu = seqTracker{}, tsUnwrapper{}
	d.cur, d.have, d.broken, d.tsSet = nil, false, false, false
}

func (d *h264Depacketizer) push(p *rtp.Packet) []unit {
	if d.late(p.Timestamp) {
		// A retransmitted or reordered packet of a unit already closed: it never ends the
		// unit being gathered (that cut it short: a truncated frame in the recording).
		return nil
	}
	var out []unit
	lost := d.seq.lost(p)
	if lost {
		d.pkt = codecs.H264Packet{} // drop a half-gathered FU-A
	}
	if d.have && p.Timestamp != d.curTS {
		// The unit ended without a marker (the marked packet was lost or never sent); a loss
		// just before this packet may have been its tail.
		if lost {
			d.broken = true
		}
		if u, ok := d.finish(); ok {
			out = append(out, u)
		}
	} else if lost && d.have {
		d.broken = true
	}
	if !d.have {
		// A loss just before a unit's first packet may have taken its start (the first
		// fragment of an FU-A: what is left parses as a slice with a random header).
		d.have, d.curTS, d.tsSet, d.cur, d.broken = true, p.Timestamp, true, d.cur[:0], lost && !nalStart(p.Payload)
	}
	b, err := d.pkt.Unmarshal(p.Payload)
	if err != nil {
		d.broken = true
	} else {
		d.cur = append(d.cur, b...)
	}
	if p.Marker {
		if u, ok := d.finish(); ok {
			out = append(out, u)
		}
	}
	return out
}

// nalStart reports whether an RTP payload begins a NAL unit (single NAL, STAP-A, or the
// first fragment of an FU-A).
func nalStart(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch t := b[0] & 0x1f; {
	case t >= 1 && t <= 24:
		return true
	case t == 28:
		return len(b) > 1 && b[1]&0x80 != 0
	}
	return false
}

// late reports whether a packet belongs to a unit before the current or last one.
func (d *h264Depacketizer) late(ts uint32) bool {
	return d.tsSet && (int32(ts-d.curTS) < 0 || !d.have && ts == d.curTS)
}

// finish closes the unit being gathered; a unit with a lost packet is dropped.
func (d *h264Depacketizer) finish() (unit, bool) {
	d.have = false
	ts := d.tsu.unwrap(d.curTS)
	if d.broken || len(d.cur) == 0 {
		d.broken = false
		return unit{}, false
	}
	var au h264.AnnexB
	if err := au.Unmarshal(d.cur); err != nil {
		return unit{}, false
	}
	u := unit{ts: ts}
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			d.sps = append([]byte(nil), n...)
		case h264.NALUTypePPS:
			d.pps = append([]byte(nil), n...)
		case h264.NALUTypeAccessUnitDelimiter, h264.NALUTypeFillerData:
		case h264.NALUTypeIDR:
			u.key = true
			u.nalus = append(u.nalus, append([]byte(nil), n...))
		default:
			u.nalus = append(u.nalus, append([]byte(nil), n...))
		}
	}
	if len(u.nalus) == 0 {
		return unit{}, false
	}
	return u, true
}

// vp8Depacketizer gathers VP8 frames (RFC 7741).
type vp8Depacketizer struct {
	pkt    codecs.VP8Packet
	seq    seqTracker
	tsu    tsUnwrapper
	cur    []byte
	curTS  uint32
	tsSet  bool
	have   bool
	broken bool
}

func (d *vp8Depacketizer) reset() {
	d.seq, d.tsu = seqTracker{}, tsUnwrapper{}
	d.cur, d.have, d.broken, d.tsSet = nil, false, false, false
}

func (d *vp8Depacketizer) push(p *rtp.Packet) []unit {
	if d.tsSet && (int32(p.Timestamp-d.curTS) < 0 || !d.have && p.Timestamp == d.curTS) {
		return nil // a late packet of a frame already closed: it never ends the current one
	}
	var out []unit
	lost := d.seq.lost(p)
	b, err := d.pkt.Unmarshal(p.Payload)
	if err != nil {
		if d.have {
			d.broken = true
		}
		return nil
	}
	start := d.pkt.S == 1 && d.pkt.PID == 0
	if d.have && (p.Timestamp != d.curTS || start) {
		if lost {
			d.broken = true // the lost packet may have been the frame's tail
		}
		if u, ok := d.finish(); ok {
			out = append(out, u)
		}
	}
	if !d.have {
		if !start {
			return out // the start of this frame was lost
		}
		d.have, d.curTS, d.tsSet, d.cur, d.broken = true, p.Timestamp, true, d.cur[:0], false
	} else if lost {
		d.broken = true
	}
	d.cur = append(d.cur, b...)
	if p.Marker {
		if u, ok := d.finish(); ok {
			out = append(out, u)
		}
	}
	return out
}

func (d *vp8Depacketizer) finish() (unit, bool) {
	d.have = false
	ts := d.tsu.unwrap(d.curTS)
	if d.broken || len(d.cur) < 3 {
		return unit{}, false
	}
	return unit{ts: ts, payload: append([]byte(nil), d.cur...), key: d.cur[0]&1 == 0}, true
}

// vp8Size reads the width and height of a VP8 key frame (RFC 6386 9.1).
func vp8Size(frame []byte) (w, h int, err error) {
	if len(frame) < 10 || frame[0]&1 != 0 || !bytes.Equal(frame[3:6], []byte{0x9d, 0x01, 0x2a}) {
		return 0, 0, fmt.Errorf("record: not a VP8 key frame")
	}
	return int(binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff), nil
}

// opusDepacketizer: each RTP packet is one Opus packet (RFC 7587).
type opusDepacketizer struct {
	tsu tsUnwrapper
}

func (d *opusDepacketizer) reset() { d.tsu = tsUnwrapper{} }

func (d *opusDepacketizer) push(p *rtp.Packet) []unit {
	if len(p.Payload) == 0 {
		return nil
	}
	return []unit{{ts: d.tsu.unwrap(p.Timestamp), payload: append([]byte(nil), p.Payload...), key: true,
		dur: opus.PacketDuration2(p.Payload)}}
}

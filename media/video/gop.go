package video

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxGOPBytes bounds the kept GOP of one track; a longer GOP is not kept (a joining viewer
// then waits for the keyframe its PLI asks for).
const maxGOPBytes = 4 << 20

// gop keeps a video track's packets since its last keyframe (as viewers see them: sequence
// numbers and timestamps already continued across re-publishes), so a joining viewer gets a
// picture at once even from a publisher that ignores PLI. Its buffers are reused from one GOP
// to the next: no allocation per packet once warm. The fwdTrack's mu guards it.
type gop struct {
	bufs  [][]byte
	n     int
	bytes int
	valid bool   // a keyframe started it and it fits maxGOPBytes
	ts    uint32 // the keyframe's timestamp
}

// add keeps p (already rewritten) when it belongs to the current GOP; a packet starting a
// keyframe with a new timestamp starts a new GOP.
func (g *gop) add(p *rtp.Packet, mime string) {
	if keyframeStart(mime, p.Payload) && (!g.valid || p.Timestamp != g.ts) {
		g.n, g.bytes, g.valid, g.ts = 0, 0, true, p.Timestamp
	}
	if !g.valid {
		return
	}
	size := p.MarshalSize()
	if g.bytes+size > maxGOPBytes {
		g.n, g.bytes, g.valid = 0, 0, false
		return
	}
	if g.n == len(g.bufs) {
		g.bufs = append(g.bufs, make([]byte, 0, 1500))
	}
	b := g.bufs[g.n]
	if cap(b) < size {
		b = make([]byte, size)
	}
	b = b[:size]
	if _, err := p.MarshalTo(b); err != nil {
		g.n, g.bytes, g.valid = 0, 0, false
		return
	}
	g.bufs[g.n] = b
	g.n++
	g.bytes += size
}

// reset forgets the GOP (a new publisher connection: its next keyframe starts one).
func (g *gop) reset() { g.n, g.bytes, g.valid = 0, 0, false }

// raw copies the kept packets (one allocation; called with the track's mu held).
func (g *gop) raw() [][]byte {
	if !g.valid || g.n == 0 {
		return nil
	}
	all := make([]byte, 0, g.bytes)
	out := make([][]byte, g.n)
	for i := 0; i < g.n; i++ {
		all = append(all, g.bufs[i]...)
		out[i] = all[len(all)-len(g.bufs[i]):]
	}
	return out
}

// squeeze parses the kept packets for one joining viewer and squeezes their timestamps to end
// at the newest frame's, one tick apart: the viewer decodes the whole GOP at once and shows its
// newest picture without a playout delay, and the live packets that follow continue both the
// sequence numbers and the timestamps.
func squeeze(raw [][]byte) []*rtp.Packet {
	out := make([]*rtp.Packet, 0, len(raw))
	frames := 0
	var last uint32
	for i, b := range raw {
		p := &rtp.Packet{}
		if err := p.Unmarshal(b); err != nil {
			return nil
		}
		if i == 0 || p.Timestamp != last {
			frames++
			last = p.Timestamp
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil
	}
	newest := last
	frame := 0
	last = out[0].Timestamp
	for _, p := range out {
		if p.Timestamp != last {
			frame++
			last = p.Timestamp
		}
		p.Timestamp = newest - uint32(frames-1-frame)
	}
	return out
}

// keyframeStart reports whether an RTP payload starts a keyframe: H.264 SPS or IDR (single
// NAL, in a STAP-A, or the first FU-A fragment of an IDR), or the first packet of a VP8 key
// frame.
func keyframeStart(mime string, p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch mime {
	case webrtc.MimeTypeH264:
		switch t := p[0] & 0x1f; t {
		case 5, 7:
			return true
		case 24: // STAP-A
			for i := 1; i+2 < len(p); {
				n := int(p[i])<<8 | int(p[i+1])
				if t := p[i+2] & 0x1f; t == 5 || t == 7 {
					return true
				}
				i += 2 + n
			}
		case 28: // FU-A
			return p[1]&0x80 != 0 && p[1]&0x1f == 5
		}
	case webrtc.MimeTypeVP8:
		if p[0]&0x10 == 0 || p[0]&0x07 != 0 { // S bit, partition 0
			return false
		}
		i := 1
		if p[0]&0x80 != 0 { // X
			x := p[1]
			i++
			if x&0x80 != 0 { // I: picture id, 7 or 15 bits
				if i < len(p) && p[i]&0x80 != 0 {
					i++
				}
				i++
			}
			if x&0x40 != 0 { // L
				i++
			}
			if x&0x30 != 0 { // T or K
				i++
			}
		}
		return i < len(p) && p[i]&0x01 == 0
	}
	return false
}

// viewerOut is one viewer's copy of a forwarded track. Its mu orders the kept GOP before the
// live packets: it is held while the GOP is sent, so a live packet waits for it.
type viewerOut struct {
	local *webrtc.TrackLocalStaticRTP
	mu    sync.Mutex
}

// outs is a copy-on-write list of a track's viewers (read without a lock on every packet).
type outs struct{ p atomic.Pointer[[]*viewerOut] }

func (o *outs) load() []*viewerOut {
	if l := o.p.Load(); l != nil {
		return *l
	}
	return nil
}

// add and remove are called with the fwdTrack's mu held.
func (o *outs) add(v *viewerOut) {
	l := append(append([]*viewerOut(nil), o.load()...), v)
	o.p.Store(&l)
}

func (o *outs) remove(v *viewerOut) {
	var l []*viewerOut
	for _, x := range o.load() {
		if x != v {
			l = append(l, x)
		}
	}
	o.p.Store(&l)
}

package record

// Internal tests of the depacketizers: what a lost, late or reordered packet does to the
// access units the recorder writes (a frame is whole or left out, never written cut).

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// frames are test frames: [0] a key frame, the others not; each one's bytes differ.
func h264Frames(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		nal := make([]byte, 3000)
		nal[0] = 0x61 // non-IDR slice
		if i == 0 {
			nal[0] = 0x65
		}
		for j := 1; j < len(nal); j++ {
			nal[j] = byte(i*7 + j)
		}
		out = append(out, nal)
	}
	return out
}

// packetize gives each frame its RTP packets (FU-A for H.264), timestamps 3000 apart.
func packetize(frames [][]byte, pay rtp.Payloader) [][]*rtp.Packet {
	var out [][]*rtp.Packet
	seq := uint16(65000) // across the wrap-around
	for i, f := range frames {
		in := f
		if _, ok := pay.(*codecs.H264Payloader); ok {
			in = append([]byte{0, 0, 0, 1}, f...)
		}
		var ps []*rtp.Packet
		for _, pl := range pay.Payload(1200, in) {
			ps = append(ps, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(1000 + 3000*i)}, Payload: pl})
			seq++
		}
		ps[len(ps)-1].Marker = true
		out = append(out, ps)
	}
	return out
}

func feed(d depacketizer, ps []*rtp.Packet) []unit {
	var out []unit
	for _, p := range ps {
		out = append(out, d.push(p)...)
	}
	return out
}

// payloadOf is the frame a unit holds.
func payloadOf(u unit) []byte {
	if u.payload != nil {
		return u.payload
	}
	return bytes.Join(u.nalus, nil)
}

// check: the units are exactly the frames wanted (by index), whole.
func check(t *testing.T, got []unit, frames [][]byte, want ...int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d units, want frames %v", len(got), want)
	}
	for i, w := range want {
		if !bytes.Equal(payloadOf(got[i]), frames[w]) {
			t.Errorf("unit %d (%d bytes) is not frame %d (%d bytes)", i, len(payloadOf(got[i])), w, len(frames[w]))
		}
		if got[i].ts != int64(1000+3000*w) {
			t.Errorf("unit %d at %d, want frame %d's timestamp", i, got[i].ts, w)
		}
	}
}

func TestDepacketizeH264(t *testing.T) {
	frames := h264Frames(4)
	pk := packetize(frames, &codecs.H264Payloader{})
	join := func(parts ...[]*rtp.Packet) []*rtp.Packet {
		var out []*rtp.Packet
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	t.Run("OK", func(t *testing.T) {
		got := feed(newH264Depacketizer(""), join(pk...))
		check(t, got, frames, 0, 1, 2, 3)
		if !got[0].key || got[1].key {
			t.Errorf("key flags %v %v", got[0].key, got[1].key)
		}
	})
	t.Run("ErrFirstPacketLost", func(t *testing.T) {
		// Frame 1's FU-A start is lost: the rest of it must not become a frame.
		got := feed(newH264Depacketizer(""), join(pk[0], pk[1][1:], pk[2], pk[3]))
		check(t, got, frames, 0, 2, 3)
	})
	t.Run("ErrTailLostNoMarker", func(t *testing.T) {
		// Frame 1's last packet (with the marker) is lost: frame 1 is left out.
		got := feed(newH264Depacketizer(""), join(pk[0], pk[1][:len(pk[1])-1], pk[2], pk[3]))
		check(t, got, frames, 0, 2, 3)
	})
	t.Run("ErrLateRetransmission", func(t *testing.T) {
		// A retransmission of frame 0 arrives while frame 1 is being gathered, and another
		// after frame 1 ended: neither cuts or adds a frame.
		ps := join(pk[0], pk[1][:1], pk[0][1:2], pk[1][1:], pk[0][:1], pk[2], pk[3])
		got := feed(newH264Depacketizer(""), ps)
		check(t, got, frames, 0, 1, 2, 3)
	})
}

func TestDepacketizeVP8(t *testing.T) {
	frames := make([][]byte, 4)
	for i := range frames {
		frames[i] = make([]byte, 2500)
		for j := range frames[i] {
			frames[i][j] = byte(i*13 + j)
		}
		frames[i][0] = 0x01 // inter frame
	}
	frames[0][0] = 0x00 // key frame
	pk := packetize(frames, &codecs.VP8Payloader{})
	join := func(parts ...[]*rtp.Packet) []*rtp.Packet {
		var out []*rtp.Packet
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	t.Run("OK", func(t *testing.T) {
		got := feed(&vp8Depacketizer{}, join(pk...))
		check(t, got, frames, 0, 1, 2, 3)
		if !got[0].key || got[1].key {
			t.Errorf("key flags %v %v", got[0].key, got[1].key)
		}
	})
	t.Run("ErrTailLost", func(t *testing.T) {
		got := feed(&vp8Depacketizer{}, join(pk[0], pk[1][:len(pk[1])-1], pk[2], pk[3]))
		check(t, got, frames, 0, 2, 3)
	})
	t.Run("ErrLateRetransmission", func(t *testing.T) {
		ps := join(pk[0], pk[1][:1], pk[0][1:2], pk[1][1:], pk[0][:1], pk[2], pk[3])
		got := feed(&vp8Depacketizer{}, ps)
		check(t, got, frames, 0, 1, 2, 3)
	})
}

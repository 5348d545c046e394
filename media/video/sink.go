package video

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TrackSink receives the tracks the SFU forwards (the recorder is one).
type TrackSink interface {
	AddTrack(streamID string, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) (TrackWriter, error)
}

// TrackWriter receives one track's RTP packets.
type TrackWriter interface {
	WriteRTP(p *rtp.Packet, arrival time.Time) error
	Disconnected(at time.Time) // the publisher dropped; a gap starts
	Close() error              // the stream ended
}

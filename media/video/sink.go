// Package video is the live-video forwarding path: an SFU on pion/webrtc
// that takes WHIP publishes (RFC 9725) and serves WHEP viewers, plus the
// stream metadata (video_streams, video_positions).
//
// The recorder is not part of the forwarding path: the SFU hands every
// publisher track to a TrackSink (media/video/record implements one that
// writes fragmented MP4). A sink never blocks forwarding for long; the SFU
// calls WriteRTP from the track's read loop, so a slow sink slows only that
// track's delivery to the sink, not other streams.
package video

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TrackSink receives every publisher track.
type TrackSink interface {
	// AddTrack is called once per publisher track (codec, kind). For a
	// stream that resumes after a drop (the publisher re-POSTs with its
	// stream id) AddTrack is called again with the same streamID; the sink
	// continues the same recording as a new segment after the gap that
	// Disconnected started.
	AddTrack(streamID string, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) (TrackWriter, error)
}

// TrackWriter receives one publisher track's packets.
type TrackWriter interface {
	// WriteRTP is called for every RTP packet the publisher sends on the
	// track, in arrival order. The packet must not be retained after the
	// call returns (the SFU reuses its buffer).
	WriteRTP(p *rtp.Packet, arrival time.Time) error
	// Disconnected reports that the publisher dropped; a gap starts.
	Disconnected(at time.Time)
	// Close reports that the stream ended (DELETE, or no resume in time).
	Close() error
}

// NopSink is the default sink: it records nothing.
type NopSink struct{}

// AddTrack returns a writer that drops everything.
func (NopSink) AddTrack(string, webrtc.RTPCodecParameters, webrtc.RTPCodecType) (TrackWriter, error) {
	return nopWriter{}, nil
}

type nopWriter struct{}

func (nopWriter) WriteRTP(*rtp.Packet, time.Time) error { return nil }
func (nopWriter) Disconnected(time.Time)                {}
func (nopWriter) Close() error                          { return nil }

var _ TrackSink = NopSink{}

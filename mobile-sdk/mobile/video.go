package mobile

import (
	"context"
	"encoding/json"
	"math"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// VideoPublishInfo returns, as JSON, what the app's own WebRTC stack needs to publish live
// video by WHIP: {"whip_url", "token", "stream_id", "ice_servers": [{"urls", "username",
// "credential"}], "position_channel"}. POST the SDP offer to whip_url with
// "Authorization: Bearer token" and Content-Type application/sdp; the answer's X-Stream-ID
// header is the stream id. After a drop, call again with that stream id (within the server's
// video_resume_window) to continue the same stream. streamID, incidentID and title may be "".
func (m *Client) VideoPublishInfo(streamID, incidentID, title string) (string, error) {
	info, err := m.c.VideoPublish(context.Background(), sdk.VideoOptions{StreamID: streamID, IncidentID: incidentID, Title: title})
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(info)
}

// VideoStreams lists the video streams the user may see as a JSON array (only live ones
// when live is set).
func (m *Client) VideoStreams(live bool) (string, error) {
	l, err := m.c.VideoStreams(context.Background(), live)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(l)
}

// VideoPositionJSON encodes one GPS fix as the publisher sends it on the "position" data
// channel. heading (degrees from north) and speed (m/s) are left out when negative or NaN;
// unixMillis 0 means now.
func VideoPositionJSON(lat, lng, heading, speed float64, unixMillis int64) string {
	m := map[string]any{"lat": lat, "lng": lng}
	if heading >= 0 && !math.IsNaN(heading) {
		m["heading"] = heading
	}
	if speed >= 0 && !math.IsNaN(speed) {
		m["speed"] = speed
	}
	t := time.Now()
	if unixMillis != 0 {
		t = time.UnixMilli(unixMillis)
	}
	m["time"] = t.UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(m)
	return string(b)
}

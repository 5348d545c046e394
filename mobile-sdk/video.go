package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/mobile-sdk/whip"
)

// VideoStream is a live or past video stream as the server lists it.
type VideoStream struct {
	ID            string         `json:"id"`
	PublisherID   string         `json:"publisher_id"`
	PublisherName string         `json:"publisher_name"`
	IncidentID    *string        `json:"incident_id"`
	Title         string         `json:"title"`
	State         string         `json:"state"`
	Codecs        []string       `json:"codecs"`
	StartedAt     time.Time      `json:"started_at"`
	EndedAt       *time.Time     `json:"ended_at"`
	Gaps          int            `json:"gaps"`
	Last          *whip.Position `json:"last_position"`
	Viewers       int            `json:"viewers"`
}

// VideoStreams lists the video streams the user may see: only live ones (connecting, live or
// waiting for their publisher to return) when live is set. Needs the network.
func (c *Client) VideoStreams(ctx context.Context, live bool) ([]VideoStream, error) {
	server, token, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{"page_size": {"500"}}
	if live {
		q.Set("live", "true")
	}
	var page struct {
		Items []VideoStream `json:"items"`
	}
	if err := c.call(ctx, server, token, http.MethodGet, "/api/v1/video/streams?"+q.Encode(), nil, &page); err != nil {
		return nil, c.authFailed(ctx, err)
	}
	if page.Items == nil {
		page.Items = []VideoStream{}
	}
	return page.Items, nil
}

// VideoOptions describe a publish.
type VideoOptions struct {
	IncidentID, Title string
	// StreamID resumes a stream this user published that is waiting for him.
	StreamID string
	// FPS is the frame rate of an H.264 file (default 30); Loop sends the file again and again.
	FPS  float64
	Loop bool
	// API and HTTP replace the publisher's pion API and HTTP client (tests cut their links).
	API  *webrtc.API
	HTTP *http.Client
}

// VideoFix queues a GPS fix of a stream this user publishes on the sync path (collection
// video_fixes): for the positions taken while the data channel is down. It works offline; the
// fix reaches the stream's track, with the time it was taken, at the next sync.
func (c *Client) VideoFix(ctx context.Context, streamID string, pos whip.Position) error {
	if pos.Time.IsZero() {
		pos.Time = c.opts.Now()
	}
	f := map[string]json.RawMessage{"stream_id": rawJSON(streamID), "time": rawJSON(pos.Time.UTC().Format(time.RFC3339Nano)),
		"lat": rawJSON(pos.Lat), "lng": rawJSON(pos.Lng)}
	if pos.Heading != nil {
		f["heading"] = rawJSON(*pos.Heading)
	}
	if pos.Speed != nil {
		f["speed"] = rawJSON(*pos.Speed)
	}
	_, err := c.Create(ctx, "video_fixes", f)
	return err
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// PublishVideo publishes an H.264 Annex-B or IVF (VP8) file by WHIP with the session of this
// replica. The publisher re-publishes to the same stream when its link drops; Close ends the
// stream.
func (c *Client) PublishVideo(ctx context.Context, file string, o VideoOptions) (*whip.Publisher, error) {
	server, token, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	src, err := whip.OpenFile(file, o.FPS, o.Loop)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Code: "video.bad_file", Message: "无法读取视频文件（应为 H.264 Annex-B 或 VP8 IVF）：" + err.Error()}
	}
	p, err := whip.Publish(ctx, whip.Options{Server: server, Token: token, StreamID: o.StreamID, IncidentID: o.IncidentID,
		Title: o.Title, Log: c.opts.Log, API: o.API, HTTP: o.HTTP,
		Offline: func(id string, pos whip.Position) error { return c.VideoFix(context.WithoutCancel(ctx), id, pos) }}, src)
	if err != nil {
		src.Close()
		return nil, c.authFailed(ctx, videoError(err))
	}
	return p, nil
}

// videoError turns a WHIP refusal into the SDK's error.
func videoError(err error) error {
	var we *whip.Error
	if !errors.As(err, &we) {
		return &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "无法连接服务器", Err: err}
	}
	e := &Error{Code: we.Code, Message: we.Message}
	switch {
	case we.Status == http.StatusUnauthorized:
		e.Kind = KindAuth
	case we.Status == http.StatusNotFound:
		e.Kind = KindNotFound
	case we.Status >= 500:
		e.Kind = KindUnreachable
	default:
		e.Kind = KindInvalid
	}
	return e
}

// VideoPublishInfo is what a native WebRTC stack needs to publish by WHIP itself: the WHIP
// endpoint (with the stream to resume and the incident as query parameters), the bearer
// token, and the STUN/TURN servers the server hands out. Positions go over a data channel
// named "position" as JSON objects {"lat", "lng", "heading", "speed", "time"}.
type VideoPublishInfo struct {
	WHIPURL    string           `json:"whip_url"`
	Token      string           `json:"token"`
	StreamID   string           `json:"stream_id,omitempty"`
	ICEServers []VideoICEServer `json:"ice_servers"`
	// PositionChannel is the data channel's label.
	PositionChannel string `json:"position_channel"`
}

// VideoICEServer is one STUN/TURN server.
type VideoICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// VideoPublish returns the WHIP endpoint, token and ICE servers for a native publisher.
func (c *Client) VideoPublish(ctx context.Context, o VideoOptions) (VideoPublishInfo, error) {
	server, token, err := c.session(ctx)
	if err != nil {
		return VideoPublishInfo{}, err
	}
	var ice struct {
		ICEServers []VideoICEServer `json:"ice_servers"`
		WHIPURL    string           `json:"whip_url"`
	}
	if err := c.call(ctx, server, token, http.MethodGet, "/api/v1/video/ice-servers", nil, &ice); err != nil {
		return VideoPublishInfo{}, c.authFailed(ctx, err)
	}
	q := url.Values{}
	if o.StreamID != "" {
		q.Set("stream_id", o.StreamID)
	}
	if o.IncidentID != "" {
		q.Set("incident_id", o.IncidentID)
	}
	if o.Title != "" {
		q.Set("title", o.Title)
	}
	u := strings.TrimRight(server, "/") + ice.WHIPURL
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if ice.ICEServers == nil {
		ice.ICEServers = []VideoICEServer{}
	}
	return VideoPublishInfo{WHIPURL: u, Token: token, StreamID: o.StreamID, ICEServers: ice.ICEServers, PositionChannel: "position"}, nil
}

// Package whip is a WHIP (RFC 9725) publisher on pion for Go-based field devices, drills and
// tests: it sends an H.264 Annex-B or IVF (VP8) file, or any Source, to the Yingji server,
// sends GPS fixes over the "position" data channel, and when its link drops it re-publishes
// to the same stream (the server keeps the stream and the recording continues after a gap).
package whip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Source gives the frames to send.
type Source interface {
	Codec() webrtc.RTPCodecCapability
	// Next returns the next frame (one access unit) and its duration; io.EOF ends the stream.
	Next() (media.Sample, error)
}

// Position is one GPS fix.
type Position struct {
	Time    time.Time `json:"time"`
	Lat     float64   `json:"lat"`
	Lng     float64   `json:"lng"`
	Heading *float64  `json:"heading,omitempty"`
	Speed   *float64  `json:"speed,omitempty"`
}

// Options configure a publisher.
type Options struct {
	// Server is the server's base URL (https://yingji.example.cn); Token the session token.
	Server, Token string
	// StreamID resumes an existing stream; IncidentID and Title describe a new one.
	StreamID, IncidentID, Title string
	// API is the pion API to use (tests pass one whose link they can cut); nil: a default.
	API *webrtc.API
	// HTTP is the client for WHIP requests; nil: a client with a 15 s timeout.
	HTTP *http.Client
	// RetryEvery is how often a dropped publisher tries to re-publish (default 500 ms).
	RetryEvery time.Duration
	Log        *slog.Logger
	// Offline, when set, takes the positions SendPosition cannot send because the data
	// channel is down (the SDK queues them on the sync path: collection video_fixes).
	Offline func(streamID string, pos Position) error
}

// Error is a refusal by the server: the HTTP status, the stable code and the Chinese message.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Publisher is a running WHIP publish.
type Publisher struct {
	opts  Options
	src   Source
	track *webrtc.TrackLocalStaticSample

	mu        sync.Mutex
	pc        *webrtc.PeerConnection
	dc        *webrtc.DataChannel
	streamID  string
	location  string
	etag      string
	resumes   int
	dropped   chan struct{}
	connected chan struct{}

	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

// DefaultAPI is a pion API with the default codecs and interceptors (NACK, RTCP reports, TWCC).
func DefaultAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// Publish starts publishing src. It returns when the server has answered; frames flow in the
// background until the source ends, ctx is cancelled or Close is called.
func Publish(ctx context.Context, o Options, src Source) (*Publisher, error) {
	if o.API == nil {
		api, err := DefaultAPI()
		if err != nil {
			return nil, err
		}
		o.API = api
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if o.RetryEvery == 0 {
		o.RetryEvery = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	track, err := webrtc.NewTrackLocalStaticSample(src.Codec(), "video", "yingji")
	if err != nil {
		return nil, err
	}
	p := &Publisher{opts: o, src: src, track: track, streamID: o.StreamID, done: make(chan struct{})}
	if err := p.connect(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-rctx.Done():
		}
	}()
	p.wg.Add(2)
	go p.send(rctx)
	go p.watch(rctx)
	return p, nil
}

// connect makes a peer connection and POSTs its offer (resuming the stream when it has one).
func (p *Publisher) connect(ctx context.Context) error {
	pc, err := p.opts.API.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	tr, err := pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		pc.Close()
		return err
	}
	go p.readRTCP(tr.Sender())
	dc, err := pc.CreateDataChannel("position", nil)
	if err != nil {
		pc.Close()
		return err
	}
	dropped, connected := make(chan struct{}), make(chan struct{})
	var once, conn sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			conn.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
			once.Do(func() { close(dropped) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return ctx.Err()
	}
	q := url.Values{}
	p.mu.Lock()
	if p.streamID != "" {
		q.Set("stream_id", p.streamID)
	}
	p.mu.Unlock()
	if p.opts.IncidentID != "" {
		q.Set("incident_id", p.opts.IncidentID)
	}
	if p.opts.Title != "" {
		q.Set("title", p.opts.Title)
	}
	u := strings.TrimRight(p.opts.Server, "/") + "/api/v1/video/whip"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	res, body, err := p.do(ctx, http.MethodPost, u, "application/sdp", pc.LocalDescription().SDP, nil)
	if err != nil {
		pc.Close()
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		pc.Close()
		return fmt.Errorf("whip: answer: %w", err)
	}
	loc := res.Header.Get("Location")
	if base, err := url.Parse(p.opts.Server); err == nil {
		if l, err := base.Parse(loc); err == nil {
			loc = l.String()
		}
	}
	p.mu.Lock()
	old := p.pc
	p.pc, p.dc, p.location, p.etag = pc, dc, loc, res.Header.Get("ETag")
	if id := res.Header.Get("X-Stream-ID"); id != "" {
		p.streamID = id
	}
	p.dropped, p.connected = dropped, connected
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// do sends one WHIP request and turns a refusal into an *Error.
func (p *Publisher) do(ctx context.Context, method, u, ctype, body string, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+p.opts.Token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := p.opts.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode >= 300 {
		e := &Error{Status: res.StatusCode}
		var body struct{ Code, Message string }
		if json.Unmarshal(b, &body) == nil {
			e.Code, e.Message = body.Code, body.Message
		}
		if ra := res.Header.Get("Retry-After"); ra != "" {
			var n int
			fmt.Sscanf(ra, "%d", &n)
			e.RetryAfter = time.Duration(n) * time.Second
		}
		return res, b, e
	}
	return res, b, nil
}

// send writes the source's frames at their pace.
func (p *Publisher) send(ctx context.Context) {
	defer p.wg.Done()
	defer close(p.done)
	next := time.Now()
	for {
		s, err := p.src.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
			return
		}
		if err := p.track.WriteSample(s); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			p.opts.Log.Debug("write sample", "err", err)
		}
		next = next.Add(s.Duration)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// watch re-publishes to the same stream whenever the link drops.
func (p *Publisher) watch(ctx context.Context) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		dropped := p.dropped
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-p.done:
			return
		case <-dropped:
		}
		p.opts.Log.Info("link dropped; re-publishing", "stream_id", p.StreamID())
		for {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := p.connect(cctx)
			if err == nil {
				// Wait for the new connection to come up; if it fails (the link is still down)
				// try again.
				p.mu.Lock()
				connected, dropped := p.connected, p.dropped
				p.mu.Unlock()
				err = p.waitConnected(cctx, connected, dropped)
			}
			cancel()
			if err == nil {
				p.mu.Lock()
				p.resumes++
				p.mu.Unlock()
				break
			}
			var we *Error
			if errors.As(err, &we) && we.Status != http.StatusConflict && we.Status < 500 {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
				return // the stream ended or the session is gone: nothing to resume
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(p.opts.RetryEvery):
			}
		}
	}
}

// waitConnected waits for the new connection to come up. An attempt made while the link is
// still down is given up as soon as ICE has failed every candidate pair (about 1.5 s of
// checks), not when ICE's checking timeout (disconnected + failed timeouts) ends it: an
// attempt that can no longer connect would otherwise hold the publisher for seconds after
// the link has returned.
func (p *Publisher) waitConnected(ctx context.Context, connected, dropped <-chan struct{}) error {
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-connected:
			return nil
		case <-dropped:
			return errors.New("dropped again")
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if pairsFailed(pc) {
				return errors.New("every ICE candidate pair failed")
			}
		}
	}
}

// pairsFailed reports whether pc has candidate pairs and ICE has failed all of them.
func pairsFailed(pc *webrtc.PeerConnection) bool {
	n := 0
	for _, st := range pc.GetStats() {
		cp, ok := st.(webrtc.ICECandidatePairStats)
		if !ok {
			continue
		}
		if cp.State != webrtc.StatsICECandidatePairStateFailed {
			return false
		}
		n++
	}
	return n > 0
}

// KeyFrameSource is a Source that can make its next frame a key frame (an encoder asked for
// one, a file source skipping to its next one).
type KeyFrameSource interface {
	Source
	RequestKeyFrame()
}

// readRTCP reads what the server sends about the track (the interceptors' NACKs and reports
// are handled on the way) and passes a key frame request (PLI, FIR) to the source: after a
// re-publish the server asks for one at once, and the recording and the viewers go on from it.
func (p *Publisher) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if kf, ok := p.src.(KeyFrameSource); ok {
					kf.RequestKeyFrame()
				}
			}
		}
	}
}

// StreamID is the stream's id (the same after a re-publish).
func (p *Publisher) StreamID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.streamID
}

// Resumes counts how often the publisher re-published after a drop.
func (p *Publisher) Resumes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resumes
}

// Connected reports whether media flows now.
func (p *Publisher) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pc != nil && p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// SendPosition sends one GPS fix over the data channel; while the link is down it goes to
// Options.Offline (or is dropped when that is nil).
func (p *Publisher) SendPosition(pos Position) error {
	if pos.Time.IsZero() {
		pos.Time = time.Now()
	}
	b, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen || !p.Connected() {
		if p.opts.Offline != nil {
			return p.opts.Offline(p.StreamID(), pos)
		}
		return errors.New("whip: data channel not open")
	}
	return dc.Send(b)
}

// Wait blocks until the source ends or the publisher stops; it returns the source's error.
func (p *Publisher) Wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close ends the stream on the server (DELETE) and releases the connection.
func (p *Publisher) Close(ctx context.Context) error {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	pc, loc := p.pc, p.location
	p.mu.Unlock()
	var err error
	if loc != "" {
		_, _, err = p.do(ctx, http.MethodDelete, loc, "", "", nil)
	}
	if pc != nil {
		pc.Close()
	}
	return err
}

var _ = bytes.MinRead

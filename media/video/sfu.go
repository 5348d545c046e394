package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/server/yingji"
)

// Errors the SFU returns; the API answers each with its status and Chinese message.
var (
	errNoCodec = yingji.Errorf(yingji.EINVALID, "video.unsupported_codec",
		"不支持的音视频编码：视频仅支持 H.264 或 VP8，音频仅支持 Opus")
	errBadSDP     = yingji.Errorf(yingji.EINVALID, "video.bad_sdp", "SDP 格式错误，无法解析")
	errNoMedia    = yingji.Errorf(yingji.EINVALID, "video.no_media", "SDP 中没有音频或视频")
	errFull       = yingji.Errorf(yingji.EUNAVAILABLE, "video.full", "视频服务已达到最大并发路数，请稍后重试")
	errViewFull   = yingji.Errorf(yingji.EUNAVAILABLE, "video.viewers_full", "该路视频观看人数已满，请稍后重试")
	errNoStream   = yingji.Errorf(yingji.ENOTFOUND, "video.stream_not_found", "视频流不存在或已结束")
	errNoSession  = yingji.Errorf(yingji.ENOTFOUND, "video.session_not_found", "会话不存在或已结束")
	errNotReady   = yingji.Errorf(yingji.ECONFLICT, "video.not_ready", "发布端尚未开始推流，请稍后重试")
	errBusy       = yingji.Errorf(yingji.ECONFLICT, "video.stream_busy", "该视频流已有发布端在推流")
	errETag       = yingji.Errorf(yingji.ECONFLICT, "video.etag_mismatch", "会话已变化（If-Match 不符），请重新协商")
	errBadFrag    = yingji.Errorf(yingji.EINVALID, "video.bad_sdpfrag", "trickle-ice-sdpfrag 格式错误")
	errNoViewCode = yingji.Errorf(yingji.EINVALID, "video.viewer_codec", "播放端不支持该视频流的编码")
)

// RetryAfter returns how long a 503 answer asks the client to wait, when err is the SFU's
// "full" refusal.
func (s *SFU) RetryAfter(err error) (time.Duration, bool) {
	if errors.Is(err, errFull) || errors.Is(err, errViewFull) {
		return s.cfg.RetryAfter, true
	}
	return 0, false
}

// State is a stream's state.
type State string

const (
	StateConnecting  State = "connecting"  // the publisher's offer was answered; no media yet
	StateLive        State = "live"        // media flows
	StateInterrupted State = "interrupted" // the publisher dropped; waiting ResumeWindow for it
	StateEnded       State = "ended"
)

// Position is one GPS fix a publisher sends over its data channel.
type Position struct {
	Time    time.Time `json:"time"`
	Lat     float64   `json:"lat"`
	Lng     float64   `json:"lng"`
	Heading *float64  `json:"heading,omitempty"` // degrees from north, clockwise
	Speed   *float64  `json:"speed,omitempty"`   // m/s
}

// Valid reports whether p is a plausible WGS84 fix.
func (p Position) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180 && !(p.Lat == 0 && p.Lng == 0)
}

// Events receives what happens to streams (the Service persists it).
type Events interface {
	// StreamState is called when a stream goes live, is interrupted, resumes or ends; codecs
	// lists the publisher's codecs ("video/H264", "audio/opus").
	StreamState(streamID string, state State, at time.Time, codecs []string)
	// Position is called for each valid fix from a publisher.
	Position(streamID string, p Position)
}

type nopEvents struct{}

func (nopEvents) StreamState(string, State, time.Time, []string) {}
func (nopEvents) Position(string, Position)                      {}

// SFU forwards WHIP publishers to WHEP viewers.
type SFU struct {
	cfg    Config
	api    *webrtc.API
	sink   TrackSink
	events Events
	log    *slog.Logger
	udp    net.PacketConn
	mux    ice.UDPMux
	now    func() time.Time

	mu       sync.Mutex
	closed   bool
	streams  map[string]*stream
	sessions map[string]*session

	// forwardNanos observes the time from a packet's arrival to its hand-off to every viewer
	// (benchmarks read it through ForwardDelays).
	fwdMu    sync.Mutex
	fwdDelay []time.Duration
	fwdOn    atomic.Bool
}

// Options are the SFU's collaborators; zero values take defaults.
type Options struct {
	Sink   TrackSink
	Events Events
	Log    *slog.Logger
	// PacketConn replaces the UDP socket of Config.UDPAddr (tests, benchmarks).
	PacketConn net.PacketConn
}

// New starts an SFU listening on cfg.UDPAddr.
func New(cfg Config, o Options) (*SFU, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TrackWait == 0 {
		cfg.TrackWait = 5 * time.Second
	}
	s := &SFU{cfg: cfg, sink: o.Sink, events: o.Events, log: o.Log, now: time.Now,
		streams: map[string]*stream{}, sessions: map[string]*session{}}
	if s.sink == nil {
		s.sink = NopSink{}
	}
	if s.events == nil {
		s.events = nopEvents{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "video")
	s.udp = o.PacketConn
	if s.udp == nil {
		c, err := net.ListenPacket("udp", cfg.UDPAddr)
		if err != nil {
			return nil, fmt.Errorf("video: listen %s: %w", cfg.UDPAddr, err)
		}
		s.udp = c
	}
	s.mux = webrtc.NewICEUDPMux(nil, s.udp)

	me, reg, err := newMediaEngine()
	if err != nil {
		s.udp.Close()
		return nil, fmt.Errorf("video: media engine: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetICEUDPMux(s.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	if host, _, _ := net.SplitHostPort(s.udp.LocalAddr().String()); host == "127.0.0.1" || host == "::1" {
		se.SetIncludeLoopbackCandidate(true)
	}
	// A dropped publisher is noticed within seconds, so a re-publish is not refused as busy
	// for long and the recording's gap starts where the media stopped.
	se.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return s, nil
}

// Addr is the UDP address the SFU receives media on.
func (s *SFU) Addr() net.Addr { return s.udp.LocalAddr() }

// Config returns the SFU's configuration.
func (s *SFU) Config() Config { return s.cfg }

func (s *SFU) rtcConfig() webrtc.Configuration {
	var c webrtc.Configuration
	for _, is := range s.cfg.ICEServers {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return c
}

// Close ends every stream and session and releases the UDP port.
func (s *SFU) Close() error {
	s.mu.Lock()
	s.closed = true
	var sess []*session
	for _, x := range s.sessions {
		sess = append(sess, x)
	}
	var streams []*stream
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	for _, x := range sess {
		x.pc.Close()
	}
	for _, st := range streams {
		s.endStream(st, "server closed")
	}
	err := s.mux.Close()
	if s.udp != nil {
		s.udp.Close()
	}
	return err
}

// stream is one live stream: the tracks its current publisher feeds and its viewers.
type stream struct {
	id     string
	tracks map[string]*fwdTrack // by kind ("audio", "video")
	// want is how many tracks the current publisher offered; ready closes when all arrived.
	want      int
	ready     chan struct{}
	publisher *session
	viewers   map[string]*session
	state     State
	resume    *time.Timer
	codecs    []string
	pliAt     time.Time
}

// session is one peer connection: a publisher's or a viewer's (one WHIP/WHEP resource).
type session struct {
	id       string
	streamID string
	viewer   bool
	pc       *webrtc.PeerConnection
	etag     string
	// offer is the remote description, kept to apply trickled candidates and ICE restarts.
	offer string
	// ended is set when the session was ended on purpose (DELETE, server close).
	ended atomic.Bool
	// done closes when the session's goroutines are over.
	wg sync.WaitGroup
}

// fwdTrack is one track of a stream as viewers see it: one local track fed by whichever
// publisher peer connection is current, with sequence numbers and timestamps kept continuous
// across a re-publish so viewers' decoders never see a jump backwards.
type fwdTrack struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters
	ssrc  atomic.Uint32 // the current publisher track's SSRC (PLI target)
	// outs are the viewers' copies of the track; the kept GOP (video) goes to each first.
	outs outs
	gop  gop

	mu                  sync.Mutex
	writer              TrackWriter
	rebase              bool
	seqOff              uint16
	tsOff               uint32
	lastSeq             uint16
	lastTS              uint32
	lastAt              time.Time
	started             bool
	packets, bytes, fwd uint64
}

// PublishRequest is a WHIP POST.
type PublishRequest struct {
	// StreamID resumes an interrupted stream (the publisher's re-POST after a drop); empty
	// starts a new stream with the id NewStreamID gives.
	StreamID string
	Offer    string
}

// Answer is the SFU's answer to a WHIP or WHEP offer.
type Answer struct {
	SDP       string
	SessionID string // the WHIP/WHEP resource
	StreamID  string
	ETag      string
	Resumed   bool
}

// Publish answers a WHIP offer. A new stream takes a slot of MaxStreams; a resume takes the
// interrupted stream's slot back.
func (s *SFU) Publish(ctx context.Context, req PublishRequest) (Answer, error) {
	media, _, err := offerMedia(req.Offer)
	switch {
	case errors.Is(err, errNoCodec):
		return Answer{}, errNoCodec
	case err != nil:
		return Answer{}, errBadSDP
	case media == 0:
		return Answer{}, errNoMedia
	}
	id := req.StreamID
	resumed := false
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Answer{}, errFull
	}
	if id != "" {
		st := s.streams[id]
		if st == nil {
			s.mu.Unlock()
			return Answer{}, errNoStream
		}
		if st.publisher != nil && st.state == StateLive {
			// The publisher lost its link and came back before the SFU noticed: the new
			// connection replaces the old one.
			old := st.publisher
			st.publisher = nil
			s.mu.Unlock()
			s.dropPublisher(st, old)
			s.mu.Lock()
		} else if old := st.publisher; old != nil && old.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			// An earlier re-publish that never connected (sent while the publisher's link was
			// still down): the publisher has given it up, and the new offer replaces it at once
			// rather than answering busy until the SFU's ICE timeouts fail it.
			st.publisher = nil
			delete(s.sessions, old.id)
			old.ended.Store(true)
			s.mu.Unlock()
			old.pc.Close()
			s.mu.Lock()
		} else if st.publisher != nil {
			s.mu.Unlock()
			return Answer{}, errBusy
		}
		resumed = true
	} else {
		if len(s.streams) >= s.cfg.MaxStreams {
			s.mu.Unlock()
			return Answer{}, errFull
		}
		id = yingji.NewID()
		s.streams[id] = &stream{id: id, tracks: map[string]*fwdTrack{}, viewers: map[string]*session{}, state: StateConnecting}
	}
	st := s.streams[id]
	if st.resume != nil {
		st.resume.Stop()
		st.resume = nil
	}
	st.want = media
	st.ready = make(chan struct{})
	s.mu.Unlock()

	pc, err := s.api.NewPeerConnection(s.rtcConfig())
	if err != nil {
		s.abandon(st, resumed)
		return Answer{}, fmt.Errorf("video: publish: %w", err)
	}
	sess := &session{id: yingji.NewID(), streamID: id, pc: pc, offer: req.Offer}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		sess.wg.Add(1)
		go func() {
			defer sess.wg.Done()
			s.readTrack(st, sess, t)
		}()
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { s.onPosition(id, m.Data) })
	})
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		switch cs {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			if !sess.ended.Load() {
				s.dropPublisher(st, sess)
			}
		}
	})
	answer, err := s.negotiate(ctx, pc, req.Offer)
	if err != nil {
		pc.Close()
		s.abandon(st, resumed)
		return Answer{}, err
	}
	sess.etag = etag()
	s.mu.Lock()
	st.publisher = sess
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	return Answer{SDP: answer, SessionID: sess.id, StreamID: id, ETag: sess.etag, Resumed: resumed}, nil
}

// abandon undoes a failed publish: a new stream is forgotten, a resumed one waits again.
func (s *SFU) abandon(st *stream, resumed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !resumed {
		delete(s.streams, st.id)
		return
	}
	s.armResume(st)
}

// negotiate applies an offer and returns the complete answer (the SFU's candidates are known
// at once: one host candidate per address of the UDP mux).
func (s *SFU) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", errBadSDP
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("video: answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("video: answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// readTrack forwards one publisher track to the stream's viewers and its sink.
func (s *SFU) readTrack(st *stream, sess *session, t *webrtc.TrackRemote) {
	kind := t.Kind().String()
	codec := t.Codec()
	s.mu.Lock()
	ft := st.tracks[kind]
	if ft != nil && !strings.EqualFold(ft.codec.MimeType, codec.MimeType) {
		// The publisher came back with another codec: viewers of the old track cannot decode
		// it; they keep the old track (silent) and new viewers get the new one.
		ft = nil
	}
	if ft == nil {
		ft = &fwdTrack{kind: t.Kind(), codec: codec}
		st.tracks[kind] = ft
	}
	ft.ssrc.Store(uint32(t.SSRC()))
	ready := 0
	for _, x := range st.tracks {
		if x.ssrc.Load() != 0 {
			ready++
		}
	}
	if ready >= st.want && st.ready != nil {
		select {
		case <-st.ready:
		default:
			close(st.ready)
		}
	}
	var codecs []string
	for _, x := range st.tracks {
		codecs = append(codecs, x.codec.MimeType)
	}
	st.codecs = codecs
	wasState := st.state
	st.state = StateLive
	s.mu.Unlock()
	if wasState != StateLive {
		s.events.StreamState(st.id, StateLive, s.now(), codecs)
	}

	w, err := s.sink.AddTrack(st.id, codec, t.Kind())
	if err != nil {
		s.log.Warn("recorder refused a track", "err", err, "stream_id", st.id)
		w = nopWriter{}
	}
	ft.mu.Lock()
	ft.writer = w
	ft.rebase = ft.started
	ft.mu.Unlock()
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		// A keyframe at once for viewers already waiting (a resume).
		s.requestKeyframe(st, true)
	}

	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		ft.forward(&p, at, s)
	}
}

func (ft *fwdTrack) forward(p *rtp.Packet, at time.Time, s *SFU) {
	ft.mu.Lock()
	seq, ts := p.SequenceNumber, p.Timestamp // the publisher's own, which the recorder gets
	if ft.rebase {
		// The first packet of a new publisher connection continues where the last one left
		// off: the next sequence number, and a timestamp advanced by the wall time between.
		ft.seqOff = ft.lastSeq + 1 - p.SequenceNumber
		gap := at.Sub(ft.lastAt)
		ft.tsOff = ft.lastTS + uint32(gap.Seconds()*float64(ft.codec.ClockRate)) - p.Timestamp
		ft.rebase = false
		ft.gop.reset() // the new connection's frames do not follow the old GOP
	}
	p.SequenceNumber += ft.seqOff
	p.Timestamp += ft.tsOff
	ft.lastSeq, ft.lastTS, ft.lastAt, ft.started = p.SequenceNumber, p.Timestamp, at, true
	ft.packets++
	ft.bytes += uint64(len(p.Payload))
	if ft.kind == webrtc.RTPCodecTypeVideo {
		ft.gop.add(p, ft.codec.MimeType)
	}
	w := ft.writer
	n := ft.packets
	ft.mu.Unlock()
	// Viewers first: the recorder is not on the forwarding path.
	for _, o := range ft.outs.load() {
		o.mu.Lock()
		_ = o.local.WriteRTP(p)
		o.mu.Unlock()
	}
	if s.fwdOn.Load() {
		d := time.Since(at)
		s.fwdMu.Lock()
		s.fwdDelay = append(s.fwdDelay, d)
		s.fwdMu.Unlock()
	}
	p.SequenceNumber, p.Timestamp = seq, ts
	if err := w.WriteRTP(p, at); err != nil && n%1000 == 0 {
		s.log.Warn("recorder write", "err", err)
	}
}

// attach starts forwarding a track to a viewer that just connected: the kept GOP first, then
// the live packets (which wait on the viewer's mu until the GOP went out). It returns how many
// kept packets the viewer got.
func (ft *fwdTrack) attach(o *viewerOut) int {
	ft.mu.Lock()
	raw := ft.gop.raw()
	o.mu.Lock()
	ft.outs.add(o)
	ft.mu.Unlock()
	defer o.mu.Unlock()
	pkts := squeeze(raw)
	for _, p := range pkts {
		if err := o.local.WriteRTP(p); err != nil {
			break
		}
	}
	return len(pkts)
}

// detach stops forwarding a track to a viewer.
func (ft *fwdTrack) detach(o *viewerOut) {
	ft.mu.Lock()
	ft.outs.remove(o)
	ft.mu.Unlock()
}

// RecordForwardDelays starts (or stops) recording, per packet, the time between a packet's
// arrival from the publisher and its hand-off to every viewer's connection; ForwardDelays
// returns and clears what was recorded. Benchmarks use it.
func (s *SFU) RecordForwardDelays(on bool) { s.fwdOn.Store(on) }

// ForwardDelays returns the delays recorded since the last call.
func (s *SFU) ForwardDelays() []time.Duration {
	s.fwdMu.Lock()
	defer s.fwdMu.Unlock()
	out := s.fwdDelay
	s.fwdDelay = nil
	return out
}

// requestKeyframe asks the current publisher for a keyframe (PLI), at most every 500 ms
// unless forced.
func (s *SFU) requestKeyframe(st *stream, force bool) {
	s.mu.Lock()
	pub := st.publisher
	ft := st.tracks["video"]
	if pub == nil || ft == nil || (!force && time.Since(st.pliAt) < 500*time.Millisecond) {
		s.mu.Unlock()
		return
	}
	st.pliAt = time.Now()
	s.mu.Unlock()
	ssrc := ft.ssrc.Load()
	if ssrc == 0 {
		return
	}
	_ = pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// onPosition takes one JSON fix from a publisher's data channel.
func (s *SFU) onPosition(streamID string, data []byte) {
	var p Position
	if err := json.Unmarshal(data, &p); err != nil || !p.Valid() {
		return
	}
	now := s.now()
	if p.Time.IsZero() || p.Time.After(now.Add(time.Minute)) || p.Time.Before(now.Add(-time.Hour)) {
		p.Time = now
	}
	s.events.Position(streamID, p)
}

// dropPublisher handles a publisher connection that failed or was replaced: the stream waits
// ResumeWindow for the publisher to come back.
func (s *SFU) dropPublisher(st *stream, sess *session) {
	s.mu.Lock()
	if st.publisher == sess {
		st.publisher = nil
	}
	delete(s.sessions, sess.id)
	current := st.publisher == nil && s.streams[st.id] == st && st.state != StateEnded
	var last time.Time
	var writers []TrackWriter
	if current {
		for _, ft := range st.tracks {
			ft.mu.Lock()
			if ft.lastAt.After(last) {
				last = ft.lastAt
			}
			writers = append(writers, ft.writer)
			ft.mu.Unlock()
		}
		if st.state != StateInterrupted {
			st.state = StateInterrupted
			s.armResume(st)
		}
	}
	s.mu.Unlock()
	sess.ended.Store(true)
	sess.pc.Close()
	if !current {
		return
	}
	if last.IsZero() {
		last = s.now()
	}
	for _, w := range writers {
		if w != nil {
			w.Disconnected(last)
		}
	}
	s.events.StreamState(st.id, StateInterrupted, last, nil)
}

// armResume starts the timer that ends an interrupted stream. s.mu is held.
func (s *SFU) armResume(st *stream) {
	if st.resume != nil {
		st.resume.Stop()
	}
	st.state = StateInterrupted
	st.resume = time.AfterFunc(s.cfg.ResumeWindow, func() {
		s.mu.Lock()
		wait := st.publisher == nil && st.state == StateInterrupted
		s.mu.Unlock()
		if wait {
			s.endStream(st, "publisher did not return")
		}
	})
}

// endStream ends a stream: its viewers are closed and its recording finished.
func (s *SFU) endStream(st *stream, why string) {
	s.mu.Lock()
	if st.state == StateEnded {
		s.mu.Unlock()
		return
	}
	st.state = StateEnded
	if st.resume != nil {
		st.resume.Stop()
	}
	delete(s.streams, st.id)
	var sess []*session
	if st.publisher != nil {
		sess = append(sess, st.publisher)
	}
	for _, v := range st.viewers {
		sess = append(sess, v)
	}
	for _, x := range sess {
		delete(s.sessions, x.id)
	}
	var writers []TrackWriter
	for _, ft := range st.tracks {
		ft.mu.Lock()
		if ft.writer != nil {
			writers = append(writers, ft.writer)
		}
		ft.mu.Unlock()
	}
	s.mu.Unlock()
	for _, x := range sess {
		x.ended.Store(true)
		x.pc.Close()
		x.wg.Wait()
	}
	for _, w := range writers {
		if err := w.Close(); err != nil {
			s.log.Warn("recorder close", "err", err, "stream_id", st.id)
		}
	}
	s.log.Info("stream ended", "stream_id", st.id, "why", why)
	s.events.StreamState(st.id, StateEnded, s.now(), nil)
}

// View answers a WHEP offer for a stream. It waits up to TrackWait for a publisher that is
// still connecting, then asks the publisher for a keyframe when the viewer connects.
func (s *SFU) View(ctx context.Context, streamID, offer string) (Answer, error) {
	if _, _, err := offerMedia(offer); err != nil && !errors.Is(err, errNoCodec) {
		return Answer{}, errBadSDP
	}
	s.mu.Lock()
	st := s.streams[streamID]
	if st == nil {
		s.mu.Unlock()
		return Answer{}, errNoStream
	}
	if len(st.viewers) >= s.cfg.MaxViewers {
		s.mu.Unlock()
		return Answer{}, errViewFull
	}
	ready := st.ready
	s.mu.Unlock()
	if ready != nil {
		t := time.NewTimer(s.cfg.TrackWait)
		select {
		case <-ready:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	s.mu.Lock()
	var tracks []*fwdTrack
	for _, k := range []string{"video", "audio"} {
		if ft := st.tracks[k]; ft != nil {
			tracks = append(tracks, ft)
		}
	}
	s.mu.Unlock()
	if len(tracks) == 0 {
		return Answer{}, errNotReady
	}

	pc, err := s.api.NewPeerConnection(s.rtcConfig())
	if err != nil {
		return Answer{}, fmt.Errorf("video: view: %w", err)
	}
	sess := &session{id: yingji.NewID(), streamID: streamID, viewer: true, pc: pc, offer: offer}
	type out struct {
		ft *fwdTrack
		o  *viewerOut
	}
	var viewOuts []out
	for _, ft := range tracks {
		local, err := webrtc.NewTrackLocalStaticRTP(ft.codec.RTPCodecCapability, ft.kind.String(), "yingji-"+st.id)
		if err != nil {
			pc.Close()
			return Answer{}, fmt.Errorf("video: view: %w", err)
		}
		viewOuts = append(viewOuts, out{ft, &viewerOut{local: local}})
		sender, err := pc.AddTrack(local)
		if err != nil {
			pc.Close()
			return Answer{}, fmt.Errorf("video: view: %w", err)
		}
		sess.wg.Add(1)
		go func() {
			defer sess.wg.Done()
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						s.requestKeyframe(st, false)
					}
				}
			}
		}()
	}
	var attachOnce, detachOnce sync.Once
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		switch cs {
		case webrtc.PeerConnectionStateConnected:
			// A picture at once: the kept GOP, and a keyframe the publisher sends for the new
			// viewer.
			attachOnce.Do(func() {
				for _, x := range viewOuts {
					x.ft.attach(x.o)
				}
			})
			s.requestKeyframe(st, true)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			detachOnce.Do(func() {
				for _, x := range viewOuts {
					x.ft.detach(x.o)
				}
			})
			s.mu.Lock()
			delete(st.viewers, sess.id)
			delete(s.sessions, sess.id)
			s.mu.Unlock()
			if cs == webrtc.PeerConnectionStateFailed {
				pc.Close()
			}
		}
	})
	answer, err := s.negotiate(ctx, pc, offer)
	if err != nil {
		pc.Close()
		return Answer{}, err
	}
	if !sendsAny(pc) {
		pc.Close()
		return Answer{}, errNoViewCode
	}
	sess.etag = etag()
	s.mu.Lock()
	if s.streams[streamID] != st {
		s.mu.Unlock()
		pc.Close()
		return Answer{}, errNoStream
	}
	st.viewers[sess.id] = sess
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	return Answer{SDP: answer, SessionID: sess.id, StreamID: streamID, ETag: sess.etag}, nil
}

// sendsAny reports whether the viewer accepted at least one of the tracks.
func sendsAny(pc *webrtc.PeerConnection) bool {
	for _, t := range pc.GetTransceivers() {
		if t.Sender() != nil && t.Sender().Track() != nil {
			d := t.Direction()
			if d == webrtc.RTPTransceiverDirectionSendonly || d == webrtc.RTPTransceiverDirectionSendrecv {
				if c := t.Sender().GetParameters().Codecs; len(c) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// Delete ends a WHIP or WHEP session (RFC 9725 DELETE). Deleting a publisher ends its stream.
func (s *SFU) Delete(sessionID string) error {
	s.mu.Lock()
	sess := s.sessions[sessionID]
	var st *stream
	if sess != nil {
		st = s.streams[sess.streamID]
	}
	s.mu.Unlock()
	if sess == nil {
		return errNoSession
	}
	sess.ended.Store(true)
	if !sess.viewer && st != nil {
		s.endStream(st, "publisher ended")
		return nil
	}
	s.mu.Lock()
	if st != nil {
		delete(st.viewers, sess.id)
	}
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	err := sess.pc.Close()
	sess.wg.Wait()
	return err
}

// SessionInfo describes a WHIP/WHEP resource for permission checks.
type SessionInfo struct {
	StreamID string
	Viewer   bool
	ETag     string
}

// Session returns what a session is.
func (s *SFU) Session(id string) (SessionInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.sessions[id]
	if x == nil {
		return SessionInfo{}, false
	}
	return SessionInfo{StreamID: x.streamID, Viewer: x.viewer, ETag: x.etag}, true
}

// StreamInfo is a live stream as the SFU sees it.
type StreamInfo struct {
	ID      string
	State   State
	Viewers int
	Codecs  []string
	Packets uint64
	Bytes   uint64
}

// Stream returns a stream's live state.
func (s *SFU) Stream(id string) (StreamInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil {
		return StreamInfo{}, false
	}
	in := StreamInfo{ID: id, State: st.state, Viewers: len(st.viewers), Codecs: append([]string(nil), st.codecs...)}
	for _, ft := range st.tracks {
		ft.mu.Lock()
		in.Packets += ft.packets
		in.Bytes += ft.bytes
		ft.mu.Unlock()
	}
	return in, true
}

// Sessions counts open sessions (leak checks).
func (s *SFU) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Patch applies a trickle-ice-sdpfrag (RFC 8840) to a session: new remote candidates, or an
// ICE restart when it carries new ice-ufrag/ice-pwd. For a restart it returns the SFU's new
// sdpfrag; otherwise "". ifMatch must be the session's ETag ("*" matches any).
func (s *SFU) Patch(sessionID, ifMatch, frag string) (string, string, error) {
	s.mu.Lock()
	sess := s.sessions[sessionID]
	s.mu.Unlock()
	if sess == nil {
		return "", "", errNoSession
	}
	if ifMatch != "*" && strings.Trim(ifMatch, `"`) != strings.Trim(sess.etag, `"`) {
		return "", "", errETag
	}
	f, err := parseFrag(frag)
	if err != nil {
		return "", "", errBadFrag
	}
	if f.ufrag == "" || f.ufrag == iceUfrag(sess.offer) {
		for _, c := range f.candidates {
			mid := f.mid
			init := webrtc.ICECandidateInit{Candidate: c, SDPMid: &mid}
			if mid == "" {
				init.SDPMid = nil
				zero := uint16(0)
				init.SDPMLineIndex = &zero
			}
			if err := sess.pc.AddICECandidate(init); err != nil {
				return "", "", errBadFrag
			}
		}
		return "", sess.etag, nil
	}
	// ICE restart: the client's new credentials replace the old ones in its offer; the SFU
	// answers with its own new credentials and candidates.
	offer := replaceICE(sess.offer, f.ufrag, f.pwd)
	if err := sess.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", "", errBadFrag
	}
	ans, err := sess.pc.CreateAnswer(nil)
	if err != nil {
		return "", "", fmt.Errorf("video: ice restart: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(sess.pc)
	if err := sess.pc.SetLocalDescription(ans); err != nil {
		return "", "", fmt.Errorf("video: ice restart: %w", err)
	}
	<-gathered
	for _, c := range f.candidates {
		_ = sess.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c})
	}
	s.mu.Lock()
	sess.offer = offer
	sess.etag = etag()
	tag := sess.etag
	s.mu.Unlock()
	return answerFrag(sess.pc.LocalDescription().SDP), tag, nil
}

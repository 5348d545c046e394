package video_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/videotest"
	"github.com/yingji/yingji/server/yingji"
)

// events records what the SFU reports.
type events struct {
	mu        sync.Mutex
	states    []video.State
	positions []video.Position
}

func (e *events) StreamState(id string, s video.State, at time.Time, codecs []string) {
	e.mu.Lock()
	e.states = append(e.states, s)
	e.mu.Unlock()
}
func (e *events) Position(id string, p video.Position) {
	e.mu.Lock()
	e.positions = append(e.positions, p)
	e.mu.Unlock()
}

// sink records what the recorder would see.
type sink struct {
	mu           sync.Mutex
	tracks       int
	packets      int
	disconnected []time.Time
	closed       int
}

func (s *sink) AddTrack(id string, c webrtc.RTPCodecParameters, k webrtc.RTPCodecType) (video.TrackWriter, error) {
	s.mu.Lock()
	s.tracks++
	s.mu.Unlock()
	return s, nil
}
func (s *sink) WriteRTP(*rtp.Packet, time.Time) error {
	s.mu.Lock()
	s.packets++
	s.mu.Unlock()
	return nil
}
func (s *sink) Disconnected(at time.Time) {
	s.mu.Lock()
	s.disconnected = append(s.disconnected, at)
	s.mu.Unlock()
}
func (s *sink) Close() error {
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
	return nil
}

func newSFU(t testing.TB, mod func(*video.Config), o video.Options) *video.SFU {
	t.Helper()
	cfg := video.DefaultConfig()
	cfg.UDPAddr = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	s, err := video.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func publish(t *testing.T, s *video.SFU, api *webrtc.API, streamID string) (*videotest.Publisher, video.Answer) {
	t.Helper()
	p, err := videotest.NewPublisher(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	offer, err := videotest.Offer(p.PC)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Publish(context.Background(), video.PublishRequest{StreamID: streamID, Offer: offer})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
		t.Fatal(err)
	}
	p.Start()
	return p, a
}

func view(t *testing.T, s *video.SFU, api *webrtc.API, streamID string) *videotest.Viewer {
	t.Helper()
	v, err := videotest.NewViewer(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	offer, err := videotest.Offer(v.PC)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.View(context.Background(), streamID, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
		t.Fatal(err)
	}
	return v
}

func waitFrames(t *testing.T, v *videotest.Viewer, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for v.Frames.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("viewer got %d frames in %v, want %d", v.Frames.Load(), d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkNoLeaks(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestForward(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("OK", func(t *testing.T) {
		ev, rec := &events{}, &sink{}
		s := newSFU(t, nil, video.Options{Events: ev, Sink: rec})
		api, _, err := videotest.API(nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, a := publish(t, s, api, "")
		v1 := view(t, s, api, a.StreamID)
		v2 := view(t, s, api, a.StreamID)
		waitFrames(t, v1, 30, 20*time.Second)
		waitFrames(t, v2, 30, 20*time.Second)
		for i, v := range []*videotest.Viewer{v1, v2} {
			if v.Keyframes.Load() == 0 {
				t.Errorf("viewer %d got no keyframe", i+1)
			}
		}
		// Positions over the data channel reach the events.
		if err := waitOpen(pub.DC); err != nil {
			t.Fatal(err)
		}
		if err := pub.DC.SendText(`{"lat":30.2741,"lng":120.1551,"heading":90,"speed":1.5}`); err != nil {
			t.Fatal(err)
		}
		_ = pub.DC.SendText(`{"lat":300,"lng":1}`) // out of range: dropped
		deadline := time.Now().Add(5 * time.Second)
		for {
			ev.mu.Lock()
			n := len(ev.positions)
			ev.mu.Unlock()
			if n >= 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		ev.mu.Lock()
		if len(ev.positions) != 1 || ev.positions[0].Lat != 30.2741 || *ev.positions[0].Heading != 90 {
			t.Errorf("positions = %+v", ev.positions)
		}
		ev.mu.Unlock()

		// A late viewer gets a keyframe within one PLI although the GOP is 10 s.
		plis := pub.PLIs.Load()
		start := time.Now()
		late := view(t, s, api, a.StreamID)
		select {
		case <-late.FirstKey:
		case <-time.After(5 * time.Second):
			t.Fatal("late viewer: no keyframe within 5 s")
		}
		t.Logf("late viewer: first keyframe after %v (the kept GOP)", time.Since(start))
		// The SFU asks the publisher for a keyframe as well.
		for deadline := time.Now().Add(3 * time.Second); pub.PLIs.Load() == plis && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if pub.PLIs.Load()-plis < 1 {
			t.Error("no PLI reached the publisher when the viewer joined")
		}
		if in, _ := s.Stream(a.StreamID); in.Viewers != 3 || in.State != video.StateLive {
			t.Errorf("stream = %+v", in)
		}
		if err := s.Delete(a.SessionID); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Stream(a.StreamID); ok {
			t.Error("stream still there after DELETE")
		}
		if s.Sessions() != 0 {
			t.Errorf("%d sessions left", s.Sessions())
		}
		rec.mu.Lock()
		if rec.tracks != 1 || rec.packets == 0 || rec.closed != 1 {
			t.Errorf("sink: tracks %d packets %d closed %d", rec.tracks, rec.packets, rec.closed)
		}
		rec.mu.Unlock()
		ev.mu.Lock()
		if got := ev.states; len(got) != 2 || got[0] != video.StateLive || got[1] != video.StateEnded {
			t.Errorf("states = %v", got)
		}
		ev.mu.Unlock()
	})
	checkNoLeaks(t, before)
}

func waitOpen(dc *webrtc.DataChannel) error {
	deadline := time.Now().Add(10 * time.Second)
	for dc.ReadyState() != webrtc.DataChannelStateOpen {
		if time.Now().After(deadline) {
			return errors.New("data channel not open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// TestResumeReplacesUnconnected: a re-publish sent while the link was still down never
// connects; the publisher's next re-publish replaces it at once instead of being told the
// stream is busy until the SFU's ICE timeouts end the first one.
func TestResumeReplacesUnconnected(t *testing.T) {
	ev, rec := &events{}, &sink{}
	s := newSFU(t, nil, video.Options{Events: ev, Sink: rec})
	papi, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, a := publish(t, s, papi, "")
	v := view(t, s, papi, a.StreamID)
	waitFrames(t, v, 10, 20*time.Second)
	pub.Close()
	deadline := time.Now().Add(12 * time.Second)
	for {
		if in, _ := s.Stream(a.StreamID); in.State == video.StateInterrupted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream not interrupted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The lost attempt: answered, but its publisher never applies the answer.
	lost, err := videotest.NewPublisher(papi)
	if err != nil {
		t.Fatal(err)
	}
	defer lost.Close()
	offer, err := videotest.Offer(lost.PC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(context.Background(), video.PublishRequest{StreamID: a.StreamID, Offer: offer}); err != nil {
		t.Fatal(err)
	}
	framesBefore := v.Frames.Load()
	_, a2 := publish(t, s, papi, a.StreamID) // fails the test on an error (busy)
	if a2.StreamID != a.StreamID || !a2.Resumed {
		t.Fatalf("resume answered stream %s resumed %v", a2.StreamID, a2.Resumed)
	}
	waitFrames(t, v, framesBefore+10, 10*time.Second)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if n := strings.Count(fmt.Sprint(ev.states), string(video.StateInterrupted)); n != 1 {
		t.Errorf("states %v: want one interruption", ev.states)
	}
}

// TestResume cuts the publisher's link for 10 s: the SFU marks the stream interrupted, tells
// the recorder where the gap starts, and the publisher's re-POST with its stream id resumes
// the same stream within 5 s of the link returning; the viewer keeps its connection.
func TestResume(t *testing.T) {
	if testing.Short() {
		t.Skip("cuts a link for 10 s")
	}
	ev, rec := &events{}, &sink{}
	s := newSFU(t, nil, video.Options{Events: ev, Sink: rec})
	conn, err := videotest.ListenCut()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	papi, mux, err := videotest.API(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	vapi, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, a := publish(t, s, papi, "")
	v := view(t, s, vapi, a.StreamID)
	waitFrames(t, v, 30, 20*time.Second)

	dropped := make(chan struct{})
	var once sync.Once
	pub.PC.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		if cs == webrtc.PeerConnectionStateDisconnected || cs == webrtc.PeerConnectionStateFailed {
			once.Do(func() { close(dropped) })
		}
	})
	conn.Cut(true)
	cutAt := time.Now()
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher did not notice the cut")
	}
	// The server notices too.
	deadline := time.Now().Add(12 * time.Second)
	for {
		if in, _ := s.Stream(a.StreamID); in.State == video.StateInterrupted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream not interrupted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(cutAt.Add(10 * time.Second)))
	conn.Cut(false)
	back := time.Now()
	pub.Close()
	framesBefore := v.Frames.Load()
	pub2, a2 := publish(t, s, papi, a.StreamID)
	if a2.StreamID != a.StreamID || !a2.Resumed {
		t.Fatalf("resume answered stream %s resumed %v", a2.StreamID, a2.Resumed)
	}
	_ = pub2
	waitFrames(t, v, framesBefore+10, 5*time.Second)
	t.Logf("frames flow again %v after the link returned", time.Since(back))
	if d := time.Since(back); d > 5*time.Second {
		t.Errorf("resume took %v", d)
	}
	rec.mu.Lock()
	if len(rec.disconnected) != 1 {
		t.Errorf("gaps = %v", rec.disconnected)
	} else if gap := rec.disconnected[0].Sub(cutAt); gap > time.Second || gap < -time.Second {
		t.Errorf("gap starts %v from the cut", gap)
	}
	if rec.tracks != 2 {
		t.Errorf("sink tracks = %d, want 2 (one per connection)", rec.tracks)
	}
	rec.mu.Unlock()
}

func TestRefusals(t *testing.T) {
	s := newSFU(t, func(c *video.Config) { c.MaxStreams = 1; c.RetryAfter = 7 * time.Second }, video.Options{})
	api, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	good, err := videotest.Offer(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrMalformed", func(t *testing.T) {
		_, err := s.Publish(context.Background(), video.PublishRequest{Offer: "v=0\r\nthis is not sdp"})
		if yingji.ErrorCode(err) != "video.bad_sdp" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrUnsupportedCodecs", func(t *testing.T) {
		// Only H.265 and AV1 offered.
		var b strings.Builder
		for _, l := range strings.Split(good, "\r\n") {
			if strings.HasPrefix(l, "m=video ") {
				f := strings.Fields(l)
				l = strings.Join(append(f[:3], "116", "45"), " ")
			}
			if strings.HasPrefix(l, "a=rtpmap:") || strings.HasPrefix(l, "a=fmtp:") || strings.HasPrefix(l, "a=rtcp-fb:") {
				continue
			}
			b.WriteString(l + "\r\n")
			if strings.HasPrefix(l, "m=video ") {
				b.WriteString("a=rtpmap:116 H265/90000\r\na=rtpmap:45 AV1/90000\r\n")
			}
		}
		_, err := s.Publish(context.Background(), video.PublishRequest{Offer: strings.TrimSuffix(b.String(), "\r\n")})
		var ye *yingji.Error
		if !errors.As(err, &ye) || ye.Code != "video.unsupported_codec" || ye.Kind != yingji.EINVALID || !strings.Contains(ye.Message, "H.264") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrFull", func(t *testing.T) {
		_, a := publish(t, s, api, "")
		_, err := s.Publish(context.Background(), video.PublishRequest{Offer: good})
		if yingji.ErrorKind(err) != yingji.EUNAVAILABLE {
			t.Fatalf("err = %v", err)
		}
		if d, ok := s.RetryAfter(err); !ok || d != 7*time.Second {
			t.Errorf("retry after %v %v", d, ok)
		}
		if err := s.Delete(a.SessionID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrNoStream", func(t *testing.T) {
		_, err := s.View(context.Background(), "nope", good)
		if yingji.ErrorCode(err) != "video.stream_not_found" {
			t.Errorf("err = %v", err)
		}
	})
	if s.Sessions() != 0 {
		t.Errorf("%d sessions left", s.Sessions())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		mod  func(*video.Config)
		want string
	}{
		{func(c *video.Config) { c.UDPAddr = "8443" }, "video.udp_addr"},
		{func(c *video.Config) { c.NAT1To1IPs = []string{"example.com"} }, "video.nat_1to1_ips"},
		{func(c *video.Config) { c.ICEServers = []video.ICEServer{{URLs: []string{"http://x"}}} }, "video.ice_servers"},
		{func(c *video.Config) { c.ICEServers = []video.ICEServer{{URLs: []string{"turn:x:3478"}}} }, "username"},
		{func(c *video.Config) { c.MaxStreams = 0 }, "video.max_streams"},
	} {
		cfg := video.DefaultConfig()
		c.mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v", c.want, err)
		}
	}
	cfg := video.DefaultConfig()
	cfg.ICEServers = []video.ICEServer{{URLs: []string{"stun:stun.example.cn:3478"}}, {URLs: []string{"turn:turn.example.cn:3478"}, Username: "u", Credential: "p"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	links := cfg.LinkHeaders()
	if len(links) != 2 || links[0] != `<stun:stun.example.cn:3478>; rel="ice-server"` ||
		!strings.Contains(links[1], `username="u"; credential="p"; credential-type="password"`) {
		t.Errorf("links = %q", links)
	}
	_ = net.IPv4len
}

// TestKeptGOP: the publisher ignores PLI and sends a keyframe only every 20 s; a viewer
// joining 2 s into the GOP still gets a keyframe at once (the SFU's kept GOP, squeezed to end
// at the live timestamp), then the live packets with no jump in sequence numbers and no
// timestamp going backwards.
func TestKeptGOP(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("OK", func(t *testing.T) {
		s := newSFU(t, nil, video.Options{})
		api, _, err := videotest.API(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := videotest.NewPublisher(api)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		p.GOP = 20 * time.Second
		p.IgnorePLI.Store(true)
		offer, err := videotest.Offer(p.PC)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Publish(context.Background(), video.PublishRequest{Offer: offer})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
			t.Fatal(err)
		}
		// The GOP's keyframe must not be lost before the connection is up.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := videotest.WaitConnected(ctx, p.PC); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		p.Start()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if in, _ := s.Stream(a.StreamID); in.Packets >= 60 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no packets from the publisher")
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		plis := p.PLIs.Load()
		start := time.Now()
		late, err := videotest.NewViewerSeqs(api)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(late.Close)
		voffer, err := videotest.Offer(late.PC)
		if err != nil {
			t.Fatal(err)
		}
		va, err := s.View(context.Background(), a.StreamID, voffer)
		if err != nil {
			t.Fatal(err)
		}
		if err := late.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: va.SDP}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-late.FirstKey:
		case <-time.After(5 * time.Second):
			t.Fatal("late viewer: no keyframe within 5 s")
		}
		joined := time.Since(start)
		t.Logf("late viewer: first keyframe %v after its offer; publisher keyframes %d", joined, p.Keyframes.Load())
		if p.Keyframes.Load() != 1 {
			t.Fatalf("publisher sent %d keyframes; the test needs one (the GOP's)", p.Keyframes.Load())
		}
		// The SFU asks for a keyframe as well; the PLI may arrive after the kept GOP did.
		for wait := time.Now().Add(3 * time.Second); p.PLIs.Load() == plis && time.Now().Before(wait); {
			time.Sleep(10 * time.Millisecond)
		}
		if p.PLIs.Load() == plis {
			t.Error("no PLI reached the publisher within 3 s (the SFU asks as well)")
		}
		// ~3 s since the keyframe: ~90 kept frames arrive at once, live ones at 30/s.
		time.Sleep(300 * time.Millisecond)
		gopFrames := late.Frames.Load()
		if gopFrames < 60 {
			t.Errorf("late viewer got %d frames within 300 ms of the first, want the ~90 kept since the keyframe", gopFrames)
		}
		waitFrames(t, late, gopFrames+30, 10*time.Second) // 1 s of live frames after the GOP
		time.Sleep(time.Second)                           // NACKed packets come again
		if missing, back := late.Continuity(); missing != 0 || back != 0 {
			t.Errorf("late viewer: %d sequence numbers missing, %d timestamps backwards", missing, back)
		}
		if err := s.Delete(a.SessionID); err != nil {
			t.Fatal(err)
		}
	})
	checkNoLeaks(t, before)
}

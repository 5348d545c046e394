// Package videotest has real pion peers for tests and benchmarks of the SFU: a publisher that
// sends synthetic H.264 (a keyframe on every PLI and every GOP) and a viewer that counts
// frames and notes keyframes.
package videotest

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// CutConn is a UDP socket whose link can be cut: while cut, nothing is sent or received.
type CutConn struct {
	net.PacketConn
	cut atomic.Bool
}

// ListenCut opens a cuttable UDP socket on loopback.
func ListenCut() (*CutConn, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &CutConn{PacketConn: c}, nil
}

// Cut cuts (true) or restores (false) the link.
func (c *CutConn) Cut(cut bool) { c.cut.Store(cut) }

func (c *CutConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, a, err
		}
	}
}

func (c *CutConn) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, a)
}

// API returns a pion API for a test peer on loopback; conn, when set, carries all its ICE
// traffic (one UDP mux), so a CutConn cuts the peer's link.
func API(conn net.PacketConn) (*webrtc.API, ice.UDPMux, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	var mux ice.UDPMux
	if conn != nil {
		mux = webrtc.NewICEUDPMux(nil, conn)
		se.SetICEUDPMux(mux)
	} else {
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), mux, nil
}

// Offer makes a complete offer (candidates gathered) on pc.
func Offer(pc *webrtc.PeerConnection) (string, error) {
	o, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		return "", err
	}
	<-g
	return pc.LocalDescription().SDP, nil
}

// Publisher sends synthetic H.264 at 30 frames/s: a keyframe (SPS, PPS, IDR) every GOP and on
// every PLI, P frames between. FrameBytes sets the frame size (bitrate = 30 × 8 × FrameBytes).
type Publisher struct {
	PC         *webrtc.PeerConnection
	Track      *webrtc.TrackLocalStaticSample
	DC         *webrtc.DataChannel
	GOP        time.Duration
	FrameBytes int
	// IgnorePLI makes the publisher count PLIs but send keyframes only every GOP (as some
	// field devices do).
	IgnorePLI atomic.Bool
	// Keyframes counts the keyframes sent.
	Keyframes atomic.Int64

	PLIs      atomic.Int64
	keyNow    atomic.Bool
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewPublisher makes a publisher peer with one H.264 video track and a "position" data channel.
func NewPublisher(api *webrtc.API) (*Publisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pub")
	if err != nil {
		pc.Close()
		return nil, err
	}
	sender, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		pc.Close()
		return nil, err
	}
	dc, err := pc.CreateDataChannel("position", nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	p := &Publisher{PC: pc, Track: tr, DC: dc, GOP: 10 * time.Second, FrameBytes: 1000, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := sender.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				if _, ok := pk.(*rtcp.PictureLossIndication); ok {
					p.PLIs.Add(1)
					if !p.IgnorePLI.Load() {
						p.keyNow.Store(true)
					}
				}
			}
		}
	}()
	return p, nil
}

// Frame returns one synthetic Annex-B access unit.
func Frame(key bool, size int) []byte {
	body := make([]byte, size)
	_, _ = rand.Read(body)
	for i := range body {
		if body[i] == 0 {
			body[i] = 1 // no start codes inside
		}
	}
	var b []byte
	sc := []byte{0, 0, 0, 1}
	if key {
		b = append(b, sc...)
		b = append(b, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8) // SPS
		b = append(b, sc...)
		b = append(b, 0x68, 0xce, 0x38, 0x80) // PPS
		b = append(b, sc...)
		b = append(b, 0x65) // IDR
	} else {
		b = append(b, sc...)
		b = append(b, 0x41) // non-IDR slice
	}
	return append(b, body...)
}

// Start sends frames until Close.
func (p *Publisher) Start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second / 30)
		defer t.Stop()
		lastKey := time.Time{}
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			key := p.keyNow.Swap(false) || time.Since(lastKey) >= p.GOP
			if key {
				lastKey = time.Now()
				p.Keyframes.Add(1)
			}
			_ = p.Track.WriteSample(media.Sample{Data: Frame(key, p.FrameBytes), Duration: time.Second / 30})
		}
	}()
}

// Close stops sending and closes the peer connection.
func (p *Publisher) Close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		p.PC.Close()
		p.wg.Wait()
	})
}

// Viewer receives a stream and counts what arrives.
type Viewer struct {
	PC        *webrtc.PeerConnection
	Packets   atomic.Int64
	Frames    atomic.Int64 // RTP marker bits: one per access unit
	Keyframes atomic.Int64
	// seqs, when kept (NewViewerSeqs), maps each received sequence number to its timestamp.
	seqMu sync.Mutex
	seqs  map[uint16]uint32
	first uint16
	// FirstKey closes on the first keyframe packet.
	FirstKey chan struct{}
	// OnPacket, when set, sees every packet's arrival (benchmarks).
	OnPacket func(seq uint16, ts uint32, at time.Time)
	wg       sync.WaitGroup
	once     sync.Once
}

// NewViewerSeqs is NewViewer keeping every video packet's sequence number (Continuity).
func NewViewerSeqs(api *webrtc.API) (*Viewer, error) { return newViewer(api, true) }

// Continuity checks the video packets received so far: how many sequence numbers are missing
// between the first and the newest (retransmissions fill holes; duplicates count once), and
// how many packets in sequence order have a timestamp before their predecessor's.
func (v *Viewer) Continuity() (missing, tsBack int) {
	v.seqMu.Lock()
	defer v.seqMu.Unlock()
	if len(v.seqs) == 0 {
		return 0, 0
	}
	hi := 0
	for s := range v.seqs {
		hi = max(hi, int(int16(s-v.first)))
	}
	var prev uint32
	have := false
	for off := 0; off <= hi; off++ {
		ts, ok := v.seqs[v.first+uint16(off)]
		if !ok {
			missing++
			continue
		}
		if have && int32(ts-prev) < 0 {
			tsBack++
		}
		prev, have = ts, true
	}
	return missing, tsBack
}

// NewViewer makes a recvonly viewer peer (video and audio).
func NewViewer(api *webrtc.API) (*Viewer, error) { return newViewer(api, false) }

func newViewer(api *webrtc.API, keepSeqs bool) (*Viewer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	v := &Viewer{PC: pc, FirstKey: make(chan struct{})}
	if keepSeqs {
		v.seqs = map[uint16]uint32{}
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			for {
				p, _, err := t.ReadRTP()
				if err != nil {
					return
				}
				if v.OnPacket != nil {
					v.OnPacket(p.SequenceNumber, p.Timestamp, time.Now())
				}
				if v.Packets.Add(1) == 1 {
					v.seqMu.Lock()
					v.first = p.SequenceNumber
					v.seqMu.Unlock()
				}
				if v.seqs != nil {
					v.seqMu.Lock()
					v.seqs[p.SequenceNumber] = p.Timestamp
					v.seqMu.Unlock()
				}
				if p.Marker {
					v.Frames.Add(1)
				}
				if IsKeyframe(p.Payload) {
					if v.Keyframes.Add(1) == 1 {
						v.once.Do(func() { close(v.FirstKey) })
					}
				}
			}
		}()
	})
	return v, nil
}

// Close closes the viewer.
func (v *Viewer) Close() {
	v.PC.Close()
	v.wg.Wait()
}

// IsKeyframe reports whether an H.264 RTP payload starts a keyframe (SPS or IDR).
func IsKeyframe(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			if i+2 < len(p) && (p[i+2]&0x1f == 5 || p[i+2]&0x1f == 7) {
				return true
			}
			i += 2 + n
		}
	case 28: // FU-A start
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// WaitConnected waits until pc is connected.
func WaitConnected(ctx context.Context, pc *webrtc.PeerConnection) error {
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-ctx.Done():
			return errors.New("not connected: " + pc.ConnectionState().String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

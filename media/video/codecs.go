package video

import (
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The codecs the SFU forwards: H.264 (several profiles, both packetization modes), VP8 and
// Opus. Nothing is transcoded, so a viewer gets what the publisher sent.
func newMediaEngine() (*webrtc.MediaEngine, *interceptor.Registry, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	video := []struct {
		pt   webrtc.PayloadType
		mime string
		fmtp string
	}{
		{96, webrtc.MimeTypeVP8, ""},
		{102, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"},
		{104, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"},
		{106, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		{108, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"},
		{127, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"},
		{112, webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"},
	}
	for _, v := range video {
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: v.mime, ClockRate: 90000, SDPFmtpLine: v.fmtp, RTCPFeedback: fb},
			PayloadType:        v.pt,
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, err
		}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=" + itoa(int(v.pt))},
			PayloadType:        v.pt + 1,
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, err
		}
	}
	reg := &interceptor.Registry{}
	// NACK generator and responder, RTCP sender and receiver reports, TWCC feedback.
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, nil, err
	}
	return m, reg, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// supportedCodec reports whether an rtpmap encoding name is one the SFU forwards.
func supportedCodec(name string) bool {
	switch strings.ToLower(name) {
	case "h264", "vp8", "opus":
		return true
	}
	return false
}

// offerMedia checks an offer: it must parse, carry at least one audio or video section, and
// every such section must offer a codec the SFU forwards. It returns the number of media
// sections (the tracks the publisher will send) and the codecs it offered that are refused.
func offerMedia(raw string) (media int, refused []string, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return 0, nil, err
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" && m.MediaName.Media != "video" {
			continue
		}
		if m.MediaName.Port.Value == 0 {
			continue
		}
		ok := false
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			// "96 VP8/90000"
			_, enc, _ := strings.Cut(a.Value, " ")
			name, _, _ := strings.Cut(enc, "/")
			if supportedCodec(name) {
				ok = true
			} else if !strings.EqualFold(name, "rtx") && !strings.EqualFold(name, "red") && !strings.EqualFold(name, "ulpfec") {
				refused = append(refused, name)
			}
		}
		if !ok {
			return media, refused, errNoCodec
		}
		media++
	}
	return media, refused, nil
}

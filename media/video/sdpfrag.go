package video

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
)

// frag is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type frag struct {
	ufrag, pwd string
	mid        string
	candidates []string // "candidate:..." without the "a="
}

func parseFrag(body string) (frag, error) {
	var f frag
	if len(body) > 64<<10 {
		return f, errors.New("sdpfrag too large")
	}
	seen := false
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag, seen = strings.TrimPrefix(line, "a=ice-ufrag:"), true
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd, seen = strings.TrimPrefix(line, "a=ice-pwd:"), true
		case strings.HasPrefix(line, "a=mid:"):
			if f.mid == "" {
				f.mid = strings.TrimPrefix(line, "a=mid:")
			}
			seen = true
		case strings.HasPrefix(line, "a=candidate:"):
			c := strings.TrimPrefix(line, "a=")
			if len(strings.Fields(c)) < 8 {
				return f, errors.New("bad candidate")
			}
			f.candidates, seen = append(f.candidates, c), true
		case strings.HasPrefix(line, "a=end-of-candidates"), strings.HasPrefix(line, "m="),
			strings.HasPrefix(line, "a=ice-options:"), strings.HasPrefix(line, "a=group:"):
			seen = true
		default:
			return f, errors.New("unexpected line")
		}
	}
	if !seen || (f.ufrag == "") != (f.pwd == "") {
		return f, errors.New("empty or half credentials")
	}
	return f, nil
}

// iceUfrag returns the first ice-ufrag of an SDP.
func iceUfrag(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// replaceICE puts new ICE credentials into every place of an SDP.
func replaceICE(sdp, ufrag, pwd string) string {
	lines := strings.Split(sdp, "\n")
	for i, line := range lines {
		cr := strings.HasSuffix(line, "\r")
		l := strings.TrimSuffix(line, "\r")
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + pwd
		case strings.HasPrefix(l, "a=candidate:"), strings.HasPrefix(l, "a=end-of-candidates"):
			l = ""
		}
		if cr && l != "" {
			l += "\r"
		}
		lines[i] = l
	}
	out := lines[:0]
	for _, l := range lines {
		if l != "" || len(out) == 0 {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// answerFrag is the sdpfrag the SFU answers an ICE restart with: its new credentials and
// candidates.
func answerFrag(sdp string) string {
	var b strings.Builder
	var mid string
	for _, line := range strings.Split(sdp, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"), strings.HasPrefix(l, "a=ice-pwd:"):
			if !strings.Contains(b.String(), l[:10]) {
				b.WriteString(l + "\r\n")
			}
		case strings.HasPrefix(l, "a=mid:") && mid == "":
			mid = l
		case strings.HasPrefix(l, "a=candidate:"):
			if mid != "" && !strings.Contains(b.String(), "a=mid:") {
				b.WriteString("m=audio 9 RTP/AVP 0\r\n" + mid + "\r\n")
			}
			if !strings.Contains(b.String(), l) {
				b.WriteString(l + "\r\n")
			}
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

func etag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return `"` + hex.EncodeToString(b[:]) + `"`
}

package video

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// ICEServer is one STUN or TURN server handed to clients (WHIP/WHEP Link headers) and used by
// the server's own ICE agent.
type ICEServer struct {
	URLs       []string `json:"urls" yaml:"urls"`
	Username   string   `json:"username,omitempty" yaml:"username"`
	Credential string   `json:"credential,omitempty" yaml:"credential"`
}

// Config configures the SFU.
type Config struct {
	// UDPAddr is the one UDP address every peer connection shares (ICE UDP mux), so the SFU
	// runs behind one firewall rule. ":8443" listens on every interface; port 0 picks a free
	// port (tests).
	UDPAddr string
	// NAT1To1IPs are the public addresses the server announces as its host candidates when it
	// runs behind a 1:1 NAT (a cloud VM's elastic IP). Empty: the interface addresses.
	NAT1To1IPs []string
	// ICEServers are the STUN/TURN servers given to clients.
	ICEServers []ICEServer
	// MaxStreams is how many streams (live or waiting for their publisher to return) the SFU
	// takes at once; a publish beyond it is answered 503 with Retry-After.
	MaxStreams int
	// MaxViewers is how many viewers one stream takes at once.
	MaxViewers int
	// ResumeWindow is how long a dropped publisher may take to come back to the same stream
	// before the stream ends.
	ResumeWindow time.Duration
	// RetryAfter is what a full SFU tells a publisher to wait.
	RetryAfter time.Duration
	// TrackWait is how long a viewer that joins a stream whose publisher is still connecting
	// waits for the publisher's tracks.
	TrackWait time.Duration
}

// DefaultConfig is the SFU's configuration when nothing is set.
func DefaultConfig() Config {
	return Config{
		UDPAddr:      ":8443",
		MaxStreams:   50,
		MaxViewers:   50,
		ResumeWindow: 60 * time.Second,
		RetryAfter:   30 * time.Second,
		TrackWait:    5 * time.Second,
	}
}

// Validate checks the configuration and names the bad key.
func (c Config) Validate() error {
	if c.UDPAddr != "" {
		if _, _, err := net.SplitHostPort(c.UDPAddr); err != nil {
			return fmt.Errorf("video.udp_addr %q: want host:port, e.g. :8443", c.UDPAddr)
		}
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("video.nat_1to1_ips: %q is not an IP address", ip)
		}
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("video.ice_servers: a server without urls")
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return fmt.Errorf("video.ice_servers: %q is not a stun:, turn: or turns: URL", u)
			}
			if strings.HasPrefix(u, "turn") && (s.Username == "" || s.Credential == "") {
				return fmt.Errorf("video.ice_servers: TURN server %q needs username and credential", u)
			}
		}
	}
	if c.MaxStreams < 1 {
		return fmt.Errorf("video.max_streams must be at least 1")
	}
	if c.MaxViewers < 1 {
		return fmt.Errorf("video.max_viewers must be at least 1")
	}
	if c.ResumeWindow < time.Second {
		return fmt.Errorf("video.resume_window must be at least 1s")
	}
	return nil
}

// LinkHeaders are the Link header values (RFC 9725 section 4.6) naming the ICE servers.
func (c Config) LinkHeaders() []string {
	var out []string
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			v := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
			if s.Username != "" {
				v += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", s.Username, s.Credential)
			}
			out = append(out, v)
		}
	}
	return out
}

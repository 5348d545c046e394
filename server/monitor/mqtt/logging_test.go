package mqtt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/mqtt"
)

// syncBuffer is a log destination safe for the broker's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// waitFor returns once every one of subs has been written, or after timeout (the test's
// assertions then report what is missing).
func (b *syncBuffer) waitFor(timeout time.Duration, subs ...string) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		s := b.buf.String()
		b.mu.Unlock()
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lines returns the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		if len(l) > 2000 {
			t.Errorf("a log line of %d bytes: %.300s…", len(l), l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON log line: %s", l)
		}
		out = append(out, m)
	}
	return out
}

// v311 speaks just enough MQTT 3.1.1 by hand: the library's v3 path disconnects a device whose
// QoS 1 PUBLISH the ACL refuses, and logged that packet whole.
type v311 struct{ net.Conn }

func remaining(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}

func str(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func dialV311(t *testing.T, addr, clientID, user, pass string) *v311 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	body := append(str("MQTT"), 4, 0xC2, 0, 30) // level 4, username + password + clean session, keepalive 30 s
	body = append(append(append(body, str(clientID)...), str(user)...), str(pass)...)
	c.Write(append(append([]byte{0x10}, remaining(len(body))...), body...))
	ack := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK %v %v", ack, err)
	}
	return &v311{c}
}

// publishQoS1 sends a PUBLISH and waits for the broker to answer or hang up.
func (c *v311) publishQoS1(topic string, payload []byte) {
	body := append(append(str(topic), 0, 1), payload...)
	c.Write(append(append([]byte{0x32}, remaining(len(body))...), body...))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c)
}

// TestRefusalLogging: a device that publishes a large payload to a topic it may not use, again
// and again, is logged once (topic and size, never the payload), and the broker's own warnings
// name the device and its address instead of an empty message and the packet's bytes.
func TestRefusalLogging(t *testing.T) {
	var out syncBuffer
	b, err := mqtt.StartBroker(context.Background(), mqtt.BrokerConfig{
		Addr: "127.0.0.1:0", Auth: twoDevices(), Sink: newRecordingSink(), MaxPacketSize: 256 << 10,
		Log: slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	payload := bytes.Repeat([]byte(`{"readings":[{"point":"TI-101","value":85}]}`), 3300) // ~144 KB
	for i := 0; i < 5; i++ {
		dialV311(t, b.Addr(), "client-a", devA, secretA).publishQoS1("yingji/devices/"+devB+"/readings", payload)
	}
	// A connection that breaks the protocol (a second CONNECT) is a warning with the device.
	c := dialV311(t, b.Addr(), "client-b", devB, secretB)
	c.Write([]byte{0x10, 0x00})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c)
	// The broker logs from its client goroutines, possibly after the connection is gone: wait
	// for the refusal and the warning (or a deadline) before stopping it, so none is cut off.
	out.waitFor(5*time.Second, `"msg":"device publish refused"`, `"level":"WARN"`)
	b.Close()

	lines := out.lines(t)
	var refusals, warnings int
	for _, l := range lines {
		if l["msg"] == "" {
			t.Errorf("a line without a message: %v", l)
		}
		if s, _ := json.Marshal(l); bytes.Contains(s, []byte("TI-101")) || bytes.Contains(s, []byte("123,34")) {
			t.Errorf("the payload reached the log: %.300s", s)
		}
		if l["msg"] == "device publish refused" {
			refusals++
			if l["device"] != devA || l["topic"] != "yingji/devices/"+devB+"/readings" || l["payload_bytes"] != float64(len(payload)) || l["remote"] == "" {
				t.Errorf("refusal line %v", l)
			}
		}
		if l["level"] == "WARN" {
			warnings++
			if l["device"] == nil || l["device"] == "" || l["remote"] == nil || l["remote"] == "" {
				t.Errorf("a broker warning without device and address: %v", l)
			}
		}
	}
	if refusals != 1 {
		t.Errorf("%d refusal lines for 5 refused publishes within a minute, want 1", refusals)
	}
	if warnings == 0 {
		t.Errorf("the protocol violation was not logged: %v", lines)
	}
}

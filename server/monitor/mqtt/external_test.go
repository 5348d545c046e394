package mqtt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/mqtt"
)

// mosquittoAddr is the external broker the tests use; YINGJI_TEST_MQTT_ADDR overrides it.
func mosquittoAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("YINGJI_TEST_MQTT_ADDR")
	if addr == "" {
		addr = "127.0.0.1:1883"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("MQTT broker %s unreachable: %v", addr, err)
		}
		tb.Skipf("MQTT broker %s unreachable (start Mosquitto to run this test): %v", addr, err)
	}
	_ = c.Close()
	return addr
}

func randomSuffix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// suffixSink records only messages of devices whose code ends with suffix: every group of every
// test run subscribes to all devices, so other runs' messages are ignored.
type suffixSink struct {
	suffix string
	*recordingSink
}

func (s suffixSink) Deliver(ctx context.Context, code, kind string, payload []byte) {
	if strings.HasSuffix(code, s.suffix) {
		s.recordingSink.Deliver(ctx, code, kind, payload)
	}
}

func mustStartSubscriber(tb testing.TB, url, clientID, group string, sink mqtt.Sink) *mqtt.Subscriber {
	tb.Helper()
	s, err := mqtt.StartSubscriber(context.Background(), mqtt.SubscriberConfig{
		URL: url, ClientID: clientID, Group: group, Sink: sink, MaxReconnectDelay: 2 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func waitConnected(tb testing.TB, subs ...*mqtt.Subscriber) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range subs {
		for !s.Connected() {
			if time.Now().After(deadline) {
				tb.Fatal("subscriber not connected and subscribed within 5 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestSubscriber(t *testing.T) {
	addr := mosquittoAddr(t)
	url := "mqtt://" + addr

	t.Run("OKSharedExactlyOnce", func(t *testing.T) {
		suffix := randomSuffix(t)
		group := "yingji-test-" + suffix
		sink1 := suffixSink{suffix, newRecordingSink()}
		sink2 := suffixSink{suffix, newRecordingSink()}
		s1 := mustStartSubscriber(t, url, "srv1-"+suffix, group, sink1)
		s2 := mustStartSubscriber(t, url, "srv2-"+suffix, group, sink2)
		waitConnected(t, s1, s2)

		pub, _, err := dial(t, addr, "pub-"+suffix, "", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		want := map[string]msg{} // payload → message
		for i := range n {
			code := fmt.Sprintf("d%d-%s", i%4, suffix)
			kind, topic := mqtt.KindReadings, mqtt.ReadingsTopic(code)
			if i%10 == 0 {
				kind, topic = mqtt.KindHeartbeat, mqtt.HeartbeatTopic(code)
			}
			payload := fmt.Sprintf(`{"seq":%d}`, i)
			want[payload] = msg{code, kind, payload}
			if _, err := publish(pub, topic, 1, payload); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		if _, err := publish(pub, "yingji/devices/$bad-"+suffix+"/readings", 1, "x"); err != nil {
			t.Fatal(err)
		}

		deadline := time.Now().Add(5 * time.Second)
		for len(sink1.all())+len(sink2.all()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // let any duplicate arrive
		got1, got2 := sink1.all(), sink2.all()
		seen := map[string]int{}
		for _, m := range append(got1, got2...) {
			seen[m.Payload]++
			if w, ok := want[m.Payload]; !ok || w != m {
				t.Errorf("unexpected message %+v (want %+v)", m, w)
			}
		}
		for p := range want {
			if seen[p] != 1 {
				t.Errorf("message %s delivered %d times, want once", p, seen[p])
			}
		}
		// Mosquitto hands shared-subscription messages round-robin to the group's members.
		if len(got1) == 0 || len(got2) == 0 {
			t.Errorf("distribution %d/%d: one subscriber got nothing", len(got1), len(got2))
		}
		t.Logf("distribution across the group: %d / %d", len(got1), len(got2))
		bad := counter(t, s1.Collectors(), "yingji_mqtt_subscriber_bad_topic_total", "", "") +
			counter(t, s2.Collectors(), "yingji_mqtt_subscriber_bad_topic_total", "", "")
		if bad < 1 {
			t.Errorf("bad-topic message not counted")
		}
	})

	t.Run("OKReconnectResubscribes", func(t *testing.T) {
		suffix := randomSuffix(t)
		proxy := startProxy(t, addr)
		sink := suffixSink{suffix, newRecordingSink()}
		s := mustStartSubscriber(t, "mqtt://"+proxy.addr(), "srv-"+suffix, "yingji-test-"+suffix, sink)
		waitConnected(t, s)

		pub, _, err := dial(t, addr, "pub-"+suffix, "", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		code := "dev-" + suffix
		if _, err := publish(pub, mqtt.ReadingsTopic(code), 1, "before"); err != nil {
			t.Fatal(err)
		}
		sink.waitFor(t, 1, 5*time.Second)

		t0 := time.Now()
		proxy.dropAll()
		deadline := time.Now().Add(5 * time.Second) // reconnecting on loopback may take < 1 ms
		for counter(t, s.Collectors(), "yingji_mqtt_subscriber_connections_total", "", "") < 2 {
			if time.Now().After(deadline) {
				t.Fatal("no reconnection within 5 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		waitConnected(t, s)
		t.Logf("reconnected and resubscribed after %v", time.Since(t0))
		if _, err := publish(pub, mqtt.ReadingsTopic(code), 1, "after"); err != nil {
			t.Fatal(err)
		}
		got := sink.waitFor(t, 2, 5*time.Second)
		if got[len(got)-1] != (msg{code, mqtt.KindReadings, "after"}) {
			t.Fatalf("after reconnect got %v", got)
		}
	})
}

func TestStartSubscriber(t *testing.T) {
	for name, cfg := range map[string]mqtt.SubscriberConfig{
		"ErrNoSink":     {URL: "mqtt://127.0.0.1:1883", ClientID: "x"},
		"ErrNoClientID": {URL: "mqtt://127.0.0.1:1883", Sink: nopSink{}},
		"ErrBadURL":     {URL: "127.0.0.1:1883", ClientID: "x", Sink: nopSink{}},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := mqtt.StartSubscriber(context.Background(), cfg); err == nil {
				_ = s.Close()
				t.Fatal("started")
			}
		})
	}
	t.Run("OKBrokerDown", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := l.Addr().String()
		_ = l.Close()
		s := mustStartSubscriber(t, "mqtt://"+down, "x", "", nopSink{})
		time.Sleep(50 * time.Millisecond)
		if s.Connected() {
			t.Fatal("connected to a closed port")
		}
		done := make(chan struct{})
		go func() { _ = s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close hangs while the broker is down")
		}
	})
}

// tcpProxy forwards connections to a target and can drop them all, to simulate a broken link.
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(tb testing.TB, target string) *tcpProxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target}
	go p.serve()
	tb.Cleanup(func() { _ = l.Close(); p.dropAll() })
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

func (p *tcpProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

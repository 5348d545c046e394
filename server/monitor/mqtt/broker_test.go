package mqtt_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/yingji/yingji/server/monitor/mqtt"
)

const (
	devA, secretA = "dev-a", "secret-a"
	devB, secretB = "dev-b", "secret-b"
)

func mustStartBroker(tb testing.TB, auth mqtt.Auth, sink mqtt.Sink, ttl time.Duration) *mqtt.Broker {
	tb.Helper()
	b, err := mqtt.StartBroker(context.Background(), mqtt.BrokerConfig{
		Addr: "127.0.0.1:0", Auth: auth, Sink: sink, AuthCacheTTL: ttl,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func twoDevices() *fakeAuth {
	return newFakeAuth(map[string]string{devA: secretA, devB: secretB})
}

func TestBroker(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		sink := newRecordingSink()
		b := mustStartBroker(t, twoDevices(), sink, 0)
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil)
		if err != nil {
			t.Fatal(err)
		}
		bc, _, err := dial(t, b.Addr(), "client-b", devB, secretB, nil)
		if err != nil {
			t.Fatal(err)
		}
		// QoS 1 is acknowledged only after the sink has the message.
		if _, err := publish(a, mqtt.ReadingsTopic(devA), 1, `{"t":1,"v":20.5}`); err != nil {
			t.Fatal(err)
		}
		if got := sink.all(); len(got) != 1 {
			t.Fatalf("after PUBACK the sink has %v, want the reading", got)
		}
		if _, err := publish(bc, mqtt.ReadingsTopic(devB), 1, `{"t":2}`); err != nil {
			t.Fatal(err)
		}
		if _, err := publish(a, mqtt.HeartbeatTopic(devA), 0, ""); err != nil {
			t.Fatal(err)
		}
		got := sink.waitFor(t, 3, 5*time.Second)
		want := []msg{
			{devA, mqtt.KindReadings, `{"t":1,"v":20.5}`},
			{devB, mqtt.KindReadings, `{"t":2}`},
			{devA, mqtt.KindHeartbeat, ""},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sink got %v, want %v", got, want)
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_delivered_total", "kind", "readings"); n != 2 {
			t.Errorf("delivered readings = %v, want 2", n)
		}
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		b := mustStartBroker(t, twoDevices(), newRecordingSink(), 0)
		for _, tc := range []struct{ user, pass string }{
			{devA, secretB}, {"nobody", "x"}, {"", "x"}, {"a/b", "x"}, {"$SYS", "x"},
		} {
			_, ack, err := dial(t, b.Addr(), "c1", tc.user, tc.pass, nil)
			if err == nil {
				t.Fatalf("connect %q/%q accepted", tc.user, tc.pass)
			}
			if ack == nil || ack.ReasonCode != 0x86 { // bad user name or password
				t.Fatalf("connect %q/%q: connack %+v, err %v; want reason 0x86", tc.user, tc.pass, ack, err)
			}
		}
		// An empty password is a protocol violation for mochi, refused before Auth.
		if _, ack, err := dial(t, b.Addr(), "c1", devA, "", nil); err == nil || ack == nil || ack.ReasonCode < 0x80 {
			t.Fatalf("connect with empty password: connack %+v, err %v", ack, err)
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_connect_refused_total", "reason", "credentials"); n != 5 {
			t.Errorf("refused connects = %v, want 5", n)
		}
	})

	t.Run("ErrOtherDevicesTopic", func(t *testing.T) {
		sink := newRecordingSink()
		b := mustStartBroker(t, twoDevices(), sink, 0)
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{
			mqtt.ReadingsTopic(devB), mqtt.HeartbeatTopic(devB), mqtt.CommandsTopic(devA),
			"yingji/devices/dev-a/other", "other/topic",
		} {
			resp, err := publish(a, topic, 1, "x")
			if err == nil || resp == nil || resp.ReasonCode != 0x87 { // not authorized
				t.Fatalf("publish to %s: %+v, %v; want reason 0x87", topic, resp, err)
			}
		}
		if _, err := publish(a, mqtt.ReadingsTopic(devB), 0, "qos0"); err != nil { // silently dropped
			t.Fatal(err)
		}
		if _, err := publish(a, mqtt.ReadingsTopic(devA), 1, "own"); err != nil {
			t.Fatal(err)
		}
		if got, want := sink.all(), []msg{{devA, mqtt.KindReadings, "own"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("sink got %v, want %v", got, want)
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_publish_refused_total", "reason", "topic"); n != 6 {
			t.Errorf("refused publishes = %v, want 6", n)
		}
	})

	t.Run("ErrSubscribe", func(t *testing.T) {
		b := mustStartBroker(t, twoDevices(), newRecordingSink(), 0)
		got := make(chan *paho.Publish, 10)
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, func(p *paho.Publish) { got <- p })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		refused := []string{
			mqtt.CommandsTopic(devB), mqtt.ReadingsTopic(devA), "yingji/devices/+/readings",
			"yingji/devices/dev-a/+", "#", "$share/g/" + mqtt.CommandsTopic(devA), "$SYS/#",
		}
		for _, f := range refused {
			ack, err := a.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: 1}}})
			if err == nil || ack == nil || ack.Reasons[0] != 0x87 {
				t.Fatalf("subscribe %s: %+v, %v; want reason 0x87", f, ack, err)
			}
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_subscribe_refused_total", "", ""); n != float64(len(refused)) {
			t.Errorf("refused subscriptions = %v, want %d", n, len(refused))
		}
		if _, err := a.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: mqtt.CommandsTopic(devA), QoS: 1}}}); err != nil {
			t.Fatalf("subscribe own commands: %v", err)
		}
		if err := b.PublishCommand(devB, []byte("for b")); err != nil {
			t.Fatal(err)
		}
		if err := b.PublishCommand(devA, []byte("reboot")); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p.Topic != mqtt.CommandsTopic(devA) || string(p.Payload) != "reboot" {
				t.Fatalf("device got %s %q, want its command", p.Topic, p.Payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("command not received")
		}
	})

	t.Run("ErrDisabledDevice", func(t *testing.T) {
		auth, sink := twoDevices(), newRecordingSink()
		b := mustStartBroker(t, auth, sink, 200*time.Millisecond)
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := publish(a, mqtt.ReadingsTopic(devA), 1, "1"); err != nil {
			t.Fatal(err)
		}
		auth.Disable(devA)
		time.Sleep(300 * time.Millisecond) // past the cache TTL
		if resp, err := publish(a, mqtt.ReadingsTopic(devA), 1, "2"); err == nil || resp == nil || resp.ReasonCode != 0x87 {
			t.Fatalf("publish by disabled device: %+v, %v; want reason 0x87", resp, err)
		}
		select {
		case <-a.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("disabled device not disconnected")
		}
		if _, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil); err == nil {
			t.Fatal("disabled device could connect")
		}
		if got, want := sink.all(), []msg{{devA, mqtt.KindReadings, "1"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("sink got %v, want %v", got, want)
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_publish_refused_total", "reason", "revoked"); n != 1 {
			t.Errorf("revoked publishes = %v, want 1", n)
		}
	})

	t.Run("ErrClientIDOfOtherDevice", func(t *testing.T) {
		b := mustStartBroker(t, twoDevices(), newRecordingSink(), 0)
		if _, _, err := dial(t, b.Addr(), "shared-id", devA, secretA, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := dial(t, b.Addr(), "shared-id", devB, secretB, nil); err == nil {
			t.Fatal("device B took over device A's client ID")
		}
		if n := counter(t, b.Collectors(), "yingji_mqtt_broker_connect_refused_total", "reason", "client_id"); n != 1 {
			t.Errorf("refused connects = %v, want 1", n)
		}
		// The same device may take over its own session (a reconnect).
		if _, _, err := dial(t, b.Addr(), "shared-id", devA, secretA, nil); err != nil {
			t.Fatalf("device A reconnect with its client ID: %v", err)
		}
	})

	t.Run("ErrWillBypassesACL", func(t *testing.T) {
		b := mustStartBroker(t, twoDevices(), newRecordingSink(), 0)
		got := make(chan *paho.Publish, 1)
		bc, _, err := dial(t, b.Addr(), "client-b", devB, secretB, func(p *paho.Publish) { got <- p })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := bc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: mqtt.CommandsTopic(devB), QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		will := &paho.WillMessage{Topic: mqtt.CommandsTopic(devB), QoS: 1, Payload: []byte("forged")}
		a, _, err := dialWill(t, b.Addr(), "client-a", devA, secretA, will, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.TerminateConnectionForTest() // ungraceful: a will would be sent now
		select {
		case p := <-got:
			t.Fatalf("device B received %s %q from A's will", p.Topic, p.Payload)
		case <-time.After(300 * time.Millisecond):
		}
	})

	t.Run("OKAuthCache", func(t *testing.T) {
		auth := twoDevices()
		b := mustStartBroker(t, auth, newRecordingSink(), time.Minute)
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if _, err := publish(a, mqtt.ReadingsTopic(devA), 1, "x"); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		auth.mu.Lock()
		calls := auth.calls
		auth.mu.Unlock()
		if calls != 1 {
			t.Errorf("Auth called %d times for one connect and 20 publishes, want 1", calls)
		}
	})

	t.Run("OKContextCancelCloses", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b, err := mqtt.StartBroker(ctx, mqtt.BrokerConfig{Addr: "127.0.0.1:0", Auth: twoDevices(), Sink: newRecordingSink()})
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := dial(t, b.Addr(), "client-a", devA, secretA, nil)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case <-a.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("client still connected after the broker's context was cancelled")
		}
		_ = b.Close()
	})
}

func TestStartBroker(t *testing.T) {
	t.Run("ErrMissingDeps", func(t *testing.T) {
		if _, err := mqtt.StartBroker(context.Background(), mqtt.BrokerConfig{Addr: "127.0.0.1:0"}); err == nil {
			t.Fatal("started without Auth and Sink")
		}
	})
	t.Run("ErrAddrInUse", func(t *testing.T) {
		b := mustStartBroker(t, twoDevices(), newRecordingSink(), 0)
		if b2, err := mqtt.StartBroker(context.Background(), mqtt.BrokerConfig{Addr: b.Addr(), Auth: twoDevices(), Sink: newRecordingSink()}); err == nil {
			_ = b2.Close()
			t.Fatal("second broker listens on the same address")
		}
	})
}

// nopSink discards messages.
type nopSink struct{}

func (nopSink) Deliver(context.Context, string, string, []byte) {}

// BenchmarkEmbeddedPublish measures QoS 0 and QoS 1 messages per second from 1 and 4 devices
// through the embedded broker into a no-op sink.
func BenchmarkEmbeddedPublish(b *testing.B) {
	for _, bc := range []struct {
		name    string
		clients int
		qos     byte
	}{{"qos1/clients=1", 1, 1}, {"qos1/clients=4", 4, 1}, {"qos0/clients=1", 1, 0}, {"qos0/clients=4", 4, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			devices := map[string]string{}
			for i := range bc.clients {
				devices["bench-"+string(rune('a'+i))] = "s"
			}
			counted := &countingSink{}
			br := mustStartBroker(b, newFakeAuth(devices), counted, 0)
			var clients []*paho.Client
			for code := range devices {
				c, _, err := dial(b, br.Addr(), code, code, "s", nil)
				if err != nil {
					b.Fatal(err)
				}
				clients = append(clients, c)
			}
			payload := []byte(`{"ts":"2025-01-01T00:00:00Z","values":{"temp":21.5,"level":3.2}}`)
			b.ResetTimer()
			var wg sync.WaitGroup
			per := (b.N + len(clients) - 1) / len(clients)
			for _, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					topic := mqtt.ReadingsTopic(c.ClientID())
					for range per {
						if _, err := c.Publish(context.Background(), &paho.Publish{Topic: topic, QoS: bc.qos, Payload: payload}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			want := int64(per * len(clients))
			deadline := time.Now().Add(10 * time.Second)
			for counted.n() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			if counted.n() != want {
				b.Fatalf("sink got %d messages, want %d", counted.n(), want)
			}
			b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

type countingSink struct {
	mu    sync.Mutex
	count int64
}

func (s *countingSink) Deliver(context.Context, string, string, []byte) {
	s.mu.Lock()
	s.count++
	s.mu.Unlock()
}

func (s *countingSink) n() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

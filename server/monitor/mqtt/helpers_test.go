package mqtt_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"
)

// msg is one message a recordingSink received.
type msg struct {
	Code, Kind, Payload string
}

// recordingSink records every delivery and signals on got.
type recordingSink struct {
	mu   sync.Mutex
	msgs []msg
	got  chan struct{}
}

func newRecordingSink() *recordingSink { return &recordingSink{got: make(chan struct{}, 1)} }

func (s *recordingSink) Deliver(_ context.Context, code, kind string, payload []byte) {
	s.mu.Lock()
	s.msgs = append(s.msgs, msg{code, kind, string(payload)})
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
}

func (s *recordingSink) all() []msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]msg(nil), s.msgs...)
}

// waitFor waits until the sink holds at least n messages and returns them.
func (s *recordingSink) waitFor(tb testing.TB, n int, within time.Duration) []msg {
	tb.Helper()
	deadline := time.After(within)
	for {
		if m := s.all(); len(m) >= n {
			return m
		}
		select {
		case <-s.got:
		case <-deadline:
			m := s.all()
			tb.Fatalf("sink got %d messages, want %d: %v", len(m), n, m)
			return m
		}
	}
}

// fakeAuth accepts the devices in its map; Disable removes one.
type fakeAuth struct {
	mu      sync.Mutex
	devices map[string]string // code → secret
	calls   int
}

func newFakeAuth(devices map[string]string) *fakeAuth { return &fakeAuth{devices: devices} }

func (a *fakeAuth) AuthDevice(_ context.Context, code, secret string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	s, ok := a.devices[code]
	return ok && s == secret
}

func (a *fakeAuth) Disable(code string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.devices, code)
}

// dial connects a paho MQTT 5 client to addr; connack is returned also when refused.
func dial(tb testing.TB, addr, clientID, user, pass string, onMsg func(*paho.Publish)) (*paho.Client, *paho.Connack, error) {
	return dialWill(tb, addr, clientID, user, pass, nil, onMsg)
}

func dialWill(tb testing.TB, addr, clientID, user, pass string, will *paho.WillMessage, onMsg func(*paho.Publish)) (*paho.Client, *paho.Connack, error) {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	cfg := paho.ClientConfig{ClientID: clientID, Conn: conn}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { onMsg(pr.Packet); return true, nil },
		}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{
		ClientID: clientID, KeepAlive: 30, CleanStart: true,
		Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true,
		WillMessage: will,
	})
	if err != nil {
		_ = conn.Close()
		return nil, ack, err
	}
	tb.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, ack, nil
}

func publish(c *paho.Client, topic string, qos byte, payload string) (*paho.PublishResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload)})
}

// counter sums the metric family name (all label values) among cs, or labels matching label=value.
func counter(tb testing.TB, cs []prometheus.Collector, name, label, value string) float64 {
	tb.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs...)
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if label != "" {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label && lp.GetValue() != value {
						continue metrics
					}
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

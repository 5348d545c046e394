package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultGroup is the shared-subscription group of the server instances.
const DefaultGroup = "yingji"

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	URL      string // external broker, e.g. "mqtt://127.0.0.1:1883" (also mqtts://, tls://, ws://, wss://)
	Username string // the server's own account on the broker, if it requires one
	Password string
	ClientID string // unique per server instance; required
	Group    string // shared-subscription group; "" means DefaultGroup
	Sink     Sink   // receives readings and heartbeats; required, must be fast
	Log      *slog.Logger

	KeepAlive         uint16        // seconds; 0 means 30
	MaxReconnectDelay time.Duration // upper bound of the reconnect backoff; 0 means 30 s
	// SessionExpiry keeps the broker-side session (and so QoS 1 messages routed to this
	// instance) for this long while disconnected; 0 ends the session with the connection, so
	// messages go to the instances that are connected.
	SessionExpiry time.Duration
}

// Subscriber receives device messages from an external MQTT 5 broker through shared
// subscriptions and hands them to a Sink. It reconnects and resubscribes by itself.
type Subscriber struct {
	cm      *autopaho.ConnectionManager
	sink    Sink
	log     *slog.Logger
	metrics *subscriberMetrics
	filters []string

	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	subscribed bool   // connected and subscriptions granted
	epoch      uint64 // bumped on every connection up and down

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// StartSubscriber connects to the external broker and subscribes to
// $share/{group}/yingji/devices/+/readings and $share/{group}/yingji/devices/+/heartbeat. It
// does not wait for the broker: connecting and subscribing go on in the background until Close
// (see Connected). It runs until Close is called or ctx is cancelled; ctx is also the parent
// context of Sink calls.
func StartSubscriber(ctx context.Context, cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Sink == nil {
		return nil, errors.New("mqtt: start subscriber: Sink is required")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("mqtt: start subscriber: ClientID is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt: start subscriber: invalid URL %q", cfg.URL)
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30
	}
	if cfg.MaxReconnectDelay <= time.Second {
		cfg.MaxReconnectDelay = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &Subscriber{
		sink:    cfg.Sink,
		log:     cfg.Log.With("component", "mqtt_subscriber", "client_id", cfg.ClientID),
		metrics: newSubscriberMetrics(),
		filters: []string{
			"$share/" + cfg.Group + "/" + topicPrefix + "+/" + KindReadings,
			"$share/" + cfg.Group + "/" + topicPrefix + "+/" + KindHeartbeat,
		},
		ctx:    sctx,
		cancel: cancel,
	}
	acfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     cfg.KeepAlive,
		CleanStartOnInitialConnection: true,
		SessionExpiryInterval:         uint32(cfg.SessionExpiry / time.Second),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(200*time.Millisecond, cfg.MaxReconnectDelay, time.Second, 2),
		ConnectTimeout:                10 * time.Second,
		ConnectUsername:               cfg.Username,
		OnConnectionUp:                s.onUp,
		OnConnectionDown:              s.onDown,
		OnConnectError: func(err error) {
			s.log.Warn("mqtt connect failed", "error", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID:          cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){s.onPublish},
		},
	}
	if cfg.Password != "" {
		acfg.ConnectPassword = []byte(cfg.Password)
	}
	cm, err := autopaho.NewConnection(sctx, acfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: start subscriber: %w", err)
	}
	s.cm = cm
	return s, nil
}

// Connected reports whether the subscriber is connected and its subscriptions are granted.
func (s *Subscriber) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribed
}

// nextEpoch starts a new connection epoch and clears subscribed.
func (s *Subscriber) nextEpoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	s.subscribed = false
	return s.epoch
}

// current reports whether epoch is still the connection's epoch.
func (s *Subscriber) current(epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch == epoch
}

// markSubscribed sets subscribed if epoch is still current.
func (s *Subscriber) markSubscribed(epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch == epoch {
		s.subscribed = true
	}
	return s.subscribed
}

// Collectors returns the subscriber's Prometheus counters.
func (s *Subscriber) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// Close disconnects from the broker and waits for background work to end. A Sink call in
// progress finishes first. It is safe to call more than once.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.cm.Done()
		s.wg.Wait()
		s.nextEpoch()
	})
	return nil
}

// onUp runs in autopaho's connection goroutine and must not block: subscribing happens in a
// goroutine tied to this connection's epoch.
func (s *Subscriber) onUp(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	epoch := s.nextEpoch()
	s.metrics.reconnects.Inc()
	s.log.Info("mqtt connected")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.subscribe(cm, epoch)
	}()
}

func (s *Subscriber) onDown() bool {
	s.nextEpoch()
	s.log.Warn("mqtt connection lost, reconnecting")
	return true
}

// subscribe asks for the shared subscriptions, retrying while the connection of this epoch is
// up. A refusal by the broker (not authorised) is logged and not retried.
func (s *Subscriber) subscribe(cm *autopaho.ConnectionManager, epoch uint64) {
	sub := &paho.Subscribe{}
	for _, f := range s.filters {
		sub.Subscriptions = append(sub.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	delay := 200 * time.Millisecond
	for s.current(epoch) && s.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		ack, err := cm.Subscribe(ctx, sub)
		cancel()
		if ack != nil { // the broker answered: granted, or refused (err set)
			for i, rc := range ack.Reasons {
				if rc >= 0x80 {
					s.log.Error("mqtt subscription refused by broker", "filter", s.filters[min(i, len(s.filters)-1)], "reason_code", rc)
					return
				}
			}
			if err == nil {
				if s.markSubscribed(epoch) {
					s.log.Info("mqtt subscribed", "filters", s.filters)
				}
				return
			}
		}
		s.log.Warn("mqtt subscribe failed, retrying", "error", err)
		select {
		case <-time.After(delay):
		case <-s.ctx.Done():
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// onPublish hands one message to the Sink; paho acknowledges it after this returns.
func (s *Subscriber) onPublish(pr paho.PublishReceived) (bool, error) {
	code, kind, ok := ParseTopic(pr.Packet.Topic)
	if !ok {
		s.metrics.badTopic.Inc()
		s.log.Debug("mqtt message on unexpected topic dropped", "topic", pr.Packet.Topic)
		return true, nil
	}
	s.sink.Deliver(s.ctx, code, kind, pr.Packet.Payload)
	s.metrics.delivered.WithLabelValues(kind).Inc()
	return true, nil
}

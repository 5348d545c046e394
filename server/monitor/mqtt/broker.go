package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for BrokerConfig.
const (
	DefaultAuthCacheTTL  = 5 * time.Second
	DefaultAuthTimeout   = 5 * time.Second
	DefaultMaxPacketSize = 256 << 10
)

// BrokerConfig configures the embedded broker.
type BrokerConfig struct {
	Addr string       // TCP listen address, e.g. ":1883"; ":0" or "127.0.0.1:0" picks a free port
	Auth Auth         // checks device credentials; required
	Sink Sink         // receives readings and heartbeats; required, must be fast
	Log  *slog.Logger // nil discards

	MaxClients    int           // maximum connected devices; 0 means unlimited
	MaxPacketSize uint32        // largest accepted MQTT packet in bytes; 0 means DefaultMaxPacketSize
	AuthCacheTTL  time.Duration // how long a positive Auth answer is reused; 0 means DefaultAuthCacheTTL, negative disables caching
	AuthTimeout   time.Duration // bound on one Auth call; 0 means DefaultAuthTimeout
	Now           func() time.Time
}

// Broker is an embedded MQTT broker that admits devices by Auth, enforces the topic ACL and
// hands readings and heartbeats to a Sink. See the package documentation.
type Broker struct {
	server  *mochi.Server
	sink    Sink
	auth    *authCache
	log     *slog.Logger
	metrics *brokerMetrics
	addr    string
	hook    *deviceHook
	// logLimit bounds the lines a misbehaving device causes (logging.go).
	logLimit *logLimiter

	ctx       context.Context // parent of Auth and Deliver calls; cancelled by Close
	cancel    context.CancelFunc
	closeOnce sync.Once
	closed    chan struct{}
}

// StartBroker starts the embedded broker listening on cfg.Addr. It runs until Close is called
// or ctx is cancelled; ctx is also the parent context of Auth and Sink calls.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if cfg.Auth == nil || cfg.Sink == nil {
		return nil, errors.New("mqtt: start broker: Auth and Sink are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.AuthCacheTTL == 0 {
		cfg.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	if cfg.MaxPacketSize == 0 {
		cfg.MaxPacketSize = DefaultMaxPacketSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log.With("component", "mqtt_broker")

	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumQos = 1        // devices publish QoS 0 or 1; QoS 2 is downgraded
	caps.TopicAliasMaximum = 0 // ACL checks the topic name as sent, so aliases are not offered
	caps.MaximumPacketSize = cfg.MaxPacketSize
	if cfg.MaxClients > 0 {
		caps.MaximumClients = int64(cfg.MaxClients)
	}
	bctx, cancel := context.WithCancel(ctx)
	b := &Broker{
		sink:     cfg.Sink,
		auth:     newAuthCache(cfg.Auth, cfg.AuthCacheTTL, cfg.AuthTimeout, cfg.Now),
		log:      log,
		metrics:  newBrokerMetrics(),
		logLimit: newLogLimiter(refusalLogEvery, cfg.Now),
		ctx:      bctx,
		cancel:   cancel,
		closed:   make(chan struct{}),
	}
	server := mochi.New(&mochi.Options{
		Capabilities:           caps,
		Logger:                 slog.New(&brokerLogHandler{inner: log.Handler(), b: b}),
		InlineClient:           true, // for PublishCommand
		SysTopicResendInterval: 60,
	})
	b.server = server
	b.hook = &deviceHook{b: b}
	if err := server.AddHook(b.hook, nil); err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: start broker: %w", err)
	}
	tcp := &deviceListener{TCP: listeners.NewTCP(listeners.Config{ID: "devices", Address: cfg.Addr}), b: b}
	if err := server.AddListener(tcp); err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: start broker: listen %s: %w", cfg.Addr, err)
	}
	b.addr = tcp.Address()
	if err := server.Serve(); err != nil {
		cancel()
		_ = server.Close()
		return nil, fmt.Errorf("mqtt: start broker: %w", err)
	}
	go func() {
		select {
		case <-bctx.Done():
			b.Close()
		case <-b.closed:
		}
	}()
	return b, nil
}

// Addr is the address the broker listens on, with the real port when ":0" was configured.
func (b *Broker) Addr() string { return b.addr }

// Close disconnects all clients and stops the broker; it waits for client goroutines (and so
// for Sink calls in progress) to finish. It is safe to call more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		close(b.closed)
		_ = b.server.Close()
		b.cancel()
	})
	return nil
}

// Collectors returns the broker's Prometheus counters: refused connects, publishes and
// subscriptions, and messages delivered to the Sink.
func (b *Broker) Collectors() []prometheus.Collector { return b.metrics.collectors() }

// PublishCommand sends payload to a device's commands topic with QoS 1 (not retained). A device
// that is not connected and subscribed does not receive it.
func (b *Broker) PublishCommand(code string, payload []byte) error {
	if !ValidDeviceCode(code) {
		return fmt.Errorf("mqtt: publish command: invalid device code %q", code)
	}
	if err := b.server.Publish(CommandsTopic(code), payload, false, 1); err != nil {
		return fmt.Errorf("mqtt: publish command: %w", err)
	}
	return nil
}

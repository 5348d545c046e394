package mqtt

import "github.com/prometheus/client_golang/prometheus"

// Reasons a connection or publish is refused, used as the "reason" label.
const (
	reasonCredentials = "credentials" // wrong code or secret, or disabled device
	reasonClientID    = "client_id"   // client ID held by another device's session
	reasonTopic       = "topic"       // publish to a topic the device may not use
	reasonRevoked     = "revoked"     // credentials no longer valid while connected
)

// brokerMetrics are the embedded broker's counters; each Broker has its own.
type brokerMetrics struct {
	connectRefused   *prometheus.CounterVec
	publishRefused   *prometheus.CounterVec
	subscribeRefused prometheus.Counter
	delivered        *prometheus.CounterVec
}

func newBrokerMetrics() *brokerMetrics {
	return &brokerMetrics{
		connectRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yingji_mqtt_broker_connect_refused_total",
			Help: "Device connections refused by the embedded MQTT broker, by reason.",
		}, []string{"reason"}),
		publishRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yingji_mqtt_broker_publish_refused_total",
			Help: "Publishes refused by the embedded MQTT broker's ACL, by reason.",
		}, []string{"reason"}),
		subscribeRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yingji_mqtt_broker_subscribe_refused_total",
			Help: "Subscriptions refused by the embedded MQTT broker's ACL.",
		}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yingji_mqtt_broker_delivered_total",
			Help: "Device messages handed to the ingest sink by the embedded MQTT broker, by kind.",
		}, []string{"kind"}),
	}
}

func (m *brokerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connectRefused, m.publishRefused, m.subscribeRefused, m.delivered}
}

// subscriberMetrics are the external subscriber's counters; each Subscriber has its own.
type subscriberMetrics struct {
	delivered  *prometheus.CounterVec
	badTopic   prometheus.Counter
	reconnects prometheus.Counter
}

func newSubscriberMetrics() *subscriberMetrics {
	return &subscriberMetrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yingji_mqtt_subscriber_delivered_total",
			Help: "Device messages received from the external MQTT broker and handed to the ingest sink, by kind.",
		}, []string{"kind"}),
		badTopic: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yingji_mqtt_subscriber_bad_topic_total",
			Help: "Messages from the external MQTT broker dropped because their topic names no device.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yingji_mqtt_subscriber_connections_total",
			Help: "Connections (first and re-connections) made to the external MQTT broker.",
		}),
	}
}

func (m *subscriberMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.delivered, m.badTopic, m.reconnects}
}

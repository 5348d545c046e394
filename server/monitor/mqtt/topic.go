package mqtt

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Message kinds a Sink receives.
const (
	KindReadings  = "readings"  // sensor readings, JSON payload
	KindHeartbeat = "heartbeat" // device liveness, any payload
)

const (
	topicPrefix   = "yingji/devices/"
	kindCommands  = "commands"
	maxCodeLength = 128
)

// Sink receives device messages; kind is "readings" or "heartbeat". It must not block long.
// The payload is not reused by this package after Deliver returns; the Sink may keep it.
type Sink interface {
	Deliver(ctx context.Context, deviceCode, kind string, payload []byte)
}

// Auth checks a device's credentials (username = device code, password = device secret).
type Auth interface {
	AuthDevice(ctx context.Context, code, secret string) bool
}

// ReadingsTopic is the topic a device publishes its readings to.
func ReadingsTopic(code string) string { return topicPrefix + code + "/" + KindReadings }

// HeartbeatTopic is the topic a device publishes its heartbeats to.
func HeartbeatTopic(code string) string { return topicPrefix + code + "/" + KindHeartbeat }

// CommandsTopic is the only topic a device may subscribe to.
func CommandsTopic(code string) string { return topicPrefix + code + "/" + kindCommands }

// ParseTopic splits a device-to-server topic into its device code and kind ("readings" or
// "heartbeat"). ok is false for any other topic, including commands topics.
func ParseTopic(topic string) (code, kind string, ok bool) {
	rest, found := strings.CutPrefix(topic, topicPrefix)
	if !found {
		return "", "", false
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", "", false
	}
	code, kind = rest[:i], rest[i+1:]
	if !ValidDeviceCode(code) || (kind != KindReadings && kind != KindHeartbeat) {
		return "", "", false
	}
	return code, kind, true
}

// ValidDeviceCode reports whether code can be used as a device code in topics.
func ValidDeviceCode(code string) bool {
	if code == "" || len(code) > maxCodeLength || code[0] == '$' || !utf8.ValidString(code) {
		return false
	}
	return !strings.ContainsAny(code, "/+#\x00")
}

package mqtt

import (
	"sync"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// deviceHook is the broker's only hook: device authentication, the topic ACL and delivery to
// the Sink. Every method runs in the goroutine of the client concerned.
type deviceHook struct {
	mochi.HookBase
	b *Broker

	secrets sync.Map // *mochi.Client → device secret, while the client is connected
	revoked sync.Map // *mochi.Client → struct{}: disconnect once the current packet is answered
}

// ID implements mochi.Hook.
func (h *deviceHook) ID() string { return "yingji-devices" }

// Provides implements mochi.Hook.
func (h *deviceHook) Provides(event byte) bool {
	switch event {
	case mochi.OnConnectAuthenticate, mochi.OnSessionEstablished, mochi.OnACLCheck,
		mochi.OnPublish, mochi.OnPacketProcessed, mochi.OnDisconnect:
		return true
	}
	return false
}

// OnConnectAuthenticate admits a device whose username (device code) and password (secret)
// Auth accepts, unless its client ID belongs to another device's session. Last-will messages
// are discarded: liveness comes from heartbeats, and a will would bypass the ACL.
func (h *deviceHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	b := h.b
	code, secret := string(pk.Connect.Username), string(pk.Connect.Password)
	if !ValidDeviceCode(code) || secret == "" || !b.auth.check(b.ctx, code, secret) {
		b.metrics.connectRefused.WithLabelValues(reasonCredentials).Inc()
		b.log.Info("device connect refused", "reason", reasonCredentials, "device", code, "remote", cl.Net.Remote)
		return false
	}
	if old, ok := b.server.Clients.Get(cl.ID); ok && string(old.Properties.Username) != code {
		b.metrics.connectRefused.WithLabelValues(reasonClientID).Inc()
		b.log.Info("device connect refused", "reason", reasonClientID, "device", code, "client_id", cl.ID, "remote", cl.Net.Remote)
		return false
	}
	atomic.StoreUint32(&cl.Properties.Will.Flag, 0)
	return true
}

// OnSessionEstablished remembers the secret so publishes can re-check it once the cached
// answer expires. It runs after the CONNACK, before the first packet is read.
func (h *deviceHook) OnSessionEstablished(cl *mochi.Client, pk packets.Packet) {
	h.secrets.Store(cl, string(pk.Connect.Password))
}

// OnPacketProcessed disconnects a device whose credentials were found revoked while handling
// the packet, after the broker has answered it (a v5 device sees PUBACK "not authorized",
// then DISCONNECT).
func (h *deviceHook) OnPacketProcessed(cl *mochi.Client, _ packets.Packet, _ error) {
	if _, ok := h.revoked.LoadAndDelete(cl); ok {
		_ = h.b.server.DisconnectClient(cl, packets.ErrNotAuthorized)
	}
}

// OnDisconnect forgets the client's secret.
func (h *deviceHook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	h.secrets.Delete(cl)
	h.revoked.Delete(cl)
}

// OnACLCheck lets a device publish only to its own readings and heartbeat topics, while its
// credentials are still valid, and subscribe only to its own commands topic.
func (h *deviceHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	b := h.b
	code := string(cl.Properties.Username)
	if !write {
		if topic == CommandsTopic(code) {
			return true
		}
		b.metrics.subscribeRefused.Inc()
		b.log.Info("device subscribe refused", "device", code, "topic", topic)
		return false
	}
	if c, _, ok := ParseTopic(topic); !ok || c != code {
		b.metrics.publishRefused.WithLabelValues(reasonTopic).Inc()
		b.log.Info("device publish refused", "reason", reasonTopic, "device", code, "topic", topic)
		return false
	}
	secret, ok := h.secrets.Load(cl)
	if !ok || !b.auth.check(b.ctx, code, secret.(string)) {
		b.metrics.publishRefused.WithLabelValues(reasonRevoked).Inc()
		b.log.Info("device publish refused, disconnecting", "reason", reasonRevoked, "device", code)
		h.revoked.Store(cl, struct{}{})
		return false
	}
	return true
}

// OnPublish hands an allowed device message to the Sink and tells the broker not to retain or
// forward it. For QoS 1 the PUBACK is sent after this returns.
func (h *deviceHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline { // the server's own commands
		return pk, nil
	}
	b := h.b
	code, kind, ok := ParseTopic(pk.TopicName)
	if !ok || code != string(cl.Properties.Username) { // the ACL already refused these
		return pk, packets.ErrRejectPacket
	}
	b.sink.Deliver(b.ctx, code, kind, pk.Payload)
	b.metrics.delivered.WithLabelValues(kind).Inc()
	return pk, packets.CodeSuccessIgnore
}

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
	sizes   sync.Map // *mochi.Client → payload size of the PUBLISH being handled, for the refusal log
	remotes sync.Map // remote address → device code it connected as, for connection errors
}

// ID implements mochi.Hook.
func (h *deviceHook) ID() string { return "yingji-devices" }

// Provides implements mochi.Hook.
func (h *deviceHook) Provides(event byte) bool {
	switch event {
	case mochi.OnConnectAuthenticate, mochi.OnSessionEstablished, mochi.OnACLCheck, mochi.OnPacketRead,
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
	h.remotes.Store(cl.Net.Remote, code)
	if !ValidDeviceCode(code) || secret == "" || !b.auth.check(b.ctx, code, secret) {
		b.metrics.connectRefused.WithLabelValues(reasonCredentials).Inc()
		b.refused("device connect refused", code, reasonCredentials, "remote", cl.Net.Remote)
		return false
	}
	if old, ok := b.server.Clients.Get(cl.ID); ok && string(old.Properties.Username) != code {
		b.metrics.connectRefused.WithLabelValues(reasonClientID).Inc()
		b.refused("device connect refused", code, reasonClientID, "client_id", cl.ID, "remote", cl.Net.Remote)
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

// OnPacketRead notes the payload size of a PUBLISH for the refusal log: the ACL check that
// follows sees only the topic.
func (h *deviceHook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Publish {
		h.sizes.Store(cl, len(pk.Payload))
	}
	return pk, nil
}

// OnDisconnect forgets the client's secret.
func (h *deviceHook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	h.secrets.Delete(cl)
	h.revoked.Delete(cl)
	h.sizes.Delete(cl)
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
		b.refused("device subscribe refused", code, reasonTopic, "topic", topic, "remote", cl.Net.Remote)
		return false
	}
	if c, _, ok := ParseTopic(topic); !ok || c != code {
		b.metrics.publishRefused.WithLabelValues(reasonTopic).Inc()
		size, _ := h.sizes.Load(cl)
		b.refused("device publish refused", code, reasonTopic, "topic", topic, "payload_bytes", size, "remote", cl.Net.Remote)
		return false
	}
	secret, ok := h.secrets.Load(cl)
	if !ok || !b.auth.check(b.ctx, code, secret.(string)) {
		b.metrics.publishRefused.WithLabelValues(reasonRevoked).Inc()
		b.refused("device publish refused, disconnecting", code, reasonRevoked, "remote", cl.Net.Remote)
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

// Package mqtt brings device messages (sensor readings and heartbeats) to the server over MQTT
// and hands each one to a Sink; it does not parse readings (the monitor pipeline does).
//
// # Topics
//
// A device identified by its device code {code} uses exactly these topics:
//
//	yingji/devices/{code}/readings   device → server, JSON payload parsed by the pipeline
//	yingji/devices/{code}/heartbeat  device → server, any payload (may be empty)
//	yingji/devices/{code}/commands   server → device, the only topic a device may subscribe to
//
// Devices publish with QoS 0 or 1 (the embedded broker downgrades QoS 2 to 1). A device code is
// 1–128 bytes of UTF-8 without '/', '+', '#' or NUL and does not start with '$'.
//
// # Embedded mode (one server instance)
//
// StartBroker runs a mochi-mqtt broker inside the server. A device connects with username =
// device code and password = device secret, checked by Auth; positive answers are cached for
// BrokerConfig.AuthCacheTTL (5 s by default), so a disabled device is refused within that time:
// new connections are refused, and a connected device's next publish after its cached answer
// expired is refused (MQTT 5: PUBACK "not authorized") and the device is disconnected; a
// device that only listens for commands and never publishes is not cut off until it reconnects.
// A client ID already held by a session of another device is refused, so a device cannot take
// over another device's session. The ACL lets a device publish only to its own readings and
// heartbeat topics and subscribe only to its own commands topic; everything else is refused and
// counted (see Broker.Collectors). A refused QoS 0 publish is dropped silently; a refused QoS 1
// publish gets PUBACK "not authorized" (MQTT 5) or ends the connection (MQTT 3.1.1, which has
// no such code). Last-will messages are discarded (a will would bypass the ACL; liveness comes
// from heartbeats), topic aliases are not offered, and Broker.PublishCommand sends to a
// device's commands topic.
//
// Messages are delivered to the Sink synchronously in the publishing client's own read
// goroutine, before the broker acknowledges a QoS 1 publish: an acknowledged message has been
// handed to the Sink. A slow Sink therefore slows only the device that published (MQTT flow
// control pushes back on that device); other clients are not blocked. Sink.Deliver must still
// return quickly (enqueue, do not write to a database inline). Delivered messages are neither
// retained nor forwarded to other subscribers.
//
// # External mode (several server instances)
//
// StartSubscriber connects to an external MQTT 5 broker (Mosquitto) and subscribes with shared
// subscriptions $share/{group}/yingji/devices/+/readings and $share/{group}/yingji/devices/+/heartbeat,
// so each message is handled by exactly one instance of the group. The device code is taken from
// the topic and trusted: in this mode the external broker authenticates devices and enforces
// the same ACL, e.g. for Mosquitto:
//
//	# mosquitto.conf
//	allow_anonymous false
//	password_file /etc/mosquitto/passwd   # mosquitto_passwd -b passwd {code} {secret}; one user per device
//	acl_file /etc/mosquitto/acl
//
//	# acl: %u is the username (= device code)
//	pattern write yingji/devices/%u/readings
//	pattern write yingji/devices/%u/heartbeat
//	pattern read yingji/devices/%u/commands
//	user yingji-server                     # the servers' own account
//	topic read yingji/devices/+/readings
//	topic read yingji/devices/+/heartbeat
//	topic write yingji/devices/+/commands
//
// Messages are acknowledged after Sink.Deliver returns (at-least-once: a message is delivered
// again only if an instance dies or its connection drops between delivery and acknowledgement).
package mqtt

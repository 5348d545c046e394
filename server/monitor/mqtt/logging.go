package mqtt

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Logging of the embedded broker. A device that keeps doing something it may not (publish to
// another topic, subscribe elsewhere, connect with a wrong secret) is logged once per device,
// reason and refusalLogEvery, the next line counting the attempts left out ("suppressed");
// a refused publish names the topic and the payload's size, never the payload. The broker
// library's own warnings are rewritten by brokerLogHandler: packets become their type, topic
// and size, and every line about a client names its device code and remote address.

// refusalLogEvery is how often a device's repeated refusals are logged.
const refusalLogEvery = time.Minute

// logLimiter lets one line per key through per interval and counts the others.
type logLimiter struct {
	mu    sync.Mutex
	every time.Duration
	now   func() time.Time
	keys  map[string]*limited
}

type limited struct {
	until      time.Time
	suppressed int
}

func newLogLimiter(every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{every: every, now: now, keys: map[string]*limited{}}
}

// allow reports whether to log now for key, and how many lines were left out before.
func (l *logLimiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := l.keys[key]
	if k != nil && now.Before(k.until) {
		k.suppressed++
		return false, 0
	}
	left := 0
	if k != nil {
		left = k.suppressed
	}
	if len(l.keys) >= 10_000 { // many devices or guessed codes: forget the expired
		for key, v := range l.keys {
			if !now.Before(v.until) {
				delete(l.keys, key)
			}
		}
	}
	l.keys[key] = &limited{until: now.Add(l.every)}
	return true, left
}

// refused logs a refusal of device at most once per refusalLogEvery per reason.
func (b *Broker) refused(msg, device, reason string, attrs ...any) {
	ok, suppressed := b.logLimit.allow(device + "\x00" + reason + "\x00" + msg)
	if !ok {
		return
	}
	attrs = append([]any{"reason", reason, "device", device}, attrs...)
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	b.log.Info(msg, attrs...)
}

// brokerLogHandler rewrites the broker library's log records (see above).
type brokerLogHandler struct {
	inner slog.Handler
	b     *Broker
}

func (h *brokerLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *brokerLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &brokerLogHandler{inner: h.inner.WithAttrs(as), b: h.b}
}

func (h *brokerLogHandler) WithGroup(name string) slog.Handler {
	return &brokerLogHandler{inner: h.inner.WithGroup(name), b: h.b}
}

func (h *brokerLogHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if msg == "" {
		msg = "mqtt connection error"
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	var device, remote string
	drop := false
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		switch x := v.Any().(type) {
		case packets.Packet:
			out.AddAttrs(slog.Group(a.Key, "type", packetName(x.FixedHeader.Type), "topic", x.TopicName, "payload_bytes", len(x.Payload)))
			return true
		case packets.Code:
			// A refusal the device hook has already logged (rate-limited): not again per packet.
			if a.Key == "error" && x.Code == packets.ErrNotAuthorized.Code {
				drop = true
			}
		}
		if a.Key == "client" && v.Kind() == slog.KindString && h.b.server != nil {
			if cl, ok := h.b.server.Clients.Get(v.String()); ok {
				device, remote = string(cl.Properties.Username), cl.Net.Remote
			}
		}
		out.AddAttrs(a)
		return true
	})
	if drop {
		return nil
	}
	if device != "" {
		out.AddAttrs(slog.String("device", device), slog.String("remote", remote))
	}
	return h.inner.Handle(ctx, out)
}

func packetName(t byte) string {
	if n, ok := packets.PacketNames[t]; ok {
		return n
	}
	return "unknown"
}

// deviceListener is the TCP listener whose connection errors name the device and the remote
// address (the library logs them with an empty message and the error alone).
type deviceListener struct {
	*listeners.TCP
	b *Broker
}

func (l *deviceListener) Serve(establish listeners.EstablishFn) {
	l.TCP.Serve(func(id string, c net.Conn) error {
		err := establish(id, c)
		remote := c.RemoteAddr().String()
		device, _ := l.b.hook.remotes.LoadAndDelete(remote)
		if err == nil || expectedEnd(err) {
			return nil
		}
		code, _ := device.(string)
		if ok, suppressed := l.b.logLimit.allow("conn\x00" + code + "\x00" + remote); ok {
			attrs := []any{"device", code, "remote", remote, "err", err}
			if suppressed > 0 {
				attrs = append(attrs, "suppressed", suppressed)
			}
			l.b.log.Warn("device connection ended with an error", attrs...)
		}
		return nil
	})
}

// expectedEnd: connections that end the way connections do, or by a refusal already logged.
func expectedEnd(err error) bool {
	var code packets.Code
	if errors.As(err, &code) {
		switch code.Code {
		case packets.ErrNotAuthorized.Code, packets.ErrBadUsernameOrPassword.Code, packets.CodeDisconnect.Code:
			return true
		}
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, mochi.ErrConnectionClosed)
}

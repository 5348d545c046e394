package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/syncproto"
)

// Live event types.
const (
	LiveConnected    = "connected"    // the WebSocket is open
	LivePoke         = "poke"         // the server says a scope changed
	LiveSynced       = "synced"       // a sync triggered by the connection or a poke finished
	LiveSyncFailed   = "sync_failed"  // that sync failed (Err); it is retried
	LiveDisconnected = "disconnected" // the connection dropped or could not open (Err); it reconnects
	LiveClosed       = "closed"       // the session ended (Err is a KindAuth *Error); Live returns
)

// LiveEvent reports what the live connection does.
type LiveEvent struct {
	Type  string
	Scope string
	Seq   int64
	Stats SyncStats
	Err   error
}

// Backoff of reconnects and of syncs retried after a failure.
const (
	liveMinBackoff = time.Second
	liveMaxBackoff = time.Minute
)

// Live holds the server's WebSocket open: it syncs when connected and whenever a poke names a
// scope beyond the replica's checkpoint, and reconnects with backoff and jitter when the
// connection drops. It returns ctx.Err() when ctx ends, or a KindAuth *Error when the session
// was replaced, expired or refused (the outbox stays for the next login). onEvent may be nil;
// it is called from one goroutine at a time.
func (c *Client) Live(ctx context.Context, onEvent func(LiveEvent)) error {
	var emitMu sync.Mutex
	emit := func(e LiveEvent) {
		if onEvent != nil {
			emitMu.Lock()
			defer emitMu.Unlock()
			onEvent(e)
		}
	}
	backoff := liveMinBackoff
	for {
		server, token, err := c.session(ctx)
		if err != nil {
			emit(LiveEvent{Type: LiveClosed, Err: err})
			return err
		}
		err = c.liveOnce(ctx, server, token, emit, func() { backoff = liveMinBackoff })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e := AsError(err); e.Kind == KindAuth {
			c.authFailed(ctx, err)
			emit(LiveEvent{Type: LiveClosed, Err: err})
			return err
		}
		emit(LiveEvent{Type: LiveDisconnected, Err: err})
		d := backoff/2 + c.jitter(backoff/2)
		backoff = min(backoff*2, liveMaxBackoff)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func liveURL(server string) string {
	switch {
	case strings.HasPrefix(server, "https://"):
		server = "wss://" + strings.TrimPrefix(server, "https://")
	case strings.HasPrefix(server, "http://"):
		server = "ws://" + strings.TrimPrefix(server, "http://")
	}
	return strings.TrimRight(server, "/") + "/api/v1/sync/live"
}

// liveOnce serves one connection until it drops; connected is called once it is open.
func (c *Client) liveOnce(ctx context.Context, server, token string, emit func(LiveEvent), connected func()) error {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	conn, resp, err := websocket.Dial(ctx, liveURL(server), &websocket.DialOptions{HTTPClient: c.opts.HTTPClient, HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != 0 {
			var raw []byte
			if resp.Body != nil {
				raw, _ = io.ReadAll(resp.Body)
			}
			var rt retryable
			if e := httpError(resp.StatusCode, raw); !errors.As(e, &rt) {
				if AsError(e).Kind == KindAuth {
					return e
				}
			}
		}
		return &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "实时连接失败", Err: err}
	}
	defer conn.CloseNow()
	// The server's first message comes once it has subscribed this connection to its scopes:
	// only after it can no change slip between the catch-up sync below and the first poke.
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	_, first, err := conn.Read(hctx)
	hcancel()
	if err != nil {
		return &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "实时连接失败", Err: err}
	}
	connected()
	emit(LiveEvent{Type: LiveConnected})

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	var authErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sync worker: one sync at a time, pokes coalesce
		defer wg.Done()
		retry := liveMinBackoff
		for {
			select {
			case <-cctx.Done():
				return
			case <-kick:
			}
			st, err := c.Sync(cctx)
			if cctx.Err() != nil {
				return
			}
			if err != nil {
				if AsError(err).Kind == KindAuth {
					authErr = err
					cancel()
					return
				}
				emit(LiveEvent{Type: LiveSyncFailed, Err: err})
				d := retry/2 + c.jitter(retry/2)
				retry = min(retry*2, liveMaxBackoff)
				time.AfterFunc(d, poke)
				continue
			}
			retry = liveMinBackoff
			emit(LiveEvent{Type: LiveSynced, Stats: st})
		}
	}()
	poke() // catch up on connect

	var readErr error
	pending := first // "hello", or (from an older server) a first poke to handle like any other
	for {
		data := pending
		pending = nil
		if data == nil {
			var err error
			if _, data, err = conn.Read(cctx); err != nil {
				readErr = err
				break
			}
		}
		var p syncproto.Poke
		if json.Unmarshal(data, &p) != nil {
			continue
		}
		switch p.Type {
		case "poke":
			emit(LiveEvent{Type: LivePoke, Scope: p.Scope, Seq: p.Seq})
			var cp int64
			c.db.QueryRowContext(cctx, "SELECT checkpoint FROM scopes WHERE scope = ?", p.Scope).Scan(&cp)
			if p.Seq == 0 || p.Seq > cp {
				poke()
			}
		case "closed":
			code, msg := p.Code, p.Message
			if code == "" {
				code = "auth.session_closed"
			}
			if msg == "" {
				msg = "会话已结束"
			}
			readErr = &Error{Kind: KindAuth, Code: code, Message: msg}
			conn.Close(websocket.StatusNormalClosure, "")
		}
		if readErr != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	if authErr != nil {
		return authErr
	}
	var e *Error
	if errors.As(readErr, &e) {
		return e
	}
	return &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "实时连接已断开", Err: readErr}
}

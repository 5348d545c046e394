package api

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
)

// Every refused request is audited here, in one place, whichever handler or service refused
// it: the error mapping (handleError, writeMediaError) calls auditAnswer with the status and
// the code it answers. A 401 or 403 becomes an audit row "request.refused" (result denied)
// naming the actor when known (for a stale, expired or replaced token, the token's owner),
// the route, the method, the status, the code and the client address. A refusal or failure a
// service recorded itself during the request (a login failure, an out-of-scope object it
// named) is written instead, once, with the same request details added.
//
// Identical refusals — same address, user, method, route and code — are coalesced so that a
// flood of bad requests cannot flood the audit log: one row per refusalWindow, the next row
// counting the ones left out ("suppressed"). Service-recorded entries are not coalesced.

// ActionRefused is the audit action of a refused request.
const ActionRefused = "request.refused"

const (
	refusalWindow   = time.Minute
	refusalMaxSlots = 100_000
)

// requestNote is what the audit of a request needs, carried in its context.
type requestNote struct {
	pending                     *audit.Pending
	method, route, path, ip, id string
	actor                       *yingji.Actor // the caller, or the owner of a stale token
	mu                          sync.Mutex
	answered                    bool
}

type noteKey struct{}

func noteOf(ctx context.Context) *requestNote {
	n, _ := ctx.Value(noteKey{}).(*requestNote)
	return n
}

// auditScope opens the audit scope of a request: services' refusals are held until the error
// mapping answers (or, for requests answered without an error, until the request ends).
func (s *Server) auditScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx, p := r.Context(), (*audit.Pending)(nil)
		if r.Header.Get("Upgrade") == "" { // a WebSocket lives for hours: its services write directly
			ctx, p = audit.WithPending(ctx)
		}
		route := c.Path()
		if route == "" {
			route = r.URL.Path
		}
		n := &requestNote{pending: p, method: r.Method, route: route, path: r.URL.Path, ip: c.RealIP(),
			id: c.Response().Header().Get(echo.HeaderXRequestID)}
		c.SetRequest(r.WithContext(context.WithValue(ctx, noteKey{}, n)))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.auditAnswer(c.Request().Context(), c.Response().Status, "")
		return nil
	}
}

// noteCaller records who made the request: the authenticated actor, or, when the token was
// refused as a session that has ended or expired, its owner (a token no session ever had is
// not looked up again, so guessed tokens cost nothing more).
func (s *Server) noteCaller(c echo.Context, a *yingji.Actor, token string, err error) {
	n := noteOf(c.Request().Context())
	if n == nil {
		return
	}
	if a != nil {
		n.actor = a
		return
	}
	if code := yingji.ErrorCode(err); yingji.ErrorKind(err) == yingji.EUNAUTHORIZED && code != account.ErrNoToken.Code &&
		code != account.ErrInvalidToken.Code && s.Accounts != nil {
		n.actor, _ = s.Accounts.SessionOwner(c.Request().Context(), token)
	}
}

// auditAnswer writes the audit rows of a request's answer, once.
func (s *Server) auditAnswer(ctx context.Context, status int, code string) {
	n := noteOf(ctx)
	if n == nil || s.Audit == nil {
		return
	}
	n.mu.Lock()
	if n.answered {
		n.mu.Unlock()
		return
	}
	n.answered = true
	n.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	detail := map[string]any{"method": n.method, "route": n.route, "path": n.path, "status": status}
	if code != "" {
		detail["code"] = code
	}
	held := n.pending.Take()
	for _, h := range held {
		ev := h.Event
		d := maps.Clone(detail)
		if m, ok := ev.Detail.(map[string]any); ok {
			maps.Copy(d, m)
		} else if ev.Detail != nil {
			d["detail"] = ev.Detail
		}
		ev.Detail = d
		s.Audit.Record(ctx, withRequest(h.Actor, n), ev)
	}
	if status != http.StatusUnauthorized && status != http.StatusForbidden || len(held) > 0 {
		return
	}
	a := n.actor
	uid := ""
	if a != nil {
		uid = a.UserID
	}
	write, suppressed := s.refusals.allow(strings.Join([]string{n.ip, uid, n.method, n.route, code}, "\x00"), time.Now())
	if !write {
		return
	}
	if suppressed > 0 {
		detail["suppressed"] = suppressed
	}
	s.Audit.Record(ctx, withRequest(a, n), yingji.Event{Action: ActionRefused, ObjectType: "route",
		ObjectID: n.method + " " + n.route, Result: "denied", Detail: detail})
}

// withRequest returns the actor with the request's address and id (an anonymous actor when
// nil, never the system's).
func withRequest(a *yingji.Actor, n *requestNote) *yingji.Actor {
	var c yingji.Actor
	if a != nil && a != yingji.System {
		c = *a
	}
	if c.IP == "" {
		c.IP = n.ip
	}
	if c.RequestID == "" {
		c.RequestID = n.id
	}
	return &c
}

// coalescer lets one row per key through per window and counts the others.
type coalescer struct {
	mu    sync.Mutex
	slots map[string]*slot
}

type slot struct {
	until      time.Time
	suppressed int
}

// allow reports whether a row for key is written now, and how many were left out before it.
func (c *coalescer) allow(key string, now time.Time) (bool, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = map[string]*slot{}
	}
	sl := c.slots[key]
	if sl != nil && now.Before(sl.until) {
		sl.suppressed++
		return false, 0
	}
	left := 0
	if sl != nil {
		left = sl.suppressed
	} else if len(c.slots) >= refusalMaxSlots {
		for k, v := range c.slots {
			if !now.Before(v.until) {
				delete(c.slots, k)
			}
		}
		if len(c.slots) >= refusalMaxSlots { // a flood of distinct keys: start over
			clear(c.slots)
		}
	}
	c.slots[key] = &slot{until: now.Add(refusalWindow)}
	return true, left
}

package audit

import (
	"context"
	"sync"

	"github.com/yingji/yingji/server/yingji"
)

// Pending holds the refusals and failures that services record while one API request runs
// (Record with a result other than "ok"), so that the API writes each of them once, when it
// answers, with what only it knows: the route, the method, the status and the error code.
// After Take, Record writes directly again (work a request started in the background).
type Pending struct {
	mu     sync.Mutex
	events []PendingEvent
	taken  bool
}

// PendingEvent is one held entry.
type PendingEvent struct {
	Actor *yingji.Actor
	Event yingji.Event
}

type pendingKey struct{}

// WithPending returns a context under which Record holds refusals and failures in p.
func WithPending(ctx context.Context) (context.Context, *Pending) {
	p := &Pending{}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// Take returns the held entries and ends the holding (nothing for a nil Pending).
func (p *Pending) Take() []PendingEvent {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.events
	p.events, p.taken = nil, true
	return out
}

// hold keeps e unless the request has been answered.
func (p *Pending) hold(a *yingji.Actor, e yingji.Event) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken {
		return false
	}
	p.events = append(p.events, PendingEvent{Actor: a, Event: e})
	return true
}

func pendingOf(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

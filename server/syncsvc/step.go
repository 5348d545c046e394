package syncsvc

import (
	"context"
	"time"

	"github.com/yingji/yingji/syncproto"
)

// Step is when the person took the change being applied (the action time) and when the
// server received it. Field work is judged by the action time: an alert acknowledged offline
// before its deadline was acknowledged in time, however late the phone synced.
//
// The action time comes from the mutation's HLC stamp (the device's clock, corrected by the
// SDK with the offset it learned from the server), bounded by what the server can trust:
//   - never after Received (a change cannot be made after the server got it);
//   - a stamp further ahead than syncproto.MaxDrift was replaced by the server's own stamp
//     (syncproto.Clock.Stamp), so its action time is Received;
//   - never before the record existed: the collection knows when that was and raises the
//     time with NotBefore (an alert's start, a hazard's report); a new record may be at most
//     MaxOffline old.
//
// Collections read the step of the change they prepare with StepOf; push keeps the time the
// collection settled on and writes it to the audit entry of the change ("action_at").
type Step struct {
	At       time.Time
	Received time.Time
}

// MaxOffline is how long before its receipt a change may say it was made: a phone offline
// for longer than that has its older changes dated MaxOffline before their receipt.
const MaxOffline = 90 * 24 * time.Hour

// NewStep bounds the action time of a change stamped stamp (as recorded by the server, after
// Clock.Stamp) and received at received.
func NewStep(stamp syncproto.HLC, received time.Time) *Step {
	at := time.UnixMilli(stamp.Wall).UTC()
	received = received.UTC()
	if stamp.IsZero() || at.After(received) {
		at = received
	}
	if floor := received.Add(-MaxOffline); at.Before(floor) {
		at = floor
	}
	return &Step{At: at, Received: received}
}

// Set replaces the action time by one the device sent explicitly (a field of the record),
// bounded like the stamp's: not after Received, at most MaxOffline before it.
func (s *Step) Set(t time.Time) time.Time {
	s.At = t.UTC()
	if floor := s.Received.Add(-MaxOffline); s.At.Before(floor) {
		s.At = floor
	}
	return s.NotBefore(time.Time{})
}

// NotBefore raises the action time to t (when the record came to exist) and returns it. A
// zero t leaves it as it is; it never passes Received.
func (s *Step) NotBefore(t time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	if !t.IsZero() && s.At.Before(t) {
		s.At = t.UTC()
	}
	if s.At.After(s.Received) {
		s.At = s.Received
	}
	return s.At
}

type stepKey struct{}

// WithStep returns ctx carrying the step of the change being applied.
func WithStep(ctx context.Context, s *Step) context.Context {
	return context.WithValue(ctx, stepKey{}, s)
}

// StepOf returns the step of the change being applied, or nil outside a push (an office
// action, a job): then the action happens now.
func StepOf(ctx context.Context) *Step {
	s, _ := ctx.Value(stepKey{}).(*Step)
	return s
}

// StepTimes returns the action and receipt time of the change being applied; outside a push
// both are now.
func StepTimes(ctx context.Context, now time.Time) (at, received time.Time) {
	if s := StepOf(ctx); s != nil {
		return s.At, s.Received
	}
	return now.UTC(), now.UTC()
}

package syncproto

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HLC is a hybrid logical clock stamp: wall time in milliseconds, a counter for events in the
// same millisecond, and the node (device or server) that made it, as a tie-break. Its string
// form sorts like the stamp itself: "0001732780800000-00000-node".
//
// The string form has a fixed width: Wall must be within [0, MaxWall] and Counter within
// [0, MaxCounter], and Node must not be empty; ParseHLC accepts nothing else, so a stamp that
// parses prints back to the very same string and string order is stamp order.
type HLC struct {
	Wall    int64 // Unix milliseconds
	Counter uint32
	Node    string
}

// Bounds of the fixed-width string form.
const (
	MaxWall    = 9999999999999999 // 16 digits: about the year 318857
	MaxCounter = 99999            // 5 digits; a clock moves to the next millisecond past it
)

// String formats h so that string order is stamp order.
func (h HLC) String() string {
	return fmt.Sprintf("%016d-%05d-%s", h.Wall, h.Counter, h.Node)
}

// IsZero reports whether h is the zero stamp.
func (h HLC) IsZero() bool { return h.Wall == 0 && h.Counter == 0 && h.Node == "" }

// ParseHLC reads a stamp made by String. It accepts only the canonical form (digits only, no
// sign, fixed widths, a non-empty node), so String(ParseHLC(s)) == s.
func ParseHLC(s string) (HLC, error) {
	parts := strings.SplitN(s, "-", 3)
	if len(parts) != 3 || len(parts[0]) != 16 || len(parts[1]) != 5 || parts[2] == "" ||
		!allDigits(parts[0]) || !allDigits(parts[1]) {
		return HLC{}, fmt.Errorf("syncproto: bad HLC %q", s)
	}
	w, err1 := strconv.ParseInt(parts[0], 10, 64)
	c, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		return HLC{}, fmt.Errorf("syncproto: bad HLC %q", s)
	}
	return HLC{Wall: w, Counter: uint32(c), Node: parts[2]}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or 1 as a is before, equal to or after b.
func (a HLC) Compare(b HLC) int {
	switch {
	case a.Wall != b.Wall:
		return cmp(a.Wall < b.Wall)
	case a.Counter != b.Counter:
		return cmp(a.Counter < b.Counter)
	case a.Node != b.Node:
		return cmp(a.Node < b.Node)
	}
	return 0
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// Clock issues HLC stamps for one node. It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	node string
	last HLC
	now  func() time.Time
}

// NewClock returns a clock for node (which must not be empty, or its stamps do not parse);
// now defaults to time.Now.
func NewClock(node string, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{node: node, now: now}
}

// Now returns a stamp later than every stamp this clock issued or observed, even when the
// wall clock goes backwards.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tick()
}

func (c *Clock) tick() HLC {
	wall := c.now().UnixMilli()
	switch {
	case wall > c.last.Wall:
		c.last = HLC{Wall: wall, Node: c.node}
	case c.last.Counter >= MaxCounter:
		// The counter is full: borrow the next millisecond rather than widen the string form.
		c.last = HLC{Wall: c.last.Wall + 1, Node: c.node}
	default:
		c.last = HLC{Wall: c.last.Wall, Counter: c.last.Counter + 1, Node: c.node}
	}
	return c.last
}

// Observe folds a remote stamp into the clock, so later local stamps come after it.
// It takes the stamp as it is: on a server, use Stamp, which refuses a stamp too far ahead.
func (c *Clock) Observe(remote HLC) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observe(remote)
}

func (c *Clock) observe(remote HLC) {
	if remote.Wall > c.last.Wall || (remote.Wall == c.last.Wall && remote.Counter > c.last.Counter) {
		c.last = HLC{Wall: remote.Wall, Counter: min(remote.Counter, MaxCounter), Node: c.node}
	}
}

// Rebase forgets the stamps issued or observed more than max ahead of the clock's wall time,
// and reports whether it did: later stamps follow the wall time again. A device whose own
// clock ran fast and has since been corrected (by the offset it learned from the server)
// calls it, or it would keep stamping in the future until its corrected clock catches up.
// Stamps within max keep their order. Nothing that synced depends on the forgotten stamps:
// the server replaced them with its own when they arrived (see Stamp).
func (c *Clock) Rebase(max time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if CheckDrift(c.last, c.now(), max) {
		return false
	}
	c.last = HLC{}
	return true
}

// Stamp decides which stamp the server records for a client's change made at remote.
//
// When remote is no more than max ahead of this clock's wall time, Stamp observes it (so the
// server's later stamps come after it) and returns it unchanged: the change keeps its own
// stamp and the rules order it among concurrent changes. When remote is further ahead (a
// phone whose clock is an hour fast), Stamp neither observes it (one bad clock must not drag
// the server's clock, and with it every later stamp, into the future) nor rejects the change:
// it returns a fresh local stamp, so the device still syncs and its change counts as made
// when the server received it; the rules then decide as for any other change at that time.
// A stamp behind the clock is never replaced: an old offline change stays old, and loses to
// later edits under last-writer-wins.
//
// Use max = MaxDrift unless there is a reason not to.
func (c *Clock) Stamp(remote HLC, max time.Duration) HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	if CheckDrift(remote, c.now(), max) {
		c.observe(remote)
		return remote
	}
	return c.tick()
}

// MaxDrift is how far ahead of the server's clock a client stamp may be.
const MaxDrift = 5 * time.Minute

// CheckDrift reports whether stamp is no further ahead of now than max.
func CheckDrift(stamp HLC, now time.Time, max time.Duration) bool {
	return stamp.Wall <= now.Add(max).UnixMilli()
}

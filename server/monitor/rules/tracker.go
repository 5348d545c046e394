package rules

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// Tracker follows device heartbeats and reports devices going offline (no message for their
// timeout) and coming back. It keeps no goroutine or timer per device: devices live in 64
// shards, each a map from id to an index into a slice of small records plus a min-heap of
// deadlines. Seen only moves a device's last-seen time forward; the heap entry is corrected
// lazily when it comes due, so a heartbeat costs one map lookup under a shard lock.
// 100,000 devices with UUID ids take about 14 MB of heap (see BenchmarkTracker100k).
//
// All methods are safe for concurrent use. Set Confirm, Label and Interval before Run.
type Tracker struct {
	// Confirm, when set, is asked before a device is reported offline, outside any lock: it
	// returns the latest time the device was seen anywhere (e.g. by another server instance,
	// from a shared store), or the zero time. A time later than lastSeenLocal is taken as a
	// heartbeat and pushes the deadline forward; the device stays online if that deadline is
	// still ahead. It may do I/O; Due waits for it.
	Confirm func(deviceID string, lastSeenLocal time.Time) (lastSeen time.Time)
	// Label, when set, names a device in messages (default: its id).
	Label func(deviceID string) string
	// Interval is how often Run checks deadlines: at most and by default 250 ms.
	Interval time.Duration

	now    func() time.Time
	seed   maphash.Seed
	shards [trackerShards]trackerShard

	backMu sync.Mutex
	back   []returned // devices back online since the last Due
}

// DeviceState is one tracked device, for Snapshot and Restore.
type DeviceState struct {
	ID       string        `json:"id"`
	LastSeen time.Time     `json:"last_seen"`
	Timeout  time.Duration `json:"timeout"`
	Offline  bool          `json:"offline"`
}

const trackerShards = 64

type trackerShard struct {
	mu      sync.Mutex
	index   map[string]int32
	devs    []tracked
	heap    []int32 // indexes into devs, ordered by deadline
	offline int
	_       [48]byte // keep shards on separate cache lines
}

// tracked is one device: 48 bytes plus its id.
type tracked struct {
	id       string
	last     int64 // unix nanoseconds
	timeout  int64 // nanoseconds
	deadline int64 // heap key: never after last+timeout while in the heap
	heapAt   int32 // position in the heap; -1 when offline or being confirmed
	offline  bool
}

type returned struct {
	id string
	at int64
}

// NewTracker returns an empty tracker reading the time from now (time.Now when nil).
func NewTracker(now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	t := &Tracker{now: now, seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].index = make(map[string]int32)
	}
	return t
}

func (t *Tracker) shard(id string) *trackerShard {
	return &t.shards[maphash.String(t.seed, id)%trackerShards]
}

// Seen records a message from a device at time at (the server's receive time: readings' own
// times can be old under store-and-forward; the zero time means now). Timeout is the device's
// heartbeat timeout (DefaultOfflineTimeout when not positive) and replaces the previous one.
// A new device starts online. An offline device comes back online; the next Due reports it.
// Last-seen times never move backwards. Seen allocates only the copy of a new device's id
// (plus amortised map and slice growth).
func (t *Tracker) Seen(deviceID string, timeout time.Duration, at time.Time) {
	if timeout <= 0 {
		timeout = DefaultOfflineTimeout
	}
	if at.IsZero() {
		at = t.now()
	}
	ns, to := at.UnixNano(), int64(timeout)
	sh := t.shard(deviceID)
	sh.mu.Lock()
	i, ok := sh.index[deviceID]
	if !ok {
		sh.add(strings.Clone(deviceID), ns, to, false)
		sh.mu.Unlock()
		return
	}
	d := &sh.devs[i]
	if ns > d.last {
		d.last = ns
	}
	d.timeout = to
	switch {
	case d.offline:
		d.offline = false
		sh.offline--
		d.deadline = d.last + to
		sh.push(i)
		id := d.id
		sh.mu.Unlock()
		t.backMu.Lock()
		t.back = append(t.back, returned{id: id, at: ns})
		t.backMu.Unlock()
		return
	case d.heapAt >= 0 && d.last+to < d.deadline: // shorter timeout: the deadline moves earlier
		d.deadline = d.last + to
		sh.up(int(d.heapAt))
	}
	sh.mu.Unlock()
}

// Forget stops tracking a device (deleted, or moved to another instance). It emits nothing
// itself; a return online already pending is still reported by the next Due, so an open
// offline alert can close.
func (t *Tracker) Forget(deviceID string) {
	sh := t.shard(deviceID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[deviceID]
	if !ok {
		return
	}
	if at := sh.devs[i].heapAt; at >= 0 {
		sh.remove(int(at))
	}
	if sh.devs[i].offline {
		sh.offline--
	}
	last := int32(len(sh.devs) - 1)
	if i != last {
		sh.devs[i] = sh.devs[last]
		sh.index[sh.devs[i].id] = i
		if at := sh.devs[i].heapAt; at >= 0 {
			sh.heap[at] = i
		}
	}
	sh.devs[last] = tracked{}
	sh.devs = sh.devs[:last]
	delete(sh.index, deviceID)
}

// Online reports whether a device is tracked and online, and when it was last seen.
func (t *Tracker) Online(deviceID string) (online bool, lastSeen time.Time) {
	sh := t.shard(deviceID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[deviceID]
	if !ok {
		return false, time.Time{}
	}
	d := &sh.devs[i]
	return !d.offline, time.Unix(0, d.last)
}

// Stats counts the tracked devices online and offline.
func (t *Tracker) Stats() (online, offline int) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		online += len(sh.devs) - sh.offline
		offline += sh.offline
		sh.mu.Unlock()
	}
	return online, offline
}

// Due returns the events due at now: Clear for devices back online since the last call (at the
// time they were seen), then Raise for devices whose deadline (last seen + timeout) is not after
// now and that Confirm does not veto, at their deadline. Each change is reported once.
func (t *Tracker) Due(now time.Time) []Event {
	n := now.UnixNano()
	t.backMu.Lock()
	back := t.back
	t.back = nil
	t.backMu.Unlock()

	var evs []Event
	for _, b := range back {
		evs = append(evs, t.onlineEvent(b.id, b.at))
	}
	type candidate struct {
		id            string
		last, timeout int64
	}
	var cands []candidate
	for s := range t.shards {
		sh := &t.shards[s]
		sh.mu.Lock()
		for len(sh.heap) > 0 {
			i := sh.heap[0]
			d := &sh.devs[i]
			if d.deadline > n {
				break
			}
			if real := d.last + d.timeout; real > n { // seen since the entry was keyed
				d.deadline = real
				sh.down(0)
				continue
			}
			sh.remove(0)
			if t.Confirm == nil {
				d.offline = true
				sh.offline++
			}
			cands = append(cands, candidate{id: d.id, last: d.last, timeout: d.timeout})
		}
		sh.mu.Unlock()
	}
	for _, c := range cands {
		if t.Confirm != nil && !t.confirm(c.id, c.last, n) {
			continue
		}
		evs = append(evs, t.offlineEvent(c.id, c.last, c.timeout))
	}
	return evs
}

// confirm asks Confirm about a device taken out of its heap and either puts it back (seen
// elsewhere, or locally meanwhile) or marks it offline. It reports whether it went offline.
func (t *Tracker) confirm(id string, last, now int64) bool {
	seen := t.Confirm(id, time.Unix(0, last))
	sh := t.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[id]
	if !ok {
		return false // forgotten meanwhile
	}
	d := &sh.devs[i]
	if d.offline || d.heapAt >= 0 {
		return false // restored or re-added meanwhile
	}
	if !seen.IsZero() {
		if s := seen.UnixNano(); s > d.last {
			d.last = s
		}
	}
	if d.last+d.timeout > now {
		d.deadline = d.last + d.timeout
		sh.push(i)
		return false
	}
	d.offline = true
	sh.offline++
	return true
}

// Run checks deadlines every Interval (at most 250 ms) until ctx ends and passes each event of
// Due to emit, so a device is reported offline within its timeout plus the interval plus the
// time Confirm takes.
func (t *Tracker) Run(ctx context.Context, emit func(Event)) {
	iv := t.Interval
	if iv <= 0 || iv > 250*time.Millisecond {
		iv = 250 * time.Millisecond
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, ev := range t.Due(t.now()) {
				emit(ev)
			}
		}
	}
}

// Snapshot returns every tracked device, for persisting across a restart.
func (t *Tracker) Snapshot() []DeviceState {
	var out []DeviceState
	for s := range t.shards {
		sh := &t.shards[s]
		sh.mu.Lock()
		if out == nil {
			out = make([]DeviceState, 0, len(sh.devs)*trackerShards*5/4)
		}
		for i := range sh.devs {
			d := &sh.devs[i]
			out = append(out, DeviceState{ID: d.id, LastSeen: time.Unix(0, d.last), Timeout: time.Duration(d.timeout), Offline: d.offline})
		}
		sh.mu.Unlock()
	}
	return out
}

// Restore merges a snapshot into the tracker, typically at start before any Seen. A device
// already tracked keeps the later last-seen time and its current timeout; if the snapshot had
// it offline and it has been seen since, the next Due reports it back online. Online devices
// whose deadline passed while the server was down are reported offline by the next Due.
func (t *Tracker) Restore(states []DeviceState) {
	for _, s := range states {
		if s.ID == "" {
			continue
		}
		to := s.Timeout
		if to <= 0 {
			to = DefaultOfflineTimeout
		}
		var last int64
		if !s.LastSeen.IsZero() {
			last = s.LastSeen.UnixNano()
		}
		sh := t.shard(s.ID)
		sh.mu.Lock()
		i, ok := sh.index[s.ID]
		if !ok {
			sh.add(strings.Clone(s.ID), last, int64(to), s.Offline)
			sh.mu.Unlock()
			continue
		}
		d := &sh.devs[i]
		if last > d.last {
			d.last = last
			if d.heapAt >= 0 && d.last+d.timeout < d.deadline {
				d.deadline = d.last + d.timeout
				sh.up(int(d.heapAt))
			}
		}
		var back *returned
		if s.Offline && !d.offline {
			back = &returned{id: d.id, at: d.last}
		}
		sh.mu.Unlock()
		if back != nil {
			t.backMu.Lock()
			t.back = append(t.back, *back)
			t.backMu.Unlock()
		}
	}
}

func (t *Tracker) label(id string) string {
	if t.Label != nil {
		if l := t.Label(id); l != "" {
			return l
		}
	}
	return id
}

func (t *Tracker) offlineEvent(id string, last, timeout int64) Event {
	return Event{
		Action:    Raise,
		Kind:      KindOffline,
		Cause:     "offline:" + id,
		DeviceID:  id,
		RuleID:    "offline",
		Level:     1,
		LevelName: defaultLevelName(1),
		Message:   "设备 " + t.label(id) + " 超过 " + formatDuration(time.Duration(timeout)) + "未上报数据，已离线",
		At:        time.Unix(0, last+timeout),
	}
}

func (t *Tracker) onlineEvent(id string, at int64) Event {
	return Event{
		Action:   Clear,
		Kind:     KindOffline,
		Cause:    "offline:" + id,
		DeviceID: id,
		RuleID:   "offline",
		Message:  "设备 " + t.label(id) + " 恢复上报数据，已上线",
		At:       time.Unix(0, at),
	}
}

// add appends a device; an online one enters the heap.
func (sh *trackerShard) add(id string, last, timeout int64, offline bool) {
	i := int32(len(sh.devs))
	sh.devs = append(sh.devs, tracked{id: id, last: last, timeout: timeout, deadline: last + timeout, heapAt: -1, offline: offline})
	sh.index[id] = i
	if offline {
		sh.offline++
	} else {
		sh.push(i)
	}
}

// Min-heap of device indexes by deadline; devs[heap[k]].heapAt == k.

func (sh *trackerShard) less(a, b int) bool {
	return sh.devs[sh.heap[a]].deadline < sh.devs[sh.heap[b]].deadline
}

func (sh *trackerShard) swap(a, b int) {
	sh.heap[a], sh.heap[b] = sh.heap[b], sh.heap[a]
	sh.devs[sh.heap[a]].heapAt = int32(a)
	sh.devs[sh.heap[b]].heapAt = int32(b)
}

func (sh *trackerShard) push(i int32) {
	sh.heap = append(sh.heap, i)
	k := len(sh.heap) - 1
	sh.devs[i].heapAt = int32(k)
	sh.up(k)
}

// remove takes the entry at heap position k out of the heap.
func (sh *trackerShard) remove(k int) {
	last := len(sh.heap) - 1
	i := sh.heap[k]
	if k != last {
		sh.swap(k, last)
	}
	sh.heap = sh.heap[:last]
	sh.devs[i].heapAt = -1
	if k != last {
		sh.down(k)
		sh.up(k)
	}
}

func (sh *trackerShard) up(k int) {
	for k > 0 {
		p := (k - 1) / 2
		if !sh.less(k, p) {
			return
		}
		sh.swap(k, p)
		k = p
	}
}

func (sh *trackerShard) down(k int) {
	n := len(sh.heap)
	for {
		l := 2*k + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && sh.less(r, l) {
			c = r
		}
		if !sh.less(c, k) {
			return
		}
		sh.swap(k, c)
		k = c
	}
}

package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
)

// clock is a fake clock for the tracker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func events(evs []rules.Event) string {
	parts := make([]string, 0, len(evs))
	for _, e := range evs {
		parts = append(parts, string(e.Action)+" "+e.DeviceID)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func TestTrackerOffline(t *testing.T) {
	c := &clock{now: t0}
	tr := rules.NewTracker(c.Now)
	tr.Seen("gw-1", 5*time.Minute, c.Now())

	// Heartbeats every minute keep it online.
	for range 10 {
		c.Add(time.Minute)
		tr.Seen("gw-1", 5*time.Minute, c.Now())
		if evs := tr.Due(c.Now()); evs != nil {
			t.Fatalf("online device reported: %+v", evs)
		}
	}
	last := c.Now()
	deadline := last.Add(5 * time.Minute)

	// Then silence; Due runs every 250 ms as Run does.
	var got []rules.Event
	for c.Now().Before(deadline.Add(2 * time.Second)) {
		now := c.Add(250 * time.Millisecond)
		evs := tr.Due(now)
		if len(evs) > 0 {
			if now.Before(deadline) {
				t.Fatalf("offline at %v before the deadline %v", now, deadline)
			}
			if now.Sub(deadline) > time.Second {
				t.Fatalf("offline detected %v after the deadline", now.Sub(deadline))
			}
		}
		got = append(got, evs...)
	}
	want := rules.Event{Action: rules.Raise, Kind: rules.KindOffline, Cause: "offline:gw-1", DeviceID: "gw-1", RuleID: "offline",
		Level: 1, LevelName: "一级", Message: "设备 gw-1 超过 5 分钟未上报数据，已离线"}
	if len(got) != 1 {
		t.Fatalf("events %+v", got)
	}
	if !got[0].At.Equal(deadline) {
		t.Errorf("At %v, want the deadline %v", got[0].At, deadline)
	}
	got[0].At = time.Time{}
	if got[0] != want {
		t.Errorf("got  %+v\nwant %+v", got[0], want)
	}
	if on, seen := tr.Online("gw-1"); on || !seen.Equal(last) {
		t.Errorf("Online = %v, %v", on, seen)
	}
	if on, off := tr.Stats(); on != 0 || off != 1 {
		t.Errorf("Stats = %d, %d", on, off)
	}

	t.Run("BackOnline", func(t *testing.T) {
		back := c.Add(time.Hour)
		tr.Seen("gw-1", 5*time.Minute, back)
		evs := tr.Due(c.Add(100 * time.Millisecond))
		if len(evs) != 1 || evs[0].Action != rules.Clear || evs[0].Cause != "offline:gw-1" || evs[0].Level != 0 ||
			!evs[0].At.Equal(back) || evs[0].Message != "设备 gw-1 恢复上报数据，已上线" {
			t.Fatalf("events %+v", evs)
		}
		if evs := tr.Due(c.Add(time.Minute)); evs != nil {
			t.Fatalf("reported twice: %+v", evs)
		}
		if on, _ := tr.Online("gw-1"); !on {
			t.Error("not online")
		}
		if on, off := tr.Stats(); on != 1 || off != 0 {
			t.Errorf("Stats = %d, %d", on, off)
		}
		// and offline again after a new timeout
		if evs := tr.Due(c.Add(5 * time.Minute)); events(evs) != "raise gw-1" {
			t.Fatalf("events %+v", evs)
		}
	})
}

func TestTrackerTimeouts(t *testing.T) {
	c := &clock{now: t0}
	tr := rules.NewTracker(c.Now)
	tr.Label = func(id string) string { return map[string]string{"a": "1号网关"}[id] }
	tr.Seen("a", 10*time.Minute, t0)
	tr.Seen("b", 0, t0) // default timeout
	tr.Seen("c", time.Minute, t0)
	tr.Seen("a", 2*time.Minute, t0) // timeout shortened: the deadline moves earlier
	tr.Seen("c", time.Minute, t0.Add(-time.Hour))

	if evs := tr.Due(t0.Add(time.Minute)); events(evs) != "raise c" {
		t.Fatalf("at 1 min: %+v", evs)
	}
	evs := tr.Due(t0.Add(2 * time.Minute))
	if events(evs) != "raise a" || evs[0].Message != "设备 1号网关 超过 2 分钟未上报数据，已离线" {
		t.Fatalf("at 2 min: %+v", evs)
	}
	if evs := tr.Due(t0.Add(rules.DefaultOfflineTimeout)); events(evs) != "raise b" {
		t.Fatalf("at 5 min: %+v", evs)
	}
	if on, _ := tr.Online("unknown"); on {
		t.Error("unknown device online")
	}
}

func TestTrackerConfirm(t *testing.T) {
	c := &clock{now: t0}
	tr := rules.NewTracker(c.Now)
	elsewhere := map[string]time.Time{"a": t0.Add(3 * time.Minute)}
	var asked []string
	tr.Confirm = func(id string, local time.Time) time.Time {
		asked = append(asked, id+"@"+local.Sub(t0).String())
		return elsewhere[id]
	}
	tr.Seen("a", 5*time.Minute, t0)
	tr.Seen("b", 5*time.Minute, t0)

	// a was seen by another instance at 3 min: vetoed; b is offline.
	if evs := tr.Due(t0.Add(5 * time.Minute)); events(evs) != "raise b" {
		t.Fatalf("events %+v", evs)
	}
	sort.Strings(asked)
	if strings.Join(asked, " ") != "a@0s b@0s" {
		t.Errorf("Confirm calls %v", asked)
	}
	if on, seen := tr.Online("a"); !on || !seen.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("a: %v %v", on, seen)
	}
	if evs := tr.Due(t0.Add(7*time.Minute + 59*time.Second)); evs != nil {
		t.Fatalf("before the pushed deadline: %+v", evs)
	}
	evs := tr.Due(t0.Add(8 * time.Minute))
	if events(evs) != "raise a" || !evs[0].At.Equal(t0.Add(8*time.Minute)) {
		t.Fatalf("events %+v", evs)
	}
}

func TestTrackerForget(t *testing.T) {
	tr := rules.NewTracker(func() time.Time { return t0 })
	for i := range 10 {
		tr.Seen(fmt.Sprint("d", i), time.Duration(i+1)*time.Minute, t0)
	}
	tr.Due(t0.Add(time.Minute)) // d0 offline
	tr.Forget("d0")
	tr.Forget("d5")
	tr.Forget("nothing")
	if on, off := tr.Stats(); on != 8 || off != 0 {
		t.Fatalf("Stats = %d, %d", on, off)
	}
	if evs := tr.Due(t0.Add(time.Hour)); events(evs) != "raise d1,raise d2,raise d3,raise d4,raise d6,raise d7,raise d8,raise d9" {
		t.Fatalf("events %s", events(evs))
	}
}

func TestTrackerSnapshotRestore(t *testing.T) {
	c := &clock{now: t0}
	tr := rules.NewTracker(c.Now)
	tr.Seen("a", time.Minute, t0)
	tr.Seen("b", 10*time.Minute, t0)
	tr.Seen("c", 10*time.Minute, t0)
	tr.Due(t0.Add(time.Minute)) // a offline
	b, err := json.Marshal(tr.Snapshot())
	if err != nil {
		t.Fatal(err)
	}

	// Restart 20 minutes later; c reported while the snapshot was being loaded.
	var snap []rules.DeviceState
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(20 * time.Minute)
	tr2 := rules.NewTracker(func() time.Time { return now })
	tr2.Seen("c", 10*time.Minute, now)
	tr2.Restore(snap)
	if on, off := tr2.Stats(); on != 2 || off != 1 {
		t.Fatalf("Stats = %d, %d", on, off)
	}
	evs := tr2.Due(now)
	if events(evs) != "raise b" || !evs[0].At.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("events %+v", evs)
	}
	if on, seen := tr2.Online("c"); !on || !seen.Equal(now) {
		t.Errorf("c: %v %v", on, seen)
	}
	tr2.Seen("a", time.Minute, now)
	if evs := tr2.Due(now); events(evs) != "clear a" {
		t.Fatalf("events %+v", evs)
	}

	t.Run("OfflineInSnapshotSeenBeforeRestore", func(t *testing.T) {
		tr3 := rules.NewTracker(func() time.Time { return now })
		tr3.Seen("a", time.Minute, now)
		tr3.Restore(snap)
		if evs := tr3.Due(now); events(evs) != "clear a,raise b,raise c" {
			t.Fatalf("events %+v", evs)
		}
	})
}

func TestTrackerRun(t *testing.T) {
	tr := rules.NewTracker(nil)
	timeout := 300 * time.Millisecond
	start := time.Now()
	tr.Seen("gw", timeout, start)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan rules.Event, 1)
	done := make(chan struct{})
	go func() { tr.Run(ctx, func(ev rules.Event) { got <- ev }); close(done) }()
	select {
	case ev := <-got:
		if ev.Action != rules.Raise || ev.DeviceID != "gw" {
			t.Fatalf("event %+v", ev)
		}
		if d := time.Since(start); d < timeout || d > timeout+time.Second {
			t.Errorf("offline after %v", d)
		}
	case <-time.After(timeout + time.Second):
		t.Fatal("offline not detected within timeout + 1 s")
	}
	cancel()
	<-done
}

// TestTrackerModel runs random operations against the tracker and a plain map model and
// checks every Due reports exactly what the model expects.
func TestTrackerModel(t *testing.T) {
	type dev struct {
		last, timeout time.Duration
		offline, back bool
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Duration(0)
	tr := rules.NewTracker(func() time.Time { return t0.Add(now) })
	model := map[string]*dev{}
	var forgottenBack []string // Forget does not cancel a return already pending
	for step := range 20000 {
		id := fmt.Sprint("d", rng.IntN(300))
		switch op := rng.IntN(10); {
		case op < 6:
			now += time.Duration(rng.IntN(200)) * time.Millisecond
			to := time.Duration(1+rng.IntN(20)) * time.Second
			seenAt := now - time.Duration(rng.IntN(3))*time.Second // sometimes late
			tr.Seen(id, to, t0.Add(seenAt))
			d := model[id]
			if d == nil {
				d = &dev{last: seenAt}
				model[id] = d
			}
			d.last = max(d.last, seenAt)
			d.timeout = to
			if d.offline {
				d.offline, d.back = false, true
			}
		case op < 7:
			tr.Forget(id)
			if d := model[id]; d != nil && d.back {
				forgottenBack = append(forgottenBack, "clear "+id)
			}
			delete(model, id)
		default:
			want := forgottenBack
			forgottenBack = nil
			for id, d := range model {
				if d.back {
					want = append(want, "clear "+id)
					d.back = false
				}
				if !d.offline && d.last+d.timeout <= now {
					want = append(want, "raise "+id)
					d.offline = true
				}
			}
			sort.Strings(want)
			if got := events(tr.Due(t0.Add(now))); got != strings.Join(want, ",") {
				t.Fatalf("step %d: Due = %s\nwant %s", step, got, strings.Join(want, ","))
			}
		}
	}
	var on, off int
	for _, d := range model {
		if d.offline {
			off++
		} else {
			on++
		}
	}
	if gotOn, gotOff := tr.Stats(); gotOn != on || gotOff != off {
		t.Errorf("Stats = %d, %d; want %d, %d", gotOn, gotOff, on, off)
	}
}

func TestTrackerConcurrent(t *testing.T) {
	tr := rules.NewTracker(nil)
	tr.Confirm = func(string, time.Time) time.Time { return time.Time{} }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				id := fmt.Sprint("d", (g*7+i)%500)
				tr.Seen(id, time.Millisecond, time.Now())
				if i%100 == 0 {
					tr.Forget(id)
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			tr.Due(time.Now())
			tr.Stats()
			tr.Snapshot()
		}
	})
	wg.Wait()
	time.Sleep(2 * time.Millisecond)
	tr.Due(time.Now())
	if on, off := tr.Stats(); on != 0 || off == 0 {
		t.Errorf("Stats = %d, %d", on, off)
	}
}

// TestTrackerMemory checks 100,000 devices fit well inside the 64 MB budget.
func TestTrackerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 devices")
	}
	heap, tr := trackHundredThousand()
	runtime.KeepAlive(tr)
	t.Logf("100,000 devices: %.1f MB", float64(heap)/(1<<20))
	if heap > 64<<20 {
		t.Errorf("100,000 devices take %d bytes of heap", heap)
	}
}

func TestTrackerSeenAllocs(t *testing.T) {
	tr := rules.NewTracker(func() time.Time { return t0 })
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = deviceID(i)
	}
	i := 0
	newDevice := testing.AllocsPerRun(len(ids)-1, func() {
		tr.Seen(ids[i], time.Minute, t0)
		i++
	})
	// One copy of the id, plus amortised map and slice growth.
	if newDevice > 1.2 {
		t.Errorf("Seen allocates %.2f times per new device", newDevice)
	}
	i = 0
	known := testing.AllocsPerRun(1000, func() {
		tr.Seen(ids[i%len(ids)], time.Minute, t0.Add(time.Second))
		i++
	})
	if known != 0 {
		t.Errorf("Seen allocates %.2f times per known device", known)
	}
	t.Logf("allocations: %.3f per new device, %.0f per heartbeat", newDevice, known)
}

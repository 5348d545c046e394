package syncproto_test

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/syncproto"
)

// fakeTime is a settable wall clock.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeTime) now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeTime) set(t time.Time)     { f.mu.Lock(); f.t = t; f.mu.Unlock() }
func (f *fakeTime) add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }
func newFake(ms int64) *fakeTime        { return &fakeTime{t: time.UnixMilli(ms)} }
func mustHLC(t *testing.T, s string) syncproto.HLC {
	t.Helper()
	h, err := syncproto.ParseHLC(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const t0 = int64(1732780800000)

func TestClockMonotonicWhenWallGoesBack(t *testing.T) {
	ft := newFake(t0)
	c := syncproto.NewClock("srv", ft.now)
	prev := c.Now()
	for i := 0; i < 1000; i++ {
		switch i % 4 {
		case 0:
			ft.add(-time.Duration(rand.IntN(5000)) * time.Millisecond) // NTP step back
		case 1:
			ft.add(time.Millisecond)
		}
		h := c.Now()
		if h.Compare(prev) <= 0 {
			t.Fatalf("stamp %v not after %v", h, prev)
		}
		if h.String() <= prev.String() {
			t.Fatalf("string %s not after %s", h, prev)
		}
		if h.Node != "srv" {
			t.Fatalf("node %q", h.Node)
		}
		prev = h
	}
}

func TestClockCounterOverflowMovesToNextMillisecond(t *testing.T) {
	ft := newFake(t0)
	c := syncproto.NewClock("n", ft.now)
	c.Observe(syncproto.HLC{Wall: t0, Counter: syncproto.MaxCounter, Node: "other"})
	h := c.Now()
	if h.Wall != t0+1 || h.Counter != 0 {
		t.Fatalf("after a full counter got %v", h)
	}
	if _, err := syncproto.ParseHLC(h.String()); err != nil {
		t.Fatal(err)
	}
	// Many stamps in one frozen millisecond all parse and increase.
	prev := h
	for i := 0; i < 3*syncproto.MaxCounter; i++ {
		h = c.Now()
		if h.Compare(prev) <= 0 || h.Counter > syncproto.MaxCounter {
			t.Fatalf("%v after %v", h, prev)
		}
		prev = h
	}
}

func TestClockObserveRemoteAhead(t *testing.T) {
	ft := newFake(t0)
	c := syncproto.NewClock("srv", ft.now)
	remote := syncproto.HLC{Wall: t0 + 60_000, Counter: 7, Node: "phone"}
	c.Observe(remote)
	h := c.Now()
	if h.Compare(remote) <= 0 {
		t.Fatalf("%v not after observed %v", h, remote)
	}
	if h.Wall != remote.Wall || h.Counter != 8 || h.Node != "srv" {
		t.Fatalf("got %v", h)
	}
	// An older remote stamp changes nothing.
	c.Observe(syncproto.HLC{Wall: t0, Node: "old"})
	if h2 := c.Now(); h2.Compare(h) <= 0 {
		t.Fatalf("%v not after %v", h2, h)
	}
	// Once the wall passes the observed stamp, stamps follow the wall again.
	ft.set(time.UnixMilli(t0 + 120_000))
	if h3 := c.Now(); h3.Wall != t0+120_000 || h3.Counter != 0 {
		t.Fatalf("got %v", h3)
	}
}

func TestClockConcurrent(t *testing.T) {
	c := syncproto.NewClock("srv", nil)
	var mu sync.Mutex
	seen := map[syncproto.HLC]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				h := c.Now()
				if i%50 == 0 {
					c.Observe(syncproto.HLC{Wall: h.Wall, Counter: h.Counter + 1, Node: "x"})
				}
				mu.Lock()
				if seen[h] {
					t.Errorf("duplicate stamp %v", h)
				}
				seen[h] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestStringOrderIsCompareOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	nodes := []string{"a", "b", "a-b", "A", "z9", "phone-1", "phone-10", "服务器", "n\x00", "~", " "}
	walls := []int64{0, 1, 9, 10, t0, t0 + 1, syncproto.MaxWall}
	counters := []uint32{0, 1, 9, 10, 99, 100, syncproto.MaxCounter}
	gen := func() syncproto.HLC {
		h := syncproto.HLC{Node: nodes[r.IntN(len(nodes))]}
		if r.IntN(2) == 0 {
			h.Wall = walls[r.IntN(len(walls))]
		} else {
			h.Wall = r.Int64N(syncproto.MaxWall + 1)
		}
		if r.IntN(2) == 0 {
			h.Counter = counters[r.IntN(len(counters))]
		} else {
			h.Counter = uint32(r.IntN(syncproto.MaxCounter + 1))
		}
		return h
	}
	for i := 0; i < 50000; i++ {
		a, b := gen(), gen()
		if r.IntN(4) == 0 { // share a prefix often, so counters and nodes decide
			b.Wall = a.Wall
			if r.IntN(2) == 0 {
				b.Counter = a.Counter
			}
		}
		if got, want := strings.Compare(a.String(), b.String()), a.Compare(b); got != want {
			t.Fatalf("%q vs %q: string order %d, Compare %d", a, b, got, want)
		}
		if b.Compare(a) != -a.Compare(b) {
			t.Fatalf("Compare not antisymmetric for %v, %v", a, b)
		}
		p, err := syncproto.ParseHLC(a.String())
		if err != nil || p != a {
			t.Fatalf("round trip of %v: %v, %v", a, p, err)
		}
	}
}

func TestParseHLCErrors(t *testing.T) {
	for _, s := range []string{
		"", "x", "yesterday", "0001732780800000-00000", "0001732780800000-00000-",
		"001732780800000-00000-n",   // short wall
		"00001732780800000-00000-n", // long wall
		"0001732780800000-0000-n",   // short counter
		"0001732780800000-000000-n", // long counter
		"+001732780800000-00000-n",  // sign
		"-001732780800000-00000-n",
		"0001732780800000-+0000-n",
		"00017327808000a0-00000-n",
		"0001732780800000-0000x-n",
		" 001732780800000-00000-n",
		"0x01732780800000-00000-n",
		"1_01732780800000-00000-n",
	} {
		if h, err := syncproto.ParseHLC(s); err == nil {
			t.Errorf("ParseHLC(%q) = %v, want an error", s, h)
		}
	}
	h := mustHLC(t, "0001732780800000-00042-phone-7")
	if h.Wall != t0 || h.Counter != 42 || h.Node != "phone-7" {
		t.Fatalf("got %+v", h)
	}
	if h.String() != "0001732780800000-00042-phone-7" {
		t.Fatal(h.String())
	}
	if !(syncproto.HLC{}).IsZero() || h.IsZero() {
		t.Fatal("IsZero")
	}
}

func TestClockStampClamp(t *testing.T) {
	ft := newFake(t0)
	c := syncproto.NewClock("srv", ft.now)

	// Within the drift: the remote stamp is kept and observed.
	near := syncproto.HLC{Wall: t0 + 4*60_000, Counter: 3, Node: "phone"}
	if got := c.Stamp(near, syncproto.MaxDrift); got != near {
		t.Fatalf("near stamp replaced: %v", got)
	}
	if h := c.Now(); h.Compare(near) <= 0 {
		t.Fatalf("near stamp not observed: %v", h)
	}

	// Exactly at the limit is still accepted.
	edge := syncproto.HLC{Wall: t0 + syncproto.MaxDrift.Milliseconds(), Node: "phone"}
	if got := c.Stamp(edge, syncproto.MaxDrift); got != edge {
		t.Fatalf("edge stamp replaced: %v", got)
	}

	// An hour ahead: a fresh local stamp, and the clock is not dragged forward.
	ft.set(time.UnixMilli(t0 + 10*60_000))
	before := c.Now()
	far := syncproto.HLC{Wall: t0 + 10*60_000 + time.Hour.Milliseconds(), Node: "fastphone"}
	got := c.Stamp(far, syncproto.MaxDrift)
	if got.Node != "srv" || got.Compare(before) <= 0 || got.Wall >= far.Wall {
		t.Fatalf("far stamp gave %v (before %v)", got, before)
	}
	if h := c.Now(); h.Wall > t0+10*60_000+1 {
		t.Fatalf("clock dragged forward to %v", h)
	}

	// Behind the clock: kept as it is (an old offline change stays old).
	old := syncproto.HLC{Wall: t0 - 24*time.Hour.Milliseconds(), Node: "offline"}
	if got := c.Stamp(old, syncproto.MaxDrift); got != old {
		t.Fatalf("old stamp replaced: %v", got)
	}
	if h := c.Now(); h.Compare(old) <= 0 || h.Wall < t0 {
		t.Fatalf("old stamp moved the clock back: %v", h)
	}

	if !syncproto.CheckDrift(near, time.UnixMilli(t0), syncproto.MaxDrift) ||
		syncproto.CheckDrift(far, time.UnixMilli(t0), syncproto.MaxDrift) {
		t.Fatal("CheckDrift")
	}
}

// TestClockRebase: a clock whose stamps ran more than max ahead of its (corrected) wall time
// forgets them and follows the wall time again; one within max keeps its order.
func TestClockRebase(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	c := syncproto.NewClock("phone", func() time.Time { return now })
	c.Observe(syncproto.HLC{Wall: now.Add(time.Minute).UnixMilli(), Node: "x"})
	if c.Rebase(syncproto.MaxDrift) {
		t.Fatal("rebased a clock a minute ahead")
	}
	if h := c.Now(); h.Wall != now.Add(time.Minute).UnixMilli() || h.Counter != 1 {
		t.Fatalf("after a refused rebase: %v", h)
	}
	c.Observe(syncproto.HLC{Wall: now.Add(time.Hour).UnixMilli(), Node: "x"})
	if !c.Rebase(syncproto.MaxDrift) {
		t.Fatal("kept stamps an hour ahead")
	}
	if h := c.Now(); h.Wall != now.UnixMilli() || h.Counter != 0 || h.Node != "phone" {
		t.Fatalf("after the rebase: %v, want the wall time", h)
	}
}

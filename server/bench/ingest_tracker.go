package main

import (
	"flag"
	"fmt"
	"runtime"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
)

// trackerMemory tracks n devices (UUID-shaped ids, 5 min heartbeat timeout) in a rules.Tracker
// in this process and measures the heap they take after GC; then it moves the tracker's clock
// past the timeout and checks that every device is reported offline.
func trackerMemory(n int) (string, error) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	now := t0
	ids := make([]string, n) // made before the first reading: the server holds the ids anyway
	for i := range ids {
		ids[i] = fmt.Sprintf("0197a3c2-%04x-7000-8000-%012x", i&0xffff, i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := rules.NewTracker(func() time.Time { return now })
	start := time.Now()
	for i, id := range ids {
		tr.Seen(id, 5*time.Minute, t0.Add(time.Duration(i)*time.Microsecond))
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	inuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	online, _ := tr.Stats()
	now = t0.Add(6 * time.Minute)
	due := time.Now()
	offline := 0
	for _, ev := range tr.Due(now) {
		if ev.Kind == rules.KindOffline && ev.Action != rules.Clear {
			offline++
		}
	}
	dueTook := time.Since(due)
	runtime.KeepAlive(ids)
	mb := func(v int64) string { return fmt.Sprintf("%.1f MB", float64(v)/(1<<20)) }
	return fmt.Sprintf("| %d | %s | %s | %.0f B | %d | %s | %d | %s |", n, mb(heap), mb(inuse), float64(heap)/float64(n), online,
		ms(took), offline, ms(dueTook)), nil
}

// isSet reports whether a flag was given on the command line.
func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

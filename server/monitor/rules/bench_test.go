package rules_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
)

// deviceID returns a UUID-shaped id, like the ids the server hands out.
func deviceID(i int) string {
	return fmt.Sprintf("0197a3c2-%04x-7000-8000-%012x", i&0xffff, i)
}

// trackHundredThousand tracks 100,000 devices and returns the heap they take after GC.
func trackHundredThousand() (uint64, *rules.Tracker) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := rules.NewTracker(func() time.Time { return t0 })
	for i := range 100_000 {
		tr.Seen(deviceID(i), 5*time.Minute, t0.Add(time.Duration(i)*time.Millisecond))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return after.HeapAlloc - before.HeapAlloc, tr
}

func BenchmarkEvaluate(b *testing.B) {
	lo, hi := 0.0, 200.0
	p := &rules.Point{ID: "p1", DeviceID: "d1", Name: "1号储罐温度", Unit: "℃",
		Thresholds: []rules.Threshold{{ID: "temp", Direction: rules.High, Hysteresis: 2, MinDuration: 30 * time.Second,
			Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}}},
		Quality: rules.Quality{RangeMin: &lo, RangeMax: &hi, StuckFor: time.Hour, JumpFraction: 0.2,
			FluctuationCount: 5, FluctuationWindow: time.Minute, FluctuationDelta: 0.5}}
	st := &rules.PointState{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		rules.Evaluate(p, st, rules.Reading{PointID: "p1", At: t0.Add(time.Duration(i) * time.Second), Value: 50 + float64(i%7)*0.1}) // noise, no events

	}
}

func BenchmarkTracker100k(b *testing.B) {
	var heap uint64
	for b.Loop() {
		var tr *rules.Tracker
		heap, tr = trackHundredThousand()
		runtime.KeepAlive(tr)
	}
	b.ReportMetric(float64(heap), "heap-bytes")
}

func BenchmarkTrackerSeen(b *testing.B) {
	const n = 100_000
	ids := make([]string, n)
	tr := rules.NewTracker(func() time.Time { return t0 })
	for i := range ids {
		ids[i] = deviceID(i)
		tr.Seen(ids[i], 5*time.Minute, t0)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			tr.Seen(ids[i%n], 5*time.Minute, t0.Add(time.Duration(i)))
		}
	})
}

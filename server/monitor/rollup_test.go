package monitor_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/sqldb"
)

type bucketKey struct {
	point, res string
	bucket     int64
}

type bucketAgg struct {
	n                   int64
	sum, min, max, last float64
	lastTS              int64
}

// recompute aggregates the stored raw readings per minute and hour.
func recompute(t *testing.T, db sqldb.DB) map[bucketKey]bucketAgg {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT point_id, ts, value FROM readings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[bucketKey]bucketAgg{}
	for rows.Next() {
		var p string
		var ts int64
		var v float64
		if err := rows.Scan(&p, &ts, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range []bucketKey{{p, "minute", ts / 60_000 * 60_000}, {p, "hour", ts / 3_600_000 * 3_600_000}} {
			a, ok := out[k]
			if !ok {
				out[k] = bucketAgg{1, v, v, v, v, ts}
				continue
			}
			a.n++
			a.sum += v
			a.min, a.max = min(a.min, v), max(a.max, v)
			if ts > a.lastTS {
				a.last, a.lastTS = v, ts
			}
			out[k] = a
		}
	}
	return out
}

func storedRollups(t *testing.T, db sqldb.DB) map[bucketKey]bucketAgg {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT point_id, resolution, bucket, n, sum, min, max, last, last_ts FROM reading_rollups`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[bucketKey]bucketAgg{}
	for rows.Next() {
		var k bucketKey
		var a bucketAgg
		if err := rows.Scan(&k.point, &k.res, &k.bucket, &a.n, &a.sum, &a.min, &a.max, &a.last, &a.lastTS); err != nil {
			t.Fatal(err)
		}
		out[k] = a
	}
	return out
}

// rollupDiff describes how the stored rollups differ from a recomputation ("" when equal).
func rollupDiff(t *testing.T, db sqldb.DB) string {
	t.Helper()
	want, got := recompute(t, db), storedRollups(t, db)
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*max(1, math.Abs(a)) }
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return fmt.Sprintf("%v missing (want %+v)", k, w)
		}
		if g.n != w.n || !near(g.sum, w.sum) || g.min != w.min || g.max != w.max || g.last != w.last || g.lastTS != w.lastTS {
			return fmt.Sprintf("%v = %+v, want %+v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("%v has no readings", k)
		}
	}
	return ""
}

// feed delivers readings of two points every 7 s for steps steps, storing the raw readings
// every 5 steps and writing the rollups every 40 (Flush); every 13 steps it adds a reading
// 10 minutes late (a closed bucket) and one 50 s late (a bucket still open).
func feed(t *testing.T, e *env, s *monitor.Service, steps, seed int) {
	t.Helper()
	ctx := context.Background()
	for i := range steps {
		now := e.clock.Now()
		v := float64((i*7+seed)%60) + 20
		s.Deliver(ctx, "GW-001", "readings", msg(now, fmt.Sprintf(`{"point": "TI-101", "value": %g}`, v/2),
			fmt.Sprintf(`{"point": "GT-101", "value": %g}`, float64((i*3+seed)%20))))
		if i%13 == 0 {
			s.Deliver(ctx, "GW-001", "readings", msg(now.Add(-10*time.Minute+123*time.Millisecond), `{"point": "TI-101", "value": 11.5}`))
			s.Deliver(ctx, "GW-001", "readings", msg(now.Add(-50*time.Second+321*time.Millisecond), `{"point": "GT-101", "value": 3.25}`))
		}
		if i%5 == 4 {
			if err := monitor.FlushRaw(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if i%40 == 39 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Add(7 * time.Second)
	}
	if err := monitor.FlushRaw(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// rollupService starts a service whose rollups are written only by Flush and Close.
func rollupService(t *testing.T, e *env, every time.Duration) *monitor.Service {
	t.Helper()
	s := monitor.New(e.db, nil, nil, monitor.Config{FlushInterval: time.Hour})
	s.Now = e.clock.Now
	s.SetAlertSink(e.sink)
	monitor.SetRollupTiming(s, 30*time.Second, every)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestRollupsAcrossFlushes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		boot := e.service(t, monitor.Config{})
		e.device(t, boot, "GW-001")
		if err := boot.Close(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(-2 * time.Minute) // late readings before the start stay within MaxAge
		s := rollupService(t, e, time.Hour)
		feed(t, e, s, 1100, 0) // 7,700 s: two hour boundaries, 128 minute boundaries
		if d := rollupDiff(t, e.db); d == "" {
			t.Fatal("open buckets were written before Flush or Close")
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if d := rollupDiff(t, e.db); d != "" {
			t.Fatalf("after close: %s", d)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM meta WHERE key LIKE 'monitor.rollups.%'`); n != 0 {
			t.Fatalf("%d rollup leases after close", n)
		}
		// a second instance: late readings into buckets closed and written long ago merge
		s2 := rollupService(t, e, time.Hour)
		old := e.clock.Now().Add(-100 * time.Minute)
		for i := range 30 {
			s2.Deliver(ctx, "GW-001", "readings", msg(old.Add(time.Duration(i)*1111*time.Millisecond), fmt.Sprintf(`{"point": "TI-101", "value": %d}`, 60+i)))
		}
		if err := monitor.FlushRaw(ctx, s2); err != nil { // stored with their rollups
			t.Fatal(err)
		}
		if d := rollupDiff(t, e.db); d != "" {
			t.Fatalf("late readings: %s", d)
		}
	})
}

func TestRollupsCrashRecovery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		boot := e.service(t, monitor.Config{})
		e.device(t, boot, "GW-001")
		if err := boot.Close(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(-2 * time.Minute)
		s := rollupService(t, e, time.Hour)
		feed(t, e, s, 205, 1)
		monitor.Crash(s) // raw readings stored, rollups of the last steps only in memory
		if rollupDiff(t, e.db) == "" {
			t.Fatal("nothing lost in the crash: the test proves nothing")
		}

		// restart after the lease went stale: rebuilt at once, before storing anything
		e.clock.Add(2 * time.Minute)
		s2 := rollupService(t, e, 10*time.Second)
		for deadline := time.Now().Add(5 * time.Second); rollupDiff(t, e.db) != ""; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not rebuilt: %s", rollupDiff(t, e.db))
			}
		}
		feed(t, e, s2, 100, 2)
		if err := s2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if d := rollupDiff(t, e.db); d != "" {
			t.Fatalf("after restart and close: %s", d)
		}
	})
}

func TestRollupsCrashWhileAnotherRuns(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		boot := e.service(t, monitor.Config{})
		e.device(t, boot, "GW-001")
		if err := boot.Close(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(-2 * time.Minute)
		dead := rollupService(t, e, time.Hour)
		feed(t, e, dead, 60, 3)
		monitor.Crash(dead)
		// another instance runs on: the dead lease is not repaired while its buckets may still
		// get deltas from live instances, then it is
		live := rollupService(t, e, time.Hour)
		feed(t, e, live, 20, 4)
		if err := live.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := monitor.RepairDead(ctx, live); err != nil {
			t.Fatal(err)
		}
		if rollupDiff(t, e.db) == "" {
			t.Fatal("repaired before its buckets settled (or nothing was lost)")
		}
		e.clock.Add(5 * time.Hour) // the live lease is renewed by Flush; the dead one settles
		if err := live.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := monitor.RepairDead(ctx, live); err != nil {
			t.Fatal(err)
		}
		if d := rollupDiff(t, e.db); d != "" {
			t.Fatalf("after repair: %s", d)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM meta WHERE key LIKE 'monitor.rollups.%'`); n != 1 {
			t.Fatalf("%d rollup leases, want the live one", n)
		}
	})
}

package monitor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/monitor"
)

// duplicatesDropped reads yingji_monitor_readings_duplicate_total.
func duplicatesDropped(t *testing.T, s *monitor.Service) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "yingji_monitor_readings_duplicate_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no duplicate counter")
	return 0
}

// TestReadingsSentAgain: a gateway that replays its buffer after a reconnect — over MQTT, over
// HTTP, and again after the server restarted — has each reading stored once, counted once in
// the minute rollups (of a closed minute and of the open one) and evaluated once by the rules.
func TestReadingsSentAgain(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		_, secret, gas, temp := e.device(t, s, "GW-001")
		now := e.clock.Now()
		old := now.Add(-10 * time.Minute).Truncate(time.Minute)
		batch := []byte(fmt.Sprintf(`{"readings": [
			{"point": "TI-101", "value": 30, "ts": %d}, {"point": "TI-101", "value": 31, "ts": %d},
			{"point": "TI-101", "value": 32, "ts": %d}, {"point": "TI-101", "value": 32, "ts": %d}]}`,
			old.UnixMilli(), old.Add(time.Second).UnixMilli(), now.Add(-time.Second).UnixMilli(), now.Add(-time.Second).UnixMilli()))
		s.Deliver(ctx, "GW-001", "readings", batch) // the last reading twice in one message
		s.Deliver(ctx, "GW-001", "readings", batch) // the replay after a reconnect
		res, err := s.IngestHTTP(ctx, "GW-001", secret, batch)
		if err != nil || res.Accepted != 4 || res.Rejected != 0 {
			t.Fatalf("HTTP replay: %+v %v (a reading sent again is accepted, not refused)", res, err)
		}
		if got := duplicatesDropped(t, s); got != 9 {
			t.Fatalf("%v readings dropped as sent again before the rules, want 9", got)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		wantStored := func(when string) {
			t.Helper()
			if n := count(t, e.db, `SELECT COUNT(*) FROM readings WHERE point_id = $1`, temp.ID); n != 3 {
				t.Fatalf("%s: %d readings stored, want 3", when, n)
			}
			if n := count(t, e.db, `SELECT COALESCE(SUM(n), 0) FROM reading_rollups WHERE point_id = $1 AND resolution = 'minute'`, temp.ID); n != 3 {
				t.Fatalf("%s: minute rollups count %d readings, want 3", when, n)
			}
		}
		wantStored("replayed")

		// After a restart the server no longer remembers the recent readings: the storage does.
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s2 := e.service(t, monitor.Config{})
		s2.Deliver(ctx, "GW-001", "readings", batch)
		if err := s2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		wantStored("replayed after a restart")

		// A reading another instance stored (the gateway reconnected there) and then sent here:
		// later than anything this instance stored for the point, so it goes the fast way and
		// is still stored once.
		later := now.Add(2 * time.Second).UnixMilli()
		if _, err := e.db.Exec(ctx, `INSERT INTO readings (point_id, ts, value) VALUES ($1, $2, 33)`, temp.ID, later); err != nil {
			t.Fatal(err)
		}
		s2.Deliver(ctx, "GW-001", "readings", []byte(fmt.Sprintf(`{"readings": [{"point": "TI-101", "value": 33, "ts": %d}]}`, later)))
		if err := s2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM readings WHERE point_id = $1`, temp.ID); n != 4 {
			t.Fatalf("%d readings stored, want 4", n)
		}
		if n := count(t, e.db, `SELECT COALESCE(SUM(n), 0) FROM reading_rollups WHERE point_id = $1 AND resolution = 'minute'`, temp.ID); n != 3 {
			t.Fatalf("minute rollups count %d readings, want 3 (the one stored elsewhere counts there)", n)
		}
		// And the next new readings are stored as usual: one of a point this instance stored
		// before (the fast way) beside one of a point it has not (the careful way), twice.
		next := []byte(fmt.Sprintf(`{"readings": [{"point": "TI-101", "value": 34, "ts": %d}, {"point": "GT-101", "value": 1, "ts": %d}]}`,
			later+1000, later+1000))
		s2.Deliver(ctx, "GW-001", "readings", next)
		s2.Deliver(ctx, "GW-001", "readings", next)
		if err := s2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM readings WHERE point_id = $1`, temp.ID); n != 5 {
			t.Fatalf("%d readings stored, want 5", n)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM readings WHERE point_id = $1`, gas.ID); n != 1 {
			t.Fatalf("%d gas readings stored, want 1", n)
		}
	})
}

package alert_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// pushMadeAt sends one change as a phone user whose clock reads at.
func (e *env) pushMadeAt(t *testing.T, at time.Time, user, coll, id, op string, kv map[string]any) syncproto.Result {
	t.Helper()
	f := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	clock := syncproto.NewClock("phone-"+user, func() time.Time { return at })
	resp, err := e.sync.Push(context.Background(), e.users[user], syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-" + user,
		Mutations: []syncproto.Mutation{{MutationID: yingji.NewID(), Collection: coll, ID: id, Op: op, HLC: clock.Now().String(), Fields: f}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; r.Status == syncproto.StatusRejected {
		t.Fatalf("push refused: %+v", r)
	}
	return resp.Results[0]
}

func at(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

func within(t *testing.T, what string, got, want time.Time, d time.Duration) {
	t.Helper()
	if diff := got.Sub(want); diff < -d || diff > d {
		t.Errorf("%s = %s, want %s ±%v (off by %v)", what, got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano), d, diff)
	}
}

// TestStepTimesBounded: each step on an alert keeps the time the person took it, bounded:
// never before the alert started (a clock that is slow), never after the server received it
// (a clock minutes fast, or a day fast and replaced by the server's stamp); the receipt time
// is kept beside it, and the statistics judge by the step's time.
func TestStepTimesBounded(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{AckTimeout: time.Minute, DisposeTimeout: 2 * time.Minute, CountyTimeout: time.Hour})
		now := time.Now()
		started := now.Add(-time.Minute).Truncate(time.Millisecond)
		e.apply(t, raise("a", "dv1", "p1", 1, 85, started), raise("b", "dv2", "p2", 1, 85, started), raise("c", "dv1", "p2", 1, 85, started))
		a, b, c := e.openAlert(t, "a").ID, e.openAlert(t, "b").ID, e.openAlert(t, "c").ID
		raised := time.Now()
		time.Sleep(1500 * time.Millisecond) // the phone acts, then syncs a while later
		now = time.Now()

		// A: acknowledged by a clock ten minutes slow: before the alert started → its start.
		e.pushMadeAt(t, now.Add(-10*time.Minute), "u-safety", "alerts", a, syncproto.OpUpdate, map[string]any{"status": "acknowledged"})
		got := e.get(t, a)
		within(t, "A acknowledged_at", at(t, "acknowledged_at", got.AcknowledgedAt), started, 0)
		within(t, "A acknowledged_received_at", at(t, "acknowledged_received_at", got.AcknowledgedReceivedAt), now, 3*time.Second)
		// ... then closed offline a second before the sync: kept.
		closed := raised.Add(200 * time.Millisecond)
		e.pushMadeAt(t, closed, "u-safety", "alerts", a, syncproto.OpUpdate, map[string]any{"status": "closed", "disposal_reason": "阀门误关"})
		got = e.get(t, a)
		within(t, "A closed_at", at(t, "closed_at", got.ClosedAt), closed, time.Millisecond)
		within(t, "A disposed_at", at(t, "disposed_at", got.DisposedAt), closed, time.Millisecond)
		within(t, "A closed_received_at", at(t, "closed_received_at", got.ClosedReceivedAt), now, 3*time.Second)
		if !e.svc.InTime(got) || !e.svc.AckedInTime(got) {
			t.Errorf("A handled in time by its step times, but InTime %v AckedInTime %v: %+v", e.svc.InTime(got), e.svc.AckedInTime(got), got)
		}

		// B and C: closed by clocks three minutes and a day fast: when received.
		for _, x := range []struct {
			id, user string
			skew     time.Duration
		}{{b, "u-safety2", 3 * time.Minute}, {c, "u-safety", 24 * time.Hour}} {
			before := time.Now()
			e.pushMadeAt(t, before.Add(x.skew), x.user, "alerts", x.id, syncproto.OpUpdate, map[string]any{"status": "false_alarm", "disposal_reason": "仪表校准"})
			got := e.get(t, x.id)
			ca := at(t, "closed_at", got.ClosedAt)
			if ca.Before(before.Add(-time.Millisecond)) || ca.After(time.Now()) || got.ClosedAt != got.ClosedReceivedAt {
				t.Errorf("closed by a clock %v fast: closed_at %s received %s, want the receipt", x.skew, got.ClosedAt, got.ClosedReceivedAt)
			}
		}

		// Actions: one made offline before the sync keeps its time; one dated before the alert
		// started counts at the start.
		commented := raised.Add(300 * time.Millisecond)
		e.pushMadeAt(t, commented, "u-safety2", "alert_actions", yingji.NewID(), syncproto.OpCreate,
			map[string]any{"alert_id": b, "kind": "comment", "text": "已到现场"})
		e.pushMadeAt(t, time.Now(), "u-safety2", "alert_actions", yingji.NewID(), syncproto.OpCreate,
			map[string]any{"alert_id": b, "kind": "comment", "text": "补记", "at": started.Add(-time.Hour).Format(time.RFC3339)})
		items, err := e.svc.Timeline(context.Background(), yingji.System, b)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range items {
			if it.Action == nil {
				continue
			}
			n++
			switch it.Action.Text {
			case "已到现场":
				within(t, "the comment's time", at(t, "at", it.At), commented, time.Millisecond)
				if it.ReceivedAt == "" || it.Action.ReceivedAt == "" {
					t.Errorf("the offline comment without its receipt time: %+v", it)
				}
			case "补记":
				within(t, "the back-dated comment's time", at(t, "at", it.At), started, 0)
			}
		}
		if n != 2 {
			t.Fatalf("timeline actions: %+v", items)
		}
	})
}

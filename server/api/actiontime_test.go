package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// pushMadeAt pushes one mutation as user, stamped by a device clock that reads at.
func (e *hzEnv) pushMadeAt(t *testing.T, at time.Time, user, coll, id, op string, kv map[string]any) syncproto.Result {
	t.Helper()
	if e.tokens[user] == "" {
		e.tokens[user] = e.s.LoginAs(t, user, apptest.Password, "mobile", "phone-"+user)
	}
	e.clocks[user] = syncproto.NewClock("phone-"+user, func() time.Time { return at })
	return e.push(t, user, coll, id, op, kv)
}

func (e *hzEnv) hazard(t *testing.T, id string) hazard.Hazard {
	t.Helper()
	var h hazard.Hazard
	want(t, e.s.Do(t, http.MethodGet, "/api/v1/hazards/"+id, e.s.Login(t, "admin"), nil), http.StatusOK, &h)
	return h
}

func parse3339(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

// nearTime fails unless got is within d of want.
func nearTime(t *testing.T, what string, got, want time.Time, d time.Duration) {
	t.Helper()
	if diff := got.Sub(want); diff < -d || diff > d {
		t.Errorf("%s = %s, want %s (±%v), off by %v", what, got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano), d, diff)
	}
}

// within fails unless got lies between lo and hi, give or take a second (times stored to the
// second). A bound the server takes from its receipt is checked against the moments just
// before and after the push, not against the test's start, which a loaded machine puts
// seconds earlier.
func within(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(lo.Add(-time.Second)) || got.After(hi.Add(time.Second)) {
		t.Errorf("%s = %s, want between %s and %s", what, got.UTC().Format(time.RFC3339Nano), lo.UTC().Format(time.RFC3339Nano), hi.UTC().Format(time.RFC3339Nano))
	}
}

// TestHazardActionTimes: a hazard reported offline keeps the time it was reported (the
// device's, from the mutation's stamp or an explicit reported_at), and every step keeps the
// time it was taken, bounded by what the server can trust: never after the server received
// it (a clock minutes fast, a far-future stamp or field), never before the hazard existed,
// at most syncsvc.MaxOffline old. The receipt time is kept beside it; the timeline shows both.
func TestHazardActionTimes(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		e := newHzEnv(t, s)
		now := time.Now()

		// Reported offline ten minutes ago, synced now.
		offline := yingji.NewID()
		made := now.Add(-10 * time.Minute)
		e.tokens["safety01"] = e.s.LoginAs(t, "safety01", apptest.Password, "mobile", "phone-safety01")
		sent := time.Now()
		e.ok(t, e.pushMadeAt(t, made, "safety01", "hazards", offline, "create", map[string]any{"title": "消防通道堵塞", "enterprise_id": e.ent}))
		answered := time.Now()
		h := e.hazard(t, offline)
		nearTime(t, "reported_at of the offline report", parse3339(t, "reported_at", h.ReportedAt), made, time.Second)
		within(t, "received_at of the offline report", parse3339(t, "received_at", h.ReceivedAt), sent, answered)

		// A clock three minutes fast (within the drift the server accepts) and one a day fast
		// (replaced by the server's stamp): both reports count as made when received.
		for _, skew := range []time.Duration{3 * time.Minute, 24 * time.Hour} {
			id := yingji.NewID()
			before := time.Now()
			e.ok(t, e.pushMadeAt(t, before.Add(skew), "safety01", "hazards", id, "create", map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent}))
			h := e.hazard(t, id)
			at := parse3339(t, "reported_at", h.ReportedAt)
			if at.After(time.Now()) || at.Before(before.Add(-time.Second)) {
				t.Errorf("a report from a clock %v fast: reported_at %s, want its receipt (%s)", skew, h.ReportedAt, before.UTC().Format(time.RFC3339))
			}
		}

		// An explicit reported_at: kept when plausible, bounded when in the future or too old.
		// (want: the time kept, or, for a bound taken from the receipt, how far before the
		// receipt it lies.)
		for _, c := range []struct {
			name       string
			sent       time.Time
			want       time.Time
			beforeRecv time.Duration
			fromRecv   bool
		}{
			{name: "an hour ago", sent: now.Add(-time.Hour), want: now.Add(-time.Hour)},
			{name: "tomorrow", sent: now.Add(24 * time.Hour), fromRecv: true},
			{name: "a year ago", sent: now.AddDate(-1, 0, 0), beforeRecv: syncsvc.MaxOffline, fromRecv: true},
		} {
			id := yingji.NewID()
			sent := time.Now()
			e.ok(t, e.pushMadeAt(t, sent, "safety01", "hazards", id, "create", map[string]any{"title": "应急照明损坏",
				"enterprise_id": e.ent, "reported_at": c.sent.UTC().Format(time.RFC3339)}))
			answered := time.Now()
			got := parse3339(t, "reported_at", e.hazard(t, id).ReportedAt)
			if c.fromRecv {
				within(t, "explicit reported_at "+c.name, got, sent.Add(-c.beforeRecv), answered.Add(-c.beforeRecv))
			} else {
				nearTime(t, "explicit reported_at "+c.name, got, c.want, time.Second)
			}
		}

		// Steps on the offline report: the start of the rectification stamped before the hazard
		// was reported (a clock two hours slow) counts as made at the report; a comment made
		// five minutes ago offline keeps its time.
		e.ok(t, e.pushMadeAt(t, made.Add(-2*time.Hour), "safety01", "hazards", offline, "update", map[string]any{"status": "rectifying"}))
		commented := now.Add(-5 * time.Minute)
		e.ok(t, e.pushMadeAt(t, commented, "township01", "hazard_actions", yingji.NewID(), "create",
			map[string]any{"hazard_id": offline, "kind": "comment", "text": "请尽快清理"}))
		// An action whose explicit time is before the report is raised to the report.
		e.ok(t, e.pushMadeAt(t, time.Now(), "township01", "hazard_actions", yingji.NewID(), "create",
			map[string]any{"hazard_id": offline, "kind": "comment", "text": "补记", "at": made.Add(-time.Hour).UTC().Format(time.RFC3339)}))

		var tl struct {
			Items []hazard.Event `json:"items"`
		}
		want(t, s.Do(t, http.MethodGet, "/api/v1/hazards/"+offline+"/timeline", s.Login(t, "admin"), nil), http.StatusOK, &tl)
		var report, assign *hazard.Event
		var comments []hazard.Event
		for i, ev := range tl.Items {
			switch {
			case ev.Kind == "created":
				report = &tl.Items[i]
			case ev.Status != nil && ev.Status.Step == hazard.StepRectify:
				assign = &tl.Items[i]
			case ev.Kind == "action":
				comments = append(comments, ev)
			}
		}
		if report == nil || assign == nil || len(comments) != 2 {
			t.Fatalf("timeline: %+v", tl.Items)
		}
		nearTime(t, "timeline: the report", report.At, made, time.Second)
		if report.ReceivedAt == nil {
			t.Errorf("timeline: the offline report has no receipt time: %+v", report)
		} else {
			within(t, "timeline: the report's receipt", *report.ReceivedAt, sent, answered)
		}
		nearTime(t, "timeline: the rectification stamped before the report", assign.At, made, time.Second)
		for _, c := range comments {
			switch c.Action.Text {
			case "请尽快清理":
				nearTime(t, "timeline: the offline comment", c.At, commented, time.Second)
				if c.ReceivedAt == nil {
					t.Errorf("timeline: the offline comment has no receipt time: %+v", c)
				}
			case "补记":
				nearTime(t, "timeline: the comment dated before the report", c.At, made, time.Second)
			}
		}
		for i := 1; i < len(tl.Items); i++ {
			if tl.Items[i].At.Before(tl.Items[i-1].At) {
				t.Errorf("timeline out of time order at %d: %+v", i, tl.Items)
				break
			}
		}
	})
}

// TestPatrolTimesBounded: a patrol keeps the start and finish the device recorded (an hour
// ago, offline), but one finished "tomorrow" by a clock far ahead counts as finished when the
// server received it, its duration kept; the hazard it raises is reported at that finish.
func TestPatrolTimesBounded(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		rp, _ := riskPoint(t, s)
		tok := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-g")
		clock := syncproto.NewClock("phone-g", nil)
		get := func(id string) (start, fin time.Time) {
			t.Helper()
			var a, b string
			if err := s.DB.QueryRow(context.Background(), `SELECT started_at, finished_at FROM patrols WHERE id = $1`, id).Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			return parse3339(t, "started_at", a), parse3339(t, "finished_at", b)
		}
		for _, c := range []struct {
			name      string
			fin, want time.Time
		}{
			{"offline an hour ago", time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)},
			{"by a clock a day ahead", time.Now().Add(24 * time.Hour), time.Now()},
		} {
			id := yingji.NewID()
			m := syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: id, Op: "create", HLC: clock.Now().String(),
				Fields: patrolFields(rp, 30.2232, 120.3513, c.fin.Add(-3*time.Minute), c.fin)}
			if r := push(t, s, tok, m); r[0].Status != "applied" {
				t.Fatalf("%s: push %+v", c.name, r)
			}
			start, fin := get(id)
			nearTime(t, c.name+": finished_at", fin, c.want, 5*time.Second)
			if d := fin.Sub(start); d != 3*time.Minute {
				t.Errorf("%s: the patrol lasted %v, want the 3 minutes recorded", c.name, d)
			}
			var reported string
			if err := s.DB.QueryRow(context.Background(), `SELECT reported_at FROM hazards WHERE id = $1`, patrol.HazardID(id, "m1")).Scan(&reported); err != nil {
				t.Fatal(err)
			}
			nearTime(t, c.name+": the raised hazard's reported_at", parse3339(t, "reported_at", reported), fin, time.Second)
		}
	})
}

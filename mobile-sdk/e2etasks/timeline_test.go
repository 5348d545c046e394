package e2etasks_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
)

// noAnchorJob: the test anchors itself (timeline.AnchorOpen), so a periodic run never
// interleaves with what it counts.
func noAnchorJob(m *app.Main) error { m.TimelineAnchorEvery = -1; return nil }

func TestTimelineSources(t *testing.T) {
	t.Parallel()
	runTimelineSources(t, apptest.Start(t, apptest.WithExtend(noAnchorJob)))
}

func TestTimelineSourcesPostgres(t *testing.T) {
	t.Parallel()
	runTimelineSources(t, apptest.StartPostgres(t, apptest.WithExtend(noAnchorJob)))
}

func anchors(t *testing.T, s *apptest.Server, incidentID string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM timeline_anchors WHERE incident_id = $1`, incidentID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runTimelineSources: a team's dispatch order with its steps and a live video recording with a
// gap become replay events; reading the timeline writes nothing; the periodic anchoring puts
// them on the chain, and verify detects an order's step time rewritten, a gap deleted and a
// video segment's hash replaced.
func runTimelineSources(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	f := newIncident(t, s)
	duty := s.Login(t, "duty01")
	base := "/api/v1/incidents/" + f.IncidentID

	// Headquarters dispatch team 1; it departs and arrives (the portal reports the steps).
	var o dispatch.Order
	want(t, s.Do(t, "POST", base+"/dispatch-orders", duty, map[string]any{"kind": "team", "resource_id": f.Team1, "to_address": "储罐区东门"}),
		http.StatusCreated, &o)
	for _, st := range []string{"departed", "arrived"} {
		want(t, s.Do(t, "POST", "/api/v1/dispatch-orders/"+o.ID+"/status", duty, map[string]string{"status": st}), 200, &o)
	}
	if o.Status != "arrived" || o.ArrivedAt == "" {
		t.Fatalf("order %+v", o)
	}

	// rescue02's phone streamed video for the incident: 3 minutes, away for 40 s in between, two
	// segments (rows as the recorder writes them).
	rec := yingji.NewID()
	t0 := time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Second)
	t1 := t0.Add(3 * time.Minute)
	if _, err := s.DB.Exec(ctx, `INSERT INTO video_recordings (id, stream_id, incident_id, publisher, publisher_name, org_path, started, ended, duration_ms, size, codecs)
		VALUES ($1, $2, $3, $4, '林队员', $5, $6, $7, 140000, 4096, 'avc1.42e01f')`, rec, yingji.NewID(), f.IncidentID, f.Rescue2, f.OrgPath, t0, t1); err != nil {
		t.Fatal(err)
	}
	for i, seg := range []struct{ from, to time.Time }{{t0, t0.Add(time.Minute)}, {t0.Add(100 * time.Second), t1}} {
		sum := strings.Repeat(string(rune('a'+i)), 64)
		if _, err := s.DB.Exec(ctx, `INSERT INTO video_segments (recording_id, idx, media_key, sha256, started, ended, duration_ms, bytes, codecs)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 2048, 'avc1.42e01f')`, rec, i, "originals/"+sum, sum, seg.from, seg.to, seg.to.Sub(seg.from).Milliseconds()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DB.Exec(ctx, `INSERT INTO video_gaps (recording_id, started, ended) VALUES ($1, $2, $3)`, rec, t0.Add(time.Minute), t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}

	var rp timeline.Replay
	want(t, s.Do(t, "GET", base+"/timeline?page_size=500", duty, nil), 200, &rp)
	byKey := map[string]timeline.Event{}
	for _, e := range rp.Items {
		byKey[e.Key] = e
	}
	given, dep, arr := byKey["order:"+o.ID], byKey["order:"+o.ID+":departed"], byKey["order:"+o.ID+":arrived"]
	if given.Kind != timeline.KindOrder || !strings.Contains(given.Title, "派遣队伍") || given.TeamID != f.Team1 || given.ActorName == "" ||
		dep.Kind != timeline.KindOrderStep || arr.Kind != timeline.KindOrderStep || !strings.Contains(arr.Title, "已到达现场") ||
		arr.Lat == nil || !(given.At <= dep.At && dep.At <= arr.At) {
		t.Fatalf("order events: %v", titles(rp.Items))
	}
	start, gap, end := byKey["video:"+rec], byKey["video:"+rec+":gap:"+itoa(t0.Add(time.Minute).UnixMilli())], byKey["video:"+rec+":ended"]
	if start.Kind != timeline.KindVideo || start.ActorName != "林队员" || gap.Kind != timeline.KindVideoGap || !strings.Contains(gap.Title, "40 秒") ||
		end.Kind != timeline.KindVideo || len(end.Media) != 2 || !(start.At < gap.At && gap.At < end.At) {
		t.Fatalf("video events: %v", titles(rp.Items))
	}
	if rp.Kinds[timeline.KindVideo] != 2 || rp.Kinds[timeline.KindOrderStep] != 2 {
		t.Fatalf("kinds %v", rp.Kinds)
	}
	// Reading the timeline writes nothing.
	if n := anchors(t, s, f.IncidentID); n != 0 {
		t.Fatalf("a GET of the timeline wrote %d anchors", n)
	}
	var v timeline.Verification
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	if !v.OK || v.Anchored != 0 || v.Unanchored != rp.Total || anchors(t, s, f.IncidentID) != 0 {
		t.Fatalf("verify before anchoring: %+v", v)
	}
	// The periodic anchoring puts every event on the chain, once.
	n, err := timeline.AnchorOpen(ctx, s.DB, time.Now())
	if err != nil || n < rp.Total {
		t.Fatalf("anchored %d of %d: %v", n, rp.Total, err)
	}
	if again, err := timeline.AnchorOpen(ctx, s.DB, time.Now()); err != nil || again != 0 {
		t.Fatalf("anchored again: %d %v", again, err)
	}
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	if !v.OK || v.Anchored != rp.Total || v.Unanchored != 0 {
		t.Fatalf("verify: %+v", v)
	}
	// Tampering: an arrival time rewritten, a gap deleted, a segment's hash replaced.
	if _, err := s.DB.Exec(ctx, `UPDATE dispatch_orders SET arrived_at = $1 WHERE id = $2`, t0.Format(time.RFC3339), o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM video_gaps WHERE recording_id = $1`, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(ctx, `UPDATE video_segments SET sha256 = $1 WHERE recording_id = $2 AND idx = 1`, strings.Repeat("f", 64), rec); err != nil {
		t.Fatal(err)
	}
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	problems := map[string]string{}
	for _, fd := range v.Findings {
		problems[fd.Key] = fd.Problem
	}
	if v.OK || len(v.Findings) != 3 || problems["order:"+o.ID+":arrived"] != "altered" || problems[gap.Key] != "deleted" || problems[end.Key] != "altered" {
		t.Fatalf("verify after tampering: %+v", v)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTimelineAnchorJob: the periodic job (river) anchors an open incident's timeline.
func TestTimelineAnchorJob(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.WithExtend(func(m *app.Main) error { m.TimelineAnchorEvery = 300 * time.Millisecond; return nil }))
	f := newIncident(t, s)
	deadline := time.Now().Add(20 * time.Second)
	for anchors(t, s, f.IncidentID) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the anchoring job did not anchor the incident in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTimelineAnchorDue: the periodic anchoring derives only the incidents whose part of the
// change log moved since their last anchoring; a source outside the change log (a recording)
// joins the chain at the next sweep.
func TestTimelineAnchorDue(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t, apptest.WithExtend(noAnchorJob))
			} else {
				s = apptest.StartPostgres(t, apptest.WithExtend(noAnchorJob))
			}
			ctx := context.Background()
			f := newIncident(t, s)
			now := time.Now()
			first, err := timeline.AnchorDue(ctx, s.DB, now, timeline.AnchorSweep)
			if err != nil || first.Open == 0 || first.Derived != first.Open || anchors(t, s, f.IncidentID) == 0 {
				t.Fatalf("first run: %+v %v (anchors %d)", first, err, anchors(t, s, f.IncidentID))
			}
			if r, err := timeline.AnchorDue(ctx, s.DB, now.Add(time.Minute), timeline.AnchorSweep); err != nil || r.Derived != 0 || r.Events != 0 || r.Open != first.Open {
				t.Fatalf("nothing changed, yet: %+v %v", r, err)
			}
			// Headquarters give rescue01 a task: that incident alone is derived again.
			before := anchors(t, s, f.IncidentID)
			duty := s.Login(t, "duty01")
			want(t, s.Do(t, "POST", "/api/v1/incidents/"+f.IncidentID+"/tasks", duty, map[string]any{"title": "封控下风向道路", "assignee_id": f.Rescue1}),
				http.StatusCreated, nil)
			r, err := timeline.AnchorDue(ctx, s.DB, now.Add(2*time.Minute), timeline.AnchorSweep)
			if err != nil || r.Derived != 1 || r.Events < 1 || anchors(t, s, f.IncidentID) != before+r.Events {
				t.Fatalf("after a task: %+v %v (anchors %d → %d)", r, err, before, anchors(t, s, f.IncidentID))
			}
			// A recording (not in the change log) waits for the sweep.
			before = anchors(t, s, f.IncidentID)
			t0 := now.UTC().Add(-10 * time.Minute).Truncate(time.Second)
			if _, err := s.DB.Exec(ctx, `INSERT INTO video_recordings (id, stream_id, incident_id, publisher, publisher_name, org_path, started, ended, duration_ms, size, codecs)
				VALUES ($1, $2, $3, $4, '林队员', $5, $6, $7, 60000, 4096, 'avc1.42e01f')`, yingji.NewID(), yingji.NewID(), f.IncidentID, f.Rescue2, f.OrgPath, t0, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if r, err := timeline.AnchorDue(ctx, s.DB, now.Add(3*time.Minute), timeline.AnchorSweep); err != nil || r.Derived != 0 || anchors(t, s, f.IncidentID) != before {
				t.Fatalf("before the sweep: %+v %v", r, err)
			}
			r, err = timeline.AnchorDue(ctx, s.DB, now.Add(timeline.AnchorSweep+3*time.Minute), timeline.AnchorSweep)
			if err != nil || r.Derived != r.Open || anchors(t, s, f.IncidentID) <= before {
				t.Fatalf("the sweep: %+v %v (anchors %d → %d)", r, err, before, anchors(t, s, f.IncidentID))
			}
		})
	}
}

package e2etasks_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/assess"
	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
)

func TestResponders(t *testing.T) {
	t.Parallel()
	runResponders(t, apptest.Start(t))
}

func TestRespondersPostgres(t *testing.T) {
	t.Parallel()
	runResponders(t, apptest.StartPostgres(t))
}

// runResponders: headquarters give two rescue members a task each; their phones get them,
// go offline, accept, set out, arrive, check in with GPS, send feedback with photos, finish;
// back online everything lands once, in order, on the timeline, and verify detects a row
// tampered and a row deleted with SQL.
func runResponders(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	f := newIncident(t, s)
	duty := s.Login(t, "duty01")
	base := "/api/v1/incidents/" + f.IncidentID

	// Headquarters give the tasks (one to each member) ...
	var t1, t2 task.Task
	want(t, s.Do(t, "POST", base+"/tasks", duty, map[string]any{"title": "关闭储罐区进料阀，设置警戒区", "assignee_id": f.Rescue1,
		"location": map[string]float64{"lat": 30.2231, "lng": 120.3512}}), http.StatusCreated, &t1)
	want(t, s.Do(t, "POST", base+"/tasks", duty, map[string]any{"title": "下风向 500 米人员疏散", "assignee_id": f.Rescue2}), http.StatusCreated, &t2)
	if t1.Status != task.StatusAssigned || t1.TeamID != f.Team1 || t1.AssignedBy == "" || t1.Assignee != "陈队员" {
		t.Fatalf("task: %+v", t1)
	}
	// ... which a rescue member cannot do, nor can he give a task to an unknown team.
	r1tok := s.Login(t, "rescue01")
	apptest.WantError(t, s.Do(t, "POST", base+"/tasks", r1tok, map[string]any{"title": "x", "assignee_id": f.Rescue1}), 403, "sync.forbidden")
	apptest.WantError(t, s.Do(t, "POST", base+"/tasks", duty, map[string]any{"title": "x", "team_id": yingji.NewID()}), 400, "sync.bad_value")
	apptest.WantError(t, s.Do(t, "POST", base+"/tasks", duty, map[string]any{"title": "  ", "team_id": f.Team1}), 400, "sync.missing_field")

	// Both phones sync while in reach, then lose the network.
	proxy := apptest.NewCutProxy(t, s.URL)
	dir := t.TempDir()
	phones := map[string]string{"rescue01": filepath.Join(dir, "r1.db"), "rescue02": filepath.Join(dir, "r2.db")}
	mine := map[string]string{"rescue01": t1.ID, "rescue02": t2.ID}
	for u, db := range phones {
		mustField(t, db, "login", "-server", proxy.URL, "-user", u, "-password", apptest.Password)
		mustField(t, db, "sync")
		out := mustField(t, db, "tasks", "-incident", f.IncidentID).([]any)
		if len(out) != 1 || out[0].(map[string]any)["id"] != mine[u] {
			t.Fatalf("%s's tasks: %v", u, out)
		}
	}
	proxy.SetDown(true)

	offlineStart := time.Now().UTC()
	photos := map[string][]string{}
	for i, u := range []string{"rescue01", "rescue02"} {
		db := phones[u]
		id := mine[u]
		mustField(t, db, "task", "accept", id)
		mustField(t, db, "task", "go", id)
		mustField(t, db, "task", "arrive", id)
		lat, lng := "30.2235", "120.3509"
		if i == 1 {
			lat, lng = "30.2190", "120.3470"
		}
		mustField(t, db, "checkin", f.IncidentID, "-lat", lat, "-lng", lng, "-note", "全队 6 人到达")
		var files []string
		for k := range 2 {
			b := photo(t, uint64(10*i+k), 320, 240)
			p := filepath.Join(dir, u+"-"+string(rune('a'+k))+".jpg")
			os.WriteFile(p, b, 0o600)
			files = append(files, p)
			photos[u] = append(photos[u], sum(b))
		}
		out := mustField(t, db, "feedback", f.IncidentID, "-text", "现场已控制，无人员伤亡", "-photo", files[0], "-photo", files[1],
			"-lat", lat, "-lng", lng, "-task", id).(map[string]any)
		if len(out["media"].([]any)) != 2 {
			t.Fatalf("feedback: %v", out)
		}
		mustField(t, db, "task", "done", id)
		if code, _, _ := field(t, db, "task", "refuse", id); code != 1 {
			t.Fatalf("refuse without a reason: exit %d, want 1", code)
		}
		if code, _, _ := field(t, db, "sync"); code != 3 {
			t.Fatalf("sync offline: exit %d, want 3", code)
		}
	}
	offlineEnd := time.Now().UTC()
	time.Sleep(50 * time.Millisecond)

	// Back in reach: everything goes up, photos included; a second sync sends nothing.
	proxy.SetDown(false)
	for u, db := range phones {
		st := mustField(t, db, "sync").(map[string]any)
		if st["rejected"].(float64) != 0 || st["media_uploaded"].(float64) != 2 {
			t.Fatalf("%s sync: %v", u, st)
		}
		st = mustField(t, db, "sync").(map[string]any)
		if st["pushed"].(float64) != 0 {
			t.Fatalf("%s second sync pushed again: %v", u, st)
		}
	}

	// The portal's lists.
	var tasks yingji.Page[task.Task]
	want(t, s.Do(t, "GET", base+"/tasks", duty, nil), 200, &tasks)
	if tasks.Total != 2 {
		t.Fatalf("tasks: %+v", tasks)
	}
	for _, tk := range tasks.Items {
		var got []string
		for _, st := range tk.Steps {
			got = append(got, st.Status)
			at, _ := time.Parse(time.RFC3339, st.At)
			// The action time is when the responder acted, offline, not when it synced.
			if at.Before(offlineStart.Add(-time.Second)) || at.After(offlineEnd.Add(time.Second)) || st.ReceivedAt < st.At {
				t.Errorf("step %s at %s received %s, offline %s–%s", st.Status, st.At, st.ReceivedAt, offlineStart, offlineEnd)
			}
		}
		if tk.Status != task.StatusDone || !slices.Equal(got, []string{"accepted", "en_route", "on_scene", "done"}) {
			t.Fatalf("task %s: %s %v", tk.Title, tk.Status, got)
		}
	}
	var checkins yingji.Page[task.Checkin]
	want(t, s.Do(t, "GET", base+"/checkins", duty, nil), 200, &checkins)
	if checkins.Total != 2 || checkins.Items[0].Location == nil || checkins.Items[0].TeamName == "" {
		t.Fatalf("checkins: %+v", checkins)
	}
	var fb yingji.Page[task.FeedbackItem]
	want(t, s.Do(t, "GET", base+"/feedback", duty, nil), 200, &fb)
	if fb.Total != 2 {
		t.Fatalf("feedback: %+v", fb)
	}
	for _, it := range fb.Items {
		u := "rescue01"
		if it.UserID == f.Rescue2 {
			u = "rescue02"
		}
		if !slices.Equal(sortCopy(it.Photos), sortCopy(photos[u])) || it.Location == nil {
			t.Fatalf("feedback of %s: %+v", u, it)
		}
		// The photos are stored and the commander may fetch them.
		if r := s.Do(t, "GET", "/api/v1/media/"+it.Photos[0], duty, nil); r.Status != 200 {
			t.Fatalf("photo: %d %s", r.Status, r.Body)
		}
	}
	// Outside the incident's scope: 404.
	apptest.WantError(t, s.Do(t, "GET", base+"/feedback", s.Login(t, "township02"), nil), 404, "incident.not_found")

	// A finished task cannot be cancelled; an open one can, with a reason.
	apptest.WantError(t, s.Do(t, "POST", "/api/v1/tasks/"+t1.ID+"/cancel", duty, map[string]string{"reason": "x"}), 409, "sync.bad_transition")
	var t3 task.Task
	want(t, s.Do(t, "POST", base+"/tasks", duty, map[string]any{"title": "协助转运伤员", "team_id": f.Team2}), http.StatusCreated, &t3)
	apptest.WantError(t, s.Do(t, "POST", "/api/v1/tasks/"+t3.ID+"/cancel", duty, map[string]string{}), 400, "sync.missing_field")
	want(t, s.Do(t, "POST", "/api/v1/tasks/"+t3.ID+"/cancel", duty, map[string]string{"reason": "伤员已由 120 转运"}), 200, &t3)
	if t3.Status != task.StatusCancelled || len(t3.Steps) != 1 || t3.Steps[0].Reason != "伤员已由 120 转运" {
		t.Fatalf("cancelled: %+v", t3)
	}

	// The timeline: every event once, in order.
	var rp timeline.Replay
	want(t, s.Do(t, "GET", base+"/timeline?page_size=500", duty, nil), 200, &rp)
	// incident + 3 tasks given + 2×4 steps + 1 cancellation + 2 check-ins + 2 feedback
	if rp.Total != 1+3+8+1+2+2 || len(rp.Items) != rp.Total {
		t.Fatalf("timeline: %d events: %v", rp.Total, titles(rp.Items))
	}
	seen := map[string]bool{}
	for i, e := range rp.Items {
		if seen[e.Key] {
			t.Fatalf("event twice: %s", e.Key)
		}
		seen[e.Key] = true
		if i > 0 && e.At < rp.Items[i-1].At {
			t.Fatalf("out of order: %v", titles(rp.Items))
		}
	}
	for _, id := range []string{t1.ID, t2.ID} {
		idx := func(k string) int {
			return slices.IndexFunc(rp.Items, func(e timeline.Event) bool { return e.Key == k })
		}
		if !(idx("task:"+id) < idx("task:"+id+":0") && idx("task:"+id+":0") < idx("task:"+id+":1") && idx("task:"+id+":2") < idx("task:"+id+":3")) {
			t.Fatalf("steps of %s out of order: %v", id, titles(rp.Items))
		}
	}
	if rp.Kinds[timeline.KindCheckin] != 2 || len(rp.Positions) < 4 {
		t.Fatalf("kinds %v positions %d", rp.Kinds, len(rp.Positions))
	}
	// Filters: by kind, by actor.
	want(t, s.Do(t, "GET", base+"/timeline?kind=feedback,checkin&actor="+f.Rescue2, duty, nil), 200, &rp)
	if rp.Total != 2 {
		t.Fatalf("filtered: %v", titles(rp.Items))
	}
	apptest.WantError(t, s.Do(t, "GET", base+"/timeline?kind=nonsense", duty, nil), 400, "timeline.bad_kind")

	// The assessment report, pre-filled from the timeline's figures, edited, made final, printed.
	apptest.WantError(t, s.Do(t, "POST", base+"/assessments", r1tok, nil), 403, "assessment.forbidden")
	var as assess.Assessment
	want(t, s.Do(t, "POST", base+"/assessments", duty, nil), http.StatusCreated, &as)
	fg := as.Figures
	if as.Status != "draft" || fg.Tasks != 3 || fg.TasksDone != 2 || fg.TasksOnTime != 2 || fg.TasksCancelled != 1 || fg.Checkins != 2 ||
		fg.Feedback != 2 || fg.ToArrivalMin <= 0 || !strings.Contains(as.Content.Response.Text, "共下达任务 3 项，完成 2 项") {
		t.Fatalf("assessment: %+v", as)
	}
	apptest.WantError(t, s.Do(t, "POST", "/api/v1/assessments/"+as.ID+"/finalize", duty, nil), 400, "assessment.missing_causes")
	content := as.Content
	content.Causes.Text = "储罐进料阀密封老化导致液氯泄漏"
	content.Losses.IndirectWan = 12.5
	want(t, s.Do(t, "PATCH", "/api/v1/assessments/"+as.ID, duty, map[string]any{"content": content}), 200, &as)
	want(t, s.Do(t, "POST", "/api/v1/assessments/"+as.ID+"/finalize", duty, nil), 200, &as)
	if as.Status != "final" || as.FinalizedBy == "" {
		t.Fatalf("final: %+v", as)
	}
	apptest.WantError(t, s.Do(t, "PATCH", "/api/v1/assessments/"+as.ID, duty, map[string]any{"title": "x"}), 409, "assessment.final")
	if r := s.Do(t, "GET", "/api/v1/assessments/"+as.ID+"/export.docx", duty, nil); r.Status != 200 || !strings.HasPrefix(string(r.Body), "PK") {
		t.Fatalf("docx: %d", r.Status)
	}
	if r := s.Do(t, "GET", "/api/v1/assessments/"+as.ID+"/export.pdf", duty, nil); !(r.Status == 200 && strings.HasPrefix(string(r.Body), "%PDF")) && r.Status != 409 {
		t.Fatalf("pdf: %d %s", r.Status, r.Body)
	}
	var ap yingji.Page[assess.Assessment]
	want(t, s.Do(t, "GET", "/api/v1/assessments?incident_id="+f.IncidentID, duty, nil), 200, &ap)
	if ap.Total != 1 {
		t.Fatalf("assessments: %+v", ap)
	}

	// Verify: intact ...
	var v timeline.Verification
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	if !v.OK || v.Anchored != 17 || v.Unanchored != 0 {
		t.Fatalf("verify: %+v", v)
	}
	// ... a feedback text altered and a check-in deleted behind the application's back ...
	if _, err := s.DB.Exec(ctx, `UPDATE feedback SET text = '现场情况良好' WHERE user_id = $1`, f.Rescue1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM checkins WHERE user_id = $1`, f.Rescue2); err != nil {
		t.Fatal(err)
	}
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	problems := map[string]string{}
	for _, fd := range v.Findings {
		problems[fd.Kind] = fd.Problem
	}
	if v.OK || len(v.Findings) != 2 || problems["feedback"] != "altered" || problems["checkin"] != "deleted" {
		t.Fatalf("verify after tampering: %+v", v)
	}
	// ... and a step's time rewritten in the task's JSON.
	if _, err := s.DB.Exec(ctx, `UPDATE tasks SET steps = REPLACE(steps, '"done"', '"on_scene"') WHERE id = $1`, t2.ID); err != nil {
		t.Fatal(err)
	}
	want(t, s.Do(t, "GET", base+"/timeline/verify", duty, nil), 200, &v)
	if len(v.Findings) != 3 {
		t.Fatalf("verify after rewriting a step: %+v", v)
	}
}

func sortCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func titles(evs []timeline.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.At + " " + e.Kind + " " + e.Title + "\n")
	}
	return b.String()
}

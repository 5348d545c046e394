package demo_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/demo"
)

// base is where the test servers' clock starts (as the app's demo history tests).
var base = time.Date(2026, 11, 30, 10, 0, 0, 0, demo.Zone)

func clock() func() time.Time {
	t0 := time.Now()
	return func() time.Time { return base.Add(time.Since(t0)) }
}

type incidentRow struct {
	ID            string `json:"id"`
	Code          string `json:"code"`
	Title         string `json:"title"`
	Status        string `json:"status"`
	ResponseLevel int    `json:"response_level"`
	Source        string `json:"source"`
	AlertID       string `json:"alert_id"`
	Exercise      bool   `json:"exercise"`
	TerminatedAt  string `json:"terminated_at"`
}

type event struct {
	Key   string `json:"key"`
	Kind  string `json:"kind"`
	At    string `json:"at"`
	Actor string `json:"actor_name"`
	Title string `json:"title"`
}

func get(t *testing.T, s *apptest.Server, token, path string, v any) {
	t.Helper()
	r := s.Do(t, http.MethodGet, path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	r.JSON(t, v)
}

// TestDemoIncidents: on both engines the first start shows the past incident with its whole
// chain (alert → incident → plan → approval → two teams → tasks, check-in, feedback, chat →
// terminated → final assessment) and the incident still under way; both engines make the same
// replay.
func TestDemoIncidents(t *testing.T) {
	replays := map[string][]string{}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			opts := []apptest.Option{apptest.WithDemoHistory(), apptest.WithClock(clock())}
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t, opts...)
			} else {
				s = apptest.StartPostgres(t, opts...)
			}
			replays[engine] = checkIncidents(t, s)
		})
	}
	a, b := replays["sqlite"], replays["postgres"]
	if a != nil && b != nil {
		if len(a) != len(b) {
			t.Fatalf("the past incident's replay has %d events on SQLite, %d on PostgreSQL", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("replay event %d: SQLite %q, PostgreSQL %q", i, a[i], b[i])
			}
		}
	}
}

// checkIncidents checks what the portal shows of the two incidents and returns the past
// incident's replay (the codes, then time, kind, actor and title of every event, sorted).
func checkIncidents(t *testing.T, s *apptest.Server) []string {
	admin := s.Login(t, "admin")
	var list struct {
		Items []incidentRow `json:"items"`
		Total int           `json:"total"`
	}
	get(t, s, admin, "/api/v1/incidents?page_size=50", &list)
	if list.Total != 2 {
		t.Fatalf("incidents: %d, want 2: %+v", list.Total, list.Items)
	}
	byTitle := map[string]incidentRow{}
	for _, x := range list.Items {
		byTitle[x.Title] = x
	}
	past, active := byTitle[demo.ChainIncidentTitle], byTitle[demo.ActiveIncidentTitle]
	if past.Status != "terminated" || past.Source != "alert" || past.AlertID == "" || past.ResponseLevel != 3 || past.Exercise {
		t.Errorf("past incident: %+v, want terminated, from an alert, level 3, not an exercise", past)
	}
	if active.Status != "responding" || active.ResponseLevel != 4 {
		t.Errorf("active incident: %+v, want responding at level 4", active)
	}

	checkInboxes(t, s, past, active)

	// The replay: the chain's kinds in order, every event once, times in order.
	var replay struct {
		Items []event `json:"items"`
		Total int     `json:"total"`
	}
	get(t, s, admin, "/api/v1/incidents/"+past.ID+"/timeline?page_size=500", &replay)
	if replay.Total != len(replay.Items) {
		t.Fatalf("timeline: %d of %d events on one page", len(replay.Items), replay.Total)
	}
	want := []string{"alert.event", "incident.reported", "response.proposed", "response.decided", "message", "task.assigned",
		"task.step", "checkin", "feedback", "response.proposed", "incident.terminated"}
	// (the termination's approval and the incident's end are the same instant: either comes first)
	seen, kinds := map[string]bool{}, map[string]int{}
	next := 0
	prev := ""
	for _, e := range replay.Items {
		if seen[e.Key] {
			t.Errorf("event %s twice", e.Key)
		}
		seen[e.Key] = true
		if e.At < prev {
			t.Errorf("event %s %s at %s before the previous one (%s)", e.Kind, e.Title, e.At, prev)
		}
		prev = e.At
		if next < len(want) && e.Kind == want[next] {
			next++
		}
		kinds[e.Kind]++
	}
	if kinds["response.proposed"] != 2 || kinds["response.decided"] != 2 {
		t.Errorf("response steps: %d proposed, %d decided; want the start and the termination, both decided", kinds["response.proposed"], kinds["response.decided"])
	}
	if next < len(want) {
		var all []string
		for _, e := range replay.Items {
			all = append(all, e.Kind)
		}
		t.Errorf("timeline lacks %q (in order %v); it has %v", want[next], want, all)
	}
	var v struct {
		OK       bool  `json:"ok"`
		Anchored int   `json:"anchored"`
		Findings []any `json:"findings"`
	}
	get(t, s, admin, "/api/v1/incidents/"+past.ID+"/timeline/verify", &v)
	if !v.OK || v.Anchored == 0 || len(v.Findings) != 0 {
		t.Errorf("timeline verification: %+v, want ok with anchored events", v)
	}

	// Dispatch orders: two teams went and came back; one team is on its way to the typhoon.
	var orders struct {
		Items []struct {
			ResourceName string `json:"resource_name"`
			Status       string `json:"status"`
			ArrivedAt    string `json:"arrived_at"`
		} `json:"items"`
	}
	get(t, s, admin, "/api/v1/incidents/"+past.ID+"/dispatch-orders", &orders)
	if len(orders.Items) != 2 {
		t.Fatalf("past dispatch orders: %+v, want 2", orders.Items)
	}
	for _, o := range orders.Items {
		if o.Status != "returned" || o.ArrivedAt == "" {
			t.Errorf("past order %+v: want arrived and returned", o)
		}
	}
	get(t, s, admin, "/api/v1/incidents/"+active.ID+"/dispatch-orders", &orders)
	if len(orders.Items) != 1 || orders.Items[0].Status != "departed" {
		t.Errorf("active dispatch orders: %+v, want one departed", orders.Items)
	}
	var tasks struct {
		Items []struct {
			Title  string `json:"title"`
			Status string `json:"status"`
		} `json:"items"`
	}
	get(t, s, admin, "/api/v1/incidents/"+past.ID+"/tasks", &tasks)
	if len(tasks.Items) != 2 || tasks.Items[0].Status != "done" || tasks.Items[1].Status != "done" {
		t.Errorf("past tasks: %+v, want two done", tasks.Items)
	}
	var feedback struct {
		Items []struct {
			Photos []string `json:"photos"`
		} `json:"items"`
	}
	get(t, s, admin, "/api/v1/incidents/"+past.ID+"/feedback", &feedback)
	if len(feedback.Items) != 2 || len(feedback.Items[0].Photos)+len(feedback.Items[1].Photos) != 3 {
		t.Errorf("feedback: %+v, want two with three photos", feedback.Items)
	}

	// The assessment is final.
	var reports struct {
		Items []struct {
			IncidentID string `json:"incident_id"`
			Status     string `json:"status"`
		} `json:"items"`
	}
	get(t, s, admin, "/api/v1/assessments", &reports)
	if len(reports.Items) != 1 || reports.Items[0].IncidentID != past.ID || reports.Items[0].Status != "final" {
		t.Errorf("assessments: %+v, want the past incident's, final", reports.Items)
	}

	// The statistics count both (neither is an exercise).
	var st struct {
		Total struct {
			Incidents int `json:"incidents"`
			Injured   int `json:"injured"`
		} `json:"total"`
	}
	get(t, s, admin, "/api/v1/incidents/stats?from=2026-11-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00", &st)
	if st.Total.Incidents != 2 || st.Total.Injured != 2 {
		t.Errorf("incident statistics: %+v, want 2 incidents, 2 injured", st.Total)
	}
	// Events at the same instant are ordered by their keys, which hold row ids: compare as sets.
	var evs []string
	for _, e := range replay.Items {
		evs = append(evs, e.At+" "+e.Kind+" "+e.Actor+" "+e.Title)
	}
	slices.Sort(evs)
	return append([]string{past.Code, active.Code}, evs...)
}

type notification struct {
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	RefID     string `json:"ref_id"`
	Link      string `json:"link"`
	CreatedAt string `json:"created_at"`
	ReadAt    string `json:"read_at"`
}

// responseKinds are the kinds of notification the response steps write.
var responseKinds = []string{"response_proposed", "response_decided", "incident_group", "incident_ended"}

// checkInboxes: the past approvals left in leader01's inbox the three steps proposed to him
// and in duty01's the three decisions, as a live approval does, each linked to its incident,
// written at the step's time and read since (the history is the past).
func checkInboxes(t *testing.T, s *apptest.Server, past, active incidentRow) {
	t.Helper()
	for _, c := range []struct {
		user, kind string
		want       int
	}{{"leader01", "response_proposed", 3}, {"duty01", "response_decided", 3}} {
		var page struct {
			Items []notification `json:"items"`
			Total int            `json:"total"`
		}
		get(t, s, s.Login(t, c.user), "/api/v1/notifications?page_size=200", &page)
		byIncident := map[string]int{}
		for _, n := range page.Items {
			if !slices.Contains(responseKinds, n.Kind) {
				continue
			}
			if n.ReadAt == "" || n.ReadAt < n.CreatedAt || n.CreatedAt >= base.UTC().Format(time.RFC3339) {
				t.Errorf("%s: notification %s %q created %s, read %q: want written in the history and read", c.user, n.Kind, n.Title, n.CreatedAt, n.ReadAt)
			}
			if n.Kind != c.kind {
				continue
			}
			switch n.Link {
			case "/command?id=" + past.ID:
				byIncident[past.Title]++
			case "/command?id=" + active.ID:
				byIncident[active.Title]++
			default:
				t.Errorf("%s: notification %q links %q", c.user, n.Title, n.Link)
			}
		}
		// the past incident: start and termination; the active one: its start
		if byIncident[past.Title]+byIncident[active.Title] != c.want || byIncident[past.Title] != 2 || byIncident[active.Title] != 1 {
			t.Errorf("%s: %s notifications by incident %v, want 2 of the past one and 1 of the active one", c.user, c.kind, byIncident)
		}
	}
}

// incidentTables are the response side's tables a restart must leave alone.
var incidentTables = []string{"incidents", "response_actions", "incident_members", "incident_messages", "dispatch_orders", "tasks",
	"checkins", "feedback", "assessments", "timeline_anchors"}

func counts(t *testing.T, s *apptest.Server) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range incidentTables {
		var n int
		if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	var n int
	if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM notifications WHERE kind IN ($1, $2, $3, $4)`,
		responseKinds[0], responseKinds[1], responseKinds[2], responseKinds[3]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["notifications"] = n
	return out
}

// TestDemoIncidentsOnce: a second start on the same data adds no incident, order, task or
// assessment.
func TestDemoIncidentsOnce(t *testing.T) {
	dir := t.TempDir()
	onDir := apptest.WithConfig(func(c *config.Config) { c.DataDir = dir })
	var first map[string]int
	t.Run("first", func(t *testing.T) {
		s := apptest.Start(t, apptest.WithDemoHistory(), apptest.WithClock(clock()), onDir)
		first = counts(t, s)
		for _, table := range append(incidentTables, "notifications") {
			if first[table] == 0 {
				t.Errorf("no rows in %s after the first start", table)
			}
		}
	})
	t.Run("second", func(t *testing.T) {
		s := apptest.Start(t, apptest.WithDemoHistory(), onDir)
		got := counts(t, s)
		// The anchoring job may anchor more of the still open incident's chain after a restart;
		// anchors are the job's work, not the demo's, and they never go away.
		if got["timeline_anchors"] < first["timeline_anchors"] {
			t.Errorf("anchors went from %d to %d", first["timeline_anchors"], got["timeline_anchors"])
		}
		delete(got, "timeline_anchors")
		want := maps.Clone(first)
		delete(want, "timeline_anchors")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("a second start changed the response side: %v, was %v", got, want)
		}
	})
}

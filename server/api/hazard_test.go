package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// hzEnv pushes raw sync mutations as the demo users.
type hzEnv struct {
	s      *apptest.Server
	ent    string // safety01's enterprise
	tokens map[string]string
	clocks map[string]*syncproto.Clock
}

func newHzEnv(t *testing.T, s *apptest.Server) *hzEnv {
	e := &hzEnv{s: s, tokens: map[string]string{}, clocks: map[string]*syncproto.Clock{}}
	if err := s.DB.QueryRow(context.Background(), `SELECT enterprise_id FROM users WHERE username = 'safety01'`).Scan(&e.ent); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hzEnv) userID(t *testing.T, username string) string {
	var id string
	if err := e.s.DB.QueryRow(context.Background(), `SELECT id FROM users WHERE username = $1`, username).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// push sends one mutation as user and returns its answer.
func (e *hzEnv) push(t *testing.T, user, coll, id, op string, kv map[string]any) syncproto.Result {
	t.Helper()
	if e.tokens[user] == "" {
		e.tokens[user] = e.s.LoginAs(t, user, apptest.Password, "mobile", "phone-"+user)
		e.clocks[user] = syncproto.NewClock("phone-"+user, nil)
	}
	f := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	req := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-" + user, Mutations: []syncproto.Mutation{
		{MutationID: yingji.NewID(), Collection: coll, ID: id, Op: op, HLC: e.clocks[user].Now().String(), Fields: f}}}
	var resp syncproto.PushResponse
	want(t, e.s.Do(t, "POST", "/api/v1/sync/push", e.tokens[user], req), http.StatusOK, &resp)
	if len(resp.Results) != 1 {
		t.Fatalf("results %+v", resp.Results)
	}
	return resp.Results[0]
}

func (e *hzEnv) ok(t *testing.T, r syncproto.Result) {
	t.Helper()
	if r.Status != syncproto.StatusApplied && r.Status != syncproto.StatusMerged {
		t.Fatalf("refused: %+v", r)
	}
}

func (e *hzEnv) refused(t *testing.T, r syncproto.Result, code string) {
	t.Helper()
	if r.Status != syncproto.StatusRejected || r.Code != code || !strings.ContainsFunc(r.Message, func(c rune) bool { return c >= 0x4e00 && c <= 0x9fff }) {
		t.Fatalf("result %+v, want rejected %s with a Chinese message", r, code)
	}
}

const hzPhoto = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// the data each move needs
func (e *hzEnv) move(t *testing.T, to string) map[string]any {
	switch to {
	case "assigned":
		return map[string]any{"status": to, "deadline": "2030-06-30T18:00:00+08:00", "rectifier_id": e.userID(t, "safety01")}
	case "submitted":
		return map[string]any{"status": to, "photos": []string{hzPhoto}}
	}
	return map[string]any{"status": to}
}

// hazardAt creates a hazard (by safety01) and moves it along by the right roles to state.
func (e *hzEnv) hazardAt(t *testing.T, state, level string) string {
	t.Helper()
	id := yingji.NewID()
	e.ok(t, e.push(t, "safety01", "hazards", id, "create", map[string]any{"title": "消防通道堵塞", "enterprise_id": e.ent, "level": level}))
	path := map[string][]struct{ user, to string }{
		"reported":   nil,
		"assigned":   {{"township01", "assigned"}},
		"rectifying": {{"township01", "assigned"}, {"safety01", "rectifying"}},
		"submitted":  {{"township01", "assigned"}, {"safety01", "rectifying"}, {"safety01", "submitted"}},
	}[state]
	for _, p := range path {
		e.ok(t, e.push(t, p.user, "hazards", id, "update", e.move(t, p.to)))
	}
	return id
}

// TestHazardLoop: the closed loop through sync by the right roles, on both engines; every
// step is on the timeline in order with who took it; the portal lists and shows the hazard.
func TestHazardLoop(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		e := newHzEnv(t, s)
		id := yingji.NewID()
		e.ok(t, e.push(t, "safety01", "hazards", id, "create", map[string]any{"title": "储罐区静电接地断开", "enterprise_id": e.ent}))
		e.refused(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "assigned", "rectifier_id": e.userID(t, "safety01")}), syncproto.CodeMissingField)
		e.ok(t, e.push(t, "township01", "hazards", id, "update", e.move(t, "assigned")))
		e.ok(t, e.push(t, "township01", "hazard_actions", yingji.NewID(), "create", map[string]any{"hazard_id": id, "kind": "comment", "text": "请三日内整改"}))
		e.ok(t, e.push(t, "safety01", "hazards", id, "update", e.move(t, "rectifying")))
		e.refused(t, e.push(t, "safety01", "hazards", id, "update", map[string]any{"status": "submitted"}), syncproto.CodeMissingField)
		e.ok(t, e.push(t, "safety01", "hazards", id, "update", e.move(t, "submitted")))
		e.refused(t, e.push(t, "grid01", "hazards", id, "update", map[string]any{"status": "accepted"}), syncproto.CodeForbidden)
		e.ok(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "accepted"}))

		admin := s.Login(t, "admin")
		var tl struct {
			Items []hazard.Event `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id+"/timeline", s.Login(t, "safety01"), nil), http.StatusOK, &tl)
		type row struct{ who, what string }
		var got []row
		for _, ev := range tl.Items {
			what := ev.Kind
			if ev.Status != nil {
				what = ev.Status.Step
			} else if ev.Action != nil {
				what = "action:" + ev.Action.Kind
			}
			if ev.Summary == "" || ev.UserID == "" {
				t.Errorf("event without summary or user: %+v", ev)
			}
			if ev.Status != nil && ev.Status.Step == hazard.StepSubmit && len(ev.PhotosAdded) != 1 {
				t.Errorf("submission without its photo: %+v", ev)
			}
			got = append(got, row{ev.UserName, what})
		}
		wantRows := []row{{"吴安全", "report"}, {"钱主任", "assign"}, {"钱主任", "action:comment"}, {"吴安全", "rectify"},
			{"吴安全", "submit"}, {"钱主任", "accept"}}
		if fmt.Sprint(got) != fmt.Sprint(wantRows) {
			t.Fatalf("timeline %v, want %v", got, wantRows)
		}

		var h hazard.Hazard
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id, admin, nil), http.StatusOK, &h)
		if h.Status != "accepted" || h.Deadline == "" || len(h.Photos) != 1 || h.EnterpriseName == "" {
			t.Fatalf("hazard %+v", h)
		}
		var page struct {
			Items []hazard.Hazard `json:"items"`
			Total int             `json:"total"`
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards?status=accepted&q=静电", s.Login(t, "principal01"), nil), http.StatusOK, &page)
		if page.Total != 1 || page.Items[0].ID != id {
			t.Fatalf("list %+v", page)
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards?status=reported", admin, nil), http.StatusOK, &page)
		for _, it := range page.Items {
			if it.Status != "reported" {
				t.Fatalf("filter status: %+v", it)
			}
		}
		for _, q := range []string{"open=true", "status=open"} {
			want(t, s.Do(t, "GET", "/api/v1/hazards?page_size=500&"+q, admin, nil), http.StatusOK, &page)
			for _, it := range page.Items {
				if it.Status == "accepted" {
					t.Fatalf("%s lists an accepted hazard: %+v", q, it)
				}
			}
		}
		wantError(t, s.Do(t, "GET", "/api/v1/hazards?open=maybe", admin, nil), http.StatusBadRequest, "request.bad_query")
		want(t, s.Do(t, "GET", "/api/v1/hazards", s.Login(t, "township02"), nil), http.StatusOK, &page)
		for _, it := range page.Items {
			if it.ID == id {
				t.Fatal("township02 lists a hazard of another township")
			}
		}
		wantError(t, s.Do(t, "GET", "/api/v1/hazards/"+id, s.Login(t, "township02"), nil), http.StatusForbidden, "auth.out_of_scope")
		wantError(t, s.Do(t, "GET", "/api/v1/hazards/"+id+"/timeline", s.Login(t, "township02"), nil), http.StatusForbidden, "auth.out_of_scope")
		wantError(t, s.Do(t, "GET", "/api/v1/hazards/"+yingji.NewID(), admin, nil), http.StatusNotFound, "hazard.not_found")
		wantError(t, s.Do(t, "GET", "/api/v1/hazards?level=huge", admin, nil), http.StatusBadRequest, "request.bad_query")
	})
}

// TestHazardRoleMatrix: each step by each role, on a fresh hazard in the step's state.
func TestHazardRoleMatrix(t *testing.T) {
	s := apptest.Start(t)
	e := newHzEnv(t, s)
	users := []string{"safety01", "principal01", "grid01", "duty01", "township01", "township02", "district01", "admin"}
	steps := []struct {
		name, from, to, level string
		allowed               []string
	}{
		{"assign", "reported", "assigned", "general", []string{"principal01", "township01", "district01", "admin"}},
		{"rectify from reported", "reported", "rectifying", "general", []string{"safety01", "principal01", "township01", "district01", "admin"}},
		{"rectify from assigned", "assigned", "rectifying", "general", []string{"safety01", "principal01", "township01", "district01", "admin"}},
		{"submit", "rectifying", "submitted", "general", []string{"safety01", "principal01"}},
		{"accept", "submitted", "accepted", "general", []string{"township01", "district01", "admin"}},
		{"send back", "submitted", "rectifying", "general", []string{"township01", "district01", "admin"}},
		{"accept major", "submitted", "accepted", "major", []string{"district01", "admin"}},
		{"send back major", "submitted", "rectifying", "major", []string{"township01", "district01", "admin"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for _, u := range users {
				id := e.hazardAt(t, st.from, st.level)
				r := e.push(t, u, "hazards", id, "update", e.move(t, st.to))
				if contains(st.allowed, u) {
					if r.Status != syncproto.StatusApplied {
						t.Errorf("%s: %+v, want applied", u, r)
					}
				} else if r.Status != syncproto.StatusRejected || r.Code != syncproto.CodeForbidden {
					t.Errorf("%s: %+v, want %s", u, r, syncproto.CodeForbidden)
				}
			}
		})
	}
	t.Run("report", func(t *testing.T) {
		for _, u := range users {
			r := e.push(t, u, "hazards", yingji.NewID(), "create", map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent})
			if u == "township02" {
				e.refused(t, r, syncproto.CodeForbidden)
			} else {
				e.ok(t, r)
			}
		}
		// A create that starts rectifying is a report and a start: a grid worker may not.
		e.refused(t, e.push(t, "grid01", "hazards", yingji.NewID(), "create", map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent, "status": "rectifying"}), syncproto.CodeForbidden)
		e.ok(t, e.push(t, "safety01", "hazards", yingji.NewID(), "create", map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent, "status": "rectifying"}))
	})
	t.Run("required data", func(t *testing.T) {
		id := e.hazardAt(t, "reported", "general")
		e.refused(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "assigned"}), syncproto.CodeMissingField)
		r := e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "assigned", "deadline": "2030-06-30T18:00:00+08:00"})
		e.refused(t, r, syncproto.CodeMissingField)
		if !strings.Contains(r.Message, "rectifier_id") || strings.Contains(r.Message, "deadline") {
			t.Errorf("message %q should name the rectifier only", r.Message)
		}
		// A deadline set before counts: what matters is the record after the change.
		e.ok(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"deadline": "2030-06-30T18:00:00+08:00", "rectifier_id": e.userID(t, "safety01")}))
		e.ok(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "assigned"}))
		id = e.hazardAt(t, "rectifying", "general")
		e.refused(t, e.push(t, "safety01", "hazards", id, "update", map[string]any{"status": "submitted"}), syncproto.CodeMissingField)
		// Accepted is final.
		id = e.hazardAt(t, "submitted", "general")
		e.ok(t, e.push(t, "township01", "hazards", id, "update", map[string]any{"status": "accepted"}))
		if r := e.push(t, "safety01", "hazards", id, "update", map[string]any{"status": "rectifying"}); r.Status != syncproto.StatusMerged {
			t.Errorf("a move back from accepted: %+v, want merged (the record stays)", r)
		}
		var h hazard.Hazard
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id, s.Login(t, "admin"), nil), http.StatusOK, &h)
		if h.Status != "accepted" {
			t.Errorf("status %s after acceptance", h.Status)
		}
		// Actions recording a step follow its roles.
		e.refused(t, e.push(t, "grid01", "hazard_actions", yingji.NewID(), "create", map[string]any{"hazard_id": id, "kind": "accept"}), syncproto.CodeForbidden)
		e.ok(t, e.push(t, "grid01", "hazard_actions", yingji.NewID(), "create", map[string]any{"hazard_id": id, "kind": "comment", "text": "已复查"}))
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestHazardTimelineOneRowPerStep: a step taken with a note (the portal and the app push the
// status change, then a hazard_actions row of the step's kind) is one timeline row that shows
// the note once; a comment stays a row of its own; the hazard names its rectifier.
func TestHazardTimelineOneRowPerStep(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		e := newHzEnv(t, s)
		id := yingji.NewID()
		e.ok(t, e.push(t, "safety01", "hazards", id, "create", map[string]any{"title": "配电房门锁损坏", "enterprise_id": e.ent}))
		e.ok(t, e.push(t, "township01", "hazards", id, "update", e.move(t, "assigned")))
		note := "请于 3 日内更换门锁"
		e.ok(t, e.push(t, "township01", "hazard_actions", yingji.NewID(), "create",
			map[string]any{"hazard_id": id, "kind": "assign", "text": note, "assignee": e.userID(t, "safety01")}))
		e.ok(t, e.push(t, "township01", "hazard_actions", yingji.NewID(), "create", map[string]any{"hazard_id": id, "kind": "comment", "text": "已电话通知"}))
		e.ok(t, e.push(t, "safety01", "hazards", id, "update", e.move(t, "rectifying")))
		e.ok(t, e.push(t, "safety01", "hazard_actions", yingji.NewID(), "create", map[string]any{"hazard_id": id, "kind": "rectify", "text": ""}))

		var tl struct {
			Items []hazard.Event `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id+"/timeline", s.Login(t, "township01"), nil), http.StatusOK, &tl)
		var rows []string
		for _, ev := range tl.Items {
			what := ev.Kind
			if ev.Status != nil {
				what = ev.Status.Step
			} else if ev.Action != nil {
				what = "action:" + ev.Action.Kind
			}
			rows = append(rows, what)
			if n := strings.Count(ev.Summary, note); n > 1 {
				t.Errorf("the note appears %d times in %q", n, ev.Summary)
			}
			if ev.Status != nil && ev.Status.Step == hazard.StepAssign {
				if ev.Action == nil || ev.Action.Text != note || !strings.Contains(ev.Summary, "："+note) {
					t.Errorf("assign step without its note: %+v", ev)
				}
			}
		}
		if want := "[report assign action:comment rectify]"; fmt.Sprint(rows) != want {
			t.Fatalf("timeline %v, want %s (one row per step)", rows, want)
		}

		var h hazard.Hazard
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id, s.Login(t, "safety01"), nil), http.StatusOK, &h)
		if h.RectifierName != "吴安全" {
			t.Fatalf("rectifier name %q, want 吴安全", h.RectifierName)
		}
		var page struct {
			Items []hazard.Hazard `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards?q=配电房门锁", s.Login(t, "township01"), nil), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].RectifierName != "吴安全" {
			t.Fatalf("list %+v", page.Items)
		}
	})
}

package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// web is user's web session (one per user: a second web login would end the first).
func (e *hzEnv) web(t *testing.T, user string) string {
	t.Helper()
	if e.tokens["web:"+user] == "" {
		e.tokens["web:"+user] = e.s.Login(t, user)
	}
	return e.tokens["web:"+user]
}

// restStep takes a step of the loop over REST as user.
func (e *hzEnv) restStep(t *testing.T, user, id, step string, body any) apptest.Response {
	t.Helper()
	return e.s.Do(t, "POST", "/api/v1/hazards/"+id+"/"+step, e.web(t, user), body)
}

// restBody is the body each REST step needs.
func (e *hzEnv) restBody(t *testing.T, step string) any {
	switch step {
	case "assign":
		return map[string]any{"deadline": "2030-06-30T18:00:00+08:00", "rectifier_id": e.userID(t, "safety01"), "note": "三日内整改"}
	case "submit":
		return map[string]any{"photos": []string{hzPhoto}, "note": "已恢复接地"}
	}
	return map[string]any{"note": "见现场照片"}
}

// TestHazardRESTLoop: the closed loop over REST, on both engines, ends where the sync loop
// ends: every step on the timeline in order with who took it (from the same audit rows), the
// notes as actions, and refusals with the sync path's codes and Chinese messages.
func TestHazardRESTLoop(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		e := newHzEnv(t, s)
		safety := e.web(t, "safety01")
		var h hazard.Hazard
		want(t, s.Do(t, "POST", "/api/v1/hazards", safety, map[string]any{"title": "储罐区静电接地断开", "enterprise_id": e.ent,
			"level": "general", "location": map[string]any{"lat": 30.1, "lng": 120.2}}), http.StatusCreated, &h)
		if h.ID == "" || h.Status != "reported" || h.ReportedBy != e.userID(t, "safety01") || h.Title != "储罐区静电接地断开" {
			t.Fatalf("reported hazard %+v", h)
		}
		id := h.ID

		wantError(t, e.restStep(t, "township01", id, "assign", map[string]any{"rectifier_id": e.userID(t, "safety01")}),
			http.StatusBadRequest, syncproto.CodeMissingField)
		wantError(t, e.restStep(t, "safety01", id, "submit", e.restBody(t, "submit")), http.StatusConflict, syncproto.CodeBadTransition)
		want(t, e.restStep(t, "township01", id, "assign", e.restBody(t, "assign")), http.StatusOK, &h)
		if h.Status != "assigned" || h.Deadline == "" || h.RectifierID != e.userID(t, "safety01") {
			t.Fatalf("assigned hazard %+v", h)
		}
		want(t, e.restStep(t, "safety01", id, "rectify", nil), http.StatusOK, &h)
		wantError(t, e.restStep(t, "safety01", id, "submit", map[string]any{"photos": []string{}}), http.StatusBadRequest, syncproto.CodeMissingField)
		wantError(t, e.restStep(t, "safety01", id, "submit", map[string]any{"photos": []string{"not-a-hash"}}), http.StatusBadRequest, syncproto.CodeBadValue)
		want(t, e.restStep(t, "safety01", id, "submit", e.restBody(t, "submit")), http.StatusOK, &h)
		if h.Status != "submitted" || len(h.Photos) != 1 {
			t.Fatalf("submitted hazard %+v", h)
		}
		wantError(t, e.restStep(t, "grid01", id, "accept", nil), http.StatusForbidden, syncproto.CodeForbidden)
		wantError(t, e.restStep(t, "township02", id, "accept", nil), http.StatusForbidden, "auth.out_of_scope")
		// rectify on a submitted hazard would be a send-back: not what the caller asked for.
		wantError(t, e.restStep(t, "township01", id, "rectify", nil), http.StatusConflict, syncproto.CodeBadTransition)
		want(t, e.restStep(t, "township01", id, "send-back", map[string]any{"note": "接地电阻未测"}), http.StatusOK, &h)
		if h.Status != "rectifying" {
			t.Fatalf("sent back: %+v", h)
		}
		want(t, e.restStep(t, "safety01", id, "submit", map[string]any{}), http.StatusOK, &h) // the photo is still there
		want(t, e.restStep(t, "township01", id, "accept", map[string]any{}), http.StatusOK, &h)
		if h.Status != "accepted" {
			t.Fatalf("accepted: %+v", h)
		}
		wantError(t, e.restStep(t, "township01", id, "accept", nil), http.StatusConflict, syncproto.CodeBadTransition)
		wantError(t, e.restStep(t, "admin", yingji.NewID(), "accept", nil), http.StatusNotFound, "hazard.not_found")

		var tl struct {
			Items []hazard.Event `json:"items"`
		}
		want(t, s.Do(t, "GET", "/api/v1/hazards/"+id+"/timeline", safety, nil), http.StatusOK, &tl)
		var got []string
		for _, ev := range tl.Items {
			what := ev.Kind
			if ev.Status != nil {
				what = ev.Status.Step
				if ev.Action != nil { // a step's note joins its step: one row per step
					what += "+note:" + ev.Action.Kind
				}
			} else if ev.Action != nil {
				what = "action:" + ev.Action.Kind
			}
			got = append(got, ev.UserName+" "+what)
		}
		wantTL := []string{"吴安全 report", "钱主任 assign+note:assign", "吴安全 rectify", "吴安全 submit+note:submit",
			"钱主任 send_back+note:reject", "吴安全 submit", "钱主任 accept"}
		if fmt.Sprint(got) != fmt.Sprint(wantTL) {
			t.Errorf("timeline %v,\nwant %v", got, wantTL)
		}

		// The same audit rows as a push: each accepted step, and the refusal by role.
		var ok, denied int
		if err := s.DB.QueryRow(context.Background(), `SELECT
			COUNT(CASE WHEN result = 'ok' THEN 1 END), COUNT(CASE WHEN result = 'denied' THEN 1 END)
			FROM audit_log WHERE object_type = 'hazards' AND object_id = $1`, id).Scan(&ok, &denied); err != nil {
			t.Fatal(err)
		}
		if ok != 7 || denied < 1 {
			t.Errorf("audit rows of the hazard: %d ok, %d denied; want 7 ok (report and six steps) and the refused acceptance", ok, denied)
		}
	})
}

// TestHazardRESTRoleMatrix: each REST step by each role answers as the same step pushed by
// sync does (TestHazardRoleMatrix): allowed roles move the hazard, the others get 403
// sync.forbidden (or auth.out_of_scope outside their scope) and the hazard stays.
func TestHazardRESTRoleMatrix(t *testing.T) {
	s := apptest.Start(t)
	e := newHzEnv(t, s)
	users := []string{"safety01", "principal01", "grid01", "duty01", "township01", "township02", "district01", "admin"}
	steps := []struct {
		name, step, from, to, level string
		allowed                     []string
	}{
		{"assign", "assign", "reported", "assigned", "general", []string{"principal01", "township01", "district01", "admin"}},
		{"rectify", "rectify", "assigned", "rectifying", "general", []string{"safety01", "principal01", "township01", "district01", "admin"}},
		{"submit", "submit", "rectifying", "submitted", "general", []string{"safety01", "principal01"}},
		{"accept", "accept", "submitted", "accepted", "general", []string{"township01", "district01", "admin"}},
		{"accept major", "accept", "submitted", "accepted", "major", []string{"district01", "admin"}},
		{"send back", "send-back", "submitted", "rectifying", "general", []string{"township01", "district01", "admin"}},
	}
	admin := e.web(t, "admin")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for _, u := range users {
				id := e.hazardAt(t, st.from, st.level)
				r := e.restStep(t, u, id, st.step, e.restBody(t, st.step))
				switch {
				case contains(st.allowed, u):
					if r.Status != http.StatusOK {
						t.Errorf("%s: status %d %s, want 200", u, r.Status, r.Body)
					}
				case u == "township02":
					wantError(t, r, http.StatusForbidden, "auth.out_of_scope")
				default:
					wantError(t, r, http.StatusForbidden, syncproto.CodeForbidden)
				}
				var h hazard.Hazard
				want(t, s.Do(t, "GET", "/api/v1/hazards/"+id, admin, nil), http.StatusOK, &h)
				if wantStatus := map[bool]string{true: st.to, false: st.from}[contains(st.allowed, u)]; h.Status != wantStatus {
					t.Errorf("%s: hazard %s after the step, want %s", u, h.Status, wantStatus)
				}
			}
		})
	}
	t.Run("report", func(t *testing.T) {
		for _, u := range users {
			r := s.Do(t, "POST", "/api/v1/hazards", e.web(t, u), map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent})
			if u == "township02" {
				wantError(t, r, http.StatusForbidden, syncproto.CodeForbidden)
			} else if r.Status != http.StatusCreated {
				t.Errorf("%s: status %d %s, want 201", u, r.Status, r.Body)
			}
		}
		wantError(t, s.Do(t, "POST", "/api/v1/hazards", admin, map[string]any{"title": "", "enterprise_id": e.ent}), http.StatusBadRequest, syncproto.CodeBadValue)
		wantError(t, s.Do(t, "POST", "/api/v1/hazards", admin, map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent, "level": "huge"}),
			http.StatusBadRequest, syncproto.CodeBadValue)
		wantError(t, s.Do(t, "POST", "/api/v1/hazards", admin, map[string]any{"title": "配电箱未上锁", "enterprise_id": e.ent, "status": "accepted"}),
			http.StatusBadRequest, "request.unknown_field")
		id := yingji.NewID()
		want(t, s.Do(t, "POST", "/api/v1/hazards", admin, map[string]any{"id": id, "title": "配电箱未上锁", "enterprise_id": e.ent}), http.StatusCreated, nil)
		// A retry with the same id reports the same hazard, not a second one.
		var h hazard.Hazard
		want(t, s.Do(t, "POST", "/api/v1/hazards", admin, map[string]any{"id": id, "title": "配电箱未上锁", "enterprise_id": e.ent}), http.StatusCreated, &h)
		var n int
		if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM hazards WHERE title = '配电箱未上锁' AND id = $1`, id).Scan(&n); err != nil || n != 1 || h.ID != id {
			t.Errorf("a retried report: %d rows (%v), answer %+v", n, err, h)
		}
	})
}

package dispatch_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/resource"
)

// auditRow is one audit log entry as stored.
type auditRow struct {
	Username, ObjectType, ObjectID, Result string
	Detail                                 map[string]any
}

// auditRows returns the entries of action, oldest first.
func auditRows(t *testing.T, s *apptest.Server, action string) []auditRow {
	t.Helper()
	rows, err := s.DB.Query(context.Background(), `SELECT username, object_type, object_id, result, detail FROM audit_log
		WHERE action = $1 ORDER BY at, id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var detail string
		if err := rows.Scan(&r.Username, &r.ObjectType, &r.ObjectID, &r.Result, &detail); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(detail), &r.Detail); err != nil {
			t.Fatalf("detail %q: %v", detail, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAudit: dispatch's writes and refusals go through the shared audit path — an order and a
// step of it are "ok" rows on the order; an order out of scope, a team already sent, a wrong
// step and a contact without the permission are "denied" rows with the error's code as the
// reason and the request's status.
func TestAudit(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		x := newIncident(t, s, actor(t, s, "duty01"))
		duty := s.Login(t, "duty01") // (a login replaces the session actor made)
		team := resourceID(t, s, resource.KindTeam, "临江蓝天救援队")
		path := "/api/v1/incidents/" + x.ID + "/dispatch-orders"

		// OK: the order
		r := s.Do(t, http.MethodPost, path, duty, map[string]any{"kind": "team", "resource_id": team})
		var o dispatch.Order
		r.JSON(t, &o)
		if r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		rows := auditRows(t, s, "dispatch.order")
		if len(rows) != 1 || rows[0].Result != "ok" || rows[0].Username != "duty01" || rows[0].ObjectType != "dispatch_order" ||
			rows[0].ObjectID != o.ID || rows[0].Detail["resource_name"] != "临江蓝天救援队" || rows[0].Detail["incident_id"] != x.ID {
			t.Fatalf("audit of the order: %+v", rows)
		}

		// ErrOutOfScope: another township's administrator may not order for this incident
		apptest.WantError(t, s.Do(t, http.MethodPost, path, s.Login(t, "township02"), map[string]any{"kind": "team", "resource_id": team}),
			http.StatusForbidden, "auth.out_of_scope")
		// ErrTeamAlready: the same team twice is refused by the incident's state
		apptest.WantError(t, s.Do(t, http.MethodPost, path, duty, map[string]any{"kind": "team", "resource_id": team}),
			http.StatusConflict, "dispatch.team_already")
		rows = auditRows(t, s, "dispatch.order")
		if len(rows) != 3 {
			t.Fatalf("audit rows of orders: %+v", rows)
		}
		for i, want := range []struct {
			user, reason string
			status       int
		}{{"township02", "auth.out_of_scope", http.StatusForbidden}, {"duty01", "dispatch.team_already", http.StatusConflict}} {
			d := rows[i+1]
			if d.Result != "denied" || d.Username != want.user || d.ObjectType != "incident" || d.ObjectID != x.ID ||
				d.Detail["reason"] != want.reason || d.Detail["status"] != float64(want.status) {
				t.Errorf("audit of refusal %d: %+v, want %+v", i, d, want)
			}
		}

		// OK, then ErrBadTransition: a step of the order, then the same step again
		step := "/api/v1/dispatch-orders/" + o.ID + "/status"
		if r := s.Do(t, http.MethodPost, step, duty, map[string]any{"status": "departed"}); r.Status != http.StatusOK {
			t.Fatalf("departed: %d %s", r.Status, r.Body)
		}
		apptest.WantError(t, s.Do(t, http.MethodPost, step, duty, map[string]any{"status": "departed"}), http.StatusConflict, "dispatch.bad_transition")
		rows = auditRows(t, s, "dispatch.departed")
		if len(rows) != 2 || rows[0].Result != "ok" || rows[0].ObjectID != o.ID || rows[0].Detail["from"] != "ordered" ||
			rows[1].Result != "denied" || rows[1].ObjectType != "dispatch_order" || rows[1].ObjectID != o.ID || rows[1].Detail["reason"] != "dispatch.bad_transition" {
			t.Errorf("audit of the steps: %+v", rows)
		}

		// ErrForbidden: a rescue member may not send one-click messages
		apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/contact/sms", s.Login(t, "rescue01"),
			map[string]any{"target_kind": "resource", "target_id": team, "text": "集合"}), http.StatusForbidden, "auth.forbidden")
		rows = auditRows(t, s, "contact.sms")
		if len(rows) != 1 || rows[0].Result != "denied" || rows[0].Username != "rescue01" || rows[0].ObjectType != "resource" ||
			rows[0].ObjectID != team || rows[0].Detail["reason"] != "auth.forbidden" {
			t.Errorf("audit of the refused contact: %+v", rows)
		}
	})
}

package incident_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
)

// auditRow is one audit log entry as stored.
type auditRow struct {
	Username, Action, ObjectType, ObjectID, Result string
	Detail                                         map[string]any
}

// auditRows returns the entries of action, oldest first.
func auditRows(t *testing.T, s *apptest.Server, action string) []auditRow {
	t.Helper()
	rows, err := s.DB.Query(context.Background(), `SELECT username, action, object_type, object_id, result, detail FROM audit_log
		WHERE action = $1 ORDER BY at, id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var detail string
		if err := rows.Scan(&r.Username, &r.Action, &r.ObjectType, &r.ObjectID, &r.Result, &detail); err != nil {
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

// TestAudit: the incident module's writes and refusals go through the shared audit path — a
// write is one "ok" row on its object; a refusal (out of scope, or refused by the object's
// state) is one "denied" row with the error's code as the reason and the request's route and
// status; an invalid input is not a refusal and leaves no row.
func TestAudit(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		duty := s.Login(t, "duty01")
		alertID := raiseAlert(t, s)

		// OK: an alert turned into an incident
		r := s.Do(t, http.MethodPost, "/api/v1/alerts/"+alertID+"/incident", duty, map[string]any{"class": "accident", "grade": "一般"})
		var x incident.Incident
		r.JSON(t, &x)
		if r.Status != http.StatusCreated {
			t.Fatalf("from alert: %d %s", r.Status, r.Body)
		}
		rows := auditRows(t, s, "incident.from_alert")
		if len(rows) != 1 || rows[0].Result != "ok" || rows[0].Username != "duty01" || rows[0].ObjectType != "incident" ||
			rows[0].ObjectID != x.ID || rows[0].Detail["alert_id"] != alertID {
			t.Fatalf("audit of the conversion: %+v", rows)
		}

		// ErrTaken: the same alert again is refused by its state, and audited as a refusal
		apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/alerts/"+alertID+"/incident", duty, map[string]any{"class": "accident"}),
			http.StatusConflict, "incident.alert_taken")
		rows = auditRows(t, s, "incident.from_alert")
		if len(rows) != 2 {
			t.Fatalf("audit rows after the refusal: %+v", rows)
		}
		if d := rows[1]; d.Result != "denied" || d.Username != "duty01" || d.ObjectType != "alert" || d.ObjectID != alertID ||
			d.Detail["reason"] != "incident.alert_taken" || d.Detail["status"] != float64(http.StatusConflict) ||
			d.Detail["route"] != "/api/v1/alerts/:id/incident" {
			t.Errorf("audit of the refusal: %+v", d)
		}

		// ErrForbidden: a rescue member may not change the incident's facts
		apptest.WantError(t, s.Do(t, http.MethodPatch, "/api/v1/incidents/"+x.ID, s.Login(t, "rescue01"), map[string]any{"dead": 3}),
			http.StatusForbidden, "incident.out_of_scope")
		rows = auditRows(t, s, "incident.update")
		if len(rows) != 1 || rows[0].Result != "denied" || rows[0].Username != "rescue01" || rows[0].ObjectID != x.ID ||
			rows[0].Detail["reason"] != "incident.out_of_scope" {
			t.Errorf("audit of the forbidden update: %+v", rows)
		}

		// OK, then ErrInvalid: the duty officer's update is audited with what changed; a bad
		// grade is his mistake, not a refusal, and leaves no row
		if r := s.Do(t, http.MethodPatch, "/api/v1/incidents/"+x.ID, duty, map[string]any{"injured": 2}); r.Status != http.StatusOK {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, http.MethodPatch, "/api/v1/incidents/"+x.ID, duty, map[string]any{"grade": "特别特别重大"}); r.Status != http.StatusBadRequest {
			t.Fatalf("bad grade: %d %s", r.Status, r.Body)
		}
		rows = auditRows(t, s, "incident.update")
		if len(rows) != 2 || rows[1].Result != "ok" || rows[1].Username != "duty01" || rows[1].Detail["injured"] != float64(2) {
			t.Errorf("audit of the updates: %+v", rows)
		}

		// OK: a chat message is a write too
		if r := s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/messages", duty, map[string]any{"kind": "text", "text": "请园区救援队报告位置"}); r.Status != http.StatusCreated {
			t.Fatalf("chat: %d %s", r.Status, r.Body)
		}
		if rows := auditRows(t, s, "chat.post"); len(rows) != 1 || rows[0].Result != "ok" || rows[0].ObjectType != "incident_message" ||
			rows[0].Detail["incident_id"] != x.ID {
			t.Errorf("audit of the chat message: %+v", rows)
		}
	})
}

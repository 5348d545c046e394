package e2einbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/yingji"
)

// TestInboxReachesTheRightPhone: a hazard assigned on a township administrator's phone, its
// deadline reminder and a checklist reminder land in the rectifier's inbox on his phone — and
// on nobody else's — go out by SMS on the reminder template, and are read offline on the phone:
// after the sync the portal's unread count drops.
func TestInboxReachesTheRightPhone(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			bj := time.FixedZone("CST", 8*3600)
			y, m, d := time.Now().In(bj).Date()
			late, started := time.Date(y, m, d, 22, 30, 0, 0, bj), time.Now() // 90 minutes before the day's checklist period ends
			st, chans := newStandIns(t)
			s := en.start(t, chans, apptest.WithClock(func() time.Time { return late.Add(time.Since(started)) }))
			testInbox(t, s, st, late)
		})
	}
}

func testInbox(t *testing.T, s *apptest.Server, st *standIns, now time.Time) {
	ctx := context.Background()
	safetyWeb, otherWeb, admin := s.Login(t, "safety01"), s.Login(t, "safety02"), s.Login(t, "admin")
	safety := whoami(t, s, safetyWeb)
	if err := s.DB.QueryRow(ctx, `SELECT phone FROM users WHERE id = $1`, safety.ID).Scan(&safety.Phone); err != nil || safety.Phone == "" {
		t.Fatalf("safety01's phone number %q: %v", safety.Phone, err)
	}
	safetyPhone, otherPhone, townPhone := newPhone(t, s.URL, "safety01"), newPhone(t, s.URL, "safety02"), newPhone(t, s.URL, "township01")

	// safety01 reports a hazard on his phone; the township assigns it to him on hers.
	id, err := safetyPhone.Create(ctx, "hazards", map[string]json.RawMessage{"title": raw("储罐区消防通道堵塞"),
		"enterprise_id": raw(safety.EnterpriseID)})
	if err != nil {
		t.Fatal(err)
	}
	safetyPhone.sync(t)
	townPhone.sync(t)
	deadline := now.Add(3 * time.Hour).UTC().Format(time.RFC3339)
	if err := townPhone.Update(ctx, "hazards", id, map[string]json.RawMessage{"status": raw("assigned"), "deadline": raw(deadline),
		"rectifier_id": raw(safety.ID)}); err != nil {
		t.Fatal(err)
	}
	townPhone.sync(t)

	// A daily checklist of his enterprise's risk point, assigned to him, not yet patrolled.
	rp := riskPoint(t, s, safety.EnterpriseID)
	var cl struct {
		ID string `json:"id"`
	}
	send(t, s, http.MethodPost, "/api/v1/checklists", admin, map[string]any{"enterprise_id": safety.EnterpriseID, "name": "储罐区每日巡查",
		"frequency": "daily", "risk_point_ids": []string{rp}, "assignee": safety.ID}, http.StatusCreated, &cl)
	for range 2 { // a job that runs twice writes each notification once
		if _, err := s.Jobs.RunReminders(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// His phone has the three, in his user scope; the others' phones have none of them.
	safetyPhone.sync(t)
	got := map[string]sdk.Record{}
	all := safetyPhone.notifications(t)
	for _, r := range all {
		if str(r, "user_id") != safety.ID {
			t.Fatalf("safety01's phone holds another user's notification: %s", r.Fields)
		}
		if str(r, "kind") == "checklist_overdue" && str(r, "ref_id") == cl.ID {
			continue // the checklist's earlier days (the job looks two days back), one each
		}
		if _, dup := got[str(r, "kind")]; dup {
			t.Fatalf("two %s notifications", str(r, "kind"))
		}
		got[str(r, "kind")] = r
	}
	total := len(all)
	for kind, want := range map[string]struct{ ref, link string }{
		"hazard_assigned": {id, "/hazards?id=" + id}, "hazard_deadline": {id, "/hazards?id=" + id},
		"checklist_due": {cl.ID, "/checklists?id=" + cl.ID}} {
		r, ok := got[kind]
		if !ok {
			t.Fatalf("safety01's phone has no %s notification: %v", kind, got)
		}
		if str(r, "ref_id") != want.ref || str(r, "link") != want.link || str(r, "read_at") != "" || !chinese(str(r, "title")) || !chinese(str(r, "body")) {
			t.Fatalf("%s notification: %s", kind, r.Fields)
		}
	}
	if len(got) != 3 {
		t.Fatalf("safety01's phone holds %d kinds of notifications, want 3: %v", len(got), got)
	}
	if b := str(got["hazard_assigned"], "body"); !strings.Contains(b, "储罐区消防通道堵塞") {
		t.Fatalf("assignment body %q", b)
	}
	otherPhone.sync(t)
	townPhone.sync(t)
	for _, p := range []*phone{otherPhone, townPhone} {
		for _, r := range p.notifications(t) {
			if str(r, "user_id") == safety.ID {
				t.Fatalf("%s's phone holds safety01's notification %s", p.name, r.Fields)
			}
		}
	}
	status, err := safetyPhone.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var userScope *sdk.ScopeStatus
	for i, sc := range status.Scopes {
		if sc.Scope == "user:"+safety.ID {
			userScope = &status.Scopes[i]
		}
	}
	if userScope == nil || !userScope.Verified || userScope.Count != int64(total) {
		t.Fatalf("safety01's user scope: %+v", status.Scopes)
	}

	// The portal shows the same inbox; nobody else reads or marks it.
	if n := unreadCount(t, s, safetyWeb); n != total {
		t.Fatalf("unread count %d, want %d", n, total)
	}
	if n := unreadCount(t, s, otherWeb); n != 0 {
		t.Fatalf("safety02's unread count %d", n)
	}
	var page notificationPage
	send(t, s, http.MethodGet, "/api/v1/notifications?kind=hazard_assigned", safetyWeb, nil, http.StatusOK, &page)
	if page.Total != 1 || page.Items[0].ID != got["hazard_assigned"].ID || page.Items[0].Level != "一般隐患" {
		t.Fatalf("kind filter: %+v", page)
	}
	apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/notifications/"+page.Items[0].ID+"/read", otherWeb, nil), http.StatusNotFound, "notification.not_found")
	apptest.WantError(t, s.Do(t, http.MethodGet, "/api/v1/notifications?kind=nonsense", safetyWeb, nil), http.StatusBadRequest, "notification.bad_kind")

	// Read offline on the phone: the portal still counts it until the phone syncs.
	readID := got["hazard_assigned"].ID
	if err := safetyPhone.Update(ctx, "notifications", readID, map[string]json.RawMessage{"read_at": raw(time.Now().UTC().Format(time.RFC3339))}); err != nil {
		t.Fatal(err)
	}
	if n := unreadCount(t, s, safetyWeb); n != total {
		t.Fatalf("unread count %d before the phone synced, want %d", n, total)
	}
	safetyPhone.sync(t)
	if n := unreadCount(t, s, safetyWeb); n != total-1 {
		t.Fatalf("unread count %d after the phone synced its read, want %d", n, total-1)
	}
	send(t, s, http.MethodGet, "/api/v1/notifications?unread=true", safetyWeb, nil, http.StatusOK, &page)
	if page.Total != total-1 || slices.ContainsFunc(page.Items, func(n notification) bool { return n.ID == readID }) {
		t.Fatalf("unread after the phone's read: %+v", page)
	}
	// Another phone cannot mark his notification read.
	if err := otherPhone.Update(ctx, "notifications", readID, map[string]json.RawMessage{"read_at": raw(time.Now().UTC().Format(time.RFC3339))}); err == nil {
		if st, err := otherPhone.Sync(ctx); err != nil || st.Rejected != 1 {
			t.Fatalf("safety02 marking safety01's notification: %+v %v", st, err)
		}
	}

	// Read all in the portal; the phone follows.
	var marked struct {
		Count int `json:"count"`
	}
	send(t, s, http.MethodPost, "/api/v1/notifications/read-all", safetyWeb, nil, http.StatusOK, &marked)
	if marked.Count != total-1 || unreadCount(t, s, safetyWeb) != 0 {
		t.Fatalf("read-all marked %d", marked.Count)
	}
	safetyPhone.sync(t)
	for _, r := range safetyPhone.notifications(t) {
		if str(r, "read_at") == "" {
			t.Fatalf("still unread on the phone after read-all: %s", r.Fields)
		}
	}

	// Reminders and assignments go out on his channels: SMS on the reminder template (he has
	// a phone number and no receiver configuration), FCM skipped without a push token.
	eventually(t, 20*time.Second, "a reminder SMS to safety01 for each notification", func() bool {
		n := 0
		for _, m := range st.SMS.Messages() {
			if m.TemplateID == smsReminderTemplate && slices.Contains(m.Phones, safety.Phone) {
				n++
			}
		}
		return n == total
	})
	var sent, skipped int
	eventually(t, 20*time.Second, "delivery records of the assignment", func() bool {
		rows, err := s.DB.Query(ctx, `SELECT channel, status, error_code FROM notification_deliveries WHERE notification_id = $1`, got["hazard_assigned"].ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		sent, skipped = 0, 0
		for rows.Next() {
			var ch, status, code string
			if err := rows.Scan(&ch, &status, &code); err != nil {
				t.Fatal(err)
			}
			switch {
			case (ch == "app" || ch == "sms") && status == "sent":
				sent++
			case ch == "fcm" && status == "skipped" && code == "no_address":
				skipped++
			}
		}
		return sent == 2 && skipped == 1
	})
	st.noRefusals(t)

	// The writes are audited.
	var audit yingji.Page[struct {
		Action string `json:"action"`
		Result string `json:"result"`
	}]
	send(t, s, http.MethodGet, "/api/v1/audit?action=notification.read_all", admin, nil, http.StatusOK, &audit)
	if audit.Total != 1 {
		t.Fatalf("read-all audit entries: %+v", audit)
	}
}

func chinese(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// riskPoint inserts a risk point of an enterprise and returns its id.
func riskPoint(t *testing.T, s *apptest.Server, ent string) string {
	t.Helper()
	ctx := context.Background()
	var path string
	if err := s.DB.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, ent).Scan(&path); err != nil {
		t.Fatal(err)
	}
	id := yingji.NewID()
	now := time.Now().UTC()
	if _, err := s.DB.Exec(ctx, `INSERT INTO risk_points (id, enterprise_id, org_path, code, name, level, location, measures, created_at, updated_at)
		VALUES ($1, $2, $3, $4, '液化烃储罐区', 'red', '{"lat":30.2231,"lng":120.3512}', '[{"id":"m1","kind":"engineering","text":"可燃气体报警器完好"}]', $5, $5)`,
		id, ent, path, "FX-"+id[:8], now); err != nil {
		t.Fatal(err)
	}
	return id
}

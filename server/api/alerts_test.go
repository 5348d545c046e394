package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/monitor/rules"
)

// alertServer runs the API with the alert routes mounted on a started test server's services
// (the lead wires them into the app; this test does not depend on that).
func alertServer(t *testing.T) (*apptest.Server, *alert.Service) {
	t.Helper()
	s := apptest.Start(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := alert.New(s.DB, s.Sync, s.Audit, log, alert.Config{}, nil)
	for _, c := range svc.Collections() {
		s.Sync.Register(c)
	}
	srv := api.New(api.Config{Version: "test", MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, MaxSyncBytes: 1 << 20},
		api.Deps{DB: s.DB, Accounts: s.Accounts, Org: s.Org, Audit: s.Audit, Sync: s.Sync, Registry: prometheus.NewRegistry(), Log: log})
	srv.MountAlerts(svc)
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return &apptest.Server{Main: s.Main, URL: ts.URL, Client: s.Client}, svc
}

func TestAlertsREST(t *testing.T) {
	s, svc := alertServer(t)
	ctx := context.Background()
	var ent, path string
	if err := s.DB.QueryRow(ctx, `SELECT e.id, e.org_path FROM users u JOIN enterprises e ON e.id = u.enterprise_id WHERE u.username = 'safety01'`).Scan(&ent, &path); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := s.DB.Exec(ctx, `INSERT INTO devices (id, code, name, enterprise_id, org_path, category, kind, secret_hash, created_at, updated_at)
		VALUES ('dv-rest', 'dv-rest', '1号储罐', $1, $2, 'hazchem', 'gateway', 'x', $3, $3)`, ent, path, now); err != nil {
		t.Fatal(err)
	}
	if err := svc.Apply(ctx, []rules.Event{{Action: rules.Raise, Kind: rules.KindOffline, Cause: "offline:dv-rest", DeviceID: "dv-rest",
		Level: 1, LevelName: "离线", At: now}}); err != nil {
		t.Fatal(err)
	}
	safety, town1, town2 := s.Login(t, "safety01"), s.Login(t, "township01"), s.Login(t, "township02")

	var page api.AlertPage
	want(t, s.Do(t, "GET", "/api/v1/alerts?open=true", safety, nil), http.StatusOK, &page)
	if page.Total != 1 || page.Items[0].Title != "1号储罐 设备离线（离线）" {
		t.Fatalf("safety officer's alerts %+v", page)
	}
	id := page.Items[0].ID
	for _, sort := range []string{"started_at", "-level", "last_at", "-status"} {
		want(t, s.Do(t, "GET", "/api/v1/alerts?sort="+sort, safety, nil), http.StatusOK, &page)
		if page.Total != 1 {
			t.Fatalf("sorted by %s: %+v", sort, page)
		}
	}
	want(t, s.Do(t, "GET", "/api/v1/alerts", town1, nil), http.StatusOK, &page)
	if page.Total != 1 {
		t.Fatalf("township01 (the enterprise's township) sees %d", page.Total)
	}
	// Another township: not in its list, refused by id, refused to handle.
	want(t, s.Do(t, "GET", "/api/v1/alerts", town2, nil), http.StatusOK, &page)
	if page.Total != 0 {
		t.Fatalf("township02 sees %d alerts of another township", page.Total)
	}
	wantError(t, s.Do(t, "GET", "/api/v1/alerts/"+id, town2, nil), http.StatusForbidden, "auth.out_of_scope")
	wantError(t, s.Do(t, "GET", "/api/v1/alerts/"+id+"/timeline", town2, nil), http.StatusForbidden, "auth.out_of_scope")
	wantError(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/acknowledge", town2, nil), http.StatusForbidden, "auth.out_of_scope")

	// Handling from the portal: close needs a reason.
	wantError(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/close", town1, api.AlertHandleInput{}), http.StatusBadRequest, "sync.missing_field")
	var a alert.Alert
	want(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/acknowledge", safety, nil), http.StatusOK, &a)
	if a.Status != alert.StatusAcknowledged {
		t.Fatalf("acknowledged %+v", a)
	}
	want(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/actions", town1, api.AlertActionInput{Kind: "feedback", Text: "已督促"}), http.StatusCreated, nil)
	want(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/close", safety, api.AlertHandleInput{Reason: "网关断电，已恢复"}), http.StatusOK, &a)
	if a.Status != alert.StatusClosed || a.ClosedAt == "" {
		t.Fatalf("closed %+v", a)
	}
	wantError(t, s.Do(t, "POST", "/api/v1/alerts/"+id+"/acknowledge", safety, nil), http.StatusConflict, "alert.bad_transition")
	var tl api.AlertTimeline
	want(t, s.Do(t, "GET", "/api/v1/alerts/"+id+"/timeline", town1, nil), http.StatusOK, &tl)
	// The app's own alert sweep may have dispatched the alert meanwhile (on a loaded machine
	// its first run comes after the alert): deliveries are not what this counts.
	steps := 0
	for _, it := range tl.Items {
		if it.Kind != "delivery" {
			steps++
		}
	}
	if steps != 4 {
		t.Fatalf("timeline %+v", tl.Items)
	}

	// Receivers: validation in Chinese and scope.
	var townID string
	if err := s.DB.QueryRow(ctx, `SELECT id FROM org_units WHERE code = '339901002'`).Scan(&townID); err != nil {
		t.Fatal(err)
	}
	body := api.AlertReceiverInput{Tier: "township", OrgUnitID: townID, Name: "值班室", Phone: "12345", Channels: []string{"sms"}}
	wantError(t, s.Do(t, "POST", "/api/v1/alert-receivers", town1, body), http.StatusBadRequest, "alert.bad_phone")
	wantError(t, s.Do(t, "POST", "/api/v1/alert-receivers", town2, body), http.StatusForbidden, "auth.out_of_scope")
	body.Phone, body.DingTalkWebhook, body.DingTalkSecret = "13912345678", "https://oapi.dingtalk.com/robot/send?access_token=t", "SECsecret"
	body.Channels = []string{"sms", "dingtalk"}
	var r alert.Receiver
	want(t, s.Do(t, "POST", "/api/v1/alert-receivers", town1, body), http.StatusCreated, &r)
	if r.DingTalkSecret != "******" || r.MinLevel != 1 || !r.Enabled {
		t.Fatalf("receiver %+v", r)
	}
	var list api.AlertReceiverList
	want(t, s.Do(t, "GET", "/api/v1/alert-receivers", town2, nil), http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("township02 lists %+v", list.Items)
	}
	wantError(t, s.Do(t, "DELETE", "/api/v1/alert-receivers/"+r.ID, town2, nil), http.StatusForbidden, "auth.out_of_scope")
	want(t, s.Do(t, "DELETE", "/api/v1/alert-receivers/"+r.ID, town1, nil), http.StatusNoContent, nil)

	// Push tokens of the current user.
	wantError(t, s.Do(t, "PUT", "/api/v1/push-tokens", safety, alert.PushToken{DeviceID: "p1"}), http.StatusBadRequest, "push.bad_token")
	want(t, s.Do(t, "PUT", "/api/v1/push-tokens", safety, alert.PushToken{DeviceID: "p1", Token: "fcm-token", Platform: "android"}), http.StatusNoContent, nil)
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM push_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'safety01'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("push tokens %d %v", n, err)
	}

	// Statistics and their export.
	var st alert.Stats
	want(t, s.Do(t, "GET", "/api/v1/stats/alerts?group_by=kind", town1, nil), http.StatusOK, &st)
	if st.Total.Count != 1 || st.Total.HandledInTime != 1 || st.Rows[0].Label != "设备离线" {
		t.Fatalf("stats %+v", st)
	}
	res := s.Do(t, "GET", "/api/v1/stats/alerts/export.xlsx?group_by=month", town1, nil)
	wantError(t, res, http.StatusBadRequest, "stats.bad_group")
	res = s.Do(t, "GET", "/api/v1/stats/alerts/export.xlsx", town1, nil)
	if res.Status != http.StatusOK || len(res.Body) < 1000 {
		t.Fatalf("export: %d %d bytes", res.Status, len(res.Body))
	}
	var h alert.Home
	want(t, s.Do(t, "GET", "/api/v1/alerts/home", safety, nil), http.StatusOK, &h)
	if h.Open != 0 || h.TodayRaised != 1 {
		t.Fatalf("home %+v", h)
	}
}

func TestAlertsOpenAPI(t *testing.T) {
	s := newOpenAPIServer(t)
	s.MountAlerts(alert.New(nil, nil, nil, nil, alert.Config{}, nil))
	doc := loadOpenAPI(t, s)
	for _, p := range []string{"/alerts", "/alerts/{id}/timeline", "/alert-receivers/{id}", "/push-tokens", "/stats/alerts/export.xlsx"} {
		if doc.Paths.Value("/api/v1"+p) == nil {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}
}

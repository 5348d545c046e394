package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

// dashboardServer serves the API with the dashboard mounted on the started app's monitor and
// alert services (the lead wires MountDashboard into the app; this test does not depend on it).
func dashboardServer(t *testing.T, s *apptest.Server, cfg api.Config) *apptest.Server {
	t.Helper()
	cfg.Version, cfg.MaxBodyBytes, cfg.MaxImportBytes, cfg.MaxSyncBytes = "test", 1<<20, 1<<20, 1<<20
	srv := api.New(cfg, api.Deps{DB: s.DB, Accounts: s.Accounts, Org: s.Org, Audit: s.Audit, Sync: s.Sync,
		Registry: prometheus.NewRegistry(), Log: s.Log})
	srv.MountDashboard(s.Monitor, s.Alerts)
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return &apptest.Server{Main: s.Main, URL: ts.URL, Client: ts.Client()}
}

// deviceByCode returns a demo device's id.
func deviceByCode(t *testing.T, s *apptest.Server, code string) string {
	t.Helper()
	var id string
	if err := s.DB.QueryRow(context.Background(), `SELECT id FROM devices WHERE code = $1`, code).Scan(&id); err != nil {
		t.Fatalf("device %s: %v", code, err)
	}
	return id
}

// seedDevices: LGSH-GW01 (临港) and LXSD-ST01 (临溪) report a reading and come online,
// LGYQ-GD01 (临港) is disabled, LJLJ-GW01 (临港) stays offline.
func seedDevices(t *testing.T, s *apptest.Server) {
	t.Helper()
	ctx := context.Background()
	for code, body := range map[string]string{"LGSH-GW01": `{"readings":[{"point":"TI-101","value":25}]}`,
		"LXSD-ST01": `{"readings":[{"point":"WL-01","value":110}]}`} {
		secret, err := s.Monitor.ResetSecret(ctx, yingji.System, deviceByCode(t, s, code))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Monitor.IngestHTTP(ctx, code, secret, []byte(body)); err != nil {
			t.Fatalf("ingest %s: %v", code, err)
		}
	}
	if err := s.Monitor.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(ctx, `UPDATE devices SET disabled = $1 WHERE code = 'LGYQ-GD01'`, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM devices WHERE online = $1`, true).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d devices online, want 2", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedAlerts raises four alerts: LGSH level 1 and LJLJ level 2 (moved to the township tier) in
// 临港, LXSD level 3 in 临溪, and LGYQ level 1 closed.
func seedAlerts(t *testing.T, s *apptest.Server) {
	t.Helper()
	ctx := context.Background()
	for _, x := range []struct {
		code  string
		level int
	}{{"LGSH-GW01", 1}, {"LJLJ-GW01", 2}, {"LXSD-ST01", 3}, {"LGYQ-GD01", 1}} {
		id := deviceByCode(t, s, x.code)
		if err := s.Alerts.Apply(ctx, []rules.Event{{Action: rules.Raise, Kind: rules.KindOffline, Cause: "offline:" + id,
			DeviceID: id, RuleID: "offline", Level: x.level, LevelName: "测试", At: statsNow}}); err != nil {
			t.Fatal(err)
		}
	}
	for q, code := range map[string]string{
		`UPDATE alerts SET tier = 'township' WHERE device_id = $1`: "LJLJ-GW01",
		`UPDATE alerts SET status = 'closed' WHERE device_id = $1`: "LGYQ-GD01",
	} {
		if _, err := s.DB.Exec(ctx, q, deviceByCode(t, s, code)); err != nil {
			t.Fatal(err)
		}
	}
}

func counts(cs []api.DashCount) map[string]int {
	m := map[string]int{}
	for _, c := range cs {
		m[c.Key] = c.Count
	}
	return m
}

func wantCounts(t *testing.T, what string, got []api.DashCount, want map[string]int) {
	t.Helper()
	m := counts(got)
	for k, n := range want {
		if m[k] != n {
			t.Errorf("%s %s: %d, want %d (all %v)", what, k, m[k], n, m)
		}
	}
	if len(m) != len(want) {
		t.Errorf("%s keys %v, want %v", what, m, want)
	}
}

func TestDashboard(t *testing.T) {
	app := apptest.Start(t, statsClock())
	seedHazards(t, app)
	seedPatrols(t, app)
	seedDevices(t, app)
	seedAlerts(t, app)
	s := dashboardServer(t, app, api.Config{})

	var d api.Dashboard
	want(t, s.Do(t, http.MethodGet, "/api/v1/dashboard", s.Login(t, "admin"), nil), http.StatusOK, &d)
	if d.Date != "2026-11-25" || d.Patrol.Today.Total != 2 || d.Patrol.Today.Done != 1 || d.Patrol.Today.Rate != 0.5 ||
		d.Patrol.OverduePeriods != 59 {
		t.Errorf("admin patrol %+v on %s", d.Patrol, d.Date)
	}
	if d.Hazards.Open != 5 || d.Hazards.Overdue != 1 || d.Hazards.PendingAcceptance != 1 {
		t.Errorf("admin hazards %+v", d.Hazards)
	}
	wantCounts(t, "admin hazards by level", d.Hazards.ByLevel, map[string]int{"general": 2, "major": 3})
	if d.Alerts == nil || d.Alerts.Open != 3 || d.Alerts.TodayRaised != 4 || d.Alerts.Unconfirmed != 3 {
		t.Fatalf("admin alerts %+v", d.Alerts)
	}
	wantCounts(t, "admin alerts by level", d.Alerts.ByLevel, map[string]int{"1": 1, "2": 1, "3": 1, "4": 0})
	wantCounts(t, "admin alerts by tier", d.Alerts.ByTier, map[string]int{"enterprise": 2, "township": 1, "county": 0})
	if d.Devices == nil || d.Devices.Total != 3 || d.Devices.Online != 2 || d.Devices.Offline != 1 || d.Devices.OnlineRate < 0.666 || d.Devices.OnlineRate > 0.667 {
		t.Fatalf("admin devices %+v", d.Devices)
	}
	// the drill-down links name the list page and its filter
	links := map[string]string{
		d.Hazards.ByLevel[1].Link: "/hazards?level=major&open=true",
		d.Alerts.ByLevel[1].Link:  "/alerts?level=2&open=true",
		d.Alerts.ByTier[1].Link:   "/alerts?open=true&tier=township",
		d.Devices.OfflineLink:     "/devices?disabled=false&online=false",
		d.Patrol.OverdueLink:      "/checklists?overdue=true",
	}
	for got, want := range links {
		if got != want {
			t.Errorf("link %q, want %q", got, want)
		}
	}

	// a township administrator counts only his township (临港化工园区街道)
	want(t, s.Do(t, http.MethodGet, "/api/v1/dashboard", s.Login(t, "township01"), nil), http.StatusOK, &d)
	if d.Patrol.Today.Total != 1 || d.Patrol.Today.Done != 1 || d.Patrol.OverduePeriods != 29 {
		t.Errorf("township01 patrol %+v", d.Patrol)
	}
	if d.Hazards.Open != 3 || d.Hazards.Overdue != 1 || d.Hazards.PendingAcceptance != 1 {
		t.Errorf("township01 hazards %+v", d.Hazards)
	}
	wantCounts(t, "township01 hazards by level", d.Hazards.ByLevel, map[string]int{"general": 1, "major": 2})
	if d.Alerts == nil || d.Alerts.Open != 2 || d.Alerts.TodayRaised != 3 {
		t.Fatalf("township01 alerts %+v", d.Alerts)
	}
	wantCounts(t, "township01 alerts by level", d.Alerts.ByLevel, map[string]int{"1": 1, "2": 1, "3": 0, "4": 0})
	wantCounts(t, "township01 alerts by tier", d.Alerts.ByTier, map[string]int{"enterprise": 1, "township": 1, "county": 0})
	if d.Devices == nil || d.Devices.Total != 2 || d.Devices.Online != 1 || d.Devices.OnlineRate != 0.5 {
		t.Errorf("township01 devices %+v", d.Devices)
	}

	// the other township sees 临溪 and 青山 only
	want(t, s.Do(t, http.MethodGet, "/api/v1/dashboard", s.Login(t, "township02"), nil), http.StatusOK, &d)
	if d.Hazards.Open != 2 || d.Alerts == nil || d.Alerts.Open != 0 || d.Devices == nil || d.Devices.Total != 0 {
		t.Errorf("township02 (青山镇) dashboard %+v alerts %+v devices %+v", d.Hazards, d.Alerts, d.Devices)
	}

	// without a session: 401
	wantError(t, s.Do(t, http.MethodGet, "/api/v1/dashboard", "", nil), http.StatusUnauthorized, "auth.no_token")
}

// TestDashboardSectionsByPermission: a role without alert or monitoring permissions gets null
// sections, not an error.
func TestDashboardSectionsByPermission(t *testing.T) {
	app := apptest.Start(t)
	s := dashboardServer(t, app, api.Config{})
	for _, u := range []string{"admin", "safety01", "grid01"} {
		tok := s.Login(t, u)
		var me struct{ Permissions []string }
		want(t, s.Do(t, http.MethodGet, "/api/v1/auth/me", tok, nil), http.StatusOK, &me)
		var d api.Dashboard
		want(t, s.Do(t, http.MethodGet, "/api/v1/dashboard", tok, nil), http.StatusOK, &d)
		if (d.Alerts != nil) != contains(me.Permissions, yingji.PermAlertRead) {
			t.Errorf("%s: alerts section %v with permissions %v", u, d.Alerts, me.Permissions)
		}
		if (d.Devices != nil) != contains(me.Permissions, yingji.PermMonitorRead) {
			t.Errorf("%s: devices section %v with permissions %v", u, d.Devices, me.Permissions)
		}
		if len(d.Hazards.ByLevel) != 2 {
			t.Errorf("%s: hazards by level %+v", u, d.Hazards.ByLevel)
		}
	}
}

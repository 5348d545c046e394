package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/stats"
	"github.com/yingji/yingji/server/yingji"
)

// statsNow is the clock of the statistics tests: Wednesday 2026-11-25 10:00 in Shanghai
// (ISO week 48).
var statsNow = time.Date(2026, 11, 25, 10, 0, 0, 0, patrol.Zone)

func statsClock() apptest.Option { return apptest.WithClock(func() time.Time { return statsNow }) }

// entByName returns the id and org path of a demo enterprise.
func entByName(t *testing.T, s *apptest.Server, name string) (id, path string) {
	t.Helper()
	if err := s.DB.QueryRow(context.Background(), `SELECT id, org_path FROM enterprises WHERE name = $1`, name).Scan(&id, &path); err != nil {
		t.Fatalf("enterprise %s: %v", name, err)
	}
	return id, path
}

func insertHazard(t *testing.T, s *apptest.Server, ent, level, status, reported, deadline string) {
	t.Helper()
	id, path := entByName(t, s, ent)
	if _, err := s.DB.Exec(context.Background(), `INSERT INTO hazards (id, enterprise_id, org_path, title, level, status, reported_at, deadline, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, yingji.NewID(), id, path, "测试隐患", level, status, reported, deadline, statsNow.UTC()); err != nil {
		t.Fatal(err)
	}
}

// seedHazards: four hazards in 临港化工园区街道 (three of safety01's enterprise, in grid01's
// grid), two in 青山镇.
func seedHazards(t *testing.T, s *apptest.Server) {
	const own, other, qs = "临港石化储运有限公司", "临江氯碱化工股份有限公司", "青山水泥有限公司"
	insertHazard(t, s, own, "general", "reported", "2026-11-24T09:00:00+08:00", "2026-11-20T00:00:00+08:00") // overdue
	insertHazard(t, s, own, "major", "rectifying", "2026-11-02T10:00:00+08:00", "2026-12-31T00:00:00+08:00")
	insertHazard(t, s, own, "general", "accepted", "2026-10-15T10:00:00+08:00", "2026-10-01T00:00:00+08:00")
	insertHazard(t, s, other, "major", "submitted", "2026-11-25T01:00:00Z", "2026-11-24") // past its deadline but rectified: not overdue
	insertHazard(t, s, qs, "general", "assigned", "2025-12-31T20:00:00Z", "")             // 2026-01-01 in Shanghai
	insertHazard(t, s, qs, "major", "reported", "2026-11-25T00:00:00+08:00", "")
}

type statRow struct {
	Key, Label           string
	Count, Open, Overdue int
}

type hazardStats struct {
	Rows  []statRow
	Total statRow
}

func getHazardStats(t *testing.T, s *apptest.Server, tok, query string) (map[string]statRow, hazardStats) {
	t.Helper()
	var out hazardStats
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/hazards?"+query, tok, nil), http.StatusOK, &out)
	m := map[string]statRow{}
	for _, r := range out.Rows {
		m[r.Label] = r
	}
	return m, out
}

func wantRow(t *testing.T, what string, m map[string]statRow, label string, count, open, overdue int) {
	t.Helper()
	r := m[label]
	if r.Count != count || r.Open != open || r.Overdue != overdue {
		t.Errorf("%s %s: count/open/overdue %d/%d/%d, want %d/%d/%d (rows %+v)", what, label, r.Count, r.Open, r.Overdue, count, open, overdue, m)
	}
}

func TestHazardStats(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t, statsClock())
			seedHazards(t, s)
			admin := s.Login(t, "admin")

			m, all := getHazardStats(t, s, admin, "group_by=status")
			if all.Total.Count != 6 || all.Total.Open != 5 || all.Total.Overdue != 1 {
				t.Errorf("admin totals %+v, want 6/5/2", all.Total)
			}
			if len(all.Rows) != 5 || all.Rows[0].Key != "reported" || all.Rows[4].Key != "accepted" {
				t.Errorf("status rows %+v, want the five statuses in order", all.Rows)
			}
			wantRow(t, "status", m, "已上报", 2, 2, 1)
			wantRow(t, "status", m, "已交办", 1, 1, 0)
			wantRow(t, "status", m, "整改中", 1, 1, 0)
			wantRow(t, "status", m, "待验收", 1, 1, 0)
			wantRow(t, "status", m, "已验收", 1, 0, 0)

			m, _ = getHazardStats(t, s, admin, "group_by=level")
			wantRow(t, "level", m, "一般", 3, 2, 1)
			wantRow(t, "level", m, "重大", 3, 3, 0)

			m, _ = getHazardStats(t, s, admin, "group_by=township")
			wantRow(t, "township", m, "临港化工园区街道", 4, 3, 1)
			wantRow(t, "township", m, "青山镇", 2, 2, 0)

			m, _ = getHazardStats(t, s, admin, "group_by=enterprise")
			wantRow(t, "enterprise", m, "临港石化储运有限公司", 3, 2, 1)
			m, _ = getHazardStats(t, s, admin, "group_by=industry")
			wantRow(t, "industry", m, "水泥制造", 2, 2, 0)

			m, byMonth := getHazardStats(t, s, admin, "group_by=period&period=month")
			wantRow(t, "month", m, "2026年1月", 1, 1, 0)
			wantRow(t, "month", m, "2026年10月", 1, 0, 0)
			wantRow(t, "month", m, "2026年11月", 4, 4, 1)
			if len(byMonth.Rows) != 3 || byMonth.Rows[0].Key != "2026-01" || byMonth.Rows[2].Key != "2026-11" {
				t.Errorf("month rows %+v, want 2026-01, 2026-10, 2026-11 in order", byMonth.Rows)
			}
			m, _ = getHazardStats(t, s, admin, "group_by=period&period=week")
			wantRow(t, "week", m, "2026年第1周", 1, 1, 0)
			wantRow(t, "week", m, "2026年第42周", 1, 0, 0)
			wantRow(t, "week", m, "2026年第45周", 1, 1, 0)
			wantRow(t, "week", m, "2026年第48周", 3, 3, 1)
			m, _ = getHazardStats(t, s, admin, "group_by=period&period=year")
			wantRow(t, "year", m, "2026年", 6, 5, 1)

			_, nov := getHazardStats(t, s, admin, "group_by=level&from=2026-11-01&to=2026-11-30")
			if nov.Total.Count != 4 {
				t.Errorf("November total %+v, want 4", nov.Total)
			}
			_, day := getHazardStats(t, s, admin, "group_by=status&from=2026-11-25&to=2026-11-25")
			if day.Total.Count != 2 {
				t.Errorf("2026-11-25 total %+v, want 2", day.Total)
			}

			// Scope: a township admin sees his township only, a safety officer his enterprise.
			m, town := getHazardStats(t, s, s.Login(t, "township01"), "group_by=township")
			if town.Total.Count != 4 || len(town.Rows) != 1 {
				t.Errorf("township01 rows %+v total %+v, want only 临港化工园区街道 with 4", town.Rows, town.Total)
			}
			wantRow(t, "township01", m, "临港化工园区街道", 4, 3, 1)
			_, town2 := getHazardStats(t, s, s.Login(t, "township02"), "group_by=status")
			if town2.Total.Count != 2 {
				t.Errorf("township02 total %+v, want 2", town2.Total)
			}
			m, own := getHazardStats(t, s, s.Login(t, "safety01"), "group_by=enterprise")
			if own.Total.Count != 3 || len(own.Rows) != 1 {
				t.Errorf("safety01 rows %+v, want only his enterprise with 3", own.Rows)
			}
			wantRow(t, "safety01", m, "临港石化储运有限公司", 3, 2, 1)

			wantError(t, s.Do(t, http.MethodGet, "/api/v1/stats/hazards?group_by=colour", admin, nil), http.StatusBadRequest, "request.bad_query")
			wantError(t, s.Do(t, http.MethodGet, "/api/v1/stats/hazards?group_by=period&period=day", admin, nil), http.StatusBadRequest, "request.bad_query")
			wantError(t, s.Do(t, http.MethodGet, "/api/v1/stats/hazards?from=2026-13-01", admin, nil), http.StatusBadRequest, "request.bad_query")
			if r := s.Do(t, http.MethodGet, "/api/v1/stats/hazards", "", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("anonymous: %d", r.Status)
			}

			// Export: the rows and the total, audited.
			f := xlDownload(t, s, "/api/v1/stats/hazards/export.xlsx?group_by=township", s.Login(t, "township01"), "隐患统计")
			rows := xlRows(t, f)
			if len(rows) != 3 || rows[0][0] != "乡镇（街道）" || rows[0][1] != "隐患数" || rows[1][0] != "临港化工园区街道" || rows[1][1] != "4" ||
				rows[1][3] != "1" || rows[2][0] != "合计" {
				t.Errorf("export rows %v", rows)
			}
			var audit struct {
				Items []struct{ Username, Action string }
			}
			want(t, s.Do(t, http.MethodGet, "/api/v1/audit?action=stats.export", admin, nil), http.StatusOK, &audit)
			if len(audit.Items) != 1 || audit.Items[0].Username != "township01" {
				t.Errorf("audit %+v, want one stats.export by township01", audit.Items)
			}
		})
	}
}

// seedPatrols binds the risk point of safety01's enterprise to a daily checklist (created two
// months before statsNow) and records a patrol today and a flagged one three days ago; 青山水泥
// gets a checklist nobody patrols.
func seedPatrols(t *testing.T, s *apptest.Server) {
	t.Helper()
	ctx := context.Background()
	now := statsNow.UTC()
	for i, name := range []string{"临港石化储运有限公司", "青山水泥有限公司"} {
		ent, path := entByName(t, s, name)
		rp := yingji.NewID()
		if _, err := s.DB.Exec(ctx, `INSERT INTO risk_points (id, enterprise_id, org_path, code, name, level, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '储罐区', 'red', $5, $5)`, rp, ent, path, fmt.Sprintf("FX-%d", i), now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB.Exec(ctx, `INSERT INTO checklists (id, enterprise_id, org_path, name, frequency, risk_point_ids, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'daily', $5, $6, $7, $7)`, yingji.NewID(), ent, path, "每日巡查"+name, `["`+rp+`"]`, true, now.AddDate(0, 0, -60)); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			continue
		}
		for _, p := range []struct {
			at    time.Time
			flags string
		}{{statsNow.Add(-time.Hour), "[]"}, {statsNow.AddDate(0, 0, -3), `["too_fast"]`}} {
			if _, err := s.DB.Exec(ctx, `INSERT INTO patrols (id, enterprise_id, org_path, risk_point_id, started_at, finished_at, finished_utc, flags, created_at)
				VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)`, yingji.NewID(), ent, path, rp, p.at.Format(time.RFC3339), p.at.UTC(), p.flags, now); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestPatrolStats(t *testing.T) {
	s := apptest.Start(t, statsClock())
	seedPatrols(t, s)

	var own stats.PatrolStats
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/patrols?from=2026-11-22&to=2026-11-25", s.Login(t, "safety01"), nil), http.StatusOK, &own)
	if len(own.Checklists) != 1 || len(own.Enterprises) != 1 || own.Enterprises[0].Enterprise != "临港石化储运有限公司" {
		t.Fatalf("safety01 sees %+v", own)
	}
	c := own.Checklists[0].Completion
	if c.Done != 2 || c.Overdue != 2 || c.Due != 0 || c.Total != 4 || c.Rate != 0.5 {
		t.Errorf("completion %+v, want 2 done of 4", c)
	}
	if own.OverdueChecklists != 1 || own.FlaggedPatrols != 1 || own.Patrols != 2 {
		t.Errorf("overdue checklists %d, flagged %d, patrols %d; want 1, 1, 2", own.OverdueChecklists, own.FlaggedPatrols, own.Patrols)
	}

	var today stats.PatrolStats
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/patrols?from=2026-11-25&to=2026-11-25", s.Login(t, "admin"), nil), http.StatusOK, &today)
	if today.Total.Done != 1 || today.Total.Due != 1 || today.Total.Total != 2 || today.OverdueChecklists != 0 || len(today.Checklists) != 2 {
		t.Errorf("admin today %+v", today)
	}
	var town stats.PatrolStats
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/patrols", s.Login(t, "township02"), nil), http.StatusOK, &town)
	if len(town.Checklists) != 1 || town.Checklists[0].Enterprise != "青山水泥有限公司" || town.Total.Total != 30 || town.Total.Overdue != 29 ||
		town.FlaggedPatrols != 0 {
		t.Errorf("township02 default range %+v", town)
	}
	wantError(t, s.Do(t, http.MethodGet, "/api/v1/stats/patrols?from=2026-11-25&to=2026-11-01", s.Login(t, "admin"), nil), http.StatusBadRequest, "request.bad_query")

	f := xlDownload(t, s, "/api/v1/stats/patrols/export.xlsx?from=2026-11-22&to=2026-11-25", s.Login(t, "safety01"), "巡查完成率")
	rows := xlRows(t, f)
	if len(rows) != 3 || rows[0][0] != "企业" || rows[1][0] != "临港石化储运有限公司" || rows[1][3] != "2" || rows[1][7] != "50.0%" || rows[2][0] != "合计" {
		t.Errorf("export rows %v", rows)
	}
}

func TestHomeStats(t *testing.T) {
	s := apptest.Start(t, statsClock())
	seedHazards(t, s)
	seedPatrols(t, s)

	var home stats.Home
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/home", s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-g"), nil), http.StatusOK, &home)
	if home.Date != "2026-11-25" || home.Today.Done != 1 || home.Today.Total != 1 || home.Today.Rate != 1 {
		t.Errorf("grid01 today %+v on %s, want 1 of 1 done", home.Today, home.Date)
	}
	// 31 daily periods from 30 days back to today: today's and the flagged patrol's are done.
	if home.OverduePeriods != 29 {
		t.Errorf("grid01 overdue periods %d, want 29", home.OverduePeriods)
	}
	if home.OpenHazards != 2 || home.OpenByLevel["general"] != 1 || home.OpenByLevel["major"] != 1 || home.OverdueHazards != 1 {
		t.Errorf("grid01 hazards %+v", home)
	}

	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/home", s.Login(t, "township01"), nil), http.StatusOK, &home)
	// The submitted hazard past its deadline is rectified, not overdue (hazard.IsOverdue).
	if home.OpenHazards != 3 || home.OverdueHazards != 1 || home.PendingAcceptance != 1 || home.Today.Total != 1 {
		t.Errorf("township01 home %+v", home)
	}
	want(t, s.Do(t, http.MethodGet, "/api/v1/stats/home", s.Login(t, "admin"), nil), http.StatusOK, &home)
	if home.OpenHazards != 5 || home.Today.Total != 2 || home.Today.Done != 1 || home.OverduePeriods != 29+30 {
		t.Errorf("admin home %+v", home)
	}
}

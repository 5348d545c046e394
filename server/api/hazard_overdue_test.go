package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/hazard"
)

// TestHazardOverdueFilter: on the demo city's month of history (hazards in every state, some
// past their deadline), GET /hazards?overdue=true lists exactly the hazards whose deadline passed
// while their rectification is unfinished, the dashboard's 逾期隐患 count (whose link opens that
// list) is the list's total, for the city and for a township, and a hazard submitted for
// acceptance after its deadline counts in neither. On SQLite and PostgreSQL.
func TestHazardOverdueFilter(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			base := time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
			t0 := time.Now()
			opts := []apptest.Option{apptest.WithDemoHistory(), apptest.WithClock(func() time.Time { return base.Add(time.Since(t0)) })}
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t, opts...)
			} else {
				s = apptest.StartPostgres(t, opts...)
			}
			check := func(user string) (overdue []hazard.Hazard) {
				t.Helper()
				tok := s.Login(t, user)
				var d api.Dashboard
				want(t, s.Do(t, "GET", "/api/v1/dashboard", tok, nil), http.StatusOK, &d)
				var list, all api.HazardPage
				want(t, s.Do(t, "GET", "/api/v1/hazards?overdue=true&page_size=100", tok, nil), http.StatusOK, &list)
				if list.Total != d.Hazards.Overdue {
					t.Errorf("%s: the list has %d overdue hazards, the dashboard says %d", user, list.Total, d.Hazards.Overdue)
				}
				if d.Hazards.OverdueLink != "/hazards?open=true&overdue=true" {
					t.Errorf("%s: overdue link %q", user, d.Hazards.OverdueLink)
				}
				want(t, s.Do(t, "GET", "/api/v1/hazards?page_size=100", tok, nil), http.StatusOK, &all)
				now := time.Now() // the server's clock runs at the wall clock's pace from base
				now = base.Add(now.Sub(t0))
				ids := map[string]bool{}
				for _, h := range list.Items {
					ids[h.ID] = true
					if !hazard.IsOverdue(h.Status, h.Deadline, now) {
						t.Errorf("%s: %q (%s, deadline %s) listed as overdue", user, h.Title, h.Status, h.Deadline)
					}
				}
				for _, h := range all.Items {
					if hazard.IsOverdue(h.Status, h.Deadline, now.Add(-time.Minute)) && !ids[h.ID] {
						t.Errorf("%s: overdue %q (%s, deadline %s) missing from the list", user, h.Title, h.Status, h.Deadline)
					}
				}
				return list.Items
			}
			city := check("admin")
			if len(city) == 0 {
				t.Fatal("the demo history has no overdue hazard")
			}
			check("township01")
			wantError(t, s.Do(t, "GET", "/api/v1/hazards?overdue=maybe", s.Login(t, "admin"), nil), http.StatusBadRequest, "request.bad_query")

			// rectified (submitted for acceptance) after the deadline: no longer overdue anywhere
			h := city[0]
			if _, err := s.DB.Exec(context.Background(), `UPDATE hazards SET status = 'submitted' WHERE id = $1`, h.ID); err != nil {
				t.Fatal(err)
			}
			after := check("admin")
			if len(after) != len(city)-1 {
				t.Errorf("after submitting %q: %d overdue, want %d", h.Title, len(after), len(city)-1)
			}
			for _, x := range after {
				if x.ID == h.ID {
					t.Errorf("submitted %q still listed as overdue", h.Title)
				}
			}
		})
	}
}

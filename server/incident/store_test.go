package incident_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// engines runs a test on a demo server on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, s *apptest.Server)) {
	t.Run("SQLite", func(t *testing.T) { t.Parallel(); fn(t, apptest.Start(t)) })
	t.Run("Postgres", func(t *testing.T) { t.Parallel(); fn(t, apptest.StartPostgres(t)) })
}

// actor signs a demo user in and returns him as the services see him.
func actor(t *testing.T, s *apptest.Server, username string) *yingji.Actor {
	t.Helper()
	a, err := s.Accounts.Authenticate(context.Background(), s.Login(t, username), "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func f64(v float64) *float64 { return &v }

func TestStore(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		svc := incident.New(s.DB, nil, nil, nil)
		var told [][]string
		svc.ScopesChanged = func(_ context.Context, users ...string) { told = append(told, users) }
		duty, township2, rescue := actor(t, s, "duty01"), actor(t, s, "township02"), actor(t, s, "rescue01")

		x, err := svc.Create(ctx, duty, incident.Incident{Title: "临港化工园区氯气泄漏", Class: "accident", SubType: "危险化学品事故",
			Grade: "较大", Lat: f64(30.1), Lng: f64(120.2), Dead: 1, Injured: 4,
			Materials: []incident.Material{{Name: "氯气", CAS: "7782-50-5", Amount: 2, Unit: "t"}}})
		if err != nil {
			t.Fatal(err)
		}
		if x.Code == "" || x.Status != incident.StatusReported || x.Cell == "" || x.OrgPath != duty.OrgPath || x.CreatedBy != duty.UserID {
			t.Fatalf("created %+v", x)
		}
		y, err := svc.Create(ctx, duty, incident.Incident{Title: "演练：森林火灾", Class: "natural", Exercise: true})
		if err != nil || y.Code == x.Code {
			t.Fatalf("second incident %+v %v", y, err)
		}
		got, err := svc.Get(ctx, s.DB, x.ID)
		if err != nil || got.Title != x.Title || got.Materials[0].CAS != "7782-50-5" || *got.Lat != 30.1 || got.Exercise {
			t.Fatalf("get %+v %v", got, err)
		}

		page, err := svc.List(ctx, duty, incident.Filter{}, yingji.ListParams{})
		if err != nil || page.Total != 2 {
			t.Fatalf("duty officer's list %+v %v", page, err)
		}
		no := false
		page, _ = svc.List(ctx, duty, incident.Filter{Exercise: &no}, yingji.ListParams{})
		if page.Total != 1 || page.Items[0].ID != x.ID {
			t.Fatalf("without exercises %+v", page)
		}
		if page, _ = svc.List(ctx, township2, incident.Filter{}, yingji.ListParams{}); page.Total != 0 {
			t.Fatalf("a township sees the city's incidents: %+v", page)
		}
		if _, err := svc.Read(ctx, rescue, x.ID); yingji.ErrorKind(err) != yingji.EFORBIDDEN {
			t.Fatalf("a rescue member not in the incident read it: %v", err)
		}

		// Membership: a team, a headquarters member; then the team leaves.
		var teamID string
		if err := s.DB.QueryRow(ctx, `SELECT team_id FROM users WHERE id = $1`, rescue.UserID).Scan(&teamID); err != nil {
			t.Fatal(err)
		}
		err = s.DB.InTx(ctx, func(tx sqldb.Querier) error {
			if err := svc.AddTeam(ctx, tx, x.ID, teamID); err != nil {
				return err
			}
			return svc.AddMembers(ctx, tx, x.ID, []incident.Member{{UserID: duty.UserID, Group: incident.GroupHQ, RoleTitle: "总指挥"},
				{UserID: duty.UserID, Group: incident.GroupHQ, RoleTitle: "总指挥"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := svc.Members(ctx, s.DB, x.ID, false)
		if err != nil || len(ms) != 2 || ms[0].Group != incident.GroupHQ || ms[0].Name != "王值班" || ms[1].TeamID != teamID {
			t.Fatalf("members %+v %v", ms, err)
		}
		if !slices.Contains(told[0], rescue.UserID) || !slices.Contains(told[1], duty.UserID) {
			t.Fatalf("scopes changed told %v", told)
		}
		scopes, err := svc.ScopeSource(ctx, s.DB, rescue)
		if err != nil || !slices.Equal(scopes, []string{incident.Scope(x.ID)}) {
			t.Fatalf("rescue01's incident scopes %v %v", scopes, err)
		}
		if r, err := svc.Read(ctx, rescue, x.ID); err != nil || r.ID != x.ID {
			t.Fatalf("a member cannot read his incident: %v", err)
		}
		if page, _ := svc.List(ctx, rescue, incident.Filter{}, yingji.ListParams{}); page.Total != 1 {
			t.Fatalf("a member's list %+v", page)
		}
		if err := svc.RemoveTeam(ctx, s.DB, x.ID, teamID); err != nil {
			t.Fatal(err)
		}
		if scopes, _ := svc.ScopeSource(ctx, s.DB, rescue); len(scopes) != 0 {
			t.Fatalf("scopes after the team left %v", scopes)
		}
		if all, _ := svc.Members(ctx, s.DB, x.ID, true); len(all) != 2 || all[1].RemovedAt == nil {
			t.Fatalf("history of members %+v", all)
		}
	})
}

func TestValidate(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		svc := incident.New(s.DB, nil, nil, nil)
		duty, expert := actor(t, s, "duty01"), actor(t, s, "expert01")
		for _, c := range []struct {
			x     incident.Incident
			field string
		}{
			{incident.Incident{Class: "accident"}, "title"},
			{incident.Incident{Title: "t", Class: "war"}, "class"},
			{incident.Incident{Title: "t", Class: "accident", Grade: "很大"}, "grade"},
			{incident.Incident{Title: "t", Class: "accident", Lat: f64(91), Lng: f64(1)}, "lat"},
			{incident.Incident{Title: "t", Class: "accident", Dead: -1}, "dead"},
			{incident.Incident{Title: "t", Class: "accident", Materials: []incident.Material{{Name: "氯", CAS: "7782"}}}, "materials"},
			{incident.Incident{Title: "t", Class: "accident", OccurredAt: "yesterday"}, "occurred_at"},
		} {
			_, err := svc.Create(ctx, duty, c.x)
			var e *yingji.Error
			if yingji.ErrorKind(err) != yingji.EINVALID || !errors.As(err, &e) {
				t.Fatalf("%+v: %v", c.x, err)
			}
			if d, _ := e.Data.(map[string]any); d["field"] != c.field {
				t.Fatalf("%+v: field %+v, want %s", c.x, e.Data, c.field)
			}
		}
		if _, err := svc.Create(ctx, expert, incident.Incident{Title: "t", Class: "accident"}); yingji.ErrorKind(err) != yingji.EFORBIDDEN {
			t.Fatalf("an expert reported an incident: %v", err)
		}
	})
}

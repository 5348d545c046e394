package e2eplans_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/yingji"
)

// REST read access of plans matches what phones sync: every user, after a sync, can open by
// the API each plan his phone holds (the published plans of his unit, the units above it and,
// for enterprise staff, his enterprise), and no published plan his phone lacks; drafts stay
// with the owner's unit or enterprise and the units above (never a rescue member, another
// enterprise or another district) — on SQLite and PostgreSQL.
//
//	go test -race -count=1 -run Access ./mobile-sdk/e2eplans/

func TestPlanAccessMatchesSync(t *testing.T) {
	t.Parallel()
	runAccess(t, apptest.Start(t))
}

func TestPlanAccessMatchesSyncPostgres(t *testing.T) {
	t.Parallel()
	runAccess(t, apptest.StartPostgres(t))
}

func runAccess(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.Login(t, "admin")
	// A draft of the city and a draft of 临港石化储运 (safety01's enterprise, in grid01's grid).
	var city, ent plan.Plan
	var page yingji.Page[plan.Plan]
	want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100&status=published", admin, nil), 200, &page)
	var cityUnit string
	for _, p := range page.Items {
		if p.Level == plan.LevelCity {
			cityUnit = p.OrgUnitID
		}
	}
	want(t, s.Do(t, "POST", "/api/v1/plans", admin, map[string]any{"title": "临江市地震应急预案（征求意见稿）", "kind": "special",
		"level": "city", "org_unit_id": cityUnit}), http.StatusCreated, &city)
	safety01 := s.Login(t, "safety01")
	var entPage yingji.Page[plan.Plan]
	want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100&level=enterprise", safety01, nil), 200, &entPage)
	if len(entPage.Items) == 0 {
		t.Fatal("safety01 sees no enterprise plan")
	}
	want(t, s.Do(t, "POST", "/api/v1/plans", safety01, map[string]any{"title": "储罐区火灾现场处置方案（草稿）", "kind": "onsite",
		"level": "enterprise", "enterprise_id": entPage.Items[0].EnterpriseID}), http.StatusCreated, &ent)

	var all yingji.Page[plan.Plan]
	want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100", admin, nil), 200, &all)
	drafts := map[string]map[string]bool{ // who may read each draft
		city.ID: {"admin": true, "duty01": true, "expert01": true, "leader01": true, "auditor01": true},
		ent.ID:  {"admin": true, "duty01": true, "expert01": true, "leader01": true, "auditor01": true, "district01": true, "township01": true, "grid01": true, "safety01": true, "principal01": true},
	}
	for _, u := range []string{"grid01", "rescue01", "safety01", "safety02", "township01", "township02", "district01", "expert01"} {
		tok := s.Login(t, u)
		c, err := sdk.Open(ctx, filepath.Join(t.TempDir(), u+".db"), sdk.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Login(ctx, s.URL, u, apptest.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := c.List(ctx, "plans")
		if err != nil {
			t.Fatal(err)
		}
		onPhone := []string{}
		for _, r := range recs {
			var v string
			json.Unmarshal(r.Fields["version_id"], &v)
			onPhone = append(onPhone, v)
		}
		if len(onPhone) < 3 {
			t.Fatalf("%s's phone holds %d plans", u, len(onPhone))
		}
		var listed yingji.Page[plan.Plan]
		want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100", tok, nil), 200, &listed)
		for _, p := range all.Items {
			r := s.Do(t, "GET", "/api/v1/plans/"+p.ID, tok, nil)
			readable := r.Status == http.StatusOK
			switch {
			case r.Status != http.StatusOK && r.Status != http.StatusForbidden:
				t.Fatalf("%s GET %s: %d %s", u, p.Title, r.Status, r.Body)
			case p.Status == plan.StatusPublished && readable != slices.Contains(onPhone, p.ID):
				t.Errorf("%s: published %q readable by REST %v, on the phone %v", u, p.Title, readable, !readable)
			case p.Status == plan.StatusDraft && readable != drafts[p.ID][u]:
				t.Errorf("%s: draft %q readable by REST %v, want %v", u, p.Title, readable, drafts[p.ID][u])
			}
			if p.Status == plan.StatusPublished && readable {
				// The list agrees with the detail.
				if !slices.ContainsFunc(listed.Items, func(x plan.Plan) bool { return x.ID == p.ID }) {
					t.Errorf("%s: published %q readable but not listed", u, p.Title)
				}
			}
		}
	}
}

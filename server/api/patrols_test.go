package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// patrolAPI serves the patrol record routes on s's database and sessions. It is its own
// API instance so the test does not depend on where the application mounts the routes.
func patrolAPI(t *testing.T, s *apptest.Server) *apptest.Server {
	t.Helper()
	a := api.New(api.Config{MaxBodyBytes: 1 << 20}, api.Deps{DB: s.DB, Accounts: s.Accounts, Org: s.Org, Audit: s.Audit, Sync: s.Sync,
		Registry: prometheus.NewRegistry(), Log: s.Log})
	a.MountPatrols()
	hs := httptest.NewServer(a.Echo)
	t.Cleanup(hs.Close)
	return &apptest.Server{Main: s.Main, URL: hs.URL, Client: hs.Client()}
}

// TestPatrolRecords: patrols pushed by a phone are listed with filters, flags and their
// reasons, and shown with each measure's result, photos and raised hazards; another
// township sees none of them.
func TestPatrolRecords(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		p := patrolAPI(t, s)
		rp, ent := riskPoint(t, s)
		tok := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-g")
		clock := syncproto.NewClock("phone-g", nil)
		fin := time.Now().Add(-time.Minute).Truncate(time.Second)
		good, far := yingji.NewID(), yingji.NewID()
		r := push(t, s, tok,
			syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: good, Op: "create", HLC: clock.Now().String(),
				Fields: patrolFields(rp, 30.2232, 120.3513, fin.Add(-3*time.Minute), fin)},
			syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: far, Op: "create", HLC: clock.Now().String(),
				Fields: patrolFields(rp, 30.3231, 120.3512, fin.Add(-time.Hour-3*time.Second), fin.Add(-time.Hour))})
		if r[0].Status != "applied" || r[1].Status != "applied" {
			t.Fatalf("push %+v", r)
		}
		admin := s.Login(t, "township01")

		var page api.PatrolPage
		want(t, p.Do(t, "GET", "/api/v1/patrols?enterprise_id="+ent, admin, nil), http.StatusOK, &page)
		if page.Total != 2 || len(page.Items) != 2 || page.Items[0].ID != good || page.Items[1].ID != far {
			t.Fatalf("list %+v", page)
		}
		g := page.Items[0]
		if g.RiskPointID != rp || g.RiskPointName != "液化烃储罐区" || g.RiskLevel != "red" || g.EnterpriseName == "" ||
			g.PatrollerName == "" || g.ItemCount != 3 || g.Uncontrolled != 2 || g.PhotoCount != 1 || len(g.Flags) != 0 ||
			g.DistanceM == nil || *g.DistanceM > 50 {
			t.Fatalf("clean patrol %+v", g)
		}
		f := page.Items[1]
		if len(f.Flags) != 2 || f.Flags[0].Code != patrol.FlagFar || f.Flags[1].Code != patrol.FlagTooFast ||
			f.Flags[0].Reason == "" || f.Flags[1].Reason == "" {
			t.Fatalf("flagged patrol %+v", f)
		}

		// Filters.
		for q, wantIDs := range map[string][]string{
			"flagged=true":        {far},
			"flagged=false":       {good},
			"risk_point_id=" + rp: {good, far},
			"risk_point_id=nope":  {},
			"from=" + url.QueryEscape(fin.Add(-30*time.Minute).Format(time.RFC3339)): {good},
			"to=" + url.QueryEscape(fin.Add(-30*time.Minute).Format(time.RFC3339)):   {far},
			"page_size=1&page=2": {far},
			"sort=finished_at":   {far, good},
		} {
			var pg api.PatrolPage
			want(t, p.Do(t, "GET", "/api/v1/patrols?enterprise_id="+ent+"&"+q, admin, nil), http.StatusOK, &pg)
			got := []string{}
			for _, it := range pg.Items {
				got = append(got, it.ID)
			}
			if len(got) != len(wantIDs) {
				t.Fatalf("%s: %v, want %v", q, got, wantIDs)
			}
			for i := range got {
				if got[i] != wantIDs[i] {
					t.Fatalf("%s: %v, want %v", q, got, wantIDs)
				}
			}
		}
		wantError(t, p.Do(t, "GET", "/api/v1/patrols?flagged=maybe", admin, nil), http.StatusBadRequest, "request.bad_query")
		wantError(t, p.Do(t, "GET", "/api/v1/patrols?from=yesterday", admin, nil), http.StatusBadRequest, "request.bad_query")
		wantError(t, p.Do(t, "GET", "/api/v1/patrols?sort=items", admin, nil), http.StatusBadRequest, "list.bad_sort")

		// Detail: every measure's result with its text, photos and the hazard it raised.
		var d patrol.PatrolDetail
		want(t, p.Do(t, "GET", "/api/v1/patrols/"+good, admin, nil), http.StatusOK, &d)
		if len(d.Items) != 3 || d.Items[0].Text != "可燃气体报警器完好" || d.Items[0].Kind != "engineering" || d.Items[0].Controlled ||
			d.Items[0].Note != "报警器无响应" || len(d.Items[0].Photos) != 1 || d.Items[0].HazardID != patrol.HazardID(good, "m1") ||
			!d.Items[2].Controlled || d.Items[2].HazardID != "" {
			t.Fatalf("detail %+v", d)
		}
		wantError(t, p.Do(t, "GET", "/api/v1/patrols/nope", admin, nil), http.StatusNotFound, "patrol.not_found")

		// Scope: township02 sees neither the list nor the record.
		other := s.Login(t, "township02")
		var none api.PatrolPage
		want(t, p.Do(t, "GET", "/api/v1/patrols", other, nil), http.StatusOK, &none)
		for _, it := range none.Items {
			if it.ID == good || it.ID == far {
				t.Fatalf("township02 sees patrol %s", it.ID)
			}
		}
		wantError(t, p.Do(t, "GET", "/api/v1/patrols/"+good, other, nil), http.StatusForbidden, "auth.out_of_scope")
		wantError(t, p.Do(t, "GET", "/api/v1/patrols", "", nil), http.StatusUnauthorized, "auth.no_token")
	})
}

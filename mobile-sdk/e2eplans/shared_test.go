package e2eplans_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/yingji"
)

// The shared-down scopes end to end: a grid worker's, a rescue member's and an enterprise
// officer's field clients (the real yingji-field binary) sync once and, offline, list the
// city's published plans and find an MSDS sheet by CAS number; the officer does not get
// another enterprise's on-site plan; a plan the city retires leaves the phones at their next
// sync — on SQLite and PostgreSQL.
//
//	go test -race -count=1 -run Shared ./mobile-sdk/e2eplans/

func TestSharedEndToEnd(t *testing.T) {
	t.Parallel()
	runShared(t, apptest.Start(t))
}

func TestSharedEndToEndPostgres(t *testing.T) {
	t.Parallel()
	runShared(t, apptest.StartPostgres(t))
}

var cityPlanTitles = []string{"临江市危险化学品事故专项应急预案", "临江市突发事件总体应急预案", "临江市防汛防台专项应急预案"}

const entPlanTitle = "液氯储罐泄漏现场处置方案" // 临港石化储运有限公司's on-site plan

func planTitles(t *testing.T, db string) []string {
	t.Helper()
	code, out, errOut := field(t, db, "list", "plans")
	if code != 0 {
		t.Fatalf("list plans: %d %s", code, errOut)
	}
	titles := []string{}
	for _, r := range out.([]any) {
		titles = append(titles, r.(map[string]any)["title"].(string))
	}
	slices.Sort(titles)
	return titles
}

func runShared(t *testing.T, s *apptest.Server) {
	proxy := apptest.NewCutProxy(t, s.URL)
	dbs := map[string]string{}
	for _, u := range []string{"grid01", "rescue01", "safety02"} {
		dbs[u] = filepath.Join(t.TempDir(), u+".db")
		if code, _, errOut := field(t, dbs[u], "login", "-server", proxy.URL, "-user", u, "-password", apptest.Password); code != 0 {
			t.Fatalf("%s login: %d %s", u, code, errOut)
		}
		if code, _, errOut := field(t, dbs[u], "sync"); code != 0 {
			t.Fatalf("%s sync: %d %s", u, code, errOut)
		}
	}
	proxy.SetDown(true)
	for _, u := range []string{"grid01", "rescue01", "safety02"} {
		db := dbs[u]
		if code, _, _ := field(t, db, "sync"); code != 3 {
			t.Fatalf("%s sync offline: exit %d, want 3", u, code)
		}
		titles := planTitles(t, db)
		for _, want := range cityPlanTitles {
			if !slices.Contains(titles, want) {
				t.Errorf("%s offline lacks the city's plan %s: %v", u, want, titles)
			}
		}
		// The on-site plan of 临港石化储运 (in grid01's grid, under rescue01's city team) is not
		// another enterprise's business.
		if u == "safety02" && slices.Contains(titles, entPlanTitle) {
			t.Errorf("safety02 holds another enterprise's on-site plan: %v", titles)
		}
		code, out, errOut := field(t, db, "cas", "7782-50-5")
		if code != 0 {
			t.Fatalf("%s cas: %d %s", u, code, errOut)
		}
		if m := out.(map[string]any); m["title"] != "液氯" || m["un"] != "1017" {
			t.Fatalf("%s cas lookup: %v", u, out)
		}
		if code, out, _ := field(t, db, "search", "plans", "液氯"); code != 0 || len(out.([]any)) < 1 {
			t.Fatalf("%s offline search 液氯: %v", u, out)
		}
		// The city's duty officer is in everyone's directory.
		if code, out, _ := field(t, db, "list", "directory", "-where", "post=指挥中心值班员"); code != 0 || len(out.([]any)) != 1 {
			t.Fatalf("%s directory: %v", u, out)
		}
	}

	// The city retires its flood plan: it leaves the phones at their next sync.
	admin := s.Login(t, "admin")
	var page yingji.Page[plan.Plan]
	want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100", admin, nil), 200, &page)
	var flood plan.Plan
	for _, p := range page.Items {
		if p.Title == "临江市防汛防台专项应急预案" && p.Status == plan.StatusPublished {
			flood = p
		}
	}
	if flood.ID == "" {
		t.Fatalf("no published flood plan in %d plans", len(page.Items))
	}
	want(t, s.Do(t, "POST", "/api/v1/plans/"+flood.ID+"/retire", admin, map[string]string{"reason": "修订后重新发布"}), 200, nil)
	proxy.SetDown(false)
	for _, u := range []string{"grid01", "safety02"} {
		if code, _, errOut := field(t, dbs[u], "sync"); code != 0 {
			t.Fatalf("%s sync: %d %s", u, code, errOut)
		}
		titles := planTitles(t, dbs[u])
		if slices.Contains(titles, flood.Title) {
			t.Errorf("%s still holds the retired plan: %v", u, titles)
		}
		if !slices.Contains(titles, "临江市突发事件总体应急预案") {
			t.Errorf("%s lost the plans still published: %v", u, titles)
		}
	}
}

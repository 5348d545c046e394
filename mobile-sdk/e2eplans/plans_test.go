// Package e2eplans_test is the plans issue's end-to-end test ("Done when" of issue 14): a plan
// drafted, reviewed and published by two people, found by a keyword inside a section; a
// responder's field client (the real yingji-field binary) that, offline, lists the plan,
// finds it by keyword and finds an MSDS sheet by CAS number — on SQLite and PostgreSQL.
//
//	go test -race -count=1 ./mobile-sdk/e2eplans/
package e2eplans_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// The shared end-to-end helpers, under this package's names.
var (
	field = e2etest.Field
	want  = e2etest.Want
)

func TestPlansEndToEnd(t *testing.T) {
	t.Parallel()
	runPlans(t, apptest.Start(t))
}

func TestPlansEndToEndPostgres(t *testing.T) {
	t.Parallel()
	runPlans(t, apptest.StartPostgres(t))
}

func runPlans(t *testing.T, s *apptest.Server) {
	admin, district := s.Login(t, "admin"), s.Login(t, "district01")
	var units []org.Unit
	var page yingji.Page[org.Unit]
	want(t, s.Do(t, "GET", "/api/v1/org-units", admin, nil), 200, &page)
	units = page.Items
	var districtID string
	for _, u := range units {
		if u.Code == "339901" {
			districtID = u.ID
		}
	}

	// Drafted by the district administrator ...
	in := map[string]any{"title": "江南区液氨制冷企业事故专项应急预案", "kind": "special", "level": "district", "org_unit_id": districtID,
		"content": map[string]any{
			"events": []map[string]any{{"class": "accident", "sub_type": "危险化学品事故"}},
			"levels": []map[string]any{{"level": 4, "conditions": []map[string]any{{"metric": "hazmat_release", "op": ">", "value": 0, "subject": "液氨"}},
				"measures": []string{"疏散冷库作业人员"}}},
			"chapters": []map[string]any{{"title": "处置措施", "body": "关闭冷库氨阀组，开启事故排风，用雾状水吸收泄漏的氨气"}},
		}}
	var p plan.Plan
	want(t, s.Do(t, "POST", "/api/v1/plans", district, in), http.StatusCreated, &p)
	want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/submit", district, nil), 200, nil)
	// ... who cannot publish it himself; the city administrator reviews and publishes it.
	if r := s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", district, nil); r.Status != http.StatusForbidden {
		t.Fatalf("author published his own plan: %d %s", r.Status, r.Body)
	}
	want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", admin, map[string]string{"comment": "同意"}), 200, nil)
	var hits yingji.Page[search.Hit]
	want(t, s.Do(t, "GET", "/api/v1/plans/search?q="+url.QueryEscape("事故排风"), admin, nil), 200, &hits)
	if hits.Total != 1 || hits.Items[0].ID != p.PlanID || !strings.Contains(hits.Items[0].Snippet, "<mark>事故排风</mark>") {
		t.Fatalf("server search: %+v", hits)
	}

	// The responder's phone syncs once, then goes offline.
	proxy := apptest.NewCutProxy(t, s.URL)
	db := filepath.Join(t.TempDir(), "rescue01.db")
	if code, _, errOut := field(t, db, "login", "-server", proxy.URL, "-user", "rescue01", "-password", apptest.Password); code != 0 {
		t.Fatalf("login: %d %s", code, errOut)
	}
	if code, _, errOut := field(t, db, "sync"); code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	proxy.SetDown(true)
	if code, _, _ := field(t, db, "sync"); code != 3 {
		t.Fatalf("sync offline: exit %d, want 3", code)
	}

	// Offline: the plan is listed with its sections ...
	code, out, errOut := field(t, db, "list", "plans")
	if code != 0 {
		t.Fatalf("list plans: %d %s", code, errOut)
	}
	var found map[string]any
	titles := []string{}
	for _, r := range out.([]any) {
		m := r.(map[string]any)
		titles = append(titles, m["title"].(string))
		if m["id"] == p.PlanID {
			found = m
		}
	}
	if found == nil || found["version_id"] != p.ID {
		t.Fatalf("plan not listed offline: %v", titles)
	}
	if len(titles) != 5 { // the four demo plans and this one
		t.Errorf("plans offline: %v", titles)
	}
	chapters := found["content"].(map[string]any)["chapters"].([]any)
	if !strings.Contains(chapters[0].(map[string]any)["body"].(string), "事故排风") {
		t.Fatalf("sections offline: %v", found["content"])
	}
	// ... found by a keyword inside a section (no word segmentation) ...
	code, out, errOut = field(t, db, "search", "plans", "事故排风")
	if code != 0 {
		t.Fatalf("search: %d %s", code, errOut)
	}
	res := out.([]any)
	if len(res) != 1 || res[0].(map[string]any)["id"] != p.PlanID || !strings.Contains(res[0].(map[string]any)["snippet"].(string), "【事故排风】") {
		t.Fatalf("offline search: %v", out)
	}
	// "液氯" inside the enterprise's "液氯储罐泄漏现场处置方案" and the city's special plan.
	if code, out, _ = field(t, db, "search", "plans", "液氯"); code != 0 || len(out.([]any)) < 2 {
		t.Fatalf("offline 液氯: %v", out)
	}
	// ... and an MSDS sheet by CAS number, both by the lookup and by search.
	code, out, errOut = field(t, db, "cas", "7782-50-5")
	if code != 0 {
		t.Fatalf("cas: %d %s", code, errOut)
	}
	msds := out.(map[string]any)
	if msds["title"] != "液氯" || msds["un"] != "1017" || !strings.Contains(msds["msds"].(map[string]any)["leak_handling"].(string), "碱液") {
		t.Fatalf("cas lookup: %v", out)
	}
	code, out, _ = field(t, db, "search", "knowledge", "7664-41-7")
	if code != 0 || len(out.([]any)) != 1 || out.([]any)[0].(map[string]any)["title"] != "液氨" {
		t.Fatalf("search knowledge by CAS: %v", out)
	}
	if code, _, _ := field(t, db, "cas", "50-00-0"); code != 4 {
		t.Fatalf("unknown CAS: exit %d, want 4", code)
	}
	// The emergency directory is there too, by department and post.
	code, out, _ = field(t, db, "list", "directory", "-where", "post=指挥中心值班员")
	if code != 0 || len(out.([]any)) != 1 || out.([]any)[0].(map[string]any)["name"] != "王值班" {
		t.Fatalf("directory: %v", out)
	}
	// Retiring the plan removes it from the phone at the next sync.
	want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/retire", admin, map[string]string{"reason": "合并入市级预案"}), 200, nil)
	proxy.SetDown(false)
	if code, _, errOut := field(t, db, "sync"); code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	if code, out, _ = field(t, db, "search", "plans", "事故排风"); code != 0 || len(out.([]any)) != 0 {
		t.Fatalf("retired plan still found offline: %v", out)
	}
}

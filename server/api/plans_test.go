package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/knowledge"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

func planInput(unitID string) map[string]any {
	return map[string]any{"title": "江南区液氯泄漏事故专项应急预案", "code": "JN-2026-07", "kind": "special", "level": "district", "org_unit_id": unitID,
		"content": map[string]any{
			"summary": "适用于江南区内液氯生产、储存企业的泄漏事故",
			"events":  []map[string]any{{"class": "accident", "sub_type": "危险化学品事故", "grades": []string{"较大", "一般"}}},
			"organization": []map[string]any{{"group": "headquarters", "name": "总指挥", "department": "江南区人民政府",
				"people": []map[string]string{{"name": "赵区长", "phone": "0571-87000001"}}}},
			"levels": []map[string]any{{"level": 3, "conditions": []map[string]any{
				{"metric": "hazmat_release", "op": ">=", "value": 1, "subject": "液氯", "text": "液氯泄漏 1 吨以上"},
				{"metric": "deaths", "op": ">=", "value": 3}}, "measures": []string{"区应急管理局派出工作组"}}},
			"chapters": []map[string]any{{"title": "处置要点", "body": "关闭液氯储罐进出口阀门，启动事故氯吸收塔，疏散下风向群众"}},
		}}
}

func search1(t *testing.T, s *apptest.Server, path, q, token string) yingji.Page[search.Hit] {
	t.Helper()
	var page yingji.Page[search.Hit]
	want(t, s.Do(t, "GET", path+"?q="+url.QueryEscape(q), token, nil), 200, &page)
	return page
}

// A plan is drafted by one person, reviewed and published by another, found by a keyword
// inside a section, revised into a new version, and retired — on both engines.
func TestPlanWorkflow(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		district := s.Login(t, "district01")
		var p plan.Plan
		want(t, s.Do(t, "POST", "/api/v1/plans", district, planInput(d.units["339901"].ID)), http.StatusCreated, &p)
		if p.Status != plan.StatusDraft || p.Version != 1 || len(p.Content.Levels) != 1 || p.AuthorName != "赵区长" {
			t.Fatalf("created %+v", p)
		}
		// Drafts are not searchable; a grid worker below does not see the draft: it is not found.
		if res := search1(t, s, "/api/v1/plans/search", "氯吸收塔", d.admin); res.Total != 0 {
			t.Fatalf("draft found: %+v", res)
		}
		grid := s.Login(t, "grid01")
		wantError(t, s.Do(t, "GET", "/api/v1/plans/"+p.ID, grid, nil), http.StatusNotFound, "plan.not_found")

		var up plan.Plan
		want(t, s.Do(t, "PATCH", "/api/v1/plans/"+p.ID, district, map[string]any{"title": "江南区液氯泄漏事故专项应急预案（2026 版）"}), 200, &up)
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/submit", district, nil), 200, &up)
		if up.Status != plan.StatusReview {
			t.Fatalf("submitted %+v", up.Status)
		}
		wantError(t, s.Do(t, "PATCH", "/api/v1/plans/"+p.ID, district, map[string]any{"title": "x"}), http.StatusConflict, "plan.immutable")
		// Two-person rule: the author cannot publish his own version.
		wantError(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", district, map[string]string{}), http.StatusForbidden, "plan.two_person")
		// A township administrator below the district may not review it, nor see it under review.
		wantError(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", s.Login(t, "township01"), map[string]string{}), http.StatusNotFound, "plan.not_found")
		// The city administrator sends it back once, then publishes the resubmitted draft.
		wantError(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/reject", d.admin, map[string]string{}), http.StatusBadRequest, "plan.comment_required")
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/reject", d.admin, map[string]string{"comment": "补充联系方式"}), 200, &up)
		if up.Status != plan.StatusDraft || up.ReviewComment != "补充联系方式" {
			t.Fatalf("rejected %+v", up)
		}
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/submit", district, nil), 200, nil)
		var pub plan.Plan
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", d.admin, map[string]string{"comment": "同意发布"}), 200, &pub)
		if pub.Status != plan.StatusPublished || pub.ReviewerName != "李管理" || pub.PublishedAt == nil {
			t.Fatalf("published %+v", pub)
		}

		// Found by a keyword inside a section, marked; by a township below (ancestor plan).
		for _, who := range []string{d.admin, s.Login(t, "township01"), grid} {
			res := search1(t, s, "/api/v1/plans/search", "氯吸收塔", who)
			if res.Total != 1 || res.Items[0].ID != p.PlanID || res.Items[0].RefID != p.ID || !strings.Contains(res.Items[0].Snippet, "<mark>氯吸收塔</mark>") {
				t.Fatalf("search = %+v", res)
			}
		}
		if res := search1(t, s, "/api/v1/plans/search", "氯吸收塔", s.Login(t, "township02")); res.Total != 0 {
			t.Fatalf("another district's township finds it: %+v", res)
		}
		wantError(t, s.Do(t, "GET", "/api/v1/plans/search?q=%EF%BC%8C", d.admin, nil), http.StatusBadRequest, "search.bad_query")

		// Match: 1.5 t of chlorine → 三级 on the second... first condition.
		var res plan.Result
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/match", grid, map[string]any{"values": []map[string]any{
			{"metric": "hazmat_release", "subject": "液氯", "value": 1.5}}}), 200, &res)
		if res.Level != 3 || len(res.Reasons) != 1 || res.Reasons[0].Condition != 0 {
			t.Fatalf("match %+v", res)
		}

		// Revise: a published version is immutable; a new draft version carries the change.
		wantError(t, s.Do(t, "PATCH", "/api/v1/plans/"+p.ID, district, map[string]any{"title": "x"}), http.StatusConflict, "plan.immutable")
		var v2 plan.Plan
		want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/revise", district, nil), http.StatusCreated, &v2)
		if v2.Version != 2 || v2.PlanID != p.PlanID || v2.Status != plan.StatusDraft {
			t.Fatalf("revised %+v", v2)
		}
		wantError(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/revise", district, nil), http.StatusConflict, "plan.open_version")
		content := v2.Content
		content.Chapters[0].Body = "关闭紧急切断阀，启动碱液喷淋"
		want(t, s.Do(t, "PATCH", "/api/v1/plans/"+v2.ID, district, map[string]any{"content": content}), 200, nil)
		want(t, s.Do(t, "POST", "/api/v1/plans/"+v2.ID+"/submit", district, nil), 200, nil)
		want(t, s.Do(t, "POST", "/api/v1/plans/"+v2.ID+"/publish", d.admin, nil), 200, nil)
		if r := search1(t, s, "/api/v1/plans/search", "氯吸收塔", d.admin); r.Total != 0 {
			t.Fatalf("old version still found")
		}
		if r := search1(t, s, "/api/v1/plans/search", "碱液喷淋", d.admin); r.Total != 1 || r.Items[0].RefID != v2.ID {
			t.Fatalf("new version not found: %+v", r)
		}
		var hist struct{ Items []plan.Plan }
		want(t, s.Do(t, "GET", "/api/v1/plans/"+v2.ID+"/versions", district, nil), 200, &hist)
		if len(hist.Items) != 2 || hist.Items[0].Version != 2 || hist.Items[1].Status != plan.StatusRetired {
			t.Fatalf("history %+v", hist.Items)
		}
		// Every step is audited.
		var audit yingji.Page[map[string]any]
		want(t, s.Do(t, "GET", "/api/v1/audit?object_type=plan&page_size=100", d.admin, nil), 200, &audit)
		seen := map[string]int{}
		for _, e := range audit.Items {
			seen[e["action"].(string)+"/"+e["result"].(string)]++
		}
		for _, a := range []string{"plan.create/ok", "plan.update/ok", "plan.submit/ok", "plan.reject/ok", "plan.publish/ok", "plan.publish/denied", "plan.revise/ok"} {
			if seen[a] == 0 {
				t.Errorf("audit lacks %s (have %v)", a, seen)
			}
		}
		// Print.
		r := s.Do(t, "GET", "/api/v1/plans/"+v2.ID+"/export.docx", grid, nil)
		if r.Status != 200 || !strings.HasPrefix(string(r.Body), "PK") {
			t.Fatalf("docx: %d", r.Status)
		}
		want(t, s.Do(t, "POST", "/api/v1/plans/"+v2.ID+"/retire", d.admin, map[string]string{"reason": "机构改革"}), 200, nil)
		if r := search1(t, s, "/api/v1/plans/search", "碱液喷淋", d.admin); r.Total != 0 {
			t.Fatalf("retired plan found")
		}
	})
}

func TestPlanDemoAndKnowledge(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		var page yingji.Page[plan.Plan]
		want(t, s.Do(t, "GET", "/api/v1/plans?status=published", d.admin, nil), 200, &page)
		if page.Total != 4 {
			t.Fatalf("demo plans: %d", page.Total)
		}
		// The enterprise's on-site plan: "液氯" inside "液氯储罐泄漏现场处置方案".
		res := search1(t, s, "/api/v1/plans/search", "液氯", s.Login(t, "safety01"))
		if res.Total != 2 || !strings.Contains(res.Items[0].Snippet, "<mark>液氯</mark>") {
			t.Fatalf("safety01 液氯: %+v", res)
		}
		// MSDS by CAS number, by UN number, by keyword.
		for _, q := range []string{"7782-50-5", "UN1017", "事故氯吸收"} {
			res := search1(t, s, "/api/v1/knowledge/search", q, s.Login(t, "rescue01"))
			if res.Total < 1 || !strings.Contains(res.Items[0].Title, "液氯") {
				t.Fatalf("knowledge %q: %+v", q, res)
			}
		}
		var kb yingji.Page[knowledge.Entry]
		want(t, s.Do(t, "GET", "/api/v1/knowledge?un=UN1005", d.admin, nil), 200, &kb)
		if kb.Total != 1 || kb.Items[0].CAS != "7664-41-7" {
			t.Fatalf("by UN: %+v", kb)
		}
		// Editing: administrators only; bad CAS refused in Chinese.
		entry := map[string]any{"kind": "msds", "title": "硫化氢", "cas": "7783-06-4", "un": "1053",
			"msds": map[string]string{"hazards": "剧毒、易燃气体", "first_aid": "脱离现场，吸氧", "leak_handling": "切断气源，喷雾状水稀释"}}
		wantError(t, s.Do(t, "POST", "/api/v1/knowledge", s.Login(t, "safety01"), entry), http.StatusForbidden, "auth.forbidden")
		entry["cas"] = "7783-06-5"
		wantError(t, s.Do(t, "POST", "/api/v1/knowledge", d.admin, entry), http.StatusBadRequest, "knowledge.bad_cas")
		entry["cas"] = "7783-06-4"
		var e knowledge.Entry
		want(t, s.Do(t, "POST", "/api/v1/knowledge", d.admin, entry), http.StatusCreated, &e)
		wantError(t, s.Do(t, "POST", "/api/v1/knowledge", d.admin, entry), http.StatusConflict, "knowledge.duplicate_cas")
		if r := search1(t, s, "/api/v1/knowledge/search", "硫化氢", d.admin); r.Total != 1 || r.Items[0].ID != e.ID {
			t.Fatalf("new entry: %+v", r)
		}
	})
}

var xlPlanHeaders = []string{"预案编号", "预案名称", "预案类别", "预案层级", "编制单位代码", "企业统一社会信用代码", "适用范围", "事件类型"}

// Excel import of plan metadata: all or nothing, every bad row explained in its column.
func TestPlanImport(t *testing.T) {
	s := apptest.Start(t)
	d := loadDemo(t, s)
	r := s.Do(t, "GET", "/api/v1/plans/template.xlsx", d.admin, nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "PK") {
		t.Fatalf("template: %d", r.Status)
	}
	bad := xlWorkbook(t, xlPlanHeaders,
		[]any{"A-1", "临江市地震应急预案", "专项应急预案", "市级", "339900", "", "适用于地震灾害", "自然灾害/地震灾害"},
		[]any{"A-2", "", "专项应急预案", "市级", "339900", "", "", ""},
		[]any{"A-3", "江南区预案", "综合应急预案", "市级", "339901", "", "", "天灾"},
		[]any{"A-4", "企业预案", "现场处置方案", "企业", "", "91000000000000000X", "", ""})
	body := xlWantError(t, xlUpload(t, s, "/api/v1/plans/import", d.admin, bad), http.StatusBadRequest, "import.invalid_rows")
	got := map[string]bool{}
	for _, e := range body.Data.Errors {
		got[fmt.Sprintf("%d/%s", e.Row, e.Column)] = true
	}
	for _, w := range []string{"3/预案名称", "4/预案层级", "4/事件类型", "5/企业统一社会信用代码"} {
		if !got[w] {
			t.Errorf("no error at %s: %+v", w, body.Data.Errors)
		}
	}
	var page yingji.Page[plan.Plan]
	want(t, s.Do(t, "GET", "/api/v1/plans?status=draft", d.admin, nil), 200, &page)
	if page.Total != 0 {
		t.Fatalf("a bad file imported %d drafts", page.Total)
	}
	good := xlWorkbook(t, xlPlanHeaders,
		[]any{"A-1", "临江市地震应急预案", "专项应急预案", "市级", "339900", "", "适用于地震灾害", "自然灾害/地震灾害"},
		[]any{"B-1", "临港石化储运有限公司综合应急预案", "综合", "企业", "", d.ownEnt.CreditCode, "", "事故灾难"})
	var res struct{ Imported int }
	want(t, xlUpload(t, s, "/api/v1/plans/import", d.admin, good), 200, &res)
	want(t, s.Do(t, "GET", "/api/v1/plans?status=draft", d.admin, nil), 200, &page)
	if res.Imported != 2 || page.Total != 2 {
		t.Fatalf("imported %d, drafts %d", res.Imported, page.Total)
	}
	r = s.Do(t, "GET", "/api/v1/plans/export.xlsx?status=draft", d.admin, nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "PK") {
		t.Fatalf("export: %d", r.Status)
	}
}

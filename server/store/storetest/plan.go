package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/bigram"
	"github.com/yingji/yingji/server/knowledge"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

var planT0 = time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)

// testPlan is a version as the service prepares one.
func testPlan(id, planID, title string, level plan.Level, unit, ent, path string, status plan.Status, chapter string) plan.Plan {
	p := plan.Plan{ID: id, PlanID: planID, Version: 1, Status: status, Code: "YA-" + id, Title: title, Kind: plan.KindSpecial,
		Level: level, OrgUnitID: unit, EnterpriseID: ent, OrgPath: path, AuthorID: "author", AuthorName: "编制人", EditorID: "author",
		CreatedAt: planT0, UpdatedAt: planT0,
		Content: plan.Content{Summary: "适用于本单位", Chapters: []plan.Chapter{{Title: "处置措施", Body: chapter}},
			Levels: []plan.ResponseLevel{{Level: 1, Match: "any", Conditions: []plan.Condition{{Metric: plan.MetricDeaths, Op: ">=", Value: 30}}}}}}
	if status == plan.StatusPublished {
		t := planT0
		p.PublishedAt = &t
	}
	p.Normalize()
	return p
}

func hitIDs(p yingji.Page[search.Hit]) []string {
	out := []string{}
	for _, h := range p.Items {
		out = append(out, h.ID)
	}
	return out
}

// TestPlans runs the plan, knowledge, search and directory store tests against open's databases.
func TestPlans(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	setup := func(t *testing.T) (*store.Store, orgTree, map[string]org.Enterprise) {
		s := store.New(open(t))
		tree := orgSeedUnits(t, s)
		return s, tree, orgSeedEnterprises(t, s, tree)
	}

	t.Run("Workflow", func(t *testing.T) {
		s, tree, _ := setup(t)
		p := testPlan("v1", "p1", "临江市危险化学品事故专项应急预案", plan.LevelCity, "c", "", tree["c"].Path, plan.StatusDraft, "立即关闭液氯储罐进出口阀门")
		if err := s.CreatePlans(ctx, []plan.Plan{p}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPlan(ctx, "v1")
		if err != nil || got.Title != p.Title || got.Content.Chapters[0].Body != "立即关闭液氯储罐进出口阀门" || !got.CreatedAt.Equal(planT0) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		// A draft is not searchable.
		q := bigram.Parse("液氯")
		if res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: q, Scope: search.Scope{All: true}}); err != nil || res.Total != 0 {
			t.Fatalf("draft found: %+v %v", res, err)
		}
		// Draft edits are guarded by the status.
		got.Title = "临江市危险化学品事故专项应急预案（修订）"
		got.EditorID = "editor"
		if err := s.UpdateDraft(ctx, got); err != nil {
			t.Fatal(err)
		}
		at := planT0.Add(time.Hour)
		if _, err := s.TransitionPlan(ctx, plan.Transition{ID: "v1", From: plan.StatusDraft, To: plan.StatusReview, At: at}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateDraft(ctx, got); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("update under review = %v, want ErrNotFound", err)
		}
		if _, err := s.TransitionPlan(ctx, plan.Transition{ID: "v1", From: plan.StatusDraft, To: plan.StatusReview, At: at}); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("stale transition = %v", err)
		}
		pub, err := s.TransitionPlan(ctx, plan.Transition{ID: "v1", From: plan.StatusReview, To: plan.StatusPublished, At: at,
			ReviewerID: "rev", ReviewerName: "审核人", ReviewComment: "同意"})
		if err != nil || pub.Status != plan.StatusPublished || pub.PublishedAt == nil || !pub.PublishedAt.Equal(at) || pub.ReviewerName != "审核人" {
			t.Fatalf("publish = %+v, %v", pub, err)
		}
		res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: q, Scope: search.Scope{All: true}})
		if err != nil || res.Total != 1 || res.Items[0].ID != "p1" || res.Items[0].RefID != "v1" {
			t.Fatalf("search after publish = %+v, %v", res, err)
		}
		if want := "<mark>液氯</mark>储罐"; !strings.Contains(res.Items[0].Snippet, want) {
			t.Fatalf("snippet %q lacks %q", res.Items[0].Snippet, want)
		}
		// Version 2 replaces version 1 when published; the index follows.
		v2 := got
		v2.ID, v2.Version, v2.Status = "v2", 2, plan.StatusDraft
		v2.Content.Chapters[0].Body = "液氨泄漏时疏散下风向人员"
		v2.SubmittedAt, v2.PublishedAt = nil, nil
		if err := s.CreatePlans(ctx, []plan.Plan{v2}); err != nil {
			t.Fatal(err)
		}
		v3 := v2
		v3.ID, v3.Version = "v3", 3
		if err := s.CreatePlans(ctx, []plan.Plan{v3}); err == nil {
			t.Fatal("two open versions of one plan accepted")
		}
		for _, tr := range []plan.Transition{{ID: "v2", From: plan.StatusDraft, To: plan.StatusReview}, {ID: "v2", From: plan.StatusReview, To: plan.StatusPublished}} {
			tr.At = at.Add(time.Hour)
			if _, err := s.TransitionPlan(ctx, tr); err != nil {
				t.Fatal(err)
			}
		}
		old, _ := s.GetPlan(ctx, "v1")
		if old.Status != plan.StatusRetired || old.RetiredReason != "已由第 2 版取代" {
			t.Fatalf("v1 = %s %q", old.Status, old.RetiredReason)
		}
		if res, _ := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: q, Scope: search.Scope{All: true}}); res.Total != 0 {
			t.Fatalf("retired text still found: %+v", res)
		}
		res, _ = s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("液氨 疏散"), Scope: search.Scope{All: true}})
		if slices.Compare(hitIDs(res), []string{"p1"}) != 0 || res.Items[0].RefID != "v2" {
			t.Fatalf("search v2 = %+v", res)
		}
		latest, err := s.ListPlans(ctx, plan.Filter{Latest: true}, yingji.ListParams{})
		if err != nil || latest.Total != 1 || latest.Items[0].ID != "v2" {
			t.Fatalf("latest = %+v, %v", latest, err)
		}
		if _, err := s.TransitionPlan(ctx, plan.Transition{ID: "v2", From: plan.StatusPublished, To: plan.StatusRetired, At: at, Reason: "机构调整"}); err != nil {
			t.Fatal(err)
		}
		if res, _ := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("液氨"), Scope: search.Scope{All: true}}); res.Total != 0 {
			t.Fatalf("retired plan found: %+v", res)
		}
		if err := s.DeleteDraft(ctx, "v2"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("delete retired = %v", err)
		}
	})

	t.Run("Scope", func(t *testing.T) {
		s, tree, es := setup(t)
		ps := []plan.Plan{
			testPlan("vc", "pc", "市级综合预案", plan.LevelCity, "c", "", tree["c"].Path, plan.StatusPublished, "液氯泄漏 市级响应"),
			testPlan("vd", "pd", "区级专项预案", plan.LevelDistrict, "d1", "", tree["d1"].Path, plan.StatusPublished, "液氯泄漏 区级响应"),
			testPlan("vdd", "pdd", "区级草稿", plan.LevelDistrict, "d1", "", tree["d1"].Path, plan.StatusDraft, "液氯泄漏 草稿"),
			testPlan("vo", "po", "另一区预案", plan.LevelDistrict, "d10", "", tree["d10"].Path, plan.StatusPublished, "液氯泄漏 另一区"),
			testPlan("ve", "pe", "企业现场处置方案", plan.LevelEnterprise, "", "e1", es["e1"].OrgPath, plan.StatusPublished, "液氯储罐泄漏处置"),
		}
		if err := s.CreatePlans(ctx, ps); err != nil {
			t.Fatal(err)
		}
		list := func(sc plan.Scope) []string {
			page, err := s.ListPlans(ctx, plan.Filter{Scope: sc}, yingji.ListParams{Sort: "title"})
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, p := range page.Items {
				out = append(out, p.ID)
			}
			slices.Sort(out)
			return out
		}
		tp := tree["t1"].Path
		cases := []struct {
			name string
			sc   plan.Scope
			want []string
		}{
			{"City", plan.Scope{OrgPrefix: tree["c"].Path, Ancestors: tree["c"].Path}, []string{"vc", "vd", "vdd", "ve", "vo"}},
			{"District", plan.Scope{OrgPrefix: tree["d1"].Path, Ancestors: tree["d1"].Path}, []string{"vc", "vd", "vdd", "ve"}},
			{"Township", plan.Scope{OrgPrefix: tp, Ancestors: tp}, []string{"vc", "vd", "ve"}},
			{"OtherDistrict", plan.Scope{OrgPrefix: tree["d10"].Path, Ancestors: tree["d10"].Path}, []string{"vc", "vo"}},
			{"Enterprise", plan.Scope{EnterpriseID: "e1", Ancestors: es["e1"].OrgPath}, []string{"vc", "vd", "ve"}},
			{"OtherEnterprise", plan.Scope{EnterpriseID: "e4", Ancestors: es["e4"].OrgPath}, []string{"vc", "vo"}},
		}
		for _, c := range cases {
			if got := list(c.sc); slices.Compare(got, c.want) != 0 {
				t.Errorf("%s: list = %v, want %v", c.name, got, c.want)
			}
			res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("液氯 泄漏"),
				Scope: search.Scope{OrgPrefix: c.sc.OrgPrefix, EnterpriseID: c.sc.EnterpriseID, Ancestors: c.sc.Ancestors}})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, id := range c.want {
				if id != "vdd" {
					want = append(want, "p"+id[1:])
				}
			}
			got := hitIDs(res)
			slices.Sort(got)
			if slices.Compare(got, want) != 0 || res.Total != len(want) {
				t.Errorf("%s: search = %v (total %d), want %v", c.name, got, res.Total, want)
			}
		}
		// "液氯" inside "液氯储罐泄漏处置", with no word segmentation; a single character too.
		for _, q := range []string{"液氯", "储罐泄漏", "氯", "YA-ve"} {
			res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse(q), Scope: search.Scope{EnterpriseID: "e1"}})
			if err != nil || res.Total != 1 || res.Items[0].ID != "pe" {
				t.Errorf("search %q = %+v, %v", q, res, err)
			}
		}
		// Every bigram present but not as one word: no hit.
		res, _ := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("泄漏液氯"), Scope: search.Scope{All: true}})
		if res.Total != 0 {
			t.Errorf("泄漏液氯 found %v", hitIDs(res))
		}
		// Documents indexed before positions were kept (migration 00028) are checked in their
		// text: the same answers.
		phrase := func(q string) []string {
			res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse(q), Scope: search.Scope{All: true}})
			if err != nil {
				t.Fatal(err)
			}
			got := hitIDs(res)
			slices.Sort(got)
			return got
		}
		queries := []string{"储罐泄漏", "泄漏液氯", "液氯泄漏", "储罐泄漏处置", "液氯 区级响应", "YA-ve", "市级 泄漏"}
		withPos := map[string][]string{}
		for _, q := range queries {
			withPos[q] = phrase(q)
		}
		if slices.Compare(withPos["液氯泄漏"], []string{"pc", "pd", "po"}) != 0 || len(withPos["储罐泄漏处置"]) != 1 {
			t.Errorf("phrases: %v", withPos)
		}
		if _, err := s.DB.Exec(ctx, `UPDATE search_terms SET positions = NULL`); err != nil {
			t.Fatal(err)
		}
		for _, q := range queries {
			if got := phrase(q); slices.Compare(got, withPos[q]) != 0 {
				t.Errorf("search %q without positions = %v, with = %v", q, got, withPos[q])
			}
		}
		// Ranking: the title counts more than the body.
		res, _ = s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("现场处置"), Scope: search.Scope{All: true}})
		if len(res.Items) == 0 || res.Items[0].ID != "pe" {
			t.Errorf("ranking: %v", hitIDs(res))
		}
		// Paging.
		res, _ = s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("液氯"), Scope: search.Scope{All: true},
			Page: yingji.ListParams{Page: 2, PageSize: 3}})
		if res.Total != 4 || len(res.Items) != 1 {
			t.Errorf("page 2 = %d items of %d", len(res.Items), res.Total)
		}
		res, _ = s.Search(ctx, search.Request{Kind: search.KindPlan, Query: bigram.Parse("液氯"), Scope: search.Scope{All: true},
			Page: yingji.ListParams{Page: 9, PageSize: 3}})
		if res.Total != 4 || len(res.Items) != 0 {
			t.Errorf("page 9 = %d items of %d", len(res.Items), res.Total)
		}
	})

	t.Run("Knowledge", func(t *testing.T) {
		s, _, _ := setup(t)
		root, err := s.RootPath(ctx)
		if err != nil || root != "/c/" {
			t.Fatalf("root = %q, %v", root, err)
		}
		cl := knowledge.Entry{ID: "k1", Kind: knowledge.KindMSDS, Title: "液氯", CAS: "7782-50-5", UN: "1017", OrgPath: root,
			MSDS:      &knowledge.MSDS{Hazards: "剧毒，助燃", FirstAid: "迅速脱离现场至空气新鲜处", LeakHandling: "喷雾状碱液吸收"},
			CreatedAt: planT0, UpdatedAt: planT0}
		law := knowledge.Entry{ID: "k2", Kind: knowledge.KindLaw, Title: "中华人民共和国突发事件应对法", Body: "为了预防和减少突发事件的发生",
			OrgPath: root, CreatedAt: planT0, UpdatedAt: planT0}
		cl.Normalize()
		law.Normalize()
		if err := s.CreateKnowledge(ctx, []knowledge.Entry{cl, law}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetKnowledge(ctx, "k1")
		if err != nil || got.MSDS == nil || got.MSDS.LeakHandling != "喷雾状碱液吸收" || got.MSDS.Name != "液氯" {
			t.Fatalf("get = %+v, %v", got, err)
		}
		page, err := s.ListKnowledge(ctx, knowledge.Filter{CAS: "7782-50-5"}, yingji.ListParams{})
		if err != nil || page.Total != 1 || page.Items[0].ID != "k1" {
			t.Fatalf("by CAS = %+v, %v", page, err)
		}
		page, _ = s.ListKnowledge(ctx, knowledge.Filter{UN: "1017"}, yingji.ListParams{})
		if page.Total != 1 {
			t.Fatalf("by UN = %d", page.Total)
		}
		for q, want := range map[string]string{"7782-50-5": "k1", "UN1017": "k1", "1017": "k1", "碱液": "k1", "突发事件": "k2"} {
			res, err := s.Search(ctx, search.Request{Kind: search.KindKnowledge, Query: bigram.Parse(q), Scope: search.Scope{All: true}})
			if err != nil || res.Total != 1 || res.Items[0].ID != want {
				t.Errorf("search %q = %v, %v", q, hitIDs(res), err)
			}
		}
		got.MSDS.LeakHandling = "用氢氧化钠溶液吸收"
		got.UpdatedAt = planT0.Add(time.Hour)
		if err := s.UpdateKnowledge(ctx, got); err != nil {
			t.Fatal(err)
		}
		if res, _ := s.Search(ctx, search.Request{Kind: search.KindKnowledge, Query: bigram.Parse("碱液"), Scope: search.Scope{All: true}}); res.Total != 0 {
			t.Error("old text still indexed")
		}
		if err := s.DeleteKnowledge(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetKnowledge(ctx, "k1"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("deleted = %v", err)
		}
		if res, _ := s.Search(ctx, search.Request{Kind: search.KindKnowledge, Query: bigram.Parse("7782-50-5"), Scope: search.Scope{All: true}}); res.Total != 0 {
			t.Error("deleted entry still indexed")
		}
	})

	t.Run("Directory", func(t *testing.T) {
		s, _, es := setup(t)
		c := org.Contact{ID: yingji.NewID(), EnterpriseID: "e1", Name: "王安全", Title: "安全部经理", Phone: "13800000001", CreatedAt: planT0, UpdatedAt: planT0}
		if err := s.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		n, err := s.RefreshDirectory(ctx, planT0)
		if err != nil || n != 1 {
			t.Fatalf("refresh = %d, %v", n, err)
		}
		if n, err := s.RefreshDirectory(ctx, planT0); err != nil || n != 0 {
			t.Fatalf("second refresh = %d, %v", n, err)
		}
		var dept, post, path string
		if err := s.DB.QueryRow(ctx, `SELECT department, post, org_path FROM directory WHERE id = $1`, c.ID).Scan(&dept, &post, &path); err != nil {
			t.Fatal(err)
		}
		if dept != es["e1"].Name || post != "安全部经理" || path != es["e1"].OrgPath {
			t.Fatalf("directory row = %q %q %q", dept, post, path)
		}
		if err := s.DeleteContact(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RefreshDirectory(ctx, planT0); err != nil || n != 1 {
			t.Fatalf("refresh after delete = %d, %v", n, err)
		}
		var left int
		s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM directory`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d rows left", left)
		}
	})
}

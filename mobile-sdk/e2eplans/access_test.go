package e2eplans_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/mediasvc/mediasvctest"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

// REST read access of plans matches what phones sync: every user, after a sync, can open by
// the API each plan his phone holds (the published plans of his unit, the units above it and,
// for enterprise staff, his enterprise), and no published plan his phone lacks; a draft is
// read only by those who may author it (the owner enterprise's safety officer and principal,
// the administrators of the owner unit) and review it (the administrators above), and is not
// found (404) for everyone else — grid workers, duty officers, experts, auditors, responders,
// other enterprises and districts — on SQLite and PostgreSQL. A published plan's attachments
// (media store) are readable wherever the plan is; a draft's stay with it.
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
		city.ID: {"admin": true, "leader01": true},
		ent.ID:  {"admin": true, "leader01": true, "district01": true, "township01": true, "safety01": true, "principal01": true},
	}
	for _, u := range []string{"grid01", "rescue01", "safety01", "safety02", "township01", "township02", "district01", "expert01", "duty01", "auditor01"} {
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
			case r.Status != http.StatusOK && r.Status != http.StatusForbidden && r.Status != http.StatusNotFound:
				t.Fatalf("%s GET %s: %d %s", u, p.Title, r.Status, r.Body)
			case p.Status == plan.StatusDraft && !readable && r.Status != http.StatusNotFound:
				t.Errorf("%s: hidden draft %q answers %d, want 404", u, p.Title, r.Status)
			case p.Status == plan.StatusPublished && readable != slices.Contains(onPhone, p.ID):
				t.Errorf("%s: published %q readable by REST %v, on the phone %v", u, p.Title, readable, !readable)
			case p.Status == plan.StatusDraft && readable != drafts[p.ID][u]:
				t.Errorf("%s: draft %q readable by REST %v, want %v", u, p.Title, readable, drafts[p.ID][u])
			}
			// The list agrees with the detail.
			if inList := slices.ContainsFunc(listed.Items, func(x plan.Plan) bool { return x.ID == p.ID }); inList != readable &&
				(p.Status == plan.StatusPublished || p.Status == plan.StatusDraft) {
				t.Errorf("%s: %s %q readable %v but listed %v", u, p.Status, p.Title, readable, inList)
			}
		}
	}
}

// TestPlanAttachmentAccess: the attachment of a city plan is refused to a grid worker while the
// plan is a draft and readable by him once it is published (the plan shares it below); another
// user's draft attachment stays refused — on SQLite and PostgreSQL.
func TestPlanAttachmentAccess(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(testing.TB, ...apptest.Option) *apptest.Server{"sqlite": apptest.Start, "postgres": apptest.StartPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			admin, district, grid := s.Login(t, "admin"), s.Login(t, "district01"), s.Login(t, "grid01")
			var page yingji.Page[plan.Plan]
			want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100&status=published&level=city", admin, nil), 200, &page)
			pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
			sha := mediasvctest.SHA256(pdf)
			up := (&mediasvctest.Client{URL: s.URL, Token: admin, HTTP: s.Client}).Do(t, "POST", "/api/v1/media/uploads", pdf,
				"Upload-Length", fmt.Sprint(len(pdf)), "Upload-Metadata", mediasvctest.Metadata("sha256", sha, "filename", "疏散路线图.pdf", "content_type", "application/pdf"),
				"Content-Type", "application/offset+octet-stream")
			if up.Status != http.StatusCreated || up.Offset() != int64(len(pdf)) {
				t.Fatalf("upload: %d %s", up.Status, up.Body)
			}
			var p plan.Plan
			want(t, s.Do(t, "POST", "/api/v1/plans", admin, map[string]any{"title": "临江市城市内涝专项应急预案", "kind": "special", "level": "city",
				"org_unit_id": page.Items[0].OrgUnitID, "content": map[string]any{
					"levels":      []map[string]any{{"level": 4, "conditions": []map[string]any{{"metric": "affected", "op": ">=", "value": 100}}}},
					"attachments": []map[string]string{{"sha256": sha, "name": "疏散路线图.pdf"}}}}), http.StatusCreated, &p)
			get := func(token string) int { return s.Do(t, "GET", "/api/v1/media/"+sha, token, nil).Status }
			if st := get(grid); st != http.StatusNotFound {
				t.Fatalf("grid01 reads a city draft's attachment: %d", st)
			}
			want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/submit", admin, nil), 200, nil)
			want(t, s.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", s.Login(t, "leader01"), map[string]string{"comment": "同意"}), 200, nil)
			for _, who := range []string{grid, district, s.Login(t, "safety01"), s.Login(t, "rescue01")} {
				if st := get(who); st != http.StatusOK {
					t.Fatalf("a user below reads the published plan's attachment: %d", st)
				}
			}
		})
	}
}

// TestDraftReadPaths: an enterprise's draft (and then the same version under review) is read
// by its authors and reviewers on every path — detail, list, versions, Word export, its
// attachment — and is not found (404) on each of them for a grid worker of the enterprise's
// grid, a duty officer, an expert, an auditor, a responder and another enterprise's officer;
// never in their search or on their phones. Once published, the grid worker reads it
// everywhere — on SQLite and PostgreSQL.
func TestDraftReadPaths(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(testing.TB, ...apptest.Option) *apptest.Server{"sqlite": apptest.Start, "postgres": apptest.StartPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := start(t)
			tok := map[string]string{}
			for _, u := range []string{"admin", "district01", "township01", "safety01", "principal01", "grid01", "duty01", "expert01", "auditor01", "rescue01", "safety02"} {
				tok[u] = s.Login(t, u)
			}
			readers := []string{"admin", "district01", "township01", "safety01", "principal01"}
			hidden := []string{"grid01", "duty01", "expert01", "auditor01", "rescue01", "safety02"}
			var entPage yingji.Page[plan.Plan]
			want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100&level=enterprise", tok["safety01"], nil), 200, &entPage)
			if len(entPage.Items) == 0 {
				t.Fatal("safety01 sees no enterprise plan")
			}
			pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n% draft\n")
			sha := mediasvctest.SHA256(pdf)
			up := (&mediasvctest.Client{URL: s.URL, Token: tok["safety01"], HTTP: s.Client}).Do(t, "POST", "/api/v1/media/uploads", pdf,
				"Upload-Length", fmt.Sprint(len(pdf)), "Upload-Metadata", mediasvctest.Metadata("sha256", sha, "filename", "氨站平面图.pdf", "content_type", "application/pdf"),
				"Content-Type", "application/offset+octet-stream")
			if up.Status != http.StatusCreated {
				t.Fatalf("upload: %d %s", up.Status, up.Body)
			}
			var d plan.Plan
			want(t, s.Do(t, "POST", "/api/v1/plans", tok["safety01"], map[string]any{"title": "氨制冷机房泄漏现场处置方案（草稿）", "kind": "onsite",
				"level": "enterprise", "enterprise_id": entPage.Items[0].EnterpriseID, "content": map[string]any{
					"chapters":    []map[string]string{{"title": "处置措施", "body": "氨制冷机房发生泄漏时，立即启动机房事故排风。"}},
					"levels":      []map[string]any{{"level": 4, "conditions": []map[string]any{{"metric": "affected", "op": ">=", "value": 10}}}},
					"attachments": []map[string]string{{"sha256": sha, "name": "氨站平面图.pdf"}}}}), http.StatusCreated, &d)
			paths := []string{"/api/v1/plans/" + d.ID, "/api/v1/plans/" + d.ID + "/versions", "/api/v1/plans/" + d.ID + "/export.docx", "/api/v1/media/" + sha}
			listed := func(u string) bool {
				var page yingji.Page[plan.Plan]
				want(t, s.Do(t, "GET", "/api/v1/plans?page_size=100&level=enterprise", tok[u], nil), 200, &page)
				return slices.ContainsFunc(page.Items, func(p plan.Plan) bool { return p.ID == d.ID })
			}
			found := func(u string) bool {
				var hits yingji.Page[search.Hit]
				want(t, s.Do(t, "GET", "/api/v1/plans/search?q="+url.QueryEscape("氨制冷机房"), tok[u], nil), 200, &hits)
				return hits.Total > 0
			}
			onPhone := func(u string) bool {
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
				_, err = c.Get(ctx, "plans", d.PlanID)
				return err == nil
			}
			check := func(stage string) {
				for _, u := range readers {
					for _, p := range paths {
						if st := s.Do(t, "GET", p, tok[u], nil).Status; st != http.StatusOK {
							t.Errorf("%s: %s GET %s = %d, want 200", stage, u, p, st)
						}
					}
					if !listed(u) {
						t.Errorf("%s: %s does not list the draft", stage, u)
					}
				}
				for _, u := range hidden {
					for _, p := range paths {
						if st := s.Do(t, "GET", p, tok[u], nil).Status; st != http.StatusNotFound {
							t.Errorf("%s: %s GET %s = %d, want 404", stage, u, p, st)
						}
					}
					if listed(u) {
						t.Errorf("%s: %s lists the draft", stage, u)
					}
					if found(u) {
						t.Errorf("%s: %s finds the draft by search", stage, u)
					}
				}
				if onPhone("grid01") {
					t.Errorf("%s: the draft reached grid01's phone", stage)
				}
			}
			check("draft")
			want(t, s.Do(t, "POST", "/api/v1/plans/"+d.ID+"/submit", tok["safety01"], nil), 200, nil)
			check("review")
			want(t, s.Do(t, "POST", "/api/v1/plans/"+d.ID+"/publish", tok["principal01"], map[string]string{"comment": "同意"}), 200, nil)
			for _, p := range paths {
				if st := s.Do(t, "GET", p, tok["grid01"], nil).Status; st != http.StatusOK {
					t.Errorf("published: grid01 GET %s = %d, want 200", p, st)
				}
			}
			if !listed("grid01") || !found("grid01") || !onPhone("grid01") {
				t.Errorf("published: grid01 lists %v, finds %v, phone %v", listed("grid01"), found("grid01"), onPhone("grid01"))
			}
		})
	}
}

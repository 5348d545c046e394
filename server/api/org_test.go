package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// engines runs a scenario on SQLite and on PostgreSQL.
var engines = []struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}{
	{"sqlite", apptest.Start},
	{"postgres", apptest.StartPostgres},
}

// eachEngine runs f on a fresh server per engine.
func eachEngine(t *testing.T, f func(t *testing.T, s *apptest.Server)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e.start(t)) })
	}
}

// wantError is apptest.WantError.
func wantError(t *testing.T, r apptest.Response, status int, code string) map[string]any {
	t.Helper()
	return apptest.WantError(t, r, status, code)
}

// want decodes a successful answer with the given status into v (when not nil).
func want(t *testing.T, r apptest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		r.JSON(t, v)
	}
}

// creditCode completes first17 with its check character.
func creditCode(t *testing.T, first17 string) string {
	t.Helper()
	c, ok := org.CreditCodeCheck(first17)
	if !ok {
		t.Fatalf("bad credit code prefix %q", first17)
	}
	return first17 + string(c)
}

// demo holds ids of the demo city a test refers to.
type demo struct {
	admin     string
	units     map[string]org.Unit       // by code (grids by "township/G01")
	byName    map[string]org.Enterprise // every demo enterprise, by name
	ownEnt    org.Enterprise            // safety01's
	otherTown org.Enterprise            // one in 339902001
}

func loadDemo(t *testing.T, s *apptest.Server) demo {
	t.Helper()
	d := demo{admin: s.Login(t, "admin"), units: map[string]org.Unit{}, byName: map[string]org.Enterprise{}}
	var units yingji.Page[org.Unit]
	want(t, s.Do(t, "GET", "/api/v1/org-units", d.admin, nil), 200, &units)
	byID := map[string]org.Unit{}
	for _, u := range units.Items {
		byID[u.ID] = u
	}
	for _, u := range units.Items {
		key := u.Code
		if u.Level == org.LevelGrid {
			key = byID[u.ParentID].Code + "/" + u.Code
		}
		d.units[key] = u
	}
	var ents yingji.Page[org.Enterprise]
	want(t, s.Do(t, "GET", "/api/v1/enterprises?page_size=100", d.admin, nil), 200, &ents)
	for _, e := range ents.Items {
		d.byName[e.Name] = e
	}
	d.ownEnt, d.otherTown = d.byName["临港石化储运有限公司"], d.byName["青山水泥有限公司"]
	if d.ownEnt.ID == "" || d.otherTown.ID == "" || d.units["339901002"].ID == "" {
		t.Fatalf("demo city incomplete: %d units, %d enterprises", len(units.Items), len(ents.Items))
	}
	return d
}

func names(es []org.Enterprise) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func TestEnterprisesOK(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		list := func(t *testing.T, query string) yingji.Page[org.Enterprise] {
			t.Helper()
			var p yingji.Page[org.Enterprise]
			want(t, s.Do(t, "GET", "/api/v1/enterprises"+query, d.admin, nil), 200, &p)
			return p
		}

		t.Run("List", func(t *testing.T) {
			if p := list(t, ""); p.Total != 20 || len(p.Items) != 20 {
				t.Fatalf("admin sees %d of total %d, want 20 of 20", len(p.Items), p.Total)
			}
			seen := map[string]bool{}
			for page := 1; page <= 4; page++ {
				p := list(t, fmt.Sprintf("?page_size=5&page=%d", page))
				if p.Total != 20 || len(p.Items) != 5 {
					t.Fatalf("page %d: %d items of total %d, want 5 of 20", page, len(p.Items), p.Total)
				}
				for _, e := range p.Items {
					seen[e.ID] = true
				}
			}
			if len(seen) != 20 {
				t.Fatalf("4 pages of 5 hold %d distinct enterprises, want 20", len(seen))
			}
		})
		t.Run("Filters", func(t *testing.T) {
			tests := []struct {
				query string
				total int
				check func(org.Enterprise) bool
			}{
				{"?hazardous_chemicals=true", 8, func(e org.Enterprise) bool { return e.HazardousChemicals }},
				{"?hazardous_chemicals=false", 12, func(e org.Enterprise) bool { return !e.HazardousChemicals }},
				{"?major_hazard=true", 4, func(e org.Enterprise) bool { return e.MajorHazard }},
				{"?q=" + url.QueryEscape("临港石化"), 1, func(e org.Enterprise) bool { return e.Name == "临港石化储运有限公司" }},
				{"?q=" + d.ownEnt.CreditCode[:12], 0, nil}, // checked below: contains safety01's
				{"?township_id=" + d.units["339902001"].ID, 5, func(e org.Enterprise) bool { return e.TownshipID == d.units["339902001"].ID }},
				{"?grid_id=" + d.units["339901002/G01"].ID, 2, func(e org.Enterprise) bool { return e.GridID == d.units["339901002/G01"].ID }},
				{"?industry=" + url.QueryEscape("水泥制造"), 1, func(e org.Enterprise) bool { return e.Industry == "水泥制造" }},
			}
			for _, tt := range tests {
				t.Run(tt.query, func(t *testing.T) {
					p := list(t, tt.query)
					if tt.check == nil {
						if !slices.Contains(names(p.Items), d.ownEnt.Name) {
							t.Fatalf("credit code search misses %s: %v", d.ownEnt.Name, names(p.Items))
						}
						return
					}
					if p.Total != tt.total || len(p.Items) != tt.total {
						t.Fatalf("%d items of total %d, want %d: %v", len(p.Items), p.Total, tt.total, names(p.Items))
					}
					for _, e := range p.Items {
						if !tt.check(e) {
							t.Fatalf("%s does not match the filter", e.Name)
						}
					}
				})
			}
		})
		t.Run("Sort", func(t *testing.T) {
			asc, desc := names(list(t, "?sort=name").Items), names(list(t, "?sort=-name").Items)
			slices.Reverse(asc)
			if len(desc) != 20 || !slices.Equal(asc, desc) {
				t.Fatalf("sort=-name is not sort=name reversed:\n%v\n%v", desc, asc)
			}
		})
		t.Run("CreatePatchDelete", func(t *testing.T) {
			town, grid := d.units["339901001"], d.units["339901001/G02"]
			code := creditCode(t, "91339901MA2H0K7Q4")
			var e org.Enterprise
			want(t, s.Do(t, "POST", "/api/v1/enterprises", d.admin, map[string]any{
				"name": " 滨江新材料有限公司 ", "credit_code": strings.ToLower(code), "industry": "新材料", "township_id": town.ID,
				"grid_id": grid.ID, "address": "滨江街道新材路 1 号", "lat": 30.2, "lng": 120.21, "hazardous_chemicals": true,
				"legal_person": "王新", "phone": "0571-86123456"}), 201, &e)
			if e.ID == "" || e.Name != "滨江新材料有限公司" || e.CreditCode != code || e.OrgPath != grid.Path || e.Cell == "" {
				t.Fatalf("created %+v", e)
			}
			if p := list(t, "?q="+url.QueryEscape("滨江新材料")); p.Total != 1 || p.Items[0].ID != e.ID {
				t.Fatalf("new enterprise not listed: %+v", p)
			}
			if p := list(t, ""); p.Total != 21 {
				t.Fatalf("total %d after create, want 21", p.Total)
			}

			var got org.Enterprise
			want(t, s.Do(t, "PATCH", "/api/v1/enterprises/"+e.ID, d.admin, map[string]any{"name": "滨江新材料科技有限公司"}), 200, &got)
			if got.Name != "滨江新材料科技有限公司" || got.CreditCode != code || got.GridID != grid.ID || got.Lat == nil ||
				*got.Lat != 30.2 || !got.HazardousChemicals || got.Phone != e.Phone || !got.CreatedAt.Equal(e.CreatedAt) {
				t.Fatalf("patch changed more than the name: %+v", got)
			}
			got = org.Enterprise{}
			want(t, s.Do(t, "PATCH", "/api/v1/enterprises/"+e.ID, d.admin, map[string]any{"grid_id": ""}), 200, &got)
			if got.GridID != "" || got.OrgPath != town.Path || got.Name != "滨江新材料科技有限公司" {
				t.Fatalf("leaving the grid: %+v", got)
			}

			want(t, s.Do(t, "DELETE", "/api/v1/enterprises/"+e.ID, d.admin, nil), 204, nil)
			wantError(t, s.Do(t, "GET", "/api/v1/enterprises/"+e.ID, d.admin, nil), 404, "enterprise.not_found")
		})
		t.Run("Contacts", func(t *testing.T) {
			path := "/api/v1/enterprises/" + d.ownEnt.ID + "/contacts"
			var before yingji.Page[org.Contact]
			want(t, s.Do(t, "GET", path, d.admin, nil), 200, &before)
			if before.Total != 2 || len(before.Items) != 2 || !before.Items[0].IsPrimary {
				t.Fatalf("demo contacts: %+v", before)
			}
			var c org.Contact
			want(t, s.Do(t, "POST", path, d.admin, map[string]any{"name": "周应急", "title": "应急联络员", "phone": "13957100001"}), 201, &c)
			if c.ID == "" || c.EnterpriseID != d.ownEnt.ID || c.IsPrimary {
				t.Fatalf("created %+v", c)
			}
			var got org.Contact
			want(t, s.Do(t, "PATCH", "/api/v1/contacts/"+c.ID, d.admin, map[string]any{"is_primary": true}), 200, &got)
			if !got.IsPrimary || got.Name != "周应急" || got.Title != "应急联络员" || got.Phone != "13957100001" {
				t.Fatalf("patched %+v", got)
			}
			var ent org.Enterprise
			want(t, s.Do(t, "GET", "/api/v1/enterprises/"+d.ownEnt.ID, d.admin, nil), 200, &ent)
			primaries := 0
			for _, x := range ent.Contacts {
				if x.IsPrimary {
					primaries++
				}
			}
			if len(ent.Contacts) != 3 || primaries != 1 || ent.Contacts[0].ID != c.ID {
				t.Fatalf("enterprise contacts after patch: %+v", ent.Contacts)
			}
			want(t, s.Do(t, "DELETE", "/api/v1/contacts/"+c.ID, d.admin, nil), 204, nil)
			var after yingji.Page[org.Contact]
			want(t, s.Do(t, "GET", path, d.admin, nil), 200, &after)
			if after.Total != 2 {
				t.Fatalf("%d contacts after delete, want 2", after.Total)
			}
			wantError(t, s.Do(t, "PATCH", "/api/v1/contacts/"+c.ID, d.admin, map[string]any{"name": "x"}), 404, "contact.not_found")
		})
	})
}

func TestOrgUnitsAndTeamsOK(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		town := d.units["339901001"]

		t.Run("List", func(t *testing.T) {
			tests := []struct {
				query string
				total int
			}{
				{"", 1 + 2 + 4 + 12},
				{"?level=township", 4},
				{"?level=grid&parent_id=" + town.ID, 3},
				{"?code=339902", 1},
				{"?q=" + url.QueryEscape("青山"), 2},
				{"?subtree=" + d.units["339902"].ID, 1 + 2 + 6},
			}
			for _, tt := range tests {
				t.Run(tt.query, func(t *testing.T) {
					var p yingji.Page[org.Unit]
					want(t, s.Do(t, "GET", "/api/v1/org-units"+tt.query, d.admin, nil), 200, &p)
					if p.Total != tt.total || len(p.Items) != tt.total {
						t.Fatalf("%d units of total %d, want %d", len(p.Items), p.Total, tt.total)
					}
				})
			}
			// A township admin sees his subtree and the units above him.
			var p yingji.Page[org.Unit]
			want(t, s.Do(t, "GET", "/api/v1/org-units", s.Login(t, "township01"), nil), 200, &p)
			if p.Total != 1+1+1+3 {
				t.Fatalf("township01 sees %d units, want 6", p.Total)
			}
		})
		t.Run("CreatePatchDelete", func(t *testing.T) {
			var u org.Unit
			want(t, s.Do(t, "POST", "/api/v1/org-units", d.admin, map[string]any{
				"parent_id": town.ID, "level": "grid", "code": "G09", "name": "测试网格", "sort": 9}), 201, &u)
			if u.ID == "" || u.ParentID != town.ID || u.Path != town.Path+u.ID+"/" {
				t.Fatalf("created %+v", u)
			}
			var got org.Unit
			want(t, s.Do(t, "PATCH", "/api/v1/org-units/"+u.ID, d.admin, map[string]any{"name": "滨江第九网格"}), 200, &got)
			if got.Name != "滨江第九网格" || got.Code != "G09" || got.Sort != 9 {
				t.Fatalf("patched %+v", got)
			}
			want(t, s.Do(t, "GET", "/api/v1/org-units/"+u.ID, d.admin, nil), 200, &got)
			if got.Name != "滨江第九网格" {
				t.Fatalf("read back %+v", got)
			}
			wantError(t, s.Do(t, "POST", "/api/v1/org-units", d.admin, map[string]any{
				"parent_id": town.ID, "level": "grid", "code": "G09", "name": "重复网格"}), 409, "org.duplicate_code")
			want(t, s.Do(t, "DELETE", "/api/v1/org-units/"+u.ID, d.admin, nil), 204, nil)
			wantError(t, s.Do(t, "GET", "/api/v1/org-units/"+u.ID, d.admin, nil), 404, "org.unit_not_found")
		})
		t.Run("Teams", func(t *testing.T) {
			// The demo city's teams (its rescue teams are team resources too) and those of the township.
			var before, beforeTown yingji.Page[org.Team]
			want(t, s.Do(t, "GET", "/api/v1/teams", d.admin, nil), 200, &before)
			want(t, s.Do(t, "GET", "/api/v1/teams?org_unit_id="+town.ID, d.admin, nil), 200, &beforeTown)
			var tm org.Team
			want(t, s.Do(t, "POST", "/api/v1/teams", d.admin, map[string]any{"name": "滨江街道应急分队", "kind": "综合救援", "org_unit_id": town.ID}), 201, &tm)
			if tm.ID == "" || tm.OrgPath != town.Path {
				t.Fatalf("created %+v", tm)
			}
			var got org.Team
			want(t, s.Do(t, "GET", "/api/v1/teams/"+tm.ID, d.admin, nil), 200, &got)
			if got.Name != "滨江街道应急分队" {
				t.Fatalf("read back %+v", got)
			}
			var p yingji.Page[org.Team]
			want(t, s.Do(t, "GET", "/api/v1/teams", d.admin, nil), 200, &p)
			if p.Total != before.Total+1 {
				t.Fatalf("%d teams, want %d", p.Total, before.Total+1)
			}
			want(t, s.Do(t, "GET", "/api/v1/teams?org_unit_id="+town.ID, d.admin, nil), 200, &p)
			if p.Total != beforeTown.Total+1 || !slices.ContainsFunc(p.Items, func(x org.Team) bool { return x.ID == tm.ID }) {
				t.Fatalf("teams of the township: %+v", p)
			}
			want(t, s.Do(t, "GET", "/api/v1/teams?q="+url.QueryEscape("危化品"), d.admin, nil), 200, &p)
			if p.Total != 1 {
				t.Fatalf("teams named 危化品: %+v", p)
			}
			// township02 (339902001) reads neither the new team nor creates one outside his township.
			t2 := s.Login(t, "township02")
			wantError(t, s.Do(t, "GET", "/api/v1/teams/"+tm.ID, t2, nil), 403, "auth.out_of_scope")
			wantError(t, s.Do(t, "POST", "/api/v1/teams", t2, map[string]any{"name": "越权队伍", "org_unit_id": town.ID}), 403, "auth.out_of_scope")
		})
	})
}

// TestEnterpriseScope is the "Done when": administrators and enterprise roles read and
// change only what their scope holds, and every refusal is audited.
func TestEnterpriseScope(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		tok := map[string]string{}
		for _, u := range []string{"township01", "safety01", "grid01"} {
			tok[u] = s.Login(t, u)
		}
		other := d.otherTown
		if other.TownshipID != d.units["339902001"].ID {
			t.Fatalf("%s is not in 339902001", other.Name)
		}

		refusals := []struct {
			name, user, method, path string
			body                     any
			status                   int
			code                     string
		}{
			{"TownshipReadsOtherTownship", "township01", "GET", "/enterprises/" + other.ID, nil, 403, "auth.out_of_scope"},
			{"TownshipPatchesOtherTownship", "township01", "PATCH", "/enterprises/" + other.ID, map[string]any{"name": "改名"}, 403, "auth.out_of_scope"},
			{"TownshipDeletesOtherTownship", "township01", "DELETE", "/enterprises/" + other.ID, nil, 403, "auth.out_of_scope"},
			{"TownshipMovesOwnEnterpriseOut", "township01", "PATCH", "/enterprises/" + d.ownEnt.ID,
				map[string]any{"township_id": d.units["339902001"].ID}, 403, "auth.out_of_scope"},
			{"SafetyReadsOther", "safety01", "GET", "/enterprises/" + d.byName["临江氯碱化工股份有限公司"].ID, nil, 403, "auth.out_of_scope"},
			{"SafetyPatchesOwn", "safety01", "PATCH", "/enterprises/" + d.ownEnt.ID, map[string]any{"name": "改名"}, 403, "auth.forbidden"},
			{"SafetyAddsContactToOther", "safety01", "POST", "/enterprises/" + other.ID + "/contacts",
				map[string]any{"name": "越权", "phone": "13957100002"}, 403, "auth.out_of_scope"},
			{"GridWorkerCreatesEnterprise", "grid01", "POST", "/enterprises", map[string]any{
				"name": "网格员新建企业", "credit_code": creditCode(t, "91339901MA2H0K7Q5"), "township_id": d.units["339901001"].ID}, 403, "auth.forbidden"},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, s.Do(t, tt.method, "/api/v1"+tt.path, tok[tt.user], tt.body), tt.status, tt.code)
			})
		}

		t.Run("RefusalsAudited", func(t *testing.T) {
			var p yingji.Page[struct {
				Username, Action, Result string
				ObjectID                 string `json:"object_id"`
			}]
			want(t, s.Do(t, "GET", "/api/v1/audit?result=denied&username=township01&page_size=100", d.admin, nil), 200, &p)
			got := map[string]bool{}
			for _, e := range p.Items {
				if e.Result != "denied" || e.Username != "township01" {
					t.Fatalf("audit filter broken: %+v", e)
				}
				got[e.Action+" "+e.ObjectID] = true
			}
			for _, k := range []string{"enterprise.read " + other.ID, "enterprise.update " + other.ID, "enterprise.delete " + other.ID} {
				if !got[k] {
					t.Errorf("refusal %q not audited; have %v", k, got)
				}
			}
		})
		t.Run("NothingChanged", func(t *testing.T) {
			var e org.Enterprise
			want(t, s.Do(t, "GET", "/api/v1/enterprises/"+other.ID, d.admin, nil), 200, &e)
			if e.Name != other.Name {
				t.Fatalf("refused patch changed the name to %s", e.Name)
			}
			want(t, s.Do(t, "GET", "/api/v1/enterprises/"+d.ownEnt.ID, d.admin, nil), 200, &e)
			if e.Name != d.ownEnt.Name || e.TownshipID != d.ownEnt.TownshipID {
				t.Fatalf("refused patch changed %+v", e)
			}
		})
		t.Run("TownshipListsOwnTownship", func(t *testing.T) {
			var p yingji.Page[org.Enterprise]
			want(t, s.Do(t, "GET", "/api/v1/enterprises?page_size=100", tok["township01"], nil), 200, &p)
			if p.Total != 6 || len(p.Items) != 6 {
				t.Fatalf("township01 sees %d of total %d, want the 6 of 339901002: %v", len(p.Items), p.Total, names(p.Items))
			}
			for _, e := range p.Items {
				if e.TownshipID != d.units["339901002"].ID {
					t.Fatalf("township01 sees %s of another township", e.Name)
				}
			}
			// A filter cannot widen the scope.
			want(t, s.Do(t, "GET", "/api/v1/enterprises?township_id="+d.units["339902001"].ID, tok["township01"], nil), 200, &p)
			if p.Total != 0 {
				t.Fatalf("township01 filtering another township sees %v", names(p.Items))
			}
		})
		t.Run("SafetyOfficerOwnEnterprise", func(t *testing.T) {
			var p yingji.Page[org.Enterprise]
			want(t, s.Do(t, "GET", "/api/v1/enterprises", tok["safety01"], nil), 200, &p)
			if p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != d.ownEnt.ID {
				t.Fatalf("safety01 sees %v, want only %s", names(p.Items), d.ownEnt.Name)
			}
			var e org.Enterprise
			want(t, s.Do(t, "GET", "/api/v1/enterprises/"+d.ownEnt.ID, tok["safety01"], nil), 200, &e)
			if len(e.Contacts) == 0 {
				t.Fatalf("own enterprise without contacts: %+v", e)
			}
			var c org.Contact
			want(t, s.Do(t, "POST", "/api/v1/enterprises/"+d.ownEnt.ID+"/contacts", tok["safety01"],
				map[string]any{"name": "夜班值守", "title": "值班长", "phone": "0571-86000001"}), 201, &c)
			want(t, s.Do(t, "PATCH", "/api/v1/contacts/"+c.ID, tok["safety01"], map[string]any{"phone": "13957100003"}), 200, &c)
			if c.Phone != "13957100003" || c.Name != "夜班值守" {
				t.Fatalf("patched %+v", c)
			}
		})
		t.Run("TownshipChangesOwnTownship", func(t *testing.T) {
			var e org.Enterprise
			want(t, s.Do(t, "PATCH", "/api/v1/enterprises/"+d.ownEnt.ID, tok["township01"], map[string]any{"major_hazard": false}), 200, &e)
			if e.MajorHazard || e.Name != d.ownEnt.Name {
				t.Fatalf("patched %+v", e)
			}
		})
	})
}

func TestOrgErrors(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		town := d.units["339901001"]
		good := creditCode(t, "91339901MA2H0K7Q6")
		// The same code with a wrong check character.
		check := good[17]
		wrong := good[:17] + string(map[bool]byte{true: '1', false: '0'}[check == '0'])
		enterprise := func(code string) map[string]any {
			return map[string]any{"name": "错误测试企业", "credit_code": code, "township_id": town.ID}
		}
		unknown := yingji.NewID()

		tests := []struct {
			name, method, path string
			body               any
			status             int
			code               string
			message            string // part of the message, if set
		}{
			{"WrongCheckCharacter", "POST", "/enterprises", enterprise(wrong), 400, "enterprise.bad_credit_code",
				fmt.Sprintf("第 18 位应为“%c”", check)},
			{"ShortCreditCode", "POST", "/enterprises", enterprise("9133"), 400, "enterprise.bad_credit_code", "应为 18 位"},
			{"DuplicateCreditCode", "POST", "/enterprises", enterprise(d.ownEnt.CreditCode), 409, "enterprise.duplicate_credit_code", d.ownEnt.CreditCode},
			{"PatchToDuplicateCreditCode", "PATCH", "/enterprises/" + d.otherTown.ID, map[string]any{"credit_code": d.ownEnt.CreditCode},
				409, "enterprise.duplicate_credit_code", ""},
			{"PatchWrongCheckCharacter", "PATCH", "/enterprises/" + d.otherTown.ID, map[string]any{"credit_code": wrong},
				400, "enterprise.bad_credit_code", "校验位"},
			{"UnknownTownship", "POST", "/enterprises", map[string]any{"name": "无乡镇企业", "credit_code": good, "township_id": unknown},
				400, "enterprise.township_not_found", ""},
			{"GetUnknownEnterprise", "GET", "/enterprises/" + unknown, nil, 404, "enterprise.not_found", "企业不存在"},
			{"PatchUnknownEnterprise", "PATCH", "/enterprises/" + unknown, map[string]any{"name": "x"}, 404, "enterprise.not_found", ""},
			{"DeleteUnknownEnterprise", "DELETE", "/enterprises/" + unknown, nil, 404, "enterprise.not_found", ""},
			{"ContactsOfUnknownEnterprise", "GET", "/enterprises/" + unknown + "/contacts", nil, 404, "enterprise.not_found", ""},
			{"MalformedBody", "POST", "/enterprises", `{"name": "坏 JSON",`, 400, "request.bad_json", ""},
			{"WrongType", "POST", "/enterprises", `{"name": 1}`, 400, "request.bad_type", "name"},
			{"ServerOwnedField", "POST", "/enterprises", map[string]any{"name": "x", "credit_code": good, "township_id": town.ID, "org_path": "/"},
				400, "request.unknown_field", "org_path"},
			{"PatchID", "PATCH", "/enterprises/" + d.ownEnt.ID, map[string]any{"id": unknown}, 400, "request.unknown_field", ""},
			{"BadBoolQuery", "GET", "/enterprises?hazardous_chemicals=maybe", nil, 400, "request.bad_query", "hazardous_chemicals"},
			{"BadSort", "GET", "/enterprises?sort=phone", nil, 400, "list.bad_sort", ""},
			{"BadContactPhone", "POST", "/enterprises/" + d.ownEnt.ID + "/contacts", map[string]any{"name": "张三", "phone": "12345"},
				400, "contact.bad_phone", ""},
			{"PatchUnknownContact", "PATCH", "/contacts/" + unknown, map[string]any{"name": "x"}, 404, "contact.not_found", ""},
			{"DeleteTownshipWithEnterprises", "DELETE", "/org-units/" + d.units["339901002"].ID, nil, 409, "org.unit_in_use", "家企业"},
			{"UnitMove", "PATCH", "/org-units/" + town.ID, map[string]any{"parent_id": d.units["339902"].ID}, 400, "request.unknown_field", ""},
			{"BadUnitCode", "PATCH", "/org-units/" + town.ID, map[string]any{"code": "12"}, 400, "org.bad_code", ""},
			{"BadLevelQuery", "GET", "/org-units?level=province", nil, 400, "request.bad_query", "level"},
			{"UnknownSubtree", "GET", "/org-units?subtree=" + unknown, nil, 404, "org.unit_not_found", ""},
			{"UnknownTeam", "GET", "/teams/" + unknown, nil, 404, "team.not_found", ""},
			{"TeamWithoutUnit", "POST", "/teams", map[string]any{"name": "无单位队伍"}, 400, "team.org_required", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := wantError(t, s.Do(t, tt.method, "/api/v1"+tt.path, d.admin, tt.body), tt.status, tt.code)
				if msg := m["message"].(string); !strings.Contains(msg, tt.message) {
					t.Fatalf("message %q does not contain %q", msg, tt.message)
				}
			})
		}
		if r := s.Do(t, http.MethodGet, "/api/v1/enterprises", d.admin, nil); r.Status != 200 || r.Map(t)["total"].(float64) != 20 {
			t.Fatalf("failed requests changed the enterprises: %s", r.Body)
		}
	})
}

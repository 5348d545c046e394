package api_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
)

// haversineM is the test's own great-circle distance (mean Earth radius 6371008.8 m).
func haversineM(lat1, lng1, lat2, lng2 float64) float64 {
	r := math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*r/2), 2) + math.Cos(lat1*r)*math.Cos(lat2*r)*math.Pow(math.Sin((lng2-lng1)*r/2), 2)
	return 2 * 6371008.8 * math.Asin(math.Sqrt(a))
}

type nearestAnswer struct {
	Items []struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		DistanceM float64 `json:"distance_m"`
	} `json:"items"`
}

// allResources pages through GET /resources as the token's user.
func allResources(t *testing.T, s *apptest.Server, token, query string) []resource.Resource {
	t.Helper()
	var out []resource.Resource
	for page := 1; ; page++ {
		var p yingji.Page[resource.Resource]
		want(t, s.Do(t, "GET", fmt.Sprintf("/api/v1/resources?page_size=500&page=%d&%s", page, query), token, nil), 200, &p)
		out = append(out, p.Items...)
		if len(out) >= p.Total {
			return out
		}
	}
}

// TestResourcesNearestREST: the nearest five teams to a point with a filter equal a brute
// force over the list the same user reads, on both engines, for an administrator of the city
// and for one of a township (whose scope hides other townships' teams).
func TestResourcesNearestREST(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		rng := rand.New(rand.NewPCG(14, 5))
		units := []string{"339900", "339901", "339902", "339901001", "339901002", "339902001", "339902002", "339901002/G01"}
		statuses := []resource.Status{resource.StatusAvailable, resource.StatusAvailable, resource.StatusBusy, resource.StatusMaintenance}
		accidents := []string{"火灾", "爆炸", "洪涝", "坍塌"}
		for i := 0; i < 60; i++ {
			var types []string
			for _, a := range accidents {
				if rng.IntN(2) == 0 {
					types = append(types, a)
				}
			}
			in := map[string]any{"kind": "team", "name": fmt.Sprintf("测试救援队%02d", i), "category": []string{"综合", "专业", "社会"}[rng.IntN(3)],
				"org_unit_id": d.units[units[rng.IntN(len(units))]].ID, "status": statuses[rng.IntN(len(statuses))], "accident_types": types,
				"members": rng.IntN(80), "location": map[string]float64{"lat": 29.95 + rng.Float64()*0.35, "lng": 119.75 + rng.Float64()*0.7}}
			want(t, s.Do(t, "POST", "/api/v1/resources", d.admin, in), http.StatusCreated, nil)
		}
		township := s.Login(t, "township01")
		for _, who := range []struct{ name, token string }{{"admin", d.admin}, {"township01", township}} {
			teams := allResources(t, s, who.token, "kind=team")
			for i := 0; i < 25; i++ {
				lat, lng := 29.95+rng.Float64()*0.35, 119.75+rng.Float64()*0.7
				accident := accidents[rng.IntN(len(accidents))]
				minMembers := float64(rng.IntN(40))
				type cand struct {
					id string
					d  float64
				}
				var brute []cand
				for _, x := range teams {
					if x.Location == nil || x.Status != resource.StatusAvailable || !slices.Contains(x.AccidentTypes, accident) || float64(x.Members) < minMembers {
						continue
					}
					brute = append(brute, cand{x.ID, haversineM(lat, lng, x.Location.Lat, x.Location.Lng)})
				}
				sort.Slice(brute, func(i, j int) bool {
					return brute[i].d < brute[j].d || brute[i].d == brute[j].d && brute[i].id < brute[j].id
				})
				if len(brute) > 5 {
					brute = brute[:5]
				}
				q := url.Values{"lat": {fmt.Sprint(lat)}, "lng": {fmt.Sprint(lng)}, "n": {"5"}, "kinds": {"team"}, "status": {"available"},
					"accident_type": {accident}, "min_available": {fmt.Sprint(minMembers)}}
				var got nearestAnswer
				want(t, s.Do(t, "GET", "/api/v1/resources/nearest?"+q.Encode(), who.token, nil), 200, &got)
				if len(got.Items) != len(brute) {
					t.Fatalf("%s query %s: %d answers, brute force %d", who.name, q.Encode(), len(got.Items), len(brute))
				}
				for j, h := range got.Items {
					if h.ID != brute[j].id || math.Abs(h.DistanceM-brute[j].d) > 1e-6 {
						t.Fatalf("%s query %s: #%d is %s at %.3f m, brute force %s at %.3f m", who.name, q.Encode(), j, h.ID, h.DistanceM, brute[j].id, brute[j].d)
					}
				}
			}
		}
		// A township administrator sees fewer teams than the city's, never those of another township.
		cityTeams, townTeams := allResources(t, s, d.admin, "kind=team"), allResources(t, s, township, "kind=team")
		if len(townTeams) >= len(cityTeams) {
			t.Fatalf("township01 reads %d teams, the city %d", len(townTeams), len(cityTeams))
		}
		for _, x := range townTeams {
			if x.OrgPath == d.units["339902001"].Path {
				t.Fatalf("township01 reads %s of 青山镇", x.Name)
			}
		}

		t.Run("ErrBadQuery", func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/api/v1/resources/nearest?lng=120", d.admin, nil), 400, "request.bad_query")
			wantError(t, s.Do(t, "GET", "/api/v1/resources/nearest?lat=30&lng=120&n=1000", d.admin, nil), 400, "request.bad_query")
			wantError(t, s.Do(t, "GET", "/api/v1/resources/nearest?lat=30&lng=120&kinds=boat", d.admin, nil), 400, "request.bad_query")
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			grid := s.Login(t, "grid01")
			wantError(t, s.Do(t, "POST", "/api/v1/resources", grid, map[string]any{"kind": "shelter", "name": "x", "category": "室内",
				"org_unit_id": d.units["339901002/G01"].ID}), 403, "auth.forbidden")
			wantError(t, s.Do(t, "POST", "/api/v1/resources", township, map[string]any{"kind": "shelter", "name": "青山避难所", "category": "室内",
				"org_unit_id": d.units["339902001"].ID}), 403, "auth.out_of_scope")
		})
	})
}

// TestResourcesCRUD: a depot moves and its supplies move with it; a depot holding supplies is
// kept; the provincial package lands idempotently with per-item errors; the Excel import of a
// sheet with a bad row stores nothing and names the row and column.
func TestResourcesCRUD(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		var depot, sup resource.Resource
		want(t, s.Do(t, "POST", "/api/v1/resources", d.admin, map[string]any{"kind": "depot", "name": "测试储备库", "category": "区县级",
			"org_unit_id": d.units["339901"].ID, "location": map[string]float64{"lat": 30.2, "lng": 120.2}, "area": 500}), 201, &depot)
		want(t, s.Do(t, "POST", "/api/v1/resources", d.admin, map[string]any{"kind": "supply", "name": "救生衣", "category": "防汛抗旱",
			"org_unit_id": d.units["339901"].ID, "holder_id": depot.ID, "quantity": 100, "unit": "件", "code": "2"}), 201, &sup)
		if sup.Location == nil || *sup.Location != *depot.Location {
			t.Fatalf("supply stands at %+v, its depot at %+v", sup.Location, depot.Location)
		}
		in := map[string]any{"name": "测试储备库", "category": "区县级", "org_unit_id": d.units["339901"].ID,
			"location": map[string]float64{"lat": 30.25, "lng": 120.3}, "area": 600}
		want(t, s.Do(t, "PUT", "/api/v1/resources/"+depot.ID, d.admin, in), 200, nil)
		var moved resource.Resource
		want(t, s.Do(t, "GET", "/api/v1/resources/"+sup.ID, d.admin, nil), 200, &moved)
		if moved.Location == nil || moved.Location.Lat != 30.25 {
			t.Fatalf("supply did not follow its depot: %+v", moved.Location)
		}
		var near nearestAnswer
		want(t, s.Do(t, "GET", "/api/v1/resources/nearest?lat=30.25&lng=120.3&n=1&kinds=supply", d.admin, nil), 200, &near)
		if len(near.Items) != 1 || near.Items[0].ID != sup.ID || near.Items[0].DistanceM > 0.001 {
			t.Fatalf("nearest supply after the move: %+v", near)
		}
		wantError(t, s.Do(t, "DELETE", "/api/v1/resources/"+depot.ID, d.admin, nil), 409, "resource.in_use")
		wantError(t, s.Do(t, "POST", "/api/v1/resources", d.admin, map[string]any{"kind": "supply", "name": "沙袋", "org_unit_id": d.units["339901"].ID,
			"quantity": 1, "unit": "条", "code": "4"}), 400, "resource.bad_supply_code")
		want(t, s.Do(t, "DELETE", "/api/v1/resources/"+sup.ID, d.admin, nil), 204, nil)
		want(t, s.Do(t, "DELETE", "/api/v1/resources/"+depot.ID, d.admin, nil), 204, nil)

		t.Run("ErrOwnerInUse", func(t *testing.T) {
			// The demo 临江氯碱 has no accounts nor hazards, but an enterprise rescue team; 临港园区第一网格 shelters.
			wantError(t, s.Do(t, "DELETE", "/api/v1/enterprises/"+d.byName["临江氯碱化工股份有限公司"].ID, d.admin, nil), 409, "enterprise.in_use")
			wantError(t, s.Do(t, "DELETE", "/api/v1/org-units/"+d.units["339901002/G01"].ID, d.admin, nil), 409, "org.unit_in_use")
		})

		t.Run("ExternalPackage", func(t *testing.T) {
			pkg := map[string]any{"source": "省救援物资系统", "items": []map[string]any{
				{"external_id": "D-1", "kind": "depot", "name": "省级分库", "category": "市级", "org_unit_code": "339900",
					"location": map[string]float64{"lat": 30.21, "lng": 120.27}},
				{"external_id": "S-1", "kind": "supply", "name": "救生圈", "org_unit_code": "339900", "holder_external_id": "D-1", "quantity": 50, "unit": "个"},
				{"external_id": "S-2", "kind": "supply", "name": "无单位物资", "quantity": 1, "unit": "个"},
			}}
			var sum resource.ExternalSummary
			want(t, s.Do(t, "POST", "/api/v1/resources/external", d.admin, pkg), 200, &sum)
			if sum.Created != 2 || sum.Rejected != 1 || sum.Results[2].Code != "resource.org_required" || sum.Results[2].Message == "" {
				t.Fatalf("first push: %+v", sum)
			}
			want(t, s.Do(t, "POST", "/api/v1/resources/external", d.admin, pkg), 200, &sum)
			if sum.Created != 0 || sum.Unchanged != 2 || sum.Rejected != 1 {
				t.Fatalf("second push is not idempotent: %+v", sum)
			}
			pkg["items"].([]map[string]any)[1]["quantity"] = 80
			want(t, s.Do(t, "POST", "/api/v1/resources/external", d.admin, pkg), 200, &sum)
			if sum.Updated != 1 || sum.Unchanged != 1 {
				t.Fatalf("changed quantity: %+v", sum)
			}
			got := allResources(t, s, d.admin, "kind=supply&q=救生圈")
			if len(got) != 1 || got[0].Quantity != 80 || got[0].HolderID != sum.Results[0].ID {
				t.Fatalf("supply from the package: %+v", got)
			}
		})

		t.Run("ImportBadRow", func(t *testing.T) {
			f := xlDownload(t, s, "/api/v1/resources/kinds/team/template.xlsx", d.admin, "救援队伍导入模板")
			headers := xlRows(t, f)[0]
			row := func(vals map[string]any) []any {
				out := make([]any, len(headers))
				for i, h := range headers {
					out[i] = vals[h]
				}
				return out
			}
			data := xlWorkbook(t, headers,
				row(map[string]any{"名称": "导入救援队甲", "类别": "专业", "所属单位代码": "339901", "队员人数": 20, "处置事故类型": "火灾、爆炸", "纬度": 30.2, "经度": 120.3}),
				row(map[string]any{"名称": "导入救援队乙", "类别": "民间", "所属单位代码": "339901", "联系电话": "12345"}),
			)
			b := xlWantError(t, xlUpload(t, s, "/api/v1/resources/kinds/team/import", d.admin, data), http.StatusBadRequest, "import.invalid_rows")
			var cols []string
			for _, e := range b.Data.Errors {
				if e.Row != 3 {
					t.Errorf("error on row %d: %+v", e.Row, e)
				}
				cols = append(cols, e.Column)
			}
			if !slices.Contains(cols, "类别") || !strings.Contains(b.Message, "第 3 行") {
				t.Fatalf("errors %+v (%s)", b.Data.Errors, b.Message)
			}
			if got := allResources(t, s, d.admin, "kind=team&q=导入救援队"); len(got) != 0 {
				t.Fatalf("a bad import stored %d teams", len(got))
			}
			good := xlWorkbook(t, headers, row(map[string]any{"名称": "导入救援队甲", "类别": "专业", "所属单位代码": "339901", "队员人数": 20,
				"处置事故类型": "火灾、爆炸", "纬度": 30.2, "经度": 120.3}))
			xlWantImported(t, xlUpload(t, s, "/api/v1/resources/kinds/team/import", d.admin, good), 1)
			got := allResources(t, s, d.admin, "kind=team&q=导入救援队")
			if len(got) != 1 || got[0].Members != 20 || !slices.Equal(got[0].AccidentTypes, []string{"火灾", "爆炸"}) {
				t.Fatalf("imported %+v", got)
			}
			// The export reads back as the template.
			rows := xlRows(t, xlDownload(t, s, "/api/v1/resources/kinds/team/export.xlsx?q=导入救援队", d.admin, "救援队伍"))
			if len(rows) != 2 || !slices.Contains(rows[1], "导入救援队甲") || !slices.Contains(rows[1], "339901") {
				t.Fatalf("export rows %v", rows)
			}
		})
	})
}

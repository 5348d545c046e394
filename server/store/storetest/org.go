package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

// orgT0 is the base time of the org fixtures (microseconds: what PostgreSQL keeps).
var orgT0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)

// orgTree is a small hierarchy whose ids share prefixes across siblings (d1/d10, t1/t10), so
// a prefix match that forgets the trailing "/" shows:
//
//	c (330100)
//	├── d1 (330102)
//	│   ├── t1 (330102001): g1 (G01), g2 (G02)
//	│   └── t10 (330102002): g10 (G01)
//	└── d10 (330106)
//	    └── t3 (330106001)
type orgTree map[string]org.Unit

func orgUnit(id, parent string, level org.Level, code string, sort int, tree orgTree) org.Unit {
	u := org.Unit{ID: id, ParentID: parent, Level: level, Code: code, Name: "单位" + id, Sort: sort,
		CreatedAt: orgT0, UpdatedAt: orgT0}
	u.Path = org.ChildPath(tree[parent].Path, id)
	tree[id] = u
	return u
}

func orgSeedUnits(t *testing.T, s *store.Store) orgTree {
	t.Helper()
	tree := orgTree{}
	us := []org.Unit{
		orgUnit("c", "", org.LevelCity, "330100", 0, tree),
		orgUnit("d1", "c", org.LevelDistrict, "330102", 2, tree),
		orgUnit("d10", "c", org.LevelDistrict, "330106", 1, tree),
		orgUnit("t1", "d1", org.LevelTownship, "330102001", 0, tree),
		orgUnit("t10", "d1", org.LevelTownship, "330102002", 0, tree),
		orgUnit("t3", "d10", org.LevelTownship, "330106001", 0, tree),
		orgUnit("g1", "t1", org.LevelGrid, "G01", 0, tree),
		orgUnit("g2", "t1", org.LevelGrid, "G02", 0, tree),
		orgUnit("g10", "t10", org.LevelGrid, "G01", 0, tree),
	}
	for _, u := range us {
		if err := s.CreateUnit(context.Background(), u); err != nil {
			t.Fatalf("create unit %s: %v", u.ID, err)
		}
	}
	return tree
}

func orgFloat(f float64) *float64 { return &f }
func orgBool(b bool) *bool        { return &b }

// orgEnterprise builds an enterprise placed in township (and grid, if not "").
func orgEnterprise(id, name, code string, tree orgTree, township, grid string, n int) org.Enterprise {
	e := org.Enterprise{ID: id, Name: name, CreditCode: code, Industry: "化工", TownshipID: township, GridID: grid,
		OrgPath: tree[township].Path, Address: "地址" + id, LegalPerson: "法人" + id, Phone: "0571-88888888",
		CreatedAt: orgT0.Add(time.Duration(n) * time.Minute), UpdatedAt: orgT0.Add(time.Duration(n) * time.Minute)}
	if grid != "" {
		e.OrgPath = tree[grid].Path
	}
	return e
}

// orgSeedEnterprises adds five enterprises:
//
//	e1 t1        Alpha   hazardous
//	e2 t1/g1     Beta    food
//	e3 t10       Gamma   major hazard, name with "100%"
//	e4 t3        Delta   hazardous + major hazard, located
//	e5 t1/g2     Epsilon food
func orgSeedEnterprises(t *testing.T, s *store.Store, tree orgTree) map[string]org.Enterprise {
	t.Helper()
	es := []org.Enterprise{
		orgEnterprise("e1", "Alpha Chemical", "91350100M000100Y43", tree, "t1", "", 1),
		orgEnterprise("e2", "Beta Foods", "91110000802100433B", tree, "t1", "g1", 2),
		orgEnterprise("e3", "Gamma 100% Steel", "91330106MA27XL0E27", tree, "t10", "", 3),
		orgEnterprise("e4", "Delta Mining", "91330100143166498L", tree, "t3", "", 4),
		orgEnterprise("e5", "Epsilon Works", "914403001922038216", tree, "t1", "g2", 5),
	}
	es[0].HazardousChemicals = true
	es[1].Industry, es[4].Industry = "食品", "食品"
	es[2].Industry, es[2].MajorHazard = "冶金", true
	es[3].HazardousChemicals, es[3].MajorHazard = true, true
	es[3].Lat, es[3].Lng = orgFloat(30.274084), orgFloat(120.15507)
	es[3].Cell = org.CellOf(*es[3].Lat, *es[3].Lng)
	m := map[string]org.Enterprise{}
	for _, e := range es {
		if err := s.CreateEnterprise(context.Background(), e); err != nil {
			t.Fatalf("create enterprise %s: %v", e.ID, err)
		}
		m[e.ID] = e
	}
	return m
}

func unitIDs(us []org.Unit) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	slices.Sort(ids)
	return ids
}

func enterpriseIDs(es []org.Enterprise) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func orgSorted(ids ...string) []string { slices.Sort(ids); return ids }

// TestOrg runs the org unit, enterprise, contact and team conformance tests.
func TestOrg(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	newStore := func(t *testing.T) *store.Store { t.Helper(); return store.New(open(t)) }

	t.Run("OK_UnitRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		for _, id := range []string{"c", "t1", "g10"} {
			got, err := s.GetUnit(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tree[id]) {
				t.Fatalf("got %+v\nwant %+v", got, tree[id])
			}
		}
	})

	t.Run("ErrUnitNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.GetUnit(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		if err := s.UpdateUnit(ctx, org.Unit{ID: "nope", Code: "1", Name: "x", UpdatedAt: orgT0}); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("update: %v", err)
		}
		if err := s.DeleteUnit(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("ErrUnitDuplicateCode", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		for _, u := range []org.Unit{
			orgUnit("d2", "c", org.LevelDistrict, "330102", 0, tree),      // a district's code again
			orgUnit("t9", "d10", org.LevelTownship, "330102001", 0, tree), // a township's code, elsewhere
			orgUnit("g3", "t1", org.LevelGrid, "G01", 0, tree),            // a grid code within its township
		} {
			if err := s.CreateUnit(ctx, u); !errors.Is(err, yingji.ErrDuplicate) {
				t.Errorf("%s: err = %v, want ErrDuplicate", u.ID, err)
			}
		}
		// The same grid code in another township is fine; so is renaming to a free code.
		if err := s.CreateUnit(ctx, orgUnit("g4", "t3", org.LevelGrid, "G01", 0, tree)); err != nil {
			t.Fatal(err)
		}
		u := tree["d10"]
		u.Code = "330102"
		if err := s.UpdateUnit(ctx, u); !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("update to a taken code: %v", err)
		}
	})

	t.Run("OK_UnitSubtreeIsExact", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		for _, tc := range []struct {
			root string
			want []string
		}{
			{"c", []string{"c", "d1", "d10", "g1", "g10", "g2", "t1", "t10", "t3"}},
			{"d1", []string{"d1", "g1", "g10", "g2", "t1", "t10"}}, // not d10 and below
			{"t1", []string{"g1", "g2", "t1"}},                     // not t10 and below
			{"g1", []string{"g1"}},
		} {
			us, err := s.ListUnits(ctx, org.UnitFilter{Subtree: tree[tc.root].Path})
			if err != nil {
				t.Fatal(err)
			}
			if got := unitIDs(us); !slices.Equal(got, tc.want) {
				t.Errorf("subtree of %s = %v, want %v", tc.root, got, tc.want)
			}
			us, err = s.ListUnits(ctx, org.UnitFilter{Scope: org.UnitScope{Subtree: tree[tc.root].Path}})
			if err != nil {
				t.Fatal(err)
			}
			if got := unitIDs(us); !slices.Equal(got, tc.want) {
				t.Errorf("scope of %s = %v, want %v", tc.root, got, tc.want)
			}
		}
	})

	t.Run("OK_UnitScopeWithAncestors", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		p := tree["t1"].Path
		us, err := s.ListUnits(ctx, org.UnitFilter{Scope: org.UnitScope{Subtree: p, Ancestors: p}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := unitIDs(us), orgSorted("c", "d1", "t1", "g1", "g2"); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		// Narrowed to a subtree and a level.
		us, err = s.ListUnits(ctx, org.UnitFilter{Scope: org.UnitScope{Subtree: p, Ancestors: p}, Subtree: tree["d1"].Path, Level: org.LevelTownship})
		if err != nil {
			t.Fatal(err)
		}
		if got := unitIDs(us); !slices.Equal(got, []string{"t1"}) {
			t.Fatalf("townships under d1 in t1's scope = %v", got)
		}
	})

	t.Run("OK_UnitFiltersAndOrder", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgSeedUnits(t, s)
		us, err := s.ListUnits(ctx, org.UnitFilter{ParentID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if got := []string{us[0].ID, us[1].ID}; len(us) != 2 || got[0] != "d10" || got[1] != "d1" {
			t.Fatalf("children of c by sort = %+v", us)
		}
		us, _ = s.ListUnits(ctx, org.UnitFilter{Level: org.LevelGrid, Code: "G01"})
		if got, want := unitIDs(us), []string{"g1", "g10"}; !slices.Equal(got, want) {
			t.Fatalf("grids G01 = %v", got)
		}
		us, _ = s.ListUnits(ctx, org.UnitFilter{Q: "单位t1"})
		if got, want := unitIDs(us), []string{"t1", "t10"}; !slices.Equal(got, want) {
			t.Fatalf("name contains 单位t1 = %v", got)
		}
		us, _ = s.ListUnits(ctx, org.UnitFilter{Q: "%"})
		if len(us) != 0 {
			t.Fatalf(`"%%" matched %v: not escaped`, unitIDs(us))
		}
	})

	t.Run("OK_UnitUpdateDelete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		u := tree["g2"]
		u.Code, u.Name, u.Sort, u.UpdatedAt = "G02-A", "二号网格", 7, orgT0.Add(time.Hour)
		if err := s.UpdateUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetUnit(ctx, "g2")
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("got %+v\nwant %+v", got, u)
		}
		if err := s.DeleteUnit(ctx, "g2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUnit(ctx, "g2"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("OK_UnitRefs", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		if err := s.CreateTeam(ctx, org.Team{ID: "team1", Name: "队", OrgUnitID: "t3", CreatedAt: orgT0, UpdatedAt: orgT0}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]org.UnitRefs{
			"c":  {Children: 2},
			"t1": {Children: 2, Enterprises: 3},
			"g1": {Enterprises: 1},
			"t3": {Enterprises: 1, Teams: 1},
		} {
			got, err := s.UnitRefs(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: refs %+v, want %+v", id, got, want)
			}
		}
	})

	t.Run("ErrUnitBatchAllOrNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		batch := []org.Unit{
			orgUnit("t4", "d10", org.LevelTownship, "330106002", 0, tree),
			orgUnit("g41", "t4", org.LevelGrid, "A", 0, tree),
			orgUnit("g42", "t4", org.LevelGrid, "A", 0, tree), // duplicate within the batch
		}
		err := s.CreateUnits(ctx, batch)
		var be *org.BatchError
		if !errors.As(err, &be) || be.Index != 2 || !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("err = %v, want a BatchError at 2 wrapping ErrDuplicate", err)
		}
		if _, err := s.GetUnit(ctx, "t4"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("half-imported: %v", err)
		}
		batch[2].Code = "B"
		if err := s.CreateUnits(ctx, batch); err != nil {
			t.Fatal(err)
		}
		us, _ := s.ListUnits(ctx, org.UnitFilter{Subtree: tree["t4"].Path})
		if len(us) != 3 {
			t.Fatalf("imported %v", unitIDs(us))
		}
	})

	t.Run("OK_EnterpriseRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		es := orgSeedEnterprises(t, s, orgSeedUnits(t, s))
		for _, id := range []string{"e1", "e2", "e4"} {
			got, err := s.GetEnterprise(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, es[id]) {
				t.Fatalf("got %+v\nwant %+v", got, es[id])
			}
		}
		got, err := s.GetEnterpriseByCreditCode(ctx, "91330100143166498L")
		if err != nil || got.ID != "e4" || *got.Lat != 30.274084 || got.Cell == "" {
			t.Fatalf("by credit code: %+v %v", got, err)
		}
		if _, err := s.GetEnterpriseByCreditCode(ctx, "91330102MA2B000002"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("missing credit code: %v", err)
		}
	})

	t.Run("OK_EnterpriseUpdate", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		es := orgSeedEnterprises(t, s, tree)
		e := es["e4"]
		e.Name, e.TownshipID, e.GridID, e.OrgPath = "Delta Mining 2", "t1", "g2", tree["g2"].Path
		e.Lat, e.Lng, e.Cell = nil, nil, ""
		e.HazardousChemicals, e.MajorHazard = false, false
		e.UpdatedAt = orgT0.Add(time.Hour)
		if err := s.UpdateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetEnterprise(ctx, "e4")
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("got %+v\nwant %+v", got, e)
		}
		e.GridID = ""
		if err := s.UpdateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetEnterprise(ctx, "e4"); got.GridID != "" {
			t.Fatalf("grid not cleared: %q", got.GridID)
		}
	})

	t.Run("ErrEnterpriseDuplicateCreditCode", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		es := orgSeedEnterprises(t, s, tree)
		dup := orgEnterprise("e9", "Copy", es["e1"].CreditCode, tree, "t1", "", 9)
		if err := s.CreateEnterprise(ctx, dup); !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("create: %v", err)
		}
		e := es["e2"]
		e.CreditCode = es["e1"].CreditCode
		if err := s.UpdateEnterprise(ctx, e); !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("update: %v", err)
		}
	})

	t.Run("ErrEnterpriseNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		if _, err := s.GetEnterprise(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		e := orgEnterprise("nope", "X", "91350100M000100Y43", tree, "t1", "", 0)
		if err := s.UpdateEnterprise(ctx, e); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("update: %v", err)
		}
		if err := s.DeleteEnterprise(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("OK_EnterpriseScope", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		all := yingji.ListParams{PageSize: 100, Sort: "credit_code"}
		for _, tc := range []struct {
			name  string
			scope yingji.EnterpriseScope
			want  []string
		}{
			{"city", yingji.EnterpriseScope{OrgPrefix: tree["c"].Path}, []string{"e1", "e2", "e3", "e4", "e5"}},
			{"d1", yingji.EnterpriseScope{OrgPrefix: tree["d1"].Path}, []string{"e1", "e2", "e3", "e5"}},
			{"t1 not t10", yingji.EnterpriseScope{OrgPrefix: tree["t1"].Path}, []string{"e1", "e2", "e5"}},
			{"g1", yingji.EnterpriseScope{OrgPrefix: tree["g1"].Path}, []string{"e2"}},
			{"one enterprise", yingji.EnterpriseScope{EnterpriseID: "e3"}, []string{"e3"}},
			{"everything", yingji.EnterpriseScope{}, []string{"e1", "e2", "e3", "e4", "e5"}},
		} {
			page, err := s.ListEnterprises(ctx, org.EnterpriseFilter{Scope: tc.scope}, all)
			if err != nil {
				t.Fatal(err)
			}
			if got := orgSorted(enterpriseIDs(page.Items)...); !slices.Equal(got, tc.want) || page.Total != len(tc.want) {
				t.Errorf("%s: %v (total %d), want %v", tc.name, got, page.Total, tc.want)
			}
		}
	})

	t.Run("OK_EnterpriseFilters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		city := yingji.EnterpriseScope{OrgPrefix: tree["c"].Path}
		for _, tc := range []struct {
			name string
			f    org.EnterpriseFilter
			want []string
		}{
			{"q name", org.EnterpriseFilter{Q: "Foods"}, []string{"e2"}},
			{"q credit code lower case", org.EnterpriseFilter{Q: "m000100"}, []string{"e1"}},
			{"q percent literal", org.EnterpriseFilter{Q: "100%"}, []string{"e3"}},
			{"q underscore literal", org.EnterpriseFilter{Q: "_"}, nil},
			{"township", org.EnterpriseFilter{TownshipID: "t1"}, []string{"e1", "e2", "e5"}},
			{"grid", org.EnterpriseFilter{GridID: "g2"}, []string{"e5"}},
			{"industry", org.EnterpriseFilter{Industry: "食品"}, []string{"e2", "e5"}},
			{"hazardous", org.EnterpriseFilter{HazardousChemicals: orgBool(true)}, []string{"e1", "e4"}},
			{"not hazardous", org.EnterpriseFilter{HazardousChemicals: orgBool(false)}, []string{"e2", "e3", "e5"}},
			{"major hazard", org.EnterpriseFilter{MajorHazard: orgBool(true)}, []string{"e3", "e4"}},
			{"combined", org.EnterpriseFilter{MajorHazard: orgBool(true), HazardousChemicals: orgBool(true)}, []string{"e4"}},
			{"scope and township", org.EnterpriseFilter{Scope: yingji.EnterpriseScope{OrgPrefix: tree["d10"].Path}, TownshipID: "t1"}, nil},
		} {
			if tc.f.Scope == (yingji.EnterpriseScope{}) {
				tc.f.Scope = city
			}
			page, err := s.ListEnterprises(ctx, tc.f, yingji.ListParams{PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			if got := orgSorted(enterpriseIDs(page.Items)...); !slices.Equal(got, orgSorted(tc.want...)) || page.Total != len(tc.want) {
				t.Errorf("%s: %v (total %d), want %v", tc.name, got, page.Total, tc.want)
			}
		}
	})

	t.Run("OK_EnterpriseSortAndPages", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		f := org.EnterpriseFilter{Scope: yingji.EnterpriseScope{OrgPrefix: tree["c"].Path}}
		for _, tc := range []struct {
			p    yingji.ListParams
			want []string
		}{
			{yingji.ListParams{PageSize: 100}, []string{"e1", "e2", "e4", "e5", "e3"}}, // by name
			{yingji.ListParams{PageSize: 100, Sort: "-created_at"}, []string{"e5", "e4", "e3", "e2", "e1"}},
			{yingji.ListParams{PageSize: 100, Sort: "credit_code"}, []string{"e2", "e4", "e3", "e1", "e5"}},
			{yingji.ListParams{PageSize: 100, Sort: "-name"}, []string{"e3", "e5", "e4", "e2", "e1"}},
			{yingji.ListParams{Page: 1, PageSize: 2, Sort: "created_at"}, []string{"e1", "e2"}},
			{yingji.ListParams{Page: 3, PageSize: 2, Sort: "created_at"}, []string{"e5"}},
			{yingji.ListParams{Page: 4, PageSize: 2, Sort: "created_at"}, []string{}},
		} {
			page, err := s.ListEnterprises(ctx, f, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := enterpriseIDs(page.Items); !slices.Equal(got, tc.want) || page.Total != 5 {
				t.Errorf("%+v: %v (total %d), want %v (total 5)", tc.p, got, page.Total, tc.want)
			}
		}
		_, err := s.ListEnterprises(ctx, f, yingji.ListParams{Sort: "password"})
		if yingji.ErrorKind(err) != yingji.EINVALID {
			t.Fatalf("unknown sort: %v", err)
		}
	})

	t.Run("ErrEnterpriseBatchAllOrNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		batch := []org.Enterprise{
			orgEnterprise("n1", "New 1", "91330110MA2CFXHW83", tree, "t3", "", 10),
			orgEnterprise("n2", "New 2", "91350100M000100Y43", tree, "t3", "", 11), // e1's code
		}
		err := s.CreateEnterprises(ctx, batch)
		var be *org.BatchError
		if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("err = %v, want a BatchError at 1 wrapping ErrDuplicate", err)
		}
		if _, err := s.GetEnterprise(ctx, "n1"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("half-imported: %v", err)
		}
		batch[1].CreditCode = "92330106MA28UBQ01W"
		if err := s.CreateEnterprises(ctx, batch); err != nil {
			t.Fatal(err)
		}
		page, _ := s.ListEnterprises(ctx, org.EnterpriseFilter{TownshipID: "t3"}, yingji.ListParams{})
		if page.Total != 3 {
			t.Fatalf("t3 has %d enterprises, want 3", page.Total)
		}
	})

	t.Run("OK_Contacts", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgSeedEnterprises(t, s, orgSeedUnits(t, s))
		mk := func(id, ent string, primary bool, n int) org.Contact {
			at := orgT0.Add(time.Duration(n) * time.Second)
			return org.Contact{ID: id, EnterpriseID: ent, Name: "联系人" + id, Title: "安全员", Phone: "13800138000",
				IsPrimary: primary, CreatedAt: at, UpdatedAt: at}
		}
		a, b, c := mk("ca", "e1", true, 1), mk("cb", "e1", false, 2), mk("cc", "e2", true, 3)
		for _, x := range []org.Contact{a, b, c} {
			if err := s.CreateContact(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetContact(ctx, "ca")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("got %+v %v\nwant %+v", got, err, a)
		}
		cs, _ := s.ListContacts(ctx, "e1")
		if len(cs) != 2 || cs[0].ID != "ca" || cs[1].ID != "cb" {
			t.Fatalf("contacts of e1: %+v", cs)
		}
		// Making cb primary clears ca, and only within e1.
		b.IsPrimary, b.Phone, b.UpdatedAt = true, "0571-87654321", orgT0.Add(time.Hour)
		if err := s.UpdateContact(ctx, b); err != nil {
			t.Fatal(err)
		}
		cs, _ = s.ListContacts(ctx, "e1")
		if len(cs) != 2 || cs[0].ID != "cb" || !cs[0].IsPrimary || cs[1].IsPrimary || cs[0].Phone != "0571-87654321" {
			t.Fatalf("after making cb primary: %+v", cs)
		}
		// A new primary contact clears the old one too.
		if err := s.CreateContact(ctx, mk("cd", "e1", true, 4)); err != nil {
			t.Fatal(err)
		}
		cs, _ = s.ListContacts(ctx, "e1")
		primaries := 0
		for _, x := range cs {
			if x.IsPrimary {
				primaries++
			}
		}
		if len(cs) != 3 || cs[0].ID != "cd" || primaries != 1 {
			t.Fatalf("after adding primary cd: %+v", cs)
		}
		if got, _ := s.GetContact(ctx, "cc"); !got.IsPrimary {
			t.Fatal("e2's primary contact was cleared")
		}
		if err := s.DeleteContact(ctx, "cd"); err != nil {
			t.Fatal(err)
		}
		if cs, _ = s.ListContacts(ctx, "e1"); len(cs) != 2 {
			t.Fatalf("after delete: %+v", cs)
		}
		if cs, _ = s.ListContacts(ctx, "e3"); cs == nil || len(cs) != 0 {
			t.Fatalf("e3 contacts = %#v, want empty", cs)
		}
	})

	t.Run("ErrContactNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgSeedEnterprises(t, s, orgSeedUnits(t, s))
		if _, err := s.GetContact(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		c := org.Contact{ID: "nope", EnterpriseID: "e1", Name: "x", Phone: "13800138000", UpdatedAt: orgT0}
		if err := s.UpdateContact(ctx, c); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("update: %v", err)
		}
		if err := s.DeleteContact(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("OK_ContactsCascade", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgSeedEnterprises(t, s, orgSeedUnits(t, s))
		for i := range 3 {
			c := org.Contact{ID: fmt.Sprint("c", i), EnterpriseID: "e1", Name: "x", Phone: "13800138000", CreatedAt: orgT0, UpdatedAt: orgT0}
			if err := s.CreateContact(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateContact(ctx, org.Contact{ID: "other", EnterpriseID: "e2", Name: "y", Phone: "13800138000", CreatedAt: orgT0, UpdatedAt: orgT0}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEnterprise(ctx, "e1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetContact(ctx, "c0"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("contact of a deleted enterprise: %v", err)
		}
		if cs, _ := s.ListContacts(ctx, "e1"); len(cs) != 0 {
			t.Fatalf("contacts left: %+v", cs)
		}
		if _, err := s.GetContact(ctx, "other"); err != nil {
			t.Fatalf("another enterprise's contact: %v", err)
		}
		if refs, err := s.EnterpriseRefs(ctx, "e2"); err != nil || refs.Users != 0 {
			t.Fatalf("refs %+v %v", refs, err)
		}
	})

	t.Run("OK_Teams", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tree := orgSeedUnits(t, s)
		for _, tm := range []org.Team{
			{ID: "tc", Name: "A 市综合救援队", Kind: "综合救援", OrgUnitID: "c"},
			{ID: "tt1", Name: "B 街道应急分队", OrgUnitID: "t1"},
			{ID: "tt10", Name: "C 街道应急分队", OrgUnitID: "t10"},
			{ID: "td10", Name: "D 区危化救援队", Kind: "危化品救援", OrgUnitID: "d10"},
		} {
			tm.CreatedAt, tm.UpdatedAt = orgT0, orgT0
			if err := s.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetTeam(ctx, "tt1")
		want := org.Team{ID: "tt1", Name: "B 街道应急分队", OrgUnitID: "t1", OrgPath: tree["t1"].Path, CreatedAt: orgT0, UpdatedAt: orgT0}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v %v\nwant %+v", got, err, want)
		}
		if _, err := s.GetTeam(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("missing team: %v", err)
		}
		p := tree["t1"].Path
		ts, err := s.ListTeams(ctx, org.TeamFilter{Scope: org.UnitScope{Subtree: p, Ancestors: p}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range ts {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, []string{"tc", "tt1"}) { // by name; not t10's nor d10's
			t.Fatalf("teams in t1's scope: %v", ids)
		}
		ts, _ = s.ListTeams(ctx, org.TeamFilter{Scope: org.UnitScope{Subtree: tree["d1"].Path}, Q: "街道"})
		if len(ts) != 2 {
			t.Fatalf("street teams under d1: %+v", ts)
		}
		ts, _ = s.ListTeams(ctx, org.TeamFilter{OrgUnitID: "d10"})
		if len(ts) != 1 || ts[0].Kind != "危化品救援" {
			t.Fatalf("teams of d10: %+v", ts)
		}
	})
}

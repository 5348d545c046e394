package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

func resourceIDs(rs []resource.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

// resourceFixture is a team at d1, a depot at t1 holding a supply, a shelter at g1, an
// expert at the city and an enterprise team of e4 (t3).
func resourceFixture(tree orgTree) []resource.Resource {
	at := func(id string, k resource.Kind, unit string, n int) resource.Resource {
		r := resource.Resource{ID: id, Kind: k, Name: "资源" + id, Owner: resource.OwnerGovernment, OrgUnitID: unit, OrgPath: tree[unit].Path,
			Status: resource.StatusAvailable, AccidentTypes: []string{}, CreatedAt: orgT0.Add(time.Duration(n) * time.Minute)}
		r.UpdatedAt = r.CreatedAt
		return r
	}
	team := at("r1", resource.KindTeam, "d1", 1)
	team.Category, team.Subtype, team.AccidentTypes, team.Members, team.Equipment = "专业", "危化品救援", []string{"火灾", "中毒和窒息"}, 30, "防化服"
	team.Location, team.Cell = &resource.Location{Lat: 30.22, Lng: 120.35}, org.CellOf(30.22, 120.35)
	depot := at("r2", resource.KindDepot, "t1", 2)
	depot.Category, depot.Area, depot.Location = "乡镇（街道）级", 800, &resource.Location{Lat: 30.2, Lng: 120.2}
	supply := at("r3", resource.KindSupply, "t1", 3)
	supply.Category, supply.Code, supply.HolderID, supply.Quantity, supply.Unit = "防汛抗旱", "2010101", "r2", 120.5, "个"
	supply.Location, supply.Source, supply.ExternalID = depot.Location, "省物资系统", "ZJ-001"
	shelter := at("r4", resource.KindShelter, "g1", 4)
	shelter.Category, shelter.Capacity, shelter.Occupancy = "室内", 500, 20
	expert := at("r5", resource.KindExpert, "c", 5)
	expert.Category, expert.Sex, expert.BirthMonth, expert.Employer = "危化", "女", "1978-05", "临江化工研究院"
	entTeam := at("r6", resource.KindTeam, "t3", 6)
	entTeam.Category, entTeam.Owner, entTeam.EnterpriseID = "专业", resource.OwnerEnterprise, "e4"
	return []resource.Resource{team, depot, supply, shelter, expert, entTeam}
}

// TestResource is the conformance suite of resource.Store.
func TestResource(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	seed := func(t *testing.T) (*store.Store, orgTree, []resource.Resource) {
		t.Helper()
		s := store.New(open(t))
		tree := orgSeedUnits(t, s)
		orgSeedEnterprises(t, s, tree)
		rs := resourceFixture(tree)
		if _, err := s.CreateResources(ctx, rs); err != nil {
			t.Fatal(err)
		}
		return s, tree, rs
	}

	t.Run("OK_RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, _, rs := seed(t)
		for _, want := range rs {
			got, err := s.GetResource(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		}
		got, err := s.GetResourceByExternalID(ctx, "省物资系统", "ZJ-001")
		if err != nil || got.ID != "r3" {
			t.Fatalf("by external id: %v %v", got.ID, err)
		}
		if _, err := s.GetResourceByExternalID(ctx, "省物资系统", ""); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("empty external id: %v", err)
		}
	})

	t.Run("OK_TeamsTableFollows", func(t *testing.T) {
		t.Parallel()
		s, _, rs := seed(t)
		team, err := s.GetTeam(ctx, "r1")
		if err != nil || team.Name != "资源r1" || team.Kind != "危化品救援" || team.OrgUnitID != "d1" {
			t.Fatalf("team row: %+v %v", team, err)
		}
		r := rs[0]
		r.Name, r.Subtype, r.UpdatedAt = "临江危化救援队", "化工救援", orgT0.Add(time.Hour)
		if _, err := s.UpdateResources(ctx, []resource.Resource{r}); err != nil {
			t.Fatal(err)
		}
		if team, _ = s.GetTeam(ctx, "r1"); team.Name != "临江危化救援队" || team.Kind != "化工救援" {
			t.Fatalf("team row after update: %+v", team)
		}
		if _, err := s.DeleteResource(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTeam(ctx, "r1"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("team row after delete: %v", err)
		}
		// A team made by the org service is a team resource too.
		if err := s.CreateTeam(ctx, org.Team{ID: "tm", Name: "社会救援队", Kind: "水上救援", OrgUnitID: "t1", CreatedAt: orgT0, UpdatedAt: orgT0}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetResource(ctx, "tm"); err != nil || got.Kind != resource.KindTeam || got.Subtype != "水上救援" {
			t.Fatalf("org team as resource: %+v %v", got, err)
		}
	})

	t.Run("OK_ListScopeAndFilters", func(t *testing.T) {
		t.Parallel()
		s, tree, _ := seed(t)
		list := func(f resource.Filter) []string {
			t.Helper()
			p, err := s.ListResources(ctx, f, yingji.ListParams{PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != len(p.Items) {
				t.Fatalf("total %d, items %d", p.Total, len(p.Items))
			}
			return resourceIDs(p.Items)
		}
		for _, c := range []struct {
			name string
			f    resource.Filter
			want []string
		}{
			{"all", resource.Filter{}, []string{"r1", "r2", "r3", "r4", "r5", "r6"}},
			// A grid worker of g1: his grid and the units above it (t1, d1, c), not d10's enterprise.
			{"grid scope", resource.Filter{Scope: resource.Scope{OrgPrefix: tree["g1"].Path, Paths: []string{tree["c"].Path, tree["d1"].Path, tree["t1"].Path, tree["g1"].Path}}},
				[]string{"r1", "r2", "r3", "r4", "r5"}},
			// d10's administrator: d10 and below (e4's team), and the city.
			{"district scope", resource.Filter{Scope: resource.Scope{OrgPrefix: tree["d10"].Path, Paths: []string{tree["c"].Path, tree["d10"].Path}}},
				[]string{"r5", "r6"}},
			// Enterprise e4's staff: its own and the government's above it.
			{"enterprise scope", resource.Filter{Scope: resource.Scope{EnterpriseID: "e4", Paths: []string{tree["c"].Path, tree["d10"].Path, tree["t3"].Path}, PathsGovernmentOnly: true}},
				[]string{"r5", "r6"}},
			{"kind", resource.Filter{Kind: resource.KindTeam}, []string{"r1", "r6"}},
			{"owner", resource.Filter{Owner: resource.OwnerEnterprise}, []string{"r6"}},
			{"accident type", resource.Filter{AccidentType: "火灾"}, []string{"r1"}},
			{"accident type is whole", resource.Filter{AccidentType: "火"}, []string{}},
			{"holder", resource.Filter{HolderID: "r2"}, []string{"r3"}},
			{"subtree", resource.Filter{Subtree: tree["d1"].Path}, []string{"r1", "r2", "r3", "r4"}},
			{"q", resource.Filter{Q: "r4"}, []string{"r4"}},
			{"category", resource.Filter{Category: "危化"}, []string{"r5"}},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("OK_VersionAndLoad", func(t *testing.T) {
		t.Parallel()
		s, _, rs := seed(t)
		v0, err := s.ResourceVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[3]
		r.Location, r.UpdatedAt = &resource.Location{Lat: 30.1, Lng: 120.1}, orgT0.Add(time.Hour)
		v1, err := s.UpdateResources(ctx, []resource.Resource{r})
		if err != nil || v1 != v0+1 {
			t.Fatalf("update version %d (was %d): %v", v1, v0, err)
		}
		var located []string
		v2, err := s.LoadResources(ctx, func(x resource.Resource) { located = append(located, x.ID) })
		slices.Sort(located)
		if err != nil || v2 != v1 || !slices.Equal(located, []string{"r1", "r2", "r3", "r4"}) {
			t.Fatalf("load: %v at %d (want %d): %v", located, v2, v1, err)
		}
		held, members, err := s.ResourceRefs(ctx, "r2")
		if err != nil || held != 1 || members != 0 {
			t.Fatalf("refs: %d %d %v", held, members, err)
		}
	})

	t.Run("OK_EnterpriseMoves", func(t *testing.T) {
		t.Parallel()
		s, tree, _ := seed(t)
		v0, _ := s.ResourceVersion(ctx)
		e, err := s.GetEnterprise(ctx, "e4")
		if err != nil {
			t.Fatal(err)
		}
		e.TownshipID, e.GridID, e.OrgPath, e.UpdatedAt = "t1", "g2", tree["g2"].Path, orgT0.Add(time.Hour)
		if err := s.UpdateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetResource(ctx, "r6")
		if err != nil || r.OrgPath != tree["g2"].Path || r.OrgUnitID != "g2" {
			t.Fatalf("the enterprise's team stayed behind: %+v %v", r, err)
		}
		if team, err := s.GetTeam(ctx, "r6"); err != nil || team.OrgUnitID != "g2" {
			t.Fatalf("teams row: %+v %v", team, err)
		}
		if v, _ := s.ResourceVersion(ctx); v != v0+1 {
			t.Fatalf("version %d after the move, was %d", v, v0)
		}
	})

	t.Run("ErrDuplicateExternalID", func(t *testing.T) {
		t.Parallel()
		s, _, rs := seed(t)
		dup := rs[2]
		dup.ID = "r9"
		fresh := rs[4]
		fresh.ID = "r8"
		_, err := s.CreateResources(ctx, []resource.Resource{fresh, dup})
		var be *org.BatchError
		if !errors.Is(err, yingji.ErrDuplicate) || !errors.As(err, &be) || be.Index != 1 {
			t.Fatalf("err = %v", err)
		}
		if _, err := s.GetResource(ctx, "r8"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("batch was not all or nothing: %v", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _, rs := seed(t)
		if _, err := s.DeleteResource(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
		r := rs[0]
		r.ID = "nope"
		if _, err := s.UpdateResources(ctx, []resource.Resource{r}); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("update: %v", err)
		}
	})
}

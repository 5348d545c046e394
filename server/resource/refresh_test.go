package resource_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

// TestIndexFollowsOtherInstances: two services on one database (two server instances); a
// write through one is in its own index at once and in the other's after a Refresh (the
// periodic check), or at its next query once CheckEvery has passed.
func TestIndexFollowsOtherInstances(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "yingji.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	now := time.Now().UTC()
	city := org.Unit{ID: yingji.NewID(), Level: org.LevelCity, Code: "339900", Name: "临江市", CreatedAt: now, UpdatedAt: now}
	city.Path = org.ChildPath("/", city.ID)
	if err := st.CreateUnit(ctx, city); err != nil {
		t.Fatal(err)
	}
	a, b := resource.NewService(st, nil, nil), resource.NewService(st, nil, nil)
	b.CheckEvery = time.Hour
	for _, s := range []*resource.Service{a, b} {
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
	}
	q := resource.Query{Lat: 30.2, Lng: 120.2, N: 5, Kinds: []resource.Kind{resource.KindShelter}}
	for i, at := range []float64{30.21, 30.3} {
		if _, err := a.Create(ctx, yingji.System, resource.Resource{Kind: resource.KindShelter, Name: "避难所" + string(rune('一'+i)),
			Category: "室内", OrgUnitID: city.ID, Location: &resource.Location{Lat: at, Lng: 120.2}}); err != nil {
			t.Fatal(err)
		}
	}
	if hits, _ := a.Nearest(ctx, yingji.System, q); len(hits) != 2 {
		t.Fatalf("the writing instance sees %d", len(hits))
	}
	if v, stale := a.Index().State(); stale || v != 2 {
		t.Fatalf("writer's index at %d (stale %v), want 2 without a reload", v, stale)
	}
	if hits, _ := b.Nearest(ctx, yingji.System, q); len(hits) != 0 {
		t.Fatalf("the other instance sees %d before refreshing", len(hits))
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hits, _ := b.Nearest(ctx, yingji.System, q)
	if len(hits) != 2 || hits[0].Name != "避难所一" || hits[0].DistanceM < 1100 || hits[0].DistanceM > 1120 {
		t.Fatalf("after refresh: %+v", hits)
	}
	// A query checks the version itself once its last check is older than CheckEvery.
	if _, err := a.Create(ctx, yingji.System, resource.Resource{Kind: resource.KindShelter, Name: "避难所三", Category: "室外",
		OrgUnitID: city.ID, Location: &resource.Location{Lat: 30.2, Lng: 120.2}}); err != nil {
		t.Fatal(err)
	}
	b.CheckEvery = 0
	if hits, _ := b.Nearest(ctx, yingji.System, q); len(hits) != 3 || hits[0].Name != "避难所三" {
		t.Fatalf("a query after another instance's write: %+v", hits)
	}
}

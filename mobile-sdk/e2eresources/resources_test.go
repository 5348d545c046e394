// Package e2eresources_test: emergency resources reach field phones as a read-only synced
// collection in the user's scope — what `yingji-field list resources` shows offline — and
// follow the portal's changes; a phone cannot change them.
//
//	go test -count=1 ./mobile-sdk/e2eresources/
package e2eresources_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
)

func phone(t *testing.T, s *apptest.Server, user string) *sdk.Client {
	return e2etest.Phone(t, s.URL, user, sdk.Options{})
}

func TestResourcesOnPhones(t *testing.T)         { run(t, apptest.Start(t)) }
func TestResourcesOnPhonesPostgres(t *testing.T) { run(t, apptest.StartPostgres(t)) }

func names(t *testing.T, c *sdk.Client, filters ...sdk.Filter) []string {
	t.Helper()
	recs, err := c.List(context.Background(), "resources", filters...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		var n string
		json.Unmarshal(r.Fields["name"], &n)
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func run(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.Login(t, "admin")
	grid := phone(t, s, "grid01") // 临港化工园区街道 第一网格
	if _, err := grid.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Offline from here on for the phone: List reads the replica only.
	got := names(t, grid)
	// His grid's resources, and the government resources of the units above it (shared down to
	// every unit below), but nothing of another district or township.
	ownGrid := []string{"临港园区危化应急物资库", "临港园区应急避难场所", "正压式空气呼吸器", "吸附棉", "重型防化服"}
	var city yingji.Page[resource.Resource]
	s.Do(t, http.MethodGet, "/api/v1/resources?page_size=500", admin, nil).JSON(t, &city)
	var gridPath string
	for _, r := range city.Items {
		if r.Name == "临港园区应急避难场所" {
			gridPath = r.OrgPath
		}
	}
	want := slices.Clone(ownGrid)
	for _, r := range city.Items {
		above := r.OrgPath != gridPath && strings.HasPrefix(gridPath, r.OrgPath)
		if above && r.EnterpriseID == "" && r.Owner != "enterprise" {
			want = append(want, r.Name)
		}
	}
	slices.Sort(want)
	if gridPath == "" || len(want) <= len(ownGrid) || len(want) >= city.Total || !slices.Equal(got, want) {
		t.Fatalf("grid01's phone holds %v, want the resources of its grid and the government's above it %v (city: %d)", got, want, city.Total)
	}
	if shelters := names(t, grid, sdk.Filter{Field: "kind", Value: "shelter"}); !slices.Equal(shelters, []string{"临港园区应急避难场所"}) {
		t.Fatalf("filtered by kind: %v", shelters)
	}
	rec, err := grid.List(ctx, "resources", sdk.Filter{Field: "kind", Value: "shelter"})
	if err != nil || len(rec) != 1 {
		t.Fatal(err)
	}
	var details resource.Details
	var loc resource.Location
	if json.Unmarshal(rec[0].Fields["details"], &details) != nil || details.Capacity != 3000 ||
		json.Unmarshal(rec[0].Fields["location"], &loc) != nil || loc.Lat == 0 {
		t.Fatalf("shelter on the phone: %s", rec[0].Fields)
	}

	// A rescue member of the city's team holds every resource of the city.
	rescue := phone(t, s, "rescue01")
	if _, err := rescue.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var all yingji.Page[resource.Resource]
	r := s.Do(t, http.MethodGet, "/api/v1/resources?page_size=500", admin, nil)
	r.JSON(t, &all)
	if n := len(names(t, rescue)); n != all.Total || n < 50 {
		t.Fatalf("rescue01's phone holds %d resources, the city has %d", n, all.Total)
	}

	// The portal changes the shelter: the phone follows at its next sync.
	var sh map[string]any
	s.Do(t, http.MethodGet, "/api/v1/resources/"+rec[0].ID, admin, nil).JSON(t, &sh)
	for _, k := range []string{"id", "org_path", "cell", "created_at", "updated_at"} {
		delete(sh, k) // server-owned: PUT takes the editable fields
	}
	sh["occupancy"], sh["status"] = 120, "busy"
	if r := s.Do(t, http.MethodPut, "/api/v1/resources/"+rec[0].ID, admin, sh); r.Status != http.StatusOK {
		t.Fatalf("update shelter: %d %s", r.Status, r.Body)
	}
	if _, err := grid.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := grid.Get(ctx, "resources", rec[0].ID)
	if err != nil || string(after.Fields["status"]) != `"busy"` {
		t.Fatalf("shelter after sync: %+v %v", after, err)
	}

	// Resources are read-only on phones: an offline edit is refused by the server.
	if err := grid.Update(ctx, "resources", rec[0].ID, map[string]json.RawMessage{"name": json.RawMessage(`"改名"`)}); err != nil {
		var se *sdk.Error
		if !errors.As(err, &se) {
			t.Fatalf("update: %v", err)
		}
		return // refused on the phone already: resources are read-only there
	}
	st, err := grid.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 1 {
		t.Fatalf("a phone's edit of a resource was not refused: %+v", st)
	}
}

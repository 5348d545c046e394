package e2eresources_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// A resource the change log has never seen — a team that migration 00014 turned into a team
// resource in SQL on a server upgraded from before it — reaches phones after the start-up
// reconcile that migration 00024 asks for: a fresh replica (grid01's) pulls it, replicas synced
// before (rescue01's, safety01's; one device per user) get it at their next sync (checksums holding), and the offline nearest query finds it — on
// SQLite and PostgreSQL.
//
//	go test -race -count=1 -run Backfill ./mobile-sdk/e2eresources/

func TestBackfillUnloggedResources(t *testing.T)         { runBackfill(t, apptest.Start(t)) }
func TestBackfillUnloggedResourcesPostgres(t *testing.T) { runBackfill(t, apptest.StartPostgres(t)) }

func holds(t *testing.T, c *sdk.Client, id string) bool {
	t.Helper()
	recs, err := c.List(context.Background(), "resources")
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(recs, func(r sdk.Record) bool { return r.ID == id })
}

func runBackfill(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	admin := s.Login(t, "admin")
	var units yingji.Page[org.Unit]
	s.Do(t, http.MethodGet, "/api/v1/org-units", admin, nil).JSON(t, &units)
	var city org.Unit
	for _, u := range units.Items {
		if u.Code == "339900" {
			city = u
		}
	}
	before := phone(t, s, "rescue01")
	if _, err := before.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The row as 00014 wrote it: no change-log entry (here with a location, so nearest finds it).
	id := yingji.NewID()
	now := time.Now().UTC().Truncate(time.Second)
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO resources (id, kind, name, category, subtype, owner, org_unit_id, org_path, lat, lng, created_at, updated_at)
			VALUES ($1, 'team', '升级前的市级危化品救援队', '专业', '危化品救援', 'government', $2, $3, 30.2001, 120.3502, $4, $4)`, id, city.ID, city.Path, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := phone(t, s, "safety01")
	if _, err := fresh.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if holds(t, fresh, id) {
		t.Fatal("an unlogged resource reached a phone before the reconcile: the test proves nothing")
	}

	// Migration 00024 names the collection; the start-up (app.Main.Open) reconciles it.
	if _, err := s.DB.Exec(ctx, `INSERT INTO sync_replace (collection) VALUES ('resources')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	newest := phone(t, s, "grid01")
	for name, c := range map[string]*sdk.Client{"a fresh replica": newest, "a replica synced before": before, "the replica synced before the reconcile": fresh} {
		st, err := c.Sync(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !holds(t, c, id) {
			t.Fatalf("%s lacks the backfilled team after sync (%+v)", name, st)
		}
	}
	hits, err := newest.Nearest(ctx, sdk.NearQuery{Lat: 30.2, Lng: 120.35, N: 1, Kinds: []string{"team"}, Subtype: "危化品救援"})
	if err != nil || len(hits) != 1 || hits[0].ID != id {
		t.Fatalf("offline nearest: %v %v", hits, err)
	}
	// A second reconcile finds nothing more to log.
	var n1, n2 int
	s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM sync_changes`).Scan(&n1)
	s.DB.Exec(ctx, `INSERT INTO sync_replace (collection) VALUES ('resources')`)
	if err := s.Sync.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM sync_changes`).Scan(&n2)
	if n1 != n2 {
		t.Fatalf("a second reconcile logged %d changes", n2-n1)
	}
}

package syncsvc_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// scopeNames lists the scopes of a pull answer.
func scopeNames(resp syncproto.PullResponse) []string {
	var out []string
	for _, s := range resp.Scopes {
		out = append(out, s.Scope)
	}
	return out
}

// titles lists the titles of a collection's records in a scope, sorted.
func (r *replica) titles(scope, coll string) []string {
	var out []string
	for k, rec := range r.recs[scope] {
		if k.coll == coll {
			out = append(out, str(rec, "title"))
		}
	}
	slices.Sort(out)
	return out
}

// holds reports whether any scope of the replica holds the record.
func (r *replica) holds(coll, id string) bool {
	for sc := range r.recs {
		if _, ok := r.get(sc, coll, id); ok {
			return true
		}
	}
	return false
}

var cityPlans = []string{"临江市危险化学品事故专项应急预案", "临江市突发事件总体应急预案", "临江市防汛防台专项应急预案"}

// TestSharedDown: the city's published plans, the knowledge base, the government part of the
// directory and government resources reach every grid worker, township, enterprise and rescue
// member below the city through "down:ID"; an enterprise's own plan stays with it and the units
// above; a plan the district publishes reaches its townships, grids and enterprises and not
// the other district's; retired, it is removed from them; checksums hold throughout.
func TestSharedDown(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		city, district, town := e.unitID("339900"), e.unitID("339901"), e.unitID(townA)
		grid := e.unitID(townA + "/G01")
		downCity, downDistrict := syncsvc.DownScope(city), syncsvc.DownScope(district)

		replicas := map[string]*replica{}
		for _, u := range []string{"grid01", "township01", "township02", "safety01", "safety02", "rescue01", "district01"} {
			replicas[u] = newReplica()
			e.client(t, u).sync(t, replicas[u], 0) // apply checks every scope's checksum
		}
		// The scopes: the role's, then the units above (and, for an enterprise or a team, its own unit).
		resp := e.client(t, "grid01").pull(t, nil, 0)
		if got, want := scopeNames(resp), []string{"org:" + grid, downCity, downDistrict, syncsvc.DownScope(town), "user:" + e.userID(t, "grid01")}; !slices.Equal(got, want) {
			t.Fatalf("grid01's scopes %v, want %v", got, want)
		}
		resp = e.client(t, "district01").pull(t, nil, 0)
		if got, want := scopeNames(resp), []string{"org:" + district, downCity, "user:" + e.userID(t, "district01")}; !slices.Equal(got, want) {
			t.Fatalf("district01's scopes %v, want %v", got, want)
		}
		resp = e.client(t, "rescue01").pull(t, nil, 0) // the city's team: the city's own down scope too
		if got, want := scopeNames(resp), []string{"org:" + city, downCity, "user:" + e.userID(t, "rescue01")}; !slices.Equal(got, want) {
			t.Fatalf("rescue01's scopes %v, want %v", got, want)
		}

		for _, u := range []string{"grid01", "township01", "township02", "safety01", "safety02", "rescue01", "district01"} {
			r := replicas[u]
			if got := r.titles(downCity, "plans"); !slices.Equal(got, cityPlans) {
				t.Errorf("%s's %s plans: %v, want the city's %v", u, downCity, got, cityPlans)
			}
			var msds, duty bool
			for k, rec := range r.recs[downCity] {
				msds = msds || (k.coll == "knowledge" && str(rec, "cas") == "7782-50-5" && str(rec, "title") == "液氯")
				duty = duty || (k.coll == "directory" && str(rec, "name") == "王值班")
				if k.coll == "directory" && str(rec, "enterprise_id") != "" {
					t.Errorf("%s holds an enterprise's directory entry %s in %s", u, str(rec, "name"), downCity)
				}
			}
			if !msds || !duty {
				t.Errorf("%s's %s: MSDS of 液氯 %v, the duty officer in the directory %v", u, downCity, msds, duty)
			}
		}
		// The enterprise's on-site plan: its own staff and the units above, not the other enterprise.
		var entPlan string
		for k, rec := range replicas["safety01"].recs["ent:"+e.entID(entA)] {
			if k.coll == "plans" && str(rec, "title") == "液氯储罐泄漏现场处置方案" {
				entPlan = k.id
			}
		}
		if entPlan == "" {
			t.Fatalf("safety01 lacks his enterprise's on-site plan")
		}
		if replicas["safety02"].holds("plans", entPlan) || replicas["township02"].holds("plans", entPlan) {
			t.Fatalf("another enterprise's or township's device holds 临港石化储运's on-site plan")
		}
		if !replicas["township01"].holds("plans", entPlan) {
			t.Fatalf("the enterprise's township lacks its on-site plan")
		}

		// The district publishes a plan: its townships, grids, enterprises get it; the other district's do not.
		admin, dist := e.admin, e.Login(t, "district01")
		in := map[string]any{"title": "江南区液氨制冷企业事故专项应急预案", "kind": "special", "level": "district", "org_unit_id": district,
			"content": map[string]any{
				"events": []map[string]any{{"class": "accident", "sub_type": "危险化学品事故"}},
				"levels": []map[string]any{{"level": 4, "conditions": []map[string]any{{"metric": "hazmat_release", "op": ">", "value": 0, "subject": "液氨"}},
					"measures": []string{"疏散冷库作业人员"}}},
				"chapters": []map[string]any{{"title": "处置措施", "body": "关闭冷库氨阀组，开启事故排风"}}}}
		var p plan.Plan
		if r := e.Do(t, "POST", "/api/v1/plans", dist, in); r.Status != http.StatusCreated {
			t.Fatalf("create plan: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &p)
		}
		mustOK(t, e.Do(t, "POST", "/api/v1/plans/"+p.ID+"/submit", dist, nil), nil)
		// A draft under review reaches nobody below.
		e.client(t, "grid01").sync(t, replicas["grid01"], 0)
		if replicas["grid01"].holds("plans", p.PlanID) {
			t.Fatalf("a plan under review reached grid01")
		}
		mustOK(t, e.Do(t, "POST", "/api/v1/plans/"+p.ID+"/publish", admin, map[string]string{"comment": "同意"}), nil)
		for _, u := range []string{"grid01", "township01", "safety01", "township02", "safety02", "district01"} {
			e.client(t, u).sync(t, replicas[u], 0)
			_, got := replicas[u].get(downDistrict, "plans", p.PlanID)
			if want := u != "township02" && u != "safety02" && u != "district01"; got != want {
				t.Errorf("%s holds the district's published plan in %s: %v, want %v", u, downDistrict, got, want)
			}
			if (u == "township02" || u == "safety02") && replicas[u].holds("plans", p.PlanID) {
				t.Errorf("%s, in the other district, holds the district's plan", u)
			}
		}
		if _, ok := replicas["district01"].get("org:"+district, "plans", p.PlanID); !ok {
			t.Errorf("the district's own device lacks its plan in its org scope")
		}

		// Retired, it is removed from the devices below: a tombstone in down:district.
		mustOK(t, e.Do(t, "POST", "/api/v1/plans/"+p.ID+"/retire", admin, map[string]string{"reason": "合并入市级预案"}), nil)
		resp = e.client(t, "grid01").pull(t, replicas["grid01"].checkpoints(), 0)
		var gone bool
		for _, s := range resp.Scopes {
			for _, rec := range s.Records {
				gone = gone || (s.Scope == downDistrict && rec.ID == p.PlanID && rec.Deleted)
			}
		}
		if !gone {
			t.Fatalf("retiring the plan did not send grid01 its removal in %s: %+v", downDistrict, resp.Scopes)
		}
		replicas["grid01"].apply(t, resp)
		for _, u := range []string{"grid01", "township01", "safety01"} {
			e.client(t, u).sync(t, replicas[u], 0)
			if replicas[u].holds("plans", p.PlanID) {
				t.Errorf("%s still holds the retired plan", u)
			}
		}
		// A fresh device converges to the same state as the long-lived one.
		for _, u := range []string{"grid01", "safety01"} {
			fresh := newReplica()
			e.client(t, u).sync(t, fresh, 0)
			for sc, m := range replicas[u].recs {
				if len(m) != len(fresh.recs[sc]) {
					t.Errorf("%s's scope %s: %d records kept, %d in a fresh snapshot", u, sc, len(m), len(fresh.recs[sc]))
				}
			}
		}
	})
}

// incidentNotes is a test collection whose records belong to incidents ("inc:ID"), and
// incidentTeams the data a test scope source reads: which users work on which incident.
type incidentNotes struct{ syncsvc.Table }

var incidentNoteSpec = &syncproto.CollectionSpec{Name: "test_incident_notes", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "title", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

func (*incidentNotes) Spec() *syncproto.CollectionSpec { return incidentNoteSpec }
func (*incidentNotes) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{IncidentID: syncsvc.Str(f, "incident_id")}, nil
}
func (*incidentNotes) Authorize(context.Context, sqldb.Querier, *yingji.Actor, syncproto.Mutation, syncsvc.Fields) error {
	return syncsvc.Rejected(syncproto.CodeReadOnly, "该数据在移动端只读")
}
func (*incidentNotes) Prepare(context.Context, sqldb.Querier, *yingji.Actor, syncsvc.Fields, bool) error {
	return nil
}

func withIncidentNotes(m *app.Main) error {
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE test_incident_notes (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE test_incident_teams (incident_id TEXT NOT NULL, user_id TEXT NOT NULL)`,
	} {
		if _, err := m.DB.Exec(ctx, q); err != nil {
			return err
		}
	}
	m.Sync.Register(&incidentNotes{syncsvc.Table{Name: "test_incident_notes", Columns: []string{"incident_id", "title"}}})
	m.Sync.AddScopeSource(func(ctx context.Context, q sqldb.Querier, a *yingji.Actor) ([]string, error) {
		rows, err := q.Query(ctx, `SELECT incident_id FROM test_incident_teams WHERE user_id = $1 ORDER BY incident_id`, a.UserID)
		return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
			var id string
			err := r.Scan(&id)
			return syncsvc.IncidentScope(id), err
		})
	})
	return nil
}

// TestIncidentScope: a scope source grants a rescue member "inc:ID" when his team is
// dispatched to the incident; ScopesChanged pokes his live socket at once and his next pull
// is the incident's snapshot; its changes poke him like any scope's; a record moved to another
// incident is a removal; revoked, the scope is purged from his device. Nobody else gets it.
func TestIncidentScope(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rescue, grid := e.client(t, "rescue01"), e.client(t, "grid01")
		rescueID := e.userID(t, "rescue01")
		i1, i2 := yingji.NewID(), yingji.NewID()
		inc1 := syncsvc.IncidentScope(i1)
		var mu sync.Mutex
		n := 0
		note := func(incident, title string) string {
			mu.Lock()
			n++
			id := fmt.Sprintf("note-%02d-%s", n, yingji.NewID())
			mu.Unlock()
			err := e.DB.InTx(ctx, func(tx sqldb.Querier) error {
				if err := e.Sync.Lock(ctx, tx); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO test_incident_notes (id, incident_id, title) VALUES ($1, $2, $3)`, id, incident, title); err != nil {
					return err
				}
				return e.Sync.Changed(ctx, tx, "test_incident_notes", id)
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		a, b := note(i1, "事故现场风向东南"), note(i1, "下风向 500 米疏散")
		c := note(i2, "另一起事故")

		r := newReplica()
		rescue.sync(t, r, 0)
		if _, ok := r.recs[inc1]; ok {
			t.Fatalf("rescue01 holds %s before his team is dispatched", inc1)
		}
		// Asking for the scope without the grant is answered with a purge.
		if resp := rescue.pull(t, map[string]int64{inc1: 0}, 0); !slices.Equal(resp.Purge, []string{inc1}) {
			t.Fatalf("purge %v, want [%s]", resp.Purge, inc1)
		}
		ws := dialLive(t, e.URL, rescue.token)
		other := dialLive(t, e.URL, grid.token)

		// Dispatched: a poke at once, then the incident's snapshot.
		if _, err := e.DB.Exec(ctx, `INSERT INTO test_incident_teams (incident_id, user_id) VALUES ($1, $2)`, i1, rescueID); err != nil {
			t.Fatal(err)
		}
		e.Sync.ScopesChanged(ctx, rescueID)
		if p := ws.next(t, 3*time.Second); p.Type != "poke" || p.Scope != inc1 || p.Seq != 0 {
			t.Fatalf("after the grant the socket got %+v, want a poke of %s without a number", p, inc1)
		}
		rescue.sync(t, r, 0)
		if got := r.ids(inc1, "test_incident_notes"); !slices.Equal(got, sorted(a, b)) {
			t.Fatalf("%s holds %v, want %v", inc1, got, sorted(a, b))
		}
		if r.holds("test_incident_notes", c) {
			t.Fatalf("rescue01 holds the other incident's note")
		}
		// The incident's changes poke him like any scope's.
		d := note(i1, "增派洗消车")
		ws.waitPoke(t, inc1, 1, 3*time.Second)
		// A note moved to the other incident is a removal.
		if _, err := e.DB.Exec(ctx, `UPDATE test_incident_notes SET incident_id = $2 WHERE id = $1`, b, i2); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.InTx(ctx, func(tx sqldb.Querier) error { return e.Sync.Moved(ctx, tx, "test_incident_notes", b) }); err != nil {
			t.Fatal(err)
		}
		resp := rescue.pull(t, r.checkpoints(), 0)
		for _, s := range resp.Scopes {
			if s.Scope == inc1 && (len(s.Removed) != 1 || s.Removed[0].ID != b) {
				t.Fatalf("%s after a move: removed %+v", inc1, s.Removed)
			}
		}
		r.apply(t, resp)
		if got := r.ids(inc1, "test_incident_notes"); !slices.Equal(got, sorted(a, d)) {
			t.Fatalf("%s holds %v, want %v", inc1, got, sorted(a, d))
		}

		// Released: a poke, then the scope is purged.
		if _, err := e.DB.Exec(ctx, `DELETE FROM test_incident_teams WHERE user_id = $1`, rescueID); err != nil {
			t.Fatal(err)
		}
		e.Sync.ScopesChanged(ctx, rescueID)
		ws.waitPoke(t, inc1, 0, 3*time.Second)
		resp = rescue.pull(t, r.checkpoints(), 0)
		if !slices.Equal(resp.Purge, []string{inc1}) {
			t.Fatalf("purge after the release %v, want [%s]", resp.Purge, inc1)
		}
		r.apply(t, resp)
		if r.holds("test_incident_notes", a) {
			t.Fatalf("the released incident's notes are still on the device")
		}
		// Another user's socket heard of none of it.
		select {
		case p := <-other.C:
			if p.Scope == inc1 {
				t.Fatalf("grid01's socket was poked for %s", inc1)
			}
		case <-time.After(200 * time.Millisecond):
		}
		_ = apptest.Password
	}, apptest.WithExtend(withIncidentNotes))
}

// TestReconcile: a server upgraded from before the shared-down scopes (the change log and the
// record states know nothing of sharing, no down checksums) moves the reference records to
// their down scopes when it reconciles the collections migration 00015 names; devices then
// get them with checksums that hold, and the names are forgotten.
func TestReconcile(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		downCity := syncsvc.DownScope(e.unitID("339900"))
		err := e.DB.InTx(ctx, func(tx sqldb.Querier) error {
			for _, q := range []string{
				`UPDATE sync_changes SET shared = $1, old_shared = $1`,
				`UPDATE sync_records SET shared = $1`,
			} {
				if _, err := tx.Exec(ctx, q, false); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sync_sums WHERE scope LIKE 'down:%'`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO sync_replace (collection) VALUES ('plans'), ('knowledge'), ('directory'), ('resources')`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		grid := e.client(t, "grid01")
		r := newReplica()
		grid.sync(t, r, 0)
		if n := len(r.recs[downCity]); n != 0 {
			t.Fatalf("before the reconcile %s holds %d records", downCity, n)
		}
		if err := e.Sync.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		grid.sync(t, r, 0) // checks the checksums
		if got := r.titles(downCity, "plans"); !slices.Equal(got, cityPlans) {
			t.Fatalf("after the reconcile %s plans %v, want %v", downCity, got, cityPlans)
		}
		if len(r.ids(downCity, "knowledge")) == 0 || len(r.ids(downCity, "directory")) == 0 {
			t.Fatalf("after the reconcile %s lacks the knowledge base or the directory", downCity)
		}
		var left int
		if err := e.DB.QueryRow(ctx, `SELECT COUNT(*) FROM sync_replace`).Scan(&left); err != nil || left != 0 {
			t.Fatalf("sync_replace keeps %d rows (%v)", left, err)
		}
		// A second reconcile (nothing named) changes nothing.
		if err := e.Sync.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

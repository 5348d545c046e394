package syncsvc_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// TestPull covers one server per engine, in order: a township's snapshot, paging, incremental
// pulls, records that leave a scope and a user who loses his scope.
func TestPull(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		town := e.client(t, "township01")
		scope := "org:" + e.unitID(townA)
		full := newReplica()
		t.Run("snapshot", func(t *testing.T) { testSnapshot(t, e, town, scope, full) })
		t.Run("paging", func(t *testing.T) { testPaging(t, e, town, scope, full) })
		t.Run("incremental", func(t *testing.T) { testIncremental(t, e, town, scope, full) })
		t.Run("hazard moves between enterprises", func(t *testing.T) { testHazardMoves(t, e, town, scope, full) })
		t.Run("enterprise moves between townships", func(t *testing.T) { testEnterpriseMoves(t, e, town, scope, full) })
		t.Run("scope loss", func(t *testing.T) { testScopeLoss(t, e) })
	})
}

func testSnapshot(t *testing.T, e *env, town *client, scope string, r *replica) {
	resp := town.pull(t, nil, 0)
	if sc := placeScopes(t, town, resp); len(sc) != 1 || sc[0].Scope != scope || !sc[0].Reset || sc[0].More || len(resp.Purge) != 0 {
		t.Fatalf("township01's first pull: purge %v, scopes %+v", resp.Purge, resp.Scopes)
	}
	var colls []string
	for _, c := range resp.Collections {
		colls = append(colls, c.Name)
	}
	for _, want := range []string{"contacts", "enterprises", "hazard_actions", "hazards", "org_units"} {
		if !slices.Contains(colls, want) {
			t.Fatalf("collections %v lack %s", colls, want)
		}
	}
	r.apply(t, resp) // checks the checksum and count

	// What the township holds is exactly what the portal lists for it.
	var units yingji.Page[org.Unit]
	mustOK(t, e.Do(t, "GET", "/api/v1/org-units?subtree="+e.unitID(townA), e.admin, nil), &units)
	var wantUnits []string
	for _, u := range units.Items {
		if u.Level == org.LevelTownship || u.Level == org.LevelGrid {
			wantUnits = append(wantUnits, u.ID)
		}
	}
	var ents yingji.Page[org.Enterprise]
	mustOK(t, e.Do(t, "GET", "/api/v1/enterprises?page_size=100&township_id="+e.unitID(townA), e.admin, nil), &ents)
	var wantEnts, wantContacts []string
	for _, en := range ents.Items {
		wantEnts = append(wantEnts, en.ID)
		var cs yingji.Page[org.Contact]
		mustOK(t, e.Do(t, "GET", "/api/v1/enterprises/"+en.ID+"/contacts", e.admin, nil), &cs)
		for _, c := range cs.Items {
			wantContacts = append(wantContacts, c.ID)
		}
	}
	sort.Strings(wantUnits)
	sort.Strings(wantEnts)
	sort.Strings(wantContacts)
	if len(wantUnits) != 4 || len(wantEnts) != 6 || len(wantContacts) != 12 {
		t.Fatalf("demo township has %d units, %d enterprises, %d contacts", len(wantUnits), len(wantEnts), len(wantContacts))
	}
	for coll, want := range map[string][]string{"org_units": wantUnits, "enterprises": wantEnts, "contacts": wantContacts} {
		if got := r.ids(scope, coll); !slices.Equal(got, want) {
			t.Errorf("%s in the snapshot: %v, want %v", coll, got, want)
		}
	}
	// The township's emergency resources (its unit and below, its enterprises') are synced too.
	var res yingji.Page[struct {
		ID string `json:"id"`
	}]
	mustOK(t, e.Do(t, "GET", "/api/v1/resources?page_size=500&org_unit_id="+e.unitID(townA), e.admin, nil), &res)
	var wantRes []string
	for _, x := range res.Items {
		wantRes = append(wantRes, x.ID)
	}
	sort.Strings(wantRes)
	if got := r.ids(scope, "resources"); len(wantRes) == 0 || !slices.Equal(got, wantRes) {
		t.Errorf("resources in the snapshot: %v, want %v", got, wantRes)
	}
	// The org collections' records; the scope also holds other modules' (the emergency
	// directory's people, the enterprises' published plans).
	n := 0
	for k := range r.recs[scope] {
		if k.coll == "org_units" || k.coll == "enterprises" || k.coll == "contacts" {
			n++
		}
	}
	if n != 22 {
		t.Fatalf("snapshot holds %d org records, want 22", n)
	}
	ent, _ := r.get(scope, "enterprises", e.entID(entA))
	if str(ent, "name") != entA || ent.Stamps["name"] == "" || ent.Seq <= 0 {
		t.Fatalf("enterprise record %+v", ent)
	}
}

func testPaging(t *testing.T, e *env, town *client, scope string, full *replica) {
	// Hazards beyond the org records, so pages cross collections.
	safety := e.client(t, "safety01")
	for i := range 3 {
		safety.createHazard(t, e.entID(entA), fmt.Sprintf("分页隐患 %d", i))
	}
	town.sync(t, full, 0)
	paged := newReplica()
	pages := town.sync(t, paged, 5)
	if pages < 5 {
		t.Fatalf("%d pages of 5 for %d records", pages, len(full.recs[scope]))
	}
	if len(paged.recs[scope]) != len(full.recs[scope]) || paged.cps[scope] != full.cps[scope] {
		t.Fatalf("paged pull ends with %d records at %d, one pull with %d at %d",
			len(paged.recs[scope]), paged.cps[scope], len(full.recs[scope]), full.cps[scope])
	}
	for k, rec := range full.recs[scope] {
		if got, ok := paged.recs[scope][k]; !ok || got.Seq != rec.Seq {
			t.Fatalf("paged pull lacks %v at %d", k, rec.Seq)
		}
	}
	// A page answers at most the limit, and its checkpoint resumes where it stopped.
	first := town.pull(t, nil, 5)
	if ch := first.Scopes[0]; !ch.More || len(ch.Records) > 5 || ch.Checksum != "" || !ch.Reset {
		t.Fatalf("first page of 5: %+v", ch)
	}
}

func testIncremental(t *testing.T, e *env, town *client, scope string, r *replica) {
	cp := r.cps[scope]
	// Nothing changed: nothing comes, the checkpoint stays.
	resp := town.pull(t, r.checkpoints(), 0)
	if ch := resp.Scopes[0]; len(ch.Records) != 0 || ch.Checkpoint != cp || ch.Reset {
		t.Fatalf("pull without changes: %+v", ch)
	}
	r.apply(t, resp)
	safety := e.client(t, "safety01")
	id, seq := safety.createHazard(t, e.entID(entA), "增量拉取")
	// A change elsewhere (another township) is not in this scope.
	e.client(t, "safety02").createHazard(t, e.entID(entB), "别的乡镇")
	resp = town.pull(t, r.checkpoints(), 0)
	ch := resp.Scopes[0]
	if len(ch.Records) != 1 || ch.Records[0].ID != id || ch.Records[0].Seq != seq || ch.Reset || len(ch.Removed) != 0 {
		t.Fatalf("incremental pull after one change: %+v", ch)
	}
	if str(ch.Records[0], "title") != "增量拉取" || str(ch.Records[0], "reported_by") != e.userID(t, "safety01") || str(ch.Records[0], "status") != "reported" {
		t.Fatalf("hazard fields %s", ch.Records[0].Fields)
	}
	r.apply(t, resp)
	// A checkpoint from another database (ahead of this one) starts over with a snapshot.
	resp = town.pull(t, map[string]int64{scope: 1 << 40}, 0)
	if !resp.Scopes[0].Reset {
		t.Fatalf("checkpoint ahead of the server did not reset")
	}
}

func testHazardMoves(t *testing.T, e *env, town *client, scope string, r *replica) {
	safety := e.client(t, "safety01")
	entScope := "ent:" + e.entID(entA)
	own := newReplica()
	safety.sync(t, own, 0)
	id, _ := safety.createHazard(t, e.entID(entA), "登记错了企业")
	safety.sync(t, own, 0)
	if _, ok := own.get(entScope, "hazards", id); !ok {
		t.Fatalf("new hazard not pulled")
	}
	// The township corrects the enterprise: the hazard leaves safety01's scope.
	other := e.entID("临江氯碱化工股份有限公司")
	wantResult(t, town.pushOne(t, town.update("hazards", id, map[string]any{"enterprise_id": other})), syncproto.StatusApplied, "")
	resp := safety.pull(t, own.checkpoints(), 0)
	ch := resp.Scopes[0]
	if len(ch.Records) != 0 || len(ch.Removed) != 1 || ch.Removed[0] != (syncproto.RecordRef{Collection: "hazards", ID: id}) {
		t.Fatalf("the old enterprise's pull after the move: %+v", ch)
	}
	own.apply(t, resp)
	// The township still holds it, with the new enterprise.
	resp = town.pull(t, r.checkpoints(), 0)
	if ch := resp.Scopes[0]; len(ch.Records) != 1 || ch.Records[0].ID != id || str(ch.Records[0], "enterprise_id") != other || len(ch.Removed) != 0 {
		t.Fatalf("the township's pull after the move: %+v", ch)
	}
	r.apply(t, resp)
}

func testEnterpriseMoves(t *testing.T, e *env, town *client, scope string, r *replica) {
	town2 := e.client(t, "township02")
	scope2 := "org:" + e.unitID(townB)
	r2 := newReplica()
	town2.sync(t, r2, 0)
	ent := e.entID(entA)
	r.apply(t, town.pull(t, r.checkpoints(), 0))
	var moving []syncproto.RecordRef
	for k := range r.recs[scope] {
		rec := r.recs[scope][k]
		if (k.coll == "enterprises" && k.id == ent) || ((k.coll == "contacts" || k.coll == "hazards") && str(rec, "enterprise_id") == ent) {
			moving = append(moving, syncproto.RecordRef{Collection: k.coll, ID: k.id})
		}
	}
	if len(moving) < 3+2 {
		t.Fatalf("only %d records of the enterprise in the township", len(moving))
	}
	patch := map[string]any{"township_id": e.unitID(townB), "grid_id": ""}
	mustOK(t, e.Do(t, "PATCH", "/api/v1/enterprises/"+ent, e.admin, patch), nil)

	// The old township is told to drop every record of the enterprise.
	resp := town.pull(t, r.checkpoints(), 0)
	ch := resp.Scopes[0]
	if len(ch.Records) != 0 || !sameRefs(ch.Removed, moving) {
		t.Fatalf("old township after the move: records %d, removed %v, want removed %v", len(ch.Records), ch.Removed, moving)
	}
	r.apply(t, resp)
	for _, m := range moving {
		if _, ok := r.get(scope, m.Collection, m.ID); ok {
			t.Fatalf("%v still held by the old township", m)
		}
	}
	// The new township gets them as records, the enterprise with its new township.
	resp = town2.pull(t, r2.checkpoints(), 0)
	ch = resp.Scopes[0]
	var got []syncproto.RecordRef
	for _, rec := range ch.Records {
		got = append(got, syncproto.RecordRef{Collection: rec.Collection, ID: rec.ID})
		if rec.Collection == "enterprises" && (str(rec, "township_id") != e.unitID(townB) || str(rec, "grid_id") != "") {
			t.Fatalf("moved enterprise %s", rec.Fields)
		}
	}
	if !sameRefs(got, moving) || len(ch.Removed) != 0 {
		t.Fatalf("new township after the move: records %v, removed %v, want %v", got, ch.Removed, moving)
	}
	r2.apply(t, resp)
	if _, ok := r2.get(scope2, "enterprises", ent); !ok {
		t.Fatalf("new township does not hold the enterprise")
	}
	// The enterprise's own scope keeps them: its staff see updates, not removals.
	own := newReplica()
	e.client(t, "safety01").sync(t, own, 0)
	if len(own.recs["ent:"+ent]) < len(moving) {
		t.Fatalf("enterprise scope holds %d records after the move", len(own.recs["ent:"+ent]))
	}
	// And safety01 may still write its hazards, now under the other township.
	e.client(t, "safety01").createHazard(t, ent, "搬迁后的隐患")
	r2.apply(t, town2.pull(t, r2.checkpoints(), 0))
	r.apply(t, town.pull(t, r.checkpoints(), 0))
}

func sameRefs(a, b []syncproto.RecordRef) bool {
	key := func(r syncproto.RecordRef) string { return r.Collection + "/" + r.ID }
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		as[i] = key(a[i])
	}
	for i := range b {
		bs[i] = key(b[i])
	}
	sort.Strings(as)
	sort.Strings(bs)
	return slices.Equal(as, bs)
}

func testScopeLoss(t *testing.T, e *env) {
	grid := e.client(t, "grid01")
	oldScope := "org:" + e.unitID(townA+"/G01")
	newUnit := townB + "/G01"
	newScope := "org:" + e.unitID(newUnit)
	r := newReplica()
	grid.sync(t, r, 0)
	if notDownCount(r.cps) != 2 || len(r.recs[oldScope]) == 0 {
		t.Fatalf("grid01 holds %v", r.cps)
	}
	mustOK(t, e.Do(t, "PATCH", "/api/v1/users/"+e.userID(t, "grid01"), e.admin, map[string]any{"org_unit_id": e.unitID(newUnit)}), nil)

	resp := grid.pull(t, r.checkpoints(), 0)
	if !slices.Equal(notDown(resp.Purge), []string{oldScope}) {
		t.Fatalf("purge %v, want [%s]", resp.Purge, oldScope)
	}
	if sc := placeScopes(t, grid, resp); len(sc) != 1 || sc[0].Scope != newScope || !sc[0].Reset || resp.Scopes[len(resp.Scopes)-1].Reset {
		t.Fatalf("scopes after the move: %+v", resp.Scopes)
	}
	r.apply(t, resp)
	if _, ok := r.recs[oldScope]; ok || notDownCount(r.cps) != 2 {
		t.Fatalf("old scope kept: %v", r.cps)
	}
	if _, ok := r.get(newScope, "org_units", e.unitID(newUnit)); !ok {
		t.Fatalf("new grid unit not in its snapshot")
	}
	if _, ok := r.get(newScope, "enterprises", e.entID(entB)); !ok {
		t.Fatalf("%s (grid G01 of %s) not in the new snapshot", entB, townB)
	}
	// The next pull is incremental again.
	if resp := grid.pull(t, r.checkpoints(), 0); len(resp.Purge) != 0 || resp.Scopes[0].Reset {
		t.Fatalf("second pull after the move: %+v", resp)
	}
}

// TestOutOfOrderCommits pushes creates from concurrent devices while a puller follows with
// incremental pulls from its checkpoint: the puller must end with every created record, and
// its checksum must match the server's at every complete answer (a gap would show there).
func TestOutOfOrderCommits(t *testing.T) {
	t.Parallel()
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			e := newEnv(t, en.start(t))
			const pushers, rounds, batch = 8, 3, 20
			ent := e.entID(entA)
			scope := "ent:" + ent
			puller := e.client(t, "principal01")
			before := len(newReplicaOf(t, puller).recs[scope])
			// The puller starts from nothing: its snapshot pages run while the pushers write.
			r := newReplica()

			// Pushers: each its own device (web and mobile sessions of different users).
			var devices []*client
			for i := range pushers {
				user := []string{"safety01", "township01", "grid01", "district01"}[i%4]
				kind := []string{"mobile", "web"}[i/4]
				devices = append(devices, e.session(t, user, kind, fmt.Sprintf("pusher-%d", i)))
			}
			var wg sync.WaitGroup
			created := make(chan string, pushers*rounds*batch)
			errs := make(chan error, pushers)
			for _, d := range devices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for round := range rounds {
						var muts []syncproto.Mutation
						for i := range batch {
							muts = append(muts, d.newHazard(ent, fmt.Sprintf("%s 第 %d 批 %d", d.device, round, i)))
						}
						resp, err := d.tryPush(muts)
						if err != nil {
							errs <- err
							return
						}
						for i, res := range resp.Results {
							if res.Status != syncproto.StatusApplied {
								errs <- fmt.Errorf("%s: %+v", d.device, res)
								return
							}
							created <- muts[i].ID
						}
					}
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			pulls := 0
		loop:
			for {
				select {
				case <-done:
					break loop
				default:
				}
				r.apply(t, puller.pull(t, r.checkpoints(), 7))
				pulls++
			}
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			puller.sync(t, r, 7)
			close(created)
			n := 0
			for id := range created {
				n++
				if _, ok := r.get(scope, "hazards", id); !ok {
					t.Errorf("the puller never saw hazard %s", id)
				}
			}
			if n != pushers*rounds*batch || len(r.recs[scope]) != before+n {
				t.Fatalf("%d created, puller holds %d (had %d)", n, len(r.recs[scope]), before)
			}
			fresh := newReplica()
			puller.sync(t, fresh, 0)
			if len(fresh.recs[scope]) != len(r.recs[scope]) {
				t.Fatalf("fresh pull %d records, incremental puller %d", len(fresh.recs[scope]), len(r.recs[scope]))
			}
			for k, rec := range fresh.recs[scope] {
				if got, ok := r.recs[scope][k]; !ok || got.Seq != rec.Seq {
					t.Fatalf("puller has %v at %d, server at %d", k, got.Seq, rec.Seq)
				}
			}
			t.Logf("%d records pushed by %d devices while %d incremental pulls followed", n, pushers, pulls)
		})
	}
}

// tryPush is push for goroutines: it returns errors instead of failing the test.
func (c *client) tryPush(muts []syncproto.Mutation) (syncproto.PushResponse, error) {
	var resp syncproto.PushResponse
	body := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: c.device, Mutations: muts}
	r, err := c.e.post("/api/v1/sync/push", c.token, body)
	if err != nil {
		return resp, err
	}
	if r.Status != 200 {
		return resp, fmt.Errorf("push: %d %s", r.Status, r.Body)
	}
	err = json.Unmarshal(r.Body, &resp)
	return resp, err
}

// TestConcurrentEdits: devices edit the same hazard at once. Whatever order the server takes
// them in, the title is the one with the latest stamp, every photo added survives, and the
// scope's checksum stays right (each change starts from the state the previous one left).
func TestConcurrentEdits(t *testing.T) {
	t.Parallel()
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			e := newEnv(t, en.start(t))
			const devices, rounds = 8, 5
			ent := e.entID(entA)
			scope := "ent:" + ent
			owner := e.client(t, "principal01")
			base := time.Now().Add(-time.Hour)
			create := mutation("hazards", yingji.NewID(), syncproto.OpCreate, stampAt(base, owner.device), map[string]any{"title": "并发编辑", "enterprise_id": ent})
			wantResult(t, owner.pushOne(t, create), syncproto.StatusApplied, "")
			id := create.ID

			// Stamps 1..devices*rounds seconds after base, dealt out in a scrambled order.
			offsets := rand.Perm(devices * rounds)
			var clients []*client
			for i := range devices {
				user := []string{"safety01", "township01", "grid01", "district01"}[i%4]
				clients = append(clients, e.session(t, user, []string{"mobile", "web"}[i/4], fmt.Sprintf("editor-%d", i)))
			}
			var wg sync.WaitGroup
			errs := make(chan error, devices*rounds)
			for g, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range rounds {
						off := offsets[g*rounds+k] + 1
						title := mutation("hazards", id, syncproto.OpUpdate, stampAt(base.Add(time.Duration(off)*time.Second), c.device),
							map[string]any{"title": fmt.Sprintf("标题 %02d", off)})
						pic := mutation("hazards", id, syncproto.OpUpdate, c.hlc(), map[string]any{"photos": []string{photo(off)}})
						pic.Base = vals(map[string]any{"photos": []string{}})
						resp, err := c.tryPush([]syncproto.Mutation{title, pic})
						if err != nil {
							errs <- err
							return
						}
						for _, res := range resp.Results {
							if res.Status == syncproto.StatusRejected {
								errs <- fmt.Errorf("%s: %+v", c.device, res)
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			r := newReplica()
			owner.sync(t, r, 0) // checks the checksum
			rec, _ := r.get(scope, "hazards", id)
			if want := fmt.Sprintf("标题 %02d", devices*rounds); str(rec, "title") != want {
				t.Errorf("title %q, want %q (the latest stamp)", str(rec, "title"), want)
			}
			if got := strs(rec, "photos"); len(got) != devices*rounds {
				t.Errorf("%d photos survived concurrent adds, want %d", len(got), devices*rounds)
			}
		})
	}
}

// TestPortalAndPhoneEdits: the portal and a phone edit the same contact at once. The phone's
// mutations must all go in (a database deadlock between the two is retried, never turned into a
// rejection stored as the mutation's answer), and the phone ends with the portal's view.
func TestPortalAndPhoneEdits(t *testing.T) {
	t.Parallel()
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			e := newEnv(t, en.start(t))
			const rounds = 20
			safety := e.client(t, "safety01")
			scope := "ent:" + e.entID(entA)
			id := newReplicaOf(t, safety).ids(scope, "contacts")[0]
			var wg sync.WaitGroup
			var portalFailed int
			errs := make(chan error, rounds)
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range rounds {
					resp, err := safety.tryPush([]syncproto.Mutation{safety.update("contacts", id, map[string]any{"phone": fmt.Sprintf("139%08d", i)})})
					if err != nil {
						errs <- err
					} else if res := resp.Results[0]; res.Status == syncproto.StatusRejected {
						errs <- fmt.Errorf("phone edit %d rejected: %+v", i, res)
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := range rounds {
					r, err := e.send("PATCH", "/api/v1/contacts/"+id, e.admin, map[string]any{"title": fmt.Sprintf("职务 %d", i)})
					if err != nil || r.Status != 200 {
						portalFailed++
					}
				}
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if portalFailed > 0 {
				// Both sides take the change-log lock first, so they queue instead of deadlocking.
				t.Fatalf("%d of %d portal edits failed", portalFailed, rounds)
			}
			// Afterwards one more phone edit lands, and the phone's replica and the portal agree.
			last := fmt.Sprintf("139%08d", rounds)
			wantResult(t, safety.pushOne(t, safety.update("contacts", id, map[string]any{"phone": last})), syncproto.StatusApplied, "")
			rec := safety.record(t, scope, "contacts", id)
			var list yingji.Page[org.Contact]
			mustOK(t, e.Do(t, "GET", "/api/v1/enterprises/"+e.entID(entA)+"/contacts", e.admin, nil), &list)
			for _, c := range list.Items {
				if c.ID == id && (c.Phone != last || str(rec, "phone") != last || str(rec, "title") != c.Title) {
					t.Fatalf("phone holds %s/%s, portal shows %s/%s", str(rec, "phone"), str(rec, "title"), c.Phone, c.Title)
				}
			}
		})
	}
}

// TestPullQuietScopes: a pull answers the scopes with nothing after their checkpoints from
// their heads (no scan of the log), and the answers stay right: every scope's checkpoint
// reaches the head, checksums match the replica (apply checks them), the changed scope gets
// its record and the scope a record left gets the removal.
func TestPullQuietScopes(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		town := e.client(t, "township01")
		r := newReplica()
		town.sync(t, r, 0)
		safety := e.client(t, "safety01")
		own := newReplica()
		safety.sync(t, own, 0)
		id, seq := safety.createHazard(t, e.entID(entA), "安静的范围")
		safety.sync(t, own, 0)
		entScope, townScope := "ent:"+e.entID(entA), "org:"+e.unitID(townA)
		resp := town.pull(t, r.checkpoints(), 0)
		for _, ch := range resp.Scopes {
			if ch.More || ch.Checkpoint < seq {
				t.Fatalf("scope %s: checkpoint %d below the change %d: %+v", ch.Scope, ch.Checkpoint, seq, ch)
			}
			got := len(ch.Records)
			if ch.Scope == townScope {
				if got != 1 || ch.Records[0].ID != id {
					t.Fatalf("the township's scope after the change: %+v", ch)
				}
			} else if got != 0 || len(ch.Removed) != 0 {
				t.Fatalf("quiet scope %s answered %+v", ch.Scope, ch)
			}
		}
		r.apply(t, resp)
		// Nothing new at all: every scope is quiet and stays where it is.
		resp = town.pull(t, r.checkpoints(), 0)
		for _, ch := range resp.Scopes {
			if len(ch.Records) != 0 || ch.Checkpoint != r.cps[ch.Scope] {
				t.Fatalf("pull without changes, scope %s: %+v (had %d)", ch.Scope, ch, r.cps[ch.Scope])
			}
		}
		r.apply(t, resp)
		// The hazard moves to another enterprise: the old enterprise's scope (touched only as
		// the record's place before) gets the removal.
		other := e.entID("临江氯碱化工股份有限公司")
		wantResult(t, town.pushOne(t, town.update("hazards", id, map[string]any{"enterprise_id": other})), syncproto.StatusApplied, "")
		resp = safety.pull(t, own.checkpoints(), 0)
		var ent *syncproto.ScopeChanges
		for i := range resp.Scopes {
			if resp.Scopes[i].Scope == entScope {
				ent = &resp.Scopes[i]
			}
		}
		if ent == nil || len(ent.Removed) != 1 || ent.Removed[0].ID != id {
			t.Fatalf("the old enterprise's scope after the move: %+v", ent)
		}
		own.apply(t, resp)
	})
}

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// enterpriseID finds an enterprise by name in a device's replica.
func (d *device) enterpriseID(name string) string {
	d.tb.Helper()
	rs, err := d.List(context.Background(), "enterprises", sdk.Filter{Field: "name", Value: name})
	if err != nil || len(rs) != 1 {
		d.tb.Fatalf("%s: enterprise %s: %v (%d found)", d.user, name, err, len(rs))
	}
	return rs[0].ID
}

// verified fails the test unless every scope of the replica matches the server's checksum.
func (d *device) verified() {
	d.tb.Helper()
	for _, s := range d.status().Scopes {
		if !s.Verified {
			d.tb.Errorf("%s: scope %s (%d records) fails its checksum", d.user, s.Scope, s.Count)
		}
	}
}

// TestE2EScopeMove: the township admin moves a hazard to another enterprise of the township.
// The devices of the old enterprise and of its grid get a removal, not silence; moved back,
// it returns to them.
func TestE2EScopeMove(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			srv := en.start(t)
			a := login(t, srv.URL, "safety01", sdk.Options{})
			g := login(t, srv.URL, "grid01", sdk.Options{})
			town := login(t, srv.URL, "township01", sdk.Options{})
			for _, d := range []*device{a, g, town} {
				d.sync()
			}
			other := town.enterpriseID("临江氯碱化工股份有限公司") // same township, another grid
			if other == a.ent {
				t.Fatal("the other enterprise is safety01's")
			}

			id := a.create(a.ent, "装卸区静电接地线断开", "")
			keep := a.create(a.ent, "留在原企业的隐患", "")
			a.sync()
			g.sync()
			town.sync()
			if !g.has(id) || !town.has(id) {
				t.Fatal("the new hazard did not reach the grid worker and the township admin")
			}

			town.update(id, map[string]any{"enterprise_id": other})
			if st := town.sync(); st.Applied != 1 {
				t.Fatalf("move: %+v", st)
			}
			for _, d := range []*device{a, g} {
				d.sync()
				if d.has(id) {
					t.Errorf("%s still holds the hazard moved out of its scope", d.user)
				}
				if !d.has(keep) {
					t.Errorf("%s lost a hazard that did not move", d.user)
				}
				d.verified()
			}
			if h := town.get(id); h.Enterprise != other || h.State != sdk.StateSynced {
				t.Errorf("township admin has %v", h)
			}

			// safety01 cannot follow it there.
			if err := a.Update(context.Background(), coll, id, fields(t, map[string]any{"title": "x"})); sdk.KindOf(err) != sdk.KindNotFound {
				t.Errorf("update of a hazard moved away: %v, want not found", err)
			}

			town.update(id, map[string]any{"enterprise_id": a.ent, "title": "装卸区静电接地线断开（已移回）"})
			town.sync()
			for _, d := range []*device{a, g} {
				d.sync()
				if h := d.get(id); h.Title != "装卸区静电接地线断开（已移回）" || h.Enterprise != a.ent || h.State != sdk.StateSynced {
					t.Errorf("%s has %v after the move back", d.user, h)
				}
				d.verified()
			}
			want := snapshot(t, srv.URL, "admin")
			for _, d := range []*device{a, g, town} {
				for hid, h := range d.hazards() {
					if !h.sameValues(want[hid]) {
						t.Errorf("%s: %v, server %v", d.user, h, want[hid])
					}
				}
			}
		})
	}
}

// TestE2ESnapshotWhileWriting: a fresh device pages through its first sync (20 records per
// page) while another device keeps changing the same scope. The checksums must hold at the
// end of every sync (no repairs: the pages form one consistent picture) and, once the writer
// stops, the device equals the server.
func TestE2ESnapshotWhileWriting(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			srv := en.start(t)
			w := login(t, srv.URL, "safety01", sdk.Options{})
			w.sync()
			ids := make([]string, 200)
			for i := range ids {
				ids[i] = w.create(w.ent, fmt.Sprintf("存量隐患 %03d", i), "")
			}
			w.sync()

			stop := make(chan struct{})
			var wg sync.WaitGroup
			var writes int
			wg.Add(1)
			go func() { // the writer: small pushes as fast as it can
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(1, 2))
				for n := 0; ; n++ {
					select {
					case <-stop:
						writes = n
						return
					default:
					}
					for range 5 {
						id := ids[rnd.IntN(len(ids))]
						kv := map[string]any{"title": fmt.Sprintf("改写 %d", n)}
						if rnd.IntN(4) == 0 {
							r, err := w.Get(context.Background(), coll, id)
							if err != nil {
								t.Errorf("writer: %v", err)
								return
							}
							kv = map[string]any{"photos": append(toHz(r).Photos, photo())}
						}
						b, _ := json.Marshal(kv)
						var f map[string]json.RawMessage
						json.Unmarshal(b, &f)
						if err := w.Update(context.Background(), coll, id, f); err != nil {
							t.Errorf("writer: %v", err)
							return
						}
					}
					if _, err := w.Sync(context.Background()); err != nil {
						t.Errorf("writer: %v", err)
						return
					}
				}
			}()

			// Three fresh devices in turn make their first sync while the writer works.
			var r *device
			repaired := 0
			for range 3 {
				r = login(t, srv.URL, "principal01", sdk.Options{PullLimit: 20})
				st := r.sync()
				repaired += st.Repaired
				if st.Pulled < len(ids) {
					t.Errorf("first sync pulled %d records, want at least %d", st.Pulled, len(ids))
				}
				r.verified()
			}
			close(stop)
			wg.Wait()
			w.sync()
			st := r.sync()
			repaired += st.Repaired
			t.Logf("%d writer rounds during the paged first sync; %d scope repairs", writes, repaired)
			if repaired != 0 {
				t.Errorf("%d checksum repairs: the pages of one sync did not add up to the server's state", repaired)
			}
			r.verified()
			want := w.hazards()
			got := r.hazards()
			if len(got) != len(want) {
				t.Fatalf("reader holds %d hazards, server %d", len(got), len(want))
			}
			for id, h := range want {
				if !got[id].sameValues(h) {
					t.Errorf("hazard %s: reader %v, writer %v", id, got[id], h)
				}
			}
		})
	}
}

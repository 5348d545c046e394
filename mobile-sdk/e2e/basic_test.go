package e2e_test

import (
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// TestE2EBasic: two staff of one enterprise edit the same hazard on two phones, partly
// offline; both end equal to the server, and a third device's snapshot shows the same.
func TestE2EBasic(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			srv := en.start(t)
			a := login(t, srv.URL, "safety01", sdk.Options{})
			b := login(t, srv.URL, "principal01", sdk.Options{})
			if a.ent == "" || a.ent != b.ent {
				t.Fatalf("safety01 and principal01 should share an enterprise: %q %q", a.ent, b.ent)
			}

			// A reports a hazard before it ever synced: the device does not know the rules yet.
			id := a.create(a.ent, "储罐区防火堤裂缝", "东侧防火堤有一条约 2 米的裂缝")
			if h := a.get(id); h.State != sdk.StatePending || h.Seq != 0 {
				t.Fatalf("offline create: %v, want pending at seq 0", h)
			}
			if st := a.sync(); st.Applied != 1 || st.Rejected != 0 {
				t.Fatalf("first push: %+v", st)
			}
			ha := a.get(id)
			if ha.State != sdk.StateSynced || ha.Seq <= 0 || ha.Status != "reported" {
				t.Fatalf("after sync A has %v", ha)
			}

			b.sync()
			hb := b.get(id)
			if hb.State != sdk.StateSynced || hb.Seq <= 0 || !hb.sameValues(ha) {
				t.Fatalf("B has %v, A has %v", hb, ha)
			}

			// B edits the description online; A edits the title offline. Different fields:
			// both survive.
			b.update(id, map[string]any{"description": "裂缝已用警示带隔离，待修补"})
			a.update(id, map[string]any{"title": "储罐区东侧防火堤裂缝"})
			if h := a.get(id); h.State != sdk.StatePending || h.Title != "储罐区东侧防火堤裂缝" {
				t.Fatalf("A's local view: %v", h)
			}
			b.sync()
			a.sync()
			b.sync()
			a.sync()

			server := snapshot(t, srv.URL, "township01")
			want, ok := server[id]
			if !ok {
				t.Fatalf("township01's snapshot lacks the hazard: %v", server)
			}
			if want.Title != "储罐区东侧防火堤裂缝" || want.Description != "裂缝已用警示带隔离，待修补" || want.Status != "reported" || want.Enterprise != a.ent {
				t.Fatalf("server has %v", want)
			}
			for _, d := range []*device{a, b} {
				h := d.get(id)
				if h.State != sdk.StateSynced || !h.sameValues(want) {
					t.Errorf("%s has %v, server %v", d.user, h, want)
				}
				if st := d.status(); st.Pending != 0 || st.Rejected != 0 {
					t.Errorf("%s: %d pending, %d rejected", d.user, st.Pending, st.Rejected)
				}
			}
			if len(server) != 1 {
				t.Errorf("server has %d hazards, want 1", len(server))
			}
		})
	}
}

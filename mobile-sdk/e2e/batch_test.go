package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// TestE2EImportBatch: an import queues many hazards in one CreateMany (all or none: one bad
// record refuses the batch and queues nothing); Push drains the outbox in batches with the
// answers applied per change (one refused by the server stays rejected, the others go), and a
// second phone of the enterprise then holds every imported hazard as the first one shows it.
func TestE2EImportBatch(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			ctx := context.Background()
			srv := en.start(t)
			a := login(t, srv.URL, "safety01", sdk.Options{BatchSize: 120})
			a.sync()
			const n = 300
			batch := make([]map[string]json.RawMessage, n)
			for i := range batch {
				batch[i] = fields(t, map[string]any{"title": fmt.Sprintf("导入隐患 %03d", i), "enterprise_id": a.ent, "photos": []string{}})
			}
			// One record without its required title: nothing of the import is queued.
			bad := append(append([]map[string]json.RawMessage{}, batch[:10]...), fields(t, map[string]any{"enterprise_id": a.ent}))
			if _, err := a.CreateMany(ctx, coll, bad); err == nil || sdk.AsError(err).Kind != sdk.KindInvalid {
				t.Fatalf("import with a record lacking its title: %v", err)
			} else if want := "第 11 条记录"; !strings.Contains(sdk.AsError(err).Message, want) {
				t.Fatalf("message %q does not name %q", sdk.AsError(err).Message, want)
			}
			if p := a.status().Pending; p != 0 {
				t.Fatalf("refused import left %d queued", p)
			}
			// A record of an enterprise the server does not know: queued (the phone cannot
			// tell), refused by the server on push, while the others are applied.
			batch[7] = fields(t, map[string]any{"title": "未知企业的隐患", "enterprise_id": "00000000-0000-4000-8000-000000000001", "photos": []string{}})
			ids, err := a.CreateMany(ctx, coll, batch)
			if err != nil || len(ids) != n {
				t.Fatalf("import: %d ids, %v", len(ids), err)
			}
			if p := a.status().Pending; p != n {
				t.Fatalf("outbox holds %d, want %d", p, n)
			}
			st, err := a.Push(ctx)
			if err != nil || st.Pushed != n || st.Applied != n-1 || st.Rejected != 1 || st.Pulled != 0 {
				t.Fatalf("push: %+v %v", st, err)
			}
			if s := a.status(); s.Pending != 0 || s.Rejected != 1 {
				t.Fatalf("after push: pending %d rejected %d", s.Pending, s.Rejected)
			}
			if h := a.get(ids[7]); h.State != sdk.StateRejected {
				t.Fatalf("refused hazard shows %s", h)
			}
			for _, i := range []int{0, 119, 120, 299} {
				if h := a.get(ids[i]); h.State != sdk.StateSynced || h.Seq == 0 || h.Title != fmt.Sprintf("导入隐患 %03d", i) {
					t.Fatalf("imported hazard %d shows %s", i, h)
				}
			}
			a.sync()
			b := login(t, srv.URL, "principal01", sdk.Options{})
			b.sync()
			got := b.hazards()
			for i, id := range ids {
				if i == 7 {
					if _, ok := got[id]; ok {
						t.Fatalf("the refused hazard reached another phone")
					}
					continue
				}
				if h, ok := got[id]; !ok || !h.sameValues(a.get(id)) {
					t.Fatalf("hazard %d: principal01 has %v (%v), safety01 %v", i, h, ok, a.get(id))
				}
			}
		})
	}
}

// TestE2EPushSameRecordTwice: the answers of one push batch are applied together; a record
// created and edited in the same batch ends with the edit, and one whose later edit is left
// for the next batch shows that edit pending on top of the applied ones, then synced.
func TestE2EPushSameRecordTwice(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			ctx := context.Background()
			srv := en.start(t)
			a := login(t, srv.URL, "safety01", sdk.Options{BatchSize: 3})
			a.sync()
			ids, err := a.CreateMany(ctx, coll, []map[string]json.RawMessage{
				fields(t, map[string]any{"title": "同批隐患甲", "enterprise_id": a.ent, "photos": []string{}}),
				fields(t, map[string]any{"title": "同批隐患乙", "enterprise_id": a.ent, "photos": []string{}}),
			})
			if err != nil {
				t.Fatal(err)
			}
			// Outbox: create A, create B, edit A | edit B, edit B — three to a batch.
			for _, e := range []struct{ id, title string }{{ids[0], "同批隐患甲（改）"}, {ids[1], "同批隐患乙（改一）"}, {ids[1], "同批隐患乙（改二）"}} {
				if err := a.Update(ctx, coll, e.id, fields(t, map[string]any{"title": e.title})); err != nil {
					t.Fatal(err)
				}
			}
			st, err := a.Push(ctx)
			if err != nil || st.Pushed != 5 || st.Applied != 5 {
				t.Fatalf("push: %+v %v", st, err)
			}
			for id, title := range map[string]string{ids[0]: "同批隐患甲（改）", ids[1]: "同批隐患乙（改二）"} {
				if h := a.get(id); h.State != sdk.StateSynced || h.Seq == 0 || h.Title != title {
					t.Errorf("after push: %s, want %q synced", h, title)
				}
			}
			b := login(t, srv.URL, "principal01", sdk.Options{})
			b.sync()
			got := b.hazards()
			for _, id := range ids {
				if h, ok := got[id]; !ok || !h.sameValues(a.get(id)) {
					t.Errorf("hazard %s: principal01 has %v (%v), safety01 %v", id, h, ok, a.get(id))
				}
			}
		})
	}
}

package syncsvc_test

import (
	"testing"

	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// New records of a collection whose table defers its inserts (hazards) are written by one
// statement per batch; what the batch does to them in between must see them as if each had
// been inserted at once: a later update of one in the same batch, an action on one (another
// collection, whose code reads the hazards table), and a pull of everything afterwards.
func TestPushBatchOfNewRecords(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		safety := e.client(t, "safety01")
		ent := e.entID(entA)
		a, b := safety.newHazard(ent, "批量隐患甲"), safety.newHazard(ent, "批量隐患乙")
		edit := safety.update("hazards", a.ID, map[string]any{"title": "批量隐患甲（已改）"})
		act := mutation("hazard_actions", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"hazard_id": b.ID, "kind": "comment", "text": "同批次的处理意见"})
		c := safety.newHazard(ent, "批量隐患丙")
		bad := safety.newHazard(yingji.NewID(), "不存在的企业")
		d := safety.newHazard(ent, "批量隐患丁")
		resp := safety.push(t, a, b, edit, act, c, bad, d)
		if len(resp.Results) != 7 {
			t.Fatalf("results %d", len(resp.Results))
		}
		for i, want := range []string{syncproto.StatusApplied, syncproto.StatusApplied, syncproto.StatusApplied, syncproto.StatusApplied,
			syncproto.StatusApplied, syncproto.StatusRejected, syncproto.StatusApplied} {
			if resp.Results[i].Status != want {
				t.Fatalf("result %d: %+v, want %s", i, resp.Results[i], want)
			}
		}
		r := newReplica()
		safety.sync(t, r, 0)
		scope := "ent:" + ent
		for id, title := range map[string]string{a.ID: "批量隐患甲（已改）", b.ID: "批量隐患乙", c.ID: "批量隐患丙", d.ID: "批量隐患丁"} {
			rec, ok := r.get(scope, "hazards", id)
			if !ok || str(rec, "title") != title {
				t.Fatalf("hazard %s: %v %q, want %q", id, ok, str(rec, "title"), title)
			}
		}
		if rec, ok := r.get(scope, "hazard_actions", act.ID); !ok || str(rec, "text") != "同批次的处理意见" {
			t.Fatalf("action: %v %+v", ok, rec)
		}
		if _, ok := r.get(scope, "hazards", bad.ID); ok {
			t.Fatal("the rejected hazard was stored")
		}
		// A replay of the whole batch gets the same answers and writes nothing twice.
		again := safety.push(t, a, b, edit, act, c, bad, d)
		for i := range again.Results {
			if again.Results[i].Status != resp.Results[i].Status || again.Results[i].Seq != resp.Results[i].Seq {
				t.Fatalf("replay %d: %+v, first %+v", i, again.Results[i], resp.Results[i])
			}
		}
	})
}

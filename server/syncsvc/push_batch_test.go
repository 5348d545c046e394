package syncsvc_test

import (
	"context"
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

// When the multi-row insert of a batch's new records fails (a database constraint the
// collection did not foresee, here one the test adds), which record broke it is unknown: the
// batch is tried again with each insert on its own, the record that breaks the constraint is
// rejected and the others of the batch are applied, in the same answer.
func TestPushBatchDeferredInsertFails(t *testing.T) {
	t.Parallel()
	const refused = "数据库拒收的隐患"
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		constraint := `CREATE TRIGGER test_refuse_title BEFORE INSERT ON hazards WHEN NEW.title = '` + refused + `'
			BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`
		if e.Config.DatabaseURL != "" {
			constraint = `ALTER TABLE hazards ADD CONSTRAINT test_refuse_title CHECK (title <> '` + refused + `')`
		}
		if _, err := e.DB.Exec(ctx, constraint); err != nil {
			t.Fatal(err)
		}
		safety := e.client(t, "safety01")
		ent := e.entID(entA)
		a, bad, c := safety.newHazard(ent, "批量隐患甲"), safety.newHazard(ent, refused), safety.newHazard(ent, "批量隐患丙")
		act := mutation("hazard_actions", yingji.NewID(), syncproto.OpCreate, safety.hlc(), map[string]any{"hazard_id": c.ID, "kind": "comment", "text": "同批次的处理意见"})
		resp := safety.push(t, a, bad, c, act)
		for i, want := range []string{syncproto.StatusApplied, syncproto.StatusRejected, syncproto.StatusApplied, syncproto.StatusApplied} {
			if resp.Results[i].Status != want {
				t.Fatalf("result %d: %+v, want %s", i, resp.Results[i], want)
			}
		}
		if r := resp.Results[1]; r.Code != syncproto.CodeInvalid || !chinese.MatchString(r.Message) {
			t.Errorf("the refused record's answer: %+v", r)
		}
		r := newReplica()
		safety.sync(t, r, 0)
		scope := "ent:" + ent
		for id, title := range map[string]string{a.ID: "批量隐患甲", c.ID: "批量隐患丙"} {
			if rec, ok := r.get(scope, "hazards", id); !ok || str(rec, "title") != title {
				t.Errorf("hazard %s: %v %q, want %q", id, ok, str(rec, "title"), title)
			}
		}
		if _, ok := r.get(scope, "hazards", bad.ID); ok {
			t.Error("the refused hazard reached a replica")
		}
		if _, ok := r.get(scope, "hazard_actions", act.ID); !ok {
			t.Error("the action on a hazard of the same batch is missing")
		}
		var n int
		if err := e.DB.QueryRow(ctx, `SELECT count(*) FROM hazards WHERE id IN ($1, $2, $3)`, a.ID, bad.ID, c.ID).Scan(&n); err != nil || n != 2 {
			t.Errorf("hazards stored: %d (%v), want 2", n, err)
		}
		// The answers are stored: a replay gets them again, the refused one included.
		again := safety.push(t, a, bad, c, act)
		for i := range again.Results {
			if again.Results[i].Status != resp.Results[i].Status || again.Results[i].Seq != resp.Results[i].Seq {
				t.Errorf("replay %d: %+v, first %+v", i, again.Results[i], resp.Results[i])
			}
		}
	})
}

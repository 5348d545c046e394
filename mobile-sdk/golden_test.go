package sdk

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/yingji/yingji/syncproto"
)

// TestGoldenLocalView runs syncproto's golden merge cases through the replica: the case's state
// is stored as the server's, its mutation is queued in the outbox, and the local view the user
// sees must be the case's expected state (or, for a rejected mutation, the unchanged state).
func TestGoldenLocalView(t *testing.T) {
	cases, err := syncproto.LoadGolden("../syncproto/testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "golden.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, gc := range cases {
		t.Run(gc.File+"/"+gc.Name, func(t *testing.T) {
			coll, id := gc.Spec.Name, gc.Mutation.ID
			m := gc.Mutation
			m.Collection = coll
			m.MutationID = "golden-" + string(rune('a'+i%26)) + time.Now().Format("150405.000000000")
			var view row
			err := c.inTx(ctx, func(tx *sql.Tx) error {
				for _, q := range []string{"DELETE FROM records", "DELETE FROM outbox", "DELETE FROM rejected"} {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return err
					}
				}
				if _, err := storeSpecs(ctx, tx, []syncproto.CollectionSpec{gc.Spec}); err != nil {
					return err
				}
				if gc.State.Exists {
					if err := writeServer(ctx, tx, coll, id, 1, gc.State); err != nil {
						return err
					}
				}
				if err := enqueue(ctx, tx, m, time.Now()); err != nil {
					return err
				}
				if err := refresh(ctx, tx, coll, id); err != nil {
					return err
				}
				var err error
				view, err = loadRow(ctx, tx, coll, id)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := gc.Want.State
			if gc.Want.Code != "" {
				want = gc.State
			}
			if !want.Exists {
				if view.view.Exists && !view.view.Deleted {
					t.Fatalf("view exists, want none: %s", view.view.Fields)
				}
				return
			}
			if view.view.Deleted != want.Deleted {
				t.Fatalf("deleted = %v, want %v", view.view.Deleted, want.Deleted)
			}
			if len(view.view.Fields) != len(want.Fields) {
				t.Fatalf("view fields %v, want %v", keysOf(view.view.Fields), keysOf(want.Fields))
			}
			for k, v := range want.Fields {
				if !syncproto.EqualJSON(view.view.Fields[k], v) {
					t.Fatalf("field %s = %s, want %s", k, view.view.Fields[k], v)
				}
			}
		})
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

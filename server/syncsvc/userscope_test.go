package syncsvc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/syncproto"
)

// TestUserScope: records that belong to one user (notifications) reach his user scope
// "user:ID" with a checksum kept like any other scope's, never another user's; a record that
// leaves the user is a removal on his next pull, a deleted one a tombstone; a device that asks
// for another user's scope is told to purge it; the owner alone may mark it read.
func TestUserScope(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		safety, principal := e.client(t, "safety01"), e.client(t, "principal01")
		mine, theirs := "user:"+e.userID(t, "safety01"), "user:"+e.userID(t, "principal01")
		put := func(key, user string) string {
			t.Helper()
			if _, err := e.Inbox.Put(ctx, inbox.Item{Key: key, UserID: user, Kind: inbox.KindChecklistDue, Title: "巡查即将到期",
				Body: "请及时巡查", RefCollection: "checklists", RefID: key, Link: inbox.ChecklistLink(key)}); err != nil {
				t.Fatal(err)
			}
			return inbox.ID(key)
		}
		a, b := put("t-a", e.userID(t, "safety01")), put("t-b", e.userID(t, "safety01"))
		c := put("t-c", e.userID(t, "principal01"))

		r := newReplica()
		safety.sync(t, r, 0) // apply checks every scope's checksum and count
		if got := r.ids(mine, "notifications"); !slices.Equal(got, sorted(a, b)) {
			t.Fatalf("safety01's user scope holds %v, want %v", got, sorted(a, b))
		}
		for sc := range r.recs {
			if _, ok := r.get(sc, "notifications", c); ok {
				t.Fatalf("principal01's notification in safety01's scope %s", sc)
			}
		}
		// Asking for another user's scope is answered with a purge, never its records.
		resp := safety.pull(t, map[string]int64{theirs: 0}, 0)
		if !slices.Equal(resp.Purge, []string{theirs}) {
			t.Fatalf("purge %v, want [%s]", resp.Purge, theirs)
		}
		// Only the owner marks it read; nobody creates one on a phone.
		wantResult(t, principal.pushOne(t, principal.update("notifications", a, map[string]any{"read_at": time.Now().UTC().Format(time.RFC3339)})),
			syncproto.StatusRejected, syncproto.CodeForbidden)
		wantResult(t, safety.pushOne(t, safety.update("notifications", a, map[string]any{"title": "改标题"})),
			syncproto.StatusRejected, syncproto.CodeServerOwned)
		wantResult(t, safety.pushOne(t, safety.update("notifications", a, map[string]any{"read_at": time.Now().UTC().Format(time.RFC3339)})),
			syncproto.StatusApplied, "")

		// b leaves safety01 (handed to principal01), a is deleted: a removal and a tombstone.
		err := e.DB.InTx(ctx, func(tx sqldb.Querier) error {
			if _, err := tx.Exec(ctx, `UPDATE notifications SET user_id = $2 WHERE id = $1`, b, e.userID(t, "principal01")); err != nil {
				return err
			}
			if err := e.Sync.Moved(ctx, tx, "notifications", b); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM notifications WHERE id = $1`, a); err != nil {
				return err
			}
			return e.Sync.Changed(ctx, tx, "notifications", a)
		})
		if err != nil {
			t.Fatal(err)
		}
		resp = safety.pull(t, r.checkpoints(), 0)
		var ch syncproto.ScopeChanges
		for _, s := range resp.Scopes {
			if s.Scope == mine {
				ch = s
			}
		}
		if len(ch.Removed) != 1 || ch.Removed[0].ID != b || len(ch.Records) != 1 || ch.Records[0].ID != a || !ch.Records[0].Deleted {
			t.Fatalf("safety01's user scope after a move and a delete: %+v", ch)
		}
		r.apply(t, resp)
		if got := r.ids(mine, "notifications"); len(got) != 0 {
			t.Fatalf("safety01's user scope still holds %v", got)
		}
		pr := newReplica()
		principal.sync(t, pr, 0)
		if got := pr.ids(theirs, "notifications"); !slices.Equal(got, sorted(b, c)) {
			t.Fatalf("principal01's user scope holds %v, want %v", got, sorted(b, c))
		}
	})
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

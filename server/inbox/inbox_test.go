package inbox_test

import (
	"context"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/yingji"
)

// actor signs a demo user in and returns him as the services see him.
func actor(t *testing.T, s *apptest.Server, username string) *yingji.Actor {
	t.Helper()
	a, err := s.Accounts.Authenticate(context.Background(), s.Login(t, username), "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestInbox(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	grid, other := actor(t, s, "grid01"), actor(t, s, "expert01")
	var audits []yingji.Event
	s.Inbox.Audit = yingji.AuditFunc(func(_ context.Context, _ *yingji.Actor, e yingji.Event) { audits = append(audits, e) })
	put := func(it inbox.Item) bool {
		t.Helper()
		created, err := s.Inbox.Put(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		return created
	}

	t.Run("OK", func(t *testing.T) {
		due := inbox.Item{Key: "k1", UserID: grid.UserID, Kind: inbox.KindChecklistDue, Title: "巡查即将到期", Body: "请及时巡查"}
		if !put(due) || put(due) {
			t.Fatal("the same key must write one notification")
		}
		put(inbox.Item{Key: "k2", UserID: grid.UserID, Kind: inbox.KindChecklistOverdue, Title: "巡查逾期未完成"})
		put(inbox.Item{Key: "k3", UserID: other.UserID, Kind: inbox.KindChecklistOverdue, Title: "巡查逾期未完成"})
		page, err := s.Inbox.List(ctx, grid, inbox.Filter{}, yingji.ListParams{Page: 1, PageSize: 20})
		if err != nil || page.Total != 2 || page.Items[0].ID != inbox.ID("k2") {
			t.Fatalf("grid01's inbox: %+v %v", page, err)
		}
		if n, _ := s.Inbox.MarkAllRead(ctx, grid, inbox.KindChecklistDue); n != 1 {
			t.Fatalf("read-all of one kind marked %d", n)
		}
		if n, _ := s.Inbox.UnreadCount(ctx, grid); n != 1 {
			t.Fatalf("unread %d, want 1", n)
		}
		n, err := s.Inbox.MarkRead(ctx, grid, inbox.ID("k2"))
		if err != nil || n.ReadAt == "" {
			t.Fatalf("mark read: %+v %v", n, err)
		}
		again, err := s.Inbox.MarkRead(ctx, grid, inbox.ID("k2"))
		if err != nil || again.ReadAt != n.ReadAt {
			t.Fatalf("marking again changed read_at: %+v %v", again, err)
		}
		if n, _ := s.Inbox.UnreadCount(ctx, other); n != 1 {
			t.Fatalf("expert01's unread %d, want 1", n)
		}
	})

	t.Run("ErrOtherUser", func(t *testing.T) {
		audits = nil
		_, err := s.Inbox.MarkRead(ctx, other, inbox.ID("k1"))
		if yingji.ErrorKind(err) != yingji.ENOTFOUND {
			t.Fatalf("marking another user's notification: %v", err)
		}
		if len(audits) != 1 || audits[0].Result != "denied" {
			t.Fatalf("refusal audit: %+v", audits)
		}
	})

	t.Run("ErrBadItem", func(t *testing.T) {
		for _, it := range []inbox.Item{{Key: "x", UserID: grid.UserID, Kind: "nonsense", Title: "标题"},
			{Key: "x", UserID: grid.UserID, Kind: inbox.KindHazardAssigned}, {UserID: grid.UserID, Kind: inbox.KindHazardAssigned, Title: "标题"}} {
			if _, err := s.Inbox.Put(ctx, it); err == nil {
				t.Errorf("put %+v: no error", it)
			}
		}
		if _, err := s.Inbox.List(ctx, grid, inbox.Filter{Kind: "nonsense"}, yingji.ListParams{Page: 1, PageSize: 20}); yingji.ErrorKind(err) != yingji.EINVALID {
			t.Fatalf("bad kind filter: %v", err)
		}
	})
}

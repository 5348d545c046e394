package e2einbox_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/inbox"
)

// TestFieldClientInbox: `yingji-field list notifications` shows the user's inbox and
// `read ID` marks one read offline; after `sync` the portal counts it read.
func TestFieldClientInbox(t *testing.T) {
	s := apptest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "yingji-field")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/yingji-field").CombinedOutput(); err != nil {
		t.Fatalf("build yingji-field: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "phone.db")
	field := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"-db", db, "-o", "json"}, args...)...).Output()
		if err != nil {
			t.Fatalf("yingji-field %v: %v", args, err)
		}
		return out
	}
	web := s.Login(t, "grid01")
	grid := whoami(t, s, web)
	if _, err := s.Inbox.Put(context.Background(), inbox.Item{Key: "field-test", UserID: grid.ID, Kind: inbox.KindChecklistOverdue,
		Title: "巡查逾期未完成", Body: "巡查清单“网格日巡”已逾期"}); err != nil {
		t.Fatal(err)
	}
	field("login", "-server", s.URL, "-user", "grid01", "-password", apptest.Password)
	field("sync")
	var recs []map[string]any
	if err := json.Unmarshal(field("list", "notifications", "-where", "read_at="), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0]["title"] != "巡查逾期未完成" || recs[0]["user_id"] != grid.ID {
		t.Fatalf("unread notifications on the field client: %v", recs)
	}
	field("read", recs[0]["id"].(string))
	if n := unreadCount(t, s, web); n != 1 {
		t.Fatalf("unread count %d before sync", n)
	}
	field("sync")
	if n := unreadCount(t, s, web); n != 0 {
		t.Fatalf("unread count %d after the field client synced its read", n)
	}
}

package e2e_test

import (
	"context"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/syncproto"
)

// TestE2ESecurity: a device cannot write what its user's scopes do not hold. Its refused
// changes come back with sync.forbidden and a Chinese message, stay visible until dismissed,
// and change nothing on the server.
func TestE2ESecurity(t *testing.T) {
	ctx := context.Background()
	srv := apptest.Start(t)
	owner := login(t, srv.URL, "safety01", sdk.Options{})
	other := login(t, srv.URL, "safety02", sdk.Options{}) // another enterprise, another township
	owner.sync()
	other.sync()
	if other.ent == "" || other.ent == owner.ent {
		t.Fatalf("safety02's enterprise %q should differ from safety01's %q", other.ent, owner.ent)
	}
	id := owner.create(owner.ent, "危化品仓库温湿度计损坏", "")
	owner.sync()
	before := owner.get(id)

	other.sync()
	if other.has(id) {
		t.Fatal("safety02's replica holds a hazard of another enterprise")
	}
	// The device does not hold the record, so the only way to write it by id is a create with
	// that id: the server merges it into the existing record, after asking who may.
	steal, err := other.Create(ctx, coll, fields(t, map[string]any{"id": id, "title": "已整改（伪造）", "enterprise_id": owner.ent}))
	if err != nil || steal != id {
		t.Fatalf("queue a write by id: %v %s", err, steal)
	}
	move := other.create(other.ent, "x", "") // a new hazard of its own, for moving later
	// A new hazard in an enterprise it does not hold.
	foreign := other.create(owner.ent, "越权上报的隐患", "")
	st := other.sync()
	if st.Rejected != 2 || st.Applied != 1 {
		t.Fatalf("stats %+v, want 2 rejected and its own hazard applied", st)
	}
	// Moving its own hazard into the other enterprise is refused as well.
	other.update(move, map[string]any{"enterprise_id": owner.ent})
	// So is taking the other's hazard into its own enterprise: the user retries the refused
	// write by id with his own enterprise.
	rej, err := other.Rejected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rej {
		if r.ID == id {
			if err := other.Retry(ctx, r.MutationID, fields(t, map[string]any{"title": "搬走", "enterprise_id": other.ent})); err != nil {
				t.Fatalf("retry: %v", err)
			}
		}
	}
	if st := other.sync(); st.Rejected != 2 {
		t.Fatalf("stats %+v, want the move and the takeover rejected", st)
	}

	rej, err = other.Rejected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 3 {
		t.Fatalf("%d rejected changes, want 3: %+v", len(rej), rej)
	}
	seen := map[string]bool{}
	for _, r := range rej {
		seen[r.ID] = true
		if r.Code != syncproto.CodeForbidden || !chinese.MatchString(r.Message) {
			t.Errorf("rejected %s %s: %s %q, want %s with a Chinese message", r.Op, r.ID, r.Code, r.Message, syncproto.CodeForbidden)
		}
	}
	if !seen[id] || !seen[foreign] || !seen[move] {
		t.Errorf("rejected records %v, want %s, %s and %s", seen, id, foreign, move)
	}
	// The refused changes stay visible for the user, marked rejected.
	if h := other.get(foreign); h.State != sdk.StateRejected {
		t.Errorf("refused new hazard shows as %v", h)
	}
	if h := other.get(move); h.State != sdk.StateRejected || h.Enterprise != other.ent {
		t.Errorf("refused move shows as %v, want its own enterprise kept, marked rejected", h)
	}

	// Nothing changed on the server.
	owner.sync()
	if after := owner.get(id); !after.sameValues(before) {
		t.Errorf("the owner's hazard changed: %v, was %v", after, before)
	}
	server := snapshot(t, srv.URL, "admin")
	if _, ok := server[foreign]; ok {
		t.Error("the hazard reported in a foreign enterprise exists on the server")
	}
	if h := server[move]; h.Enterprise != other.ent {
		t.Errorf("safety02's hazard moved to %s", h.Enterprise)
	}
	if h := server[id]; !h.sameValues(before) {
		t.Errorf("server has %v, was %v", h, before)
	}

	// Dismissed, the refused changes go; the foreign records vanish from the device.
	for _, r := range rej {
		if err := other.Dismiss(ctx, r.MutationID); err != nil {
			t.Fatal(err)
		}
	}
	other.sync()
	if other.has(id) || other.has(foreign) {
		t.Error("dismissed foreign records still shown")
	}
	if h := other.get(move); h.State != sdk.StateSynced || h.Enterprise != other.ent {
		t.Errorf("own hazard after dismissing the move: %v", h)
	}
}

// TestE2ESessionReplaced: signing the same account in on another phone ends the first phone's
// session. The first phone's live connection closes with the reason, its outbox stays, its
// Sync says why, and after a new login its queued change goes out.
func TestE2ESessionReplaced(t *testing.T) {
	ctx := context.Background()
	srv := apptest.Start(t)
	first := login(t, srv.URL, "safety01", sdk.Options{})
	first.sync()
	l := startLive(t, first)
	l.wait(t, sdk.LiveSynced, 5*time.Second)
	id := first.create(first.ent, "更换设备前的离线记录", "")

	second := login(t, srv.URL, "safety01", sdk.Options{}) // another replica: another device
	closed := l.wait(t, sdk.LiveClosed, 5*time.Second)
	if k, code := kindOf(closed.Err); k != sdk.KindAuth || code != "auth.session_replaced" {
		t.Fatalf("live closed with %v, want auth.session_replaced", closed.Err)
	}
	select {
	case err := <-l.done:
		if k, _ := kindOf(err); k != sdk.KindAuth {
			t.Fatalf("Live returned %v, want the auth error", err)
		}
		l.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("Live did not return after the session ended")
	}

	_, err := first.Sync(ctx)
	if k, code := kindOf(err); k != sdk.KindAuth || code != "auth.session_replaced" {
		t.Fatalf("sync after replacement: %v, want auth.session_replaced", err)
	}
	if e := sdk.AsError(err); !chinese.MatchString(e.Message) {
		t.Errorf("message %q is not Chinese", e.Message)
	}
	st := first.status()
	if st.LoggedIn || st.SessionEnded != "auth.session_replaced" || !chinese.MatchString(st.SessionMessage) || st.Pending != 1 {
		t.Fatalf("status after replacement: %+v", st)
	}
	second.sync()
	if second.has(id) {
		t.Fatal("the queued change left the first phone without a session")
	}

	first.login(srv.URL) // now the second phone's session ends
	if st := first.sync(); st.Applied != 1 {
		t.Fatalf("after a new login: %+v, want the queued change applied", st)
	}
	if _, err := second.Sync(ctx); err == nil {
		t.Fatal("the second phone's session should have ended")
	} else if _, code := kindOf(err); code != "auth.session_replaced" {
		t.Fatalf("second phone: %v", err)
	}
	if h := snapshot(t, srv.URL, "township01")[id]; h.Title != "更换设备前的离线记录" {
		t.Fatalf("server has %v", h)
	}
}

// TestE2ESharedDevice: one phone, several users in turn. A user cannot sign in while the outbox
// holds another user's changes; once signed in and synced, the replica holds only his scopes
// (the previous user's are purged).
func TestE2ESharedDevice(t *testing.T) {
	ctx := context.Background()
	srv := apptest.Start(t)
	d := login(t, srv.URL, "safety01", sdk.Options{})
	d.sync()
	mine := d.create(d.ent, "交接班前上报的隐患", "")
	entA := d.ent

	// safety02 may not sign in while safety01's change waits.
	if _, err := d.Login(ctx, srv.URL, "safety02", apptest.Password); sdk.KindOf(err) != sdk.KindInvalid || sdk.AsError(err).Code != "auth.outbox_of_other_user" {
		t.Fatalf("login of another user over a full outbox: %v", err)
	}
	d.sync() // the refused login did not end safety01's session on the server
	if err := d.Logout(ctx); err != nil {
		t.Fatal(err)
	}

	d.user = "safety02"
	d.login(srv.URL)
	d.sync()
	if d.has(mine) {
		t.Error("safety02's replica still holds safety01's hazard after his first sync")
	}
	for _, s := range d.status().Scopes {
		if s.Scope == "ent:"+entA {
			t.Errorf("safety01's scope %s was not purged", s.Scope)
		}
	}
	d.verified()
	if _, err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	// Back to a user of the first enterprise: its hazards come back.
	d.Logout(ctx)
	d.user = "principal01"
	d.login(srv.URL)
	d.sync()
	if h := d.get(mine); h.Title != "交接班前上报的隐患" || h.State != sdk.StateSynced {
		t.Errorf("principal01 sees %v", h)
	}
	d.verified()
}

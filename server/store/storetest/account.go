package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

func newUser(username string, role yingji.Role, path string) account.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return account.User{ID: yingji.NewID(), Username: username, Name: "测试" + username, Role: role, OrgPath: path,
		PasswordHash: "$argon2id$x", PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
}

// TestAccount runs the user, session and login-failure conformance tests.
func TestAccount(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	t.Run("OK_UsersListedByScope", func(t *testing.T) {
		s := store.New(open(t))
		a, b, c := newUser("alice", yingji.RoleGridWorker, "/city/d1/"), newUser("bob", yingji.RoleGridWorker, "/city/d2/"), newUser("carol", yingji.RoleGridWorker, "/city/d10/")
		if err := s.CreateUsers(ctx, []account.User{a, b, c}); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListUsers(ctx, account.UserFilter{Scope: yingji.EnterpriseScope{OrgPrefix: "/city/d1/"}}, yingji.ListParams{Page: 1, PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 || len(page.Items) != 1 || page.Items[0].Username != "alice" {
			t.Fatalf("subtree /city/d1/ listed %+v, want only alice", page)
		}
		page, err = s.ListUsers(ctx, account.UserFilter{Scope: yingji.EnterpriseScope{OrgPrefix: "/city/"}, Q: "测试b"}, yingji.ListParams{Page: 1, PageSize: 10})
		if err != nil || page.Total != 1 || page.Items[0].Username != "bob" {
			t.Fatalf("search: %+v %v", page, err)
		}
		page, err = s.ListUsers(ctx, account.UserFilter{Scope: yingji.EnterpriseScope{OrgPrefix: "/city/"}}, yingji.ListParams{Page: 2, PageSize: 2, Sort: "-username"})
		if err != nil || page.Total != 3 || len(page.Items) != 1 || page.Items[0].Username != "alice" {
			t.Fatalf("page 2 by -username: %+v %v", page, err)
		}
	})
	t.Run("ErrDuplicateUsernameInsertsNothing", func(t *testing.T) {
		s := store.New(open(t))
		err := s.CreateUsers(ctx, []account.User{newUser("dave", yingji.RoleExpert, "/c/"), newUser("dave", yingji.RoleExpert, "/c/")})
		if !errors.Is(err, yingji.ErrDuplicate) {
			t.Fatalf("err = %v, want ErrDuplicate", err)
		}
		if _, err := s.GetUserByUsername(ctx, "dave"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("half-imported: %v", err)
		}
	})
	t.Run("OK_LockoutCountsAtomically", func(t *testing.T) {
		s := store.New(open(t))
		u := newUser("erin", yingji.RoleExpert, "/c/")
		s.CreateUsers(ctx, []account.User{u})
		until := time.Now().Add(15 * time.Minute).UTC()
		for i := 1; i <= 3; i++ {
			att, err := s.RecordLoginFailure(ctx, u.ID, 3, until)
			if err != nil {
				t.Fatal(err)
			}
			if att.Failures != i || (i < 3) != (att.LockedUntil == nil) {
				t.Fatalf("attempt %d: %+v", i, att)
			}
		}
		got, _ := s.GetUser(ctx, u.ID)
		if got.LockedUntil == nil || got.LockedUntil.Sub(until).Abs() > time.Second {
			t.Fatalf("locked_until = %v, want %v", got.LockedUntil, until)
		}
		s.RecordLoginSuccess(ctx, u.ID, time.Now())
		got, _ = s.GetUser(ctx, u.ID)
		if got.FailedLogins != 0 || got.LockedUntil != nil || got.LastLoginAt == nil {
			t.Fatalf("after success: %+v", got)
		}
	})
	t.Run("OK_SessionsReplacedPerClientAndDevice", func(t *testing.T) {
		s := store.New(open(t))
		u1, u2 := newUser("frank", yingji.RoleExpert, "/c/"), newUser("grace", yingji.RoleExpert, "/c/")
		s.CreateUsers(ctx, []account.User{u1, u2})
		now := time.Now().UTC()
		sess := func(u account.User, client, dev, hash string) account.Session {
			return account.Session{ID: yingji.NewID(), UserID: u.ID, TokenHash: hash, Client: client, DeviceID: dev,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}
		}
		s1 := sess(u1, "web", "pc1", "h1")
		s2 := sess(u1, "mobile", "ph1", "h2")
		if ended, err := s.StartSession(ctx, s1); err != nil || len(ended) != 0 {
			t.Fatal(ended, err)
		}
		if ended, err := s.StartSession(ctx, s2); err != nil || len(ended) != 0 {
			t.Fatalf("mobile login must not end the web session: %v %v", ended, err)
		}
		s3 := sess(u1, "web", "pc2", "h3")
		ended, err := s.StartSession(ctx, s3)
		if err != nil || len(ended) != 1 || ended[0] != (account.Ended{ID: s1.ID, Reason: account.EndReplaced}) {
			t.Fatalf("second web login ended %v (%v), want %s", ended, err, s1.ID)
		}
		su, err := s.GetSessionByTokenHash(ctx, "h1")
		if err != nil || su.Session.EndedAt == nil || su.Session.EndReason != account.EndReplaced {
			t.Fatalf("old session: %+v %v", su.Session, err)
		}
		s4 := sess(u2, "mobile", "ph1", "h4")
		ended, err = s.StartSession(ctx, s4)
		if err != nil || len(ended) != 1 || ended[0] != (account.Ended{ID: s2.ID, Reason: account.EndDeviceSwitched}) {
			t.Fatalf("other account on the same phone ended %v (%v), want %s", ended, err, s2.ID)
		}
		su, _ = s.GetSessionByTokenHash(ctx, "h2")
		if su.Session.EndReason != account.EndDeviceSwitched {
			t.Fatalf("reason %q", su.Session.EndReason)
		}
		su, err = s.GetSessionByTokenHash(ctx, "h3")
		if err != nil || su.Session.EndedAt != nil || su.User.Username != "frank" || su.ScopePath != "/c/" {
			t.Fatalf("live session: %+v %v", su, err)
		}
		if _, err := s.GetSessionByTokenHash(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		s.EndUserSessions(ctx, u1.ID, "", account.EndPasswordChanged, now)
		su, _ = s.GetSessionByTokenHash(ctx, "h3")
		if su.Session.EndReason != account.EndPasswordChanged {
			t.Fatalf("reason %q", su.Session.EndReason)
		}
	})
}

// TestAudit runs the audit log conformance tests.
func TestAudit(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	t.Run("OK_FilterAndOrder", func(t *testing.T) {
		s := store.New(open(t))
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i, e := range []audit.Entry{
			{Username: "admin", ActorOrgPath: "/c/", Action: "auth.login", ObjectType: "session"},
			{Username: "t1", ActorOrgPath: "/c/d1/t1/", Action: "enterprise.update", ObjectType: "enterprise", ObjectID: "e1", Detail: []byte(`{"name":{"before":"甲","after":"乙"}}`)},
			{Username: "t2", ActorOrgPath: "/c/d2/t2/", Action: "enterprise.read", ObjectType: "enterprise", ObjectID: "e1", Result: "denied"},
		} {
			e.ID, e.At = yingji.NewID(), base.Add(time.Duration(i)*time.Hour)
			if e.Result == "" {
				e.Result = "ok"
			}
			if e.Detail == nil {
				e.Detail = []byte("{}")
			}
			if err := s.InsertAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		p := yingji.ListParams{Page: 1, PageSize: 10}
		all, err := s.ListAudit(ctx, audit.Filter{}, p)
		if err != nil || all.Total != 3 || all.Items[0].Username != "t2" {
			t.Fatalf("newest first: %+v %v", all, err)
		}
		obj, _ := s.ListAudit(ctx, audit.Filter{ObjectType: "enterprise", ObjectID: "e1"}, p)
		if obj.Total != 2 {
			t.Fatalf("by object: %d", obj.Total)
		}
		sub, _ := s.ListAudit(ctx, audit.Filter{OrgPrefix: "/c/d1/"}, p)
		if sub.Total != 1 || sub.Items[0].Username != "t1" || string(sub.Items[0].Detail) == "{}" {
			t.Fatalf("subtree: %+v", sub)
		}
		from, to := base.Add(30*time.Minute), base.Add(90*time.Minute)
		win, _ := s.ListAudit(ctx, audit.Filter{From: &from, To: &to}, p)
		if win.Total != 1 || win.Items[0].Username != "t1" {
			t.Fatalf("time window: %+v", win)
		}
		pre, _ := s.ListAudit(ctx, audit.Filter{Action: "enterprise."}, p)
		if pre.Total != 2 {
			t.Fatalf("action prefix: %d", pre.Total)
		}
		denied, _ := s.ListAudit(ctx, audit.Filter{Result: "denied"}, p)
		if denied.Total != 1 {
			t.Fatalf("result: %d", denied.Total)
		}
	})
}

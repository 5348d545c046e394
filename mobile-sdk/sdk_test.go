package sdk_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/fakeserver"
	"github.com/yingji/yingji/syncproto"
)

// MustOpen opens a replica in a fresh file.
func MustOpen(tb testing.TB, path string) *sdk.Client {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "replica.db")
	}
	c, err := sdk.Open(context.Background(), path, sdk.Options{RetryBudget: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// MustLogin opens a replica logged in to the fake.
func MustLogin(tb testing.TB, srv *fakeserver.Server, path string) *sdk.Client {
	tb.Helper()
	c := MustOpen(tb, path)
	if _, err := c.Login(context.Background(), srv.URL, "grid01", fakeserver.Password); err != nil {
		tb.Fatal(err)
	}
	return c
}

func obj(tb testing.TB, s string) map[string]json.RawMessage {
	tb.Helper()
	m, err := sdk.ParseObject(s)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func mustSync(tb testing.TB, c *sdk.Client) sdk.SyncStats {
	tb.Helper()
	st, err := c.Sync(context.Background())
	if err != nil {
		tb.Fatalf("sync: %v", err)
	}
	return st
}

func field(r sdk.Record, name string) string {
	var s string
	if json.Unmarshal(r.Fields[name], &s) != nil {
		return string(r.Fields[name])
	}
	return s
}

func mustGet(tb testing.TB, c *sdk.Client, coll, id string) sdk.Record {
	tb.Helper()
	r, err := c.Get(context.Background(), coll, id)
	if err != nil {
		tb.Fatalf("get %s: %v", id, err)
	}
	return r
}

func kind(err error) sdk.Kind { return sdk.KindOf(err) }

func TestOutboxSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	c := MustOpen(t, path)
	dev := c.DeviceID()
	id, err := c.Create(ctx, "hazards", obj(t, `{"title":"配电箱","level":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "hazards", id, obj(t, `{"title":"配电箱漏电"}`)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c = MustOpen(t, path)
	if c.DeviceID() != dev {
		t.Fatalf("device id changed: %s → %s", dev, c.DeviceID())
	}
	p, err := c.Pending(ctx)
	if err != nil || len(p) != 2 || p[0].Op != "create" || p[1].Op != "update" {
		t.Fatalf("pending = %+v, %v", p, err)
	}
	r := mustGet(t, c, "hazards", id)
	if r.State != sdk.StatePending || field(r, "title") != "配电箱漏电" || field(r, "level") != "2" || r.Seq != 0 {
		t.Fatalf("view = %+v", r)
	}
	list, _ := c.List(ctx, "hazards", sdk.Filter{Field: "level", Value: "2"})
	if len(list) != 1 {
		t.Fatalf("list level=2: %d", len(list))
	}
	list, _ = c.List(ctx, "hazards", sdk.Filter{Field: "title", Value: "配电箱"})
	if len(list) != 0 {
		t.Fatalf("list by old title: %d", len(list))
	}
}

func TestLocalErrors(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, "")
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.Get(ctx, "hazards", "00000000-0000-7000-8000-000000000000")
		if kind(err) != sdk.KindNotFound {
			t.Fatalf("err = %v", err)
		}
		if err := c.Update(ctx, "hazards", "00000000-0000-7000-8000-000000000000", obj(t, `{"title":"x"}`)); kind(err) != sdk.KindNotFound {
			t.Fatalf("update err = %v", err)
		}
	})
	t.Run("ErrBadJSON", func(t *testing.T) {
		if _, err := sdk.ParseObject(`{not json`); kind(err) != sdk.KindInvalid {
			t.Fatalf("err = %v", err)
		}
		if _, err := sdk.ParseObject(`[1]`); kind(err) != sdk.KindInvalid {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNotLoggedIn", func(t *testing.T) {
		if _, err := c.Sync(ctx); kind(err) != sdk.KindAuth {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrBadID", func(t *testing.T) {
		if _, err := c.Create(ctx, "hazards", obj(t, `{"id":"x","title":"t"}`)); kind(err) != sdk.KindInvalid {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSyncRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	a, b := MustLogin(t, srv, ""), MustLogin(t, srv, "")

	id, err := a.Create(ctx, "hazards", obj(t, `{"title":"消防通道堵塞","description":"d","status":"open"}`))
	if err != nil {
		t.Fatal(err)
	}
	st := mustSync(t, a)
	if st.Pushed != 1 || st.Applied != 1 || st.Pulled != 1 {
		t.Fatalf("stats = %+v", st)
	}
	r := mustGet(t, a, "hazards", id)
	if r.State != sdk.StateSynced || r.Seq == 0 {
		t.Fatalf("after sync: %+v", r)
	}
	mustSync(t, b)
	rb := mustGet(t, b, "hazards", id)
	if rb.Seq != r.Seq || field(rb, "title") != "消防通道堵塞" {
		t.Fatalf("b sees %+v", rb)
	}
	if err := b.Update(ctx, "hazards", id, obj(t, `{"status":"fixing"}`)); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b)
	mustSync(t, a)
	if r := mustGet(t, a, "hazards", id); field(r, "status") != "fixing" {
		t.Fatalf("a sees %+v", r)
	}
	// Known specs now: unknown names are refused locally.
	if _, err := a.Create(ctx, "nope", obj(t, `{"x":1}`)); kind(err) != sdk.KindInvalid {
		t.Fatalf("unknown collection: %v", err)
	}
	if err := a.Update(ctx, "hazards", id, obj(t, `{"colour":"red"}`)); kind(err) != sdk.KindInvalid {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := a.List(ctx, "hazards", sdk.Filter{Field: "colour", Value: "x"}); kind(err) != sdk.KindInvalid {
		t.Fatalf("unknown filter field: %v", err)
	}
	if err := a.Update(ctx, "hazards", id, obj(t, `{"status":"open"}`)); kind(err) != sdk.KindInvalid {
		t.Fatalf("bad transition: %v", err)
	}
	if err := a.Update(ctx, "hazards", id, obj(t, `{"reported_by":"me"}`)); kind(err) != sdk.KindInvalid {
		t.Fatalf("server-owned field: %v", err)
	}
	// Delete syncs as a tombstone.
	if err := a.Delete(ctx, "hazards", id); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.List(ctx, "hazards"); len(l) != 0 {
		t.Fatalf("deleted record listed: %+v", l)
	}
	mustSync(t, a)
	mustSync(t, b)
	if _, err := b.Get(ctx, "hazards", id); kind(err) != sdk.KindNotFound {
		t.Fatalf("b still has the deleted record: %v", err)
	}
	for _, c := range []*sdk.Client{a, b} {
		s, _ := c.Status(ctx)
		if len(s.Scopes) != 1 || !s.Scopes[0].Verified || s.Pending != 0 {
			t.Fatalf("status = %+v", s)
		}
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	a, b := MustLogin(t, srv, ""), MustLogin(t, srv, "")
	id, _ := a.Create(ctx, "hazards", obj(t, `{"title":"t","photos":["p1"]}`))
	mustSync(t, a)
	mustSync(t, b)

	t.Run("OKLastWriterWins", func(t *testing.T) {
		if err := a.Update(ctx, "hazards", id, obj(t, `{"description":"甲"}`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if err := b.Update(ctx, "hazards", id, obj(t, `{"description":"乙"}`)); err != nil {
			t.Fatal(err)
		}
		mustSync(t, b) // the later edit arrives first
		st := mustSync(t, a)
		if st.Merged != 1 {
			t.Fatalf("stats = %+v", st)
		}
		mustSync(t, b)
		for _, c := range []*sdk.Client{a, b} {
			if r := mustGet(t, c, "hazards", id); field(r, "description") != "乙" || r.State != sdk.StateSynced {
				t.Fatalf("got %+v", r)
			}
		}
	})
	t.Run("OKSetAddWins", func(t *testing.T) {
		a.Update(ctx, "hazards", id, obj(t, `{"photos":["p1","pa"]}`))
		b.Update(ctx, "hazards", id, obj(t, `{"photos":["pb"]}`)) // b removes p1, adds pb
		mustSync(t, a)
		mustSync(t, b)
		mustSync(t, a)
		for _, c := range []*sdk.Client{a, b} {
			if r := mustGet(t, c, "hazards", id); string(r.Fields["photos"]) != `["pa","pb"]` {
				t.Fatalf("photos = %s", r.Fields["photos"])
			}
		}
	})
	t.Run("OKPendingOverServer", func(t *testing.T) {
		// A pending local edit stays on top of a newer server state of other fields.
		a.Update(ctx, "hazards", id, obj(t, `{"title":"本机标题"}`))
		srv.Put("hazards", id, map[string]any{"level": 3}, false)
		if _, err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		r := mustGet(t, a, "hazards", id)
		if field(r, "title") != "本机标题" || field(r, "level") != "3" {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestRejected(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	srv.Reject = func(m syncproto.Mutation) *syncproto.Rejection {
		var title string
		json.Unmarshal(m.Fields["title"], &title)
		if strings.Contains(title, "禁止") {
			return &syncproto.Rejection{Code: syncproto.CodeForbidden, Message: "无权上报该企业的隐患"}
		}
		return nil
	}
	c := MustLogin(t, srv, "")
	id, _ := c.Create(ctx, "hazards", obj(t, `{"title":"禁止的"}`))
	ok, _ := c.Create(ctx, "hazards", obj(t, `{"title":"正常"}`))
	st := mustSync(t, c)
	if st.Rejected != 1 || st.Applied != 1 {
		t.Fatalf("stats = %+v", st)
	}
	rej, _ := c.Rejected(ctx)
	if len(rej) != 1 || rej[0].ID != id || rej[0].Code != syncproto.CodeForbidden || rej[0].Message == "" {
		t.Fatalf("rejected = %+v", rej)
	}
	if r := mustGet(t, c, "hazards", id); r.State != sdk.StateRejected || field(r, "title") != "禁止的" {
		t.Fatalf("rejected create: %+v", r)
	}
	if r := mustGet(t, c, "hazards", ok); r.State != sdk.StateSynced {
		t.Fatalf("ok: %+v", r)
	}
	// Nothing is dropped silently: it survives more syncs until the user acts.
	mustSync(t, c)
	if rej, _ := c.Rejected(ctx); len(rej) != 1 {
		t.Fatalf("rejected after resync: %+v", rej)
	}
	// A fix the rules refuse keeps the rejection.
	if err := c.Retry(ctx, rej[0].MutationID, obj(t, `{"colour":"red"}`)); kind(err) != sdk.KindInvalid {
		t.Fatalf("bad retry: %v", err)
	}
	if rej, _ := c.Rejected(ctx); len(rej) != 1 {
		t.Fatalf("a failed retry dropped the rejection: %+v", rej)
	}
	if err := c.Retry(ctx, rej[0].MutationID, obj(t, `{"title":"修正后"}`)); err != nil {
		t.Fatal(err)
	}
	st = mustSync(t, c)
	if st.Applied != 1 {
		t.Fatalf("retry stats = %+v", st)
	}
	if r := mustGet(t, c, "hazards", id); r.State != sdk.StateSynced || field(r, "title") != "修正后" {
		t.Fatalf("after retry: %+v", r)
	}
	if rej, _ := c.Rejected(ctx); len(rej) != 0 {
		t.Fatalf("still rejected: %+v", rej)
	}
}

func TestPagesAndAtomicity(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	for i := range 25 {
		srv.Put("hazards", fmt.Sprintf("00000000-0000-7000-8000-%012d", i), map[string]any{"title": fmt.Sprint("h", i)}, false)
	}
	srv.Limit = 10
	c := MustLogin(t, srv, "")
	srv.Mu.Lock()
	srv.BadRecordAt = 5 // every page is poisoned: the first page must not half-apply
	srv.Mu.Unlock()
	if _, err := c.Sync(ctx); err == nil {
		t.Fatal("sync of a poisoned page succeeded")
	}
	if l, _ := c.List(ctx, "hazards"); len(l) != 0 {
		t.Fatalf("a failed page left %d records", len(l))
	}
	if s, _ := c.Status(ctx); len(s.Scopes) != 0 {
		t.Fatalf("a failed page moved checkpoints: %+v", s.Scopes)
	}
	srv.Mu.Lock()
	srv.BadRecordAt = -1
	srv.Mu.Unlock()
	st := mustSync(t, c)
	if st.Pulled != 25 {
		t.Fatalf("pulled %d", st.Pulled)
	}
	if l, _ := c.List(ctx, "hazards"); len(l) != 25 {
		t.Fatalf("have %d records", len(l))
	}
	if s, _ := c.Status(ctx); !s.Scopes[0].Verified || s.Scopes[0].Count != 25 {
		t.Fatalf("scope = %+v", s.Scopes)
	}
}

func TestPurgeAndRemoved(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	srv.Scopes = []string{"ent:A", "ent:B"}
	id1 := "00000000-0000-7000-8000-000000000001"
	id2 := "00000000-0000-7000-8000-000000000002"
	srv.Put("hazards", id1, map[string]any{"title": "a", "enterprise_id": "A"}, false)
	srv.Put("hazards", id2, map[string]any{"title": "b", "enterprise_id": "B"}, false)
	c := MustLogin(t, srv, "")
	mustSync(t, c)
	if l, _ := c.List(ctx, "hazards"); len(l) != 2 {
		t.Fatalf("have %d", len(l))
	}
	t.Run("OKMovedStaysWhileAnotherScopeHoldsIt", func(t *testing.T) {
		srv.Put("hazards", id1, map[string]any{"enterprise_id": "B"}, false)
		mustSync(t, c)
		if r := mustGet(t, c, "hazards", id1); field(r, "enterprise_id") != "B" {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("OKPurge", func(t *testing.T) {
		c.Update(ctx, "hazards", id2, obj(t, `{"description":"离线"}`))
		srv.Mu.Lock()
		srv.Scopes = []string{"ent:A"}
		srv.Mu.Unlock()
		srv.Put("hazards", id1, map[string]any{"level": 1}, false) // still in B
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		s, _ := c.Status(ctx)
		if len(s.Scopes) != 1 || s.Scopes[0].Scope != "ent:A" {
			t.Fatalf("scopes = %+v", s.Scopes)
		}
		if _, err := c.Get(ctx, "hazards", id1); kind(err) != sdk.KindNotFound {
			t.Fatalf("purged record kept: %v", err)
		}
	})
	t.Run("OKRemoved", func(t *testing.T) {
		id3 := "00000000-0000-7000-8000-000000000003"
		srv.Put("hazards", id3, map[string]any{"title": "c", "enterprise_id": "A"}, false)
		mustSync(t, c)
		mustGet(t, c, "hazards", id3)
		srv.Put("hazards", id3, map[string]any{"enterprise_id": "C"}, false)
		mustSync(t, c)
		if _, err := c.Get(ctx, "hazards", id3); kind(err) != sdk.KindNotFound {
			t.Fatalf("removed record kept: %v", err)
		}
		if s, _ := c.Status(ctx); !s.Scopes[0].Verified {
			t.Fatalf("scope not verified: %+v", s.Scopes)
		}
	})
}

func TestChecksumRepair(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	for i := range 5 {
		srv.Put("hazards", fmt.Sprintf("00000000-0000-7000-8000-%012d", i), map[string]any{"title": fmt.Sprint("h", i)}, false)
	}
	path := filepath.Join(t.TempDir(), "r.db")
	c := MustLogin(t, srv, path)
	mustSync(t, c)
	c.Close()

	// Break the replica behind the SDK's back: a record vanishes, the checksum stays.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM records WHERE id = '00000000-0000-7000-8000-000000000003'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE scopes SET sum = sum + 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	c = MustOpen(t, path)
	srv.Put("hazards", "00000000-0000-7000-8000-000000000009", map[string]any{"title": "new"}, false)
	st := mustSync(t, c)
	if st.Repaired != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if l, _ := c.List(ctx, "hazards"); len(l) != 6 {
		t.Fatalf("have %d after repair", len(l))
	}
	if s, _ := c.Status(ctx); !s.Scopes[0].Verified {
		t.Fatalf("not verified: %+v", s.Scopes)
	}
}

func TestNetworkFaults(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	c := MustLogin(t, srv, "")

	t.Run("OKLostAnswerIsResentOnce", func(t *testing.T) {
		id, _ := c.Create(ctx, "hazards", obj(t, `{"title":"t"}`))
		srv.Mu.Lock()
		srv.DropPushAnswers = 1
		srv.Mu.Unlock()
		st := mustSync(t, c)
		if st.Applied != 1 {
			t.Fatalf("stats = %+v", st)
		}
		_, seq, ok := srv.Record("hazards", id)
		if !ok || seq != mustGet(t, c, "hazards", id).Seq {
			t.Fatalf("server seq %d", seq)
		}
		if srv.Count() != 1 {
			t.Fatalf("server has %d records", srv.Count())
		}
	})
	t.Run("OKRetry503", func(t *testing.T) {
		c.Create(ctx, "hazards", obj(t, `{"title":"t2"}`))
		srv.Mu.Lock()
		srv.Fail = 2
		srv.Mu.Unlock()
		mustSync(t, c)
		if p, _ := c.Pending(ctx); len(p) != 0 {
			t.Fatalf("pending %d", len(p))
		}
	})
	t.Run("OKSplitOn413AndGzip", func(t *testing.T) {
		srv.Mu.Lock()
		srv.MaxBatch = 7
		srv.Mu.Unlock()
		long := strings.Repeat("很长的描述", 200)
		for i := range 30 {
			c.Create(ctx, "hazards", obj(t, fmt.Sprintf(`{"title":"b%d","description":%q}`, i, long)))
		}
		st := mustSync(t, c)
		if st.Pushed != 30 || st.Applied != 30 {
			t.Fatalf("stats = %+v", st)
		}
		srv.Mu.Lock()
		gz := srv.GzipRequests
		srv.Mu.Unlock()
		if gz == 0 {
			t.Fatal("large pushes were not gzip-compressed")
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		dead := fakeserver.New()
		u := dead.URL
		dead.Close()
		c2 := MustOpen(t, "")
		if _, err := c2.Login(ctx, u, "x", "pw"); kind(err) != sdk.KindUnreachable {
			t.Fatalf("login err = %v", err)
		}
		srv2 := fakeserver.New()
		c3 := MustLogin(t, srv2, "")
		c3.Create(ctx, "hazards", obj(t, `{"title":"离线"}`))
		srv2.Close()
		start := time.Now()
		_, err := c3.Sync(ctx)
		if kind(err) != sdk.KindUnreachable || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		if p, _ := c3.Pending(ctx); len(p) != 1 {
			t.Fatalf("pending = %d", len(p))
		}
	})
}

func TestSessionReplaced(t *testing.T) {
	ctx := context.Background()
	srv := fakeserver.New()
	defer srv.Close()
	c := MustLogin(t, srv, "")
	c.Create(ctx, "hazards", obj(t, `{"title":"t"}`))
	srv.Mu.Lock()
	srv.SessionEnd = "auth.session_replaced"
	srv.Mu.Unlock()
	_, err := c.Sync(ctx)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Kind != sdk.KindAuth || e.Code != "auth.session_replaced" {
		t.Fatalf("err = %v", err)
	}
	s, _ := c.Status(ctx)
	if s.LoggedIn || s.SessionEnded != "auth.session_replaced" || s.Pending != 1 {
		t.Fatalf("status = %+v", s)
	}
	if _, err := c.Sync(ctx); kind(err) != sdk.KindAuth {
		t.Fatalf("second sync: %v", err)
	}
	if _, err := c.Login(ctx, srv.URL, "grid01", fakeserver.Password); err != nil {
		t.Fatal(err)
	}
	if st := mustSync(t, c); st.Applied != 1 {
		t.Fatalf("stats = %+v", st)
	}
	t.Run("ErrOtherUserWithOutbox", func(t *testing.T) {
		c.Create(ctx, "hazards", obj(t, `{"title":"t2"}`))
		if _, err := c.Login(ctx, srv.URL, "other", fakeserver.Password); kind(err) != sdk.KindInvalid {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := fakeserver.New()
	defer srv.Close()
	c := MustLogin(t, srv, "")
	events := make(chan sdk.LiveEvent, 100)
	done := make(chan error, 1)
	go func() { done <- c.Live(ctx, func(e sdk.LiveEvent) { events <- e }) }()
	wait := func(typ string) sdk.LiveEvent {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Type == typ {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %s event", typ)
			}
		}
	}
	wait(sdk.LiveConnected)
	wait(sdk.LiveSynced)
	id := "00000000-0000-7000-8000-0000000000aa"
	srv.Put("hazards", id, map[string]any{"title": "别人上报的"}, false)
	wait(sdk.LivePoke)
	for {
		if e := wait(sdk.LiveSynced); e.Stats.Pulled > 0 {
			break
		}
	}
	if r := mustGet(t, c, "hazards", id); field(r, "title") != "别人上报的" {
		t.Fatalf("got %+v", r)
	}
	srv.CloseLive("auth.session_replaced", "您的账号已在另一台设备登录")
	e := wait(sdk.LiveClosed)
	if sdk.AsError(e.Err).Code != "auth.session_replaced" {
		t.Fatalf("closed: %v", e.Err)
	}
	if err := <-done; kind(err) != sdk.KindAuth {
		t.Fatalf("live returned %v", err)
	}
	if s, _ := c.Status(ctx); s.LoggedIn || s.SessionMessage == "" {
		t.Fatalf("status = %+v", s)
	}
}

package syncsvc_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/syncproto"
)

// TestLive: a device's live socket is poked for its scope when another device changes a record
// there, and a session replaced by a newer login is told why before its socket closes.
func TestLive(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		t.Run("poke", func(t *testing.T) {
			scope := "ent:" + e.entID(entA)
			ws := dialLive(t, e.URL, e.client(t, "safety01").token)
			// A change in another enterprise does not poke; one in safety01's does, within 2 s.
			e.client(t, "safety02").createHazard(t, e.entID(entB), "别处的变化")
			_, seq := e.client(t, "principal01").createHazard(t, e.entID(entA), "实时通知")
			p := ws.waitPoke(t, scope, seq, 2*time.Second)
			if p.Seq != seq {
				t.Fatalf("poke at %d, want %d", p.Seq, seq)
			}
			select {
			case p := <-ws.C:
				t.Fatalf("unexpected message %+v", p)
			case <-time.After(100 * time.Millisecond):
			}
			// An org-scoped device is poked for the same change through its township.
			town := dialLive(t, e.URL, e.client(t, "township01").token)
			_, seq = e.client(t, "principal01").createHazard(t, e.entID(entA), "乡镇也收到")
			town.waitPoke(t, "org:"+e.unitID(townA), seq, 2*time.Second)
			ws.waitPoke(t, scope, seq, 2*time.Second)
		})
		t.Run("token in query", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			url := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/v1/sync/live?token=" + e.client(t, "grid01").token
			conn, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Fatalf("dial with the token in the query: %v", err)
			}
			defer conn.CloseNow()
			if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"hello"`) {
				t.Fatalf("first message %s, %v", b, err)
			}
		})
		t.Run("no token", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/sync/live", nil)
			if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("dial without a token: %v %v", res, err)
			}
		})
		t.Run("session replaced", func(t *testing.T) {
			old := e.session(t, "principal01", "web", "laptop-1")
			ws := dialLive(t, e.URL, old.token)
			e.session(t, "principal01", "web", "laptop-2")
			p := ws.next(t, 2*time.Second)
			if p.Type != "closed" || p.Code != "auth.session_replaced" || !chinese.MatchString(p.Message) {
				t.Fatalf("old socket got %+v, want closed with auth.session_replaced", p)
			}
			select {
			case _, ok := <-ws.C:
				if ok {
					t.Fatalf("message after closed")
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("socket not closed after the closed message")
			}
			if err := <-ws.Err; websocket.CloseStatus(err) != 4001 {
				t.Fatalf("close %v, want status 4001", err)
			}
			// The old token is refused from then on, with the reason.
			wantError(t, e.Do(t, "POST", "/api/v1/sync/pull", old.token, syncproto.PullRequest{Protocol: 1}), 401, "auth.session_replaced")
		})
	})
}

// TestLiveAcrossInstances: two servers on one PostgreSQL; a device connected to B is poked when
// a change is pushed to A (the poke travels by LISTEN/NOTIFY).
func TestLiveAcrossInstances(t *testing.T) {
	t.Parallel()
	a := newEnv(t, apptest.StartPostgres(t))
	b := apptest.Start(t, apptest.WithConfig(func(c *config.Config) {
		c.DatabaseURL = a.Config.DatabaseURL
		c.Demo = false
	}))
	if b.DB.Engine() != "postgres" || a.Config.DatabaseURL == "" {
		t.Fatalf("second instance on %s", b.DB.Engine())
	}
	// Devices on B use web sessions, so they do not replace the mobile sessions on A.
	onB := &env{Server: b, admin: a.admin, units: a.units, ents: a.ents}
	onBAs := func(user string) *client { return onB.session(t, user, "web", "b-"+user) }
	scope := "ent:" + a.entID(entA)
	ws := dialLive(t, b.URL, onBAs("safety01").token)
	_, seq := a.client(t, "principal01").createHazard(t, a.entID(entA), "跨实例通知")
	ws.waitPoke(t, scope, seq, 2*time.Second)
	// And back: a change on B pokes a device on A (and B's own device, through the same path).
	wsA := dialLive(t, a.URL, a.client(t, "township01").token)
	onBPrincipal := onBAs("principal01")
	_, seq = onBPrincipal.createHazard(t, a.entID(entA), "反向通知")
	wsA.waitPoke(t, "org:"+a.unitID(townA), seq, 2*time.Second)
	ws.waitPoke(t, scope, seq, 2*time.Second)
	// Both instances answer the same pull.
	ra, rb := newReplica(), newReplica()
	a.client(t, "principal01").sync(t, ra, 0)
	onBPrincipal.sync(t, rb, 0)
	if len(ra.recs[scope]) != len(rb.recs[scope]) || ra.cps[scope] != rb.cps[scope] {
		t.Fatalf("instances disagree: %d records at %d vs %d at %d", len(ra.recs[scope]), ra.cps[scope], len(rb.recs[scope]), rb.cps[scope])
	}
}

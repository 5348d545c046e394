package syncsvc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// These tests drive the sync service through the real HTTP API of a whole server, on SQLite
// and on PostgreSQL, the way a phone does: push batches of mutations, pull scopes into a local
// replica whose checksum is checked against the server's, and listen on the live WebSocket.

var chinese = regexp.MustCompile(`\p{Han}`)

type engine struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}

var engines = []engine{{"sqlite", apptest.Start}, {"postgres", apptest.StartPostgres}}

// eachEngine runs f on a fresh demo-city server per engine.
func eachEngine(t *testing.T, f func(t *testing.T, e *env), opts ...apptest.Option) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) { f(t, newEnv(t, en.start(t, opts...))) })
	}
}

// env is a running server with the demo city's ids and the sessions tests opened on it.
type env struct {
	*apptest.Server
	admin string                    // city admin's web token
	units map[string]org.Unit       // by code; grids by "township/G01"
	ents  map[string]org.Enterprise // by name

	mu      sync.Mutex
	clients map[string]*client
}

const (
	townA = "339901002"  // 临港化工园区街道: township01, grid01, safety01, principal01
	townB = "339902001"  // 青山镇: township02, safety02
	entA  = "临港石化储运有限公司" // safety01's and principal01's
	entB  = "青山化肥有限公司"   // safety02's
)

func newEnv(t testing.TB, s *apptest.Server) *env {
	t.Helper()
	e := &env{Server: s, admin: s.Login(t, "admin"), units: map[string]org.Unit{}, ents: map[string]org.Enterprise{},
		clients: map[string]*client{}}
	var units yingji.Page[org.Unit]
	mustOK(t, s.Do(t, "GET", "/api/v1/org-units", e.admin, nil), &units)
	byID := map[string]org.Unit{}
	for _, u := range units.Items {
		byID[u.ID] = u
	}
	for _, u := range units.Items {
		key := u.Code
		if u.Level == org.LevelGrid {
			key = byID[u.ParentID].Code + "/" + u.Code
		}
		e.units[key] = u
	}
	var ents yingji.Page[org.Enterprise]
	mustOK(t, s.Do(t, "GET", "/api/v1/enterprises?page_size=100", e.admin, nil), &ents)
	for _, en := range ents.Items {
		e.ents[en.Name] = en
	}
	if e.units[townA].ID == "" || e.units[townB].ID == "" || e.ents[entA].ID == "" || e.ents[entB].ID == "" {
		t.Fatalf("demo city incomplete: %d units, %d enterprises", len(units.Items), len(ents.Items))
	}
	return e
}

func (e *env) entID(name string) string  { return e.ents[name].ID }
func (e *env) unitID(code string) string { return e.units[code].ID }

// userID finds a demo account's id.
func (e *env) userID(t testing.TB, username string) string {
	t.Helper()
	var users yingji.Page[account.User]
	mustOK(t, e.Do(t, "GET", "/api/v1/users?page_size=100&q="+username, e.admin, nil), &users)
	for _, u := range users.Items {
		if u.Username == username {
			return u.ID
		}
	}
	t.Fatalf("no user %s", username)
	return ""
}

// mustOK checks a 200 answer and decodes it into v (when not nil).
func mustOK(t testing.TB, r apptest.Response, v any) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if v != nil {
		r.JSON(t, v)
	}
}

// wantError checks an error answer: status, stable code, Chinese message, request id.
func wantError(t testing.TB, r apptest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := r.Map(t)
	if m["code"] != code {
		t.Fatalf("code %v, want %s: %s", m["code"], code, r.Body)
	}
	if msg, _ := m["message"].(string); !chinese.MatchString(msg) {
		t.Fatalf("message %q is not Chinese", msg)
	}
	if rid, _ := m["request_id"].(string); rid == "" || r.Header.Get("X-Request-ID") != rid {
		t.Fatalf("request_id %q does not match header %q", rid, r.Header.Get("X-Request-ID"))
	}
	return m
}

// client is one signed-in device: a session, a device id and its own hybrid logical clock.
type client struct {
	e      *env
	user   string
	device string
	token  string
	clock  *syncproto.Clock
}

// client returns the mobile session of a demo user, opened once per server (a second mobile
// login of the same account would end the first).
func (e *env) client(t testing.TB, user string) *client {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.clients[user]; c != nil {
		return c
	}
	c := e.session(t, user, "mobile", "phone-"+user)
	e.clients[user] = c
	return c
}

// session logs a user in on a client kind and device (not cached).
func (e *env) session(t testing.TB, user, kind, device string) *client {
	t.Helper()
	return &client{e: e, user: user, device: device, token: e.LoginAs(t, user, apptest.Password, kind, device),
		clock: syncproto.NewClock(device, nil)}
}

// hlc is a fresh stamp of the device's clock.
func (c *client) hlc() string { return c.clock.Now().String() }

// stampAt is a stamp at a given wall time.
func stampAt(at time.Time, node string) string {
	return syncproto.HLC{Wall: at.UnixMilli(), Node: node}.String()
}

// push sends a batch and returns the answer, failing on anything but 200.
func (c *client) push(t testing.TB, muts ...syncproto.Mutation) syncproto.PushResponse {
	t.Helper()
	r := c.e.Do(t, "POST", "/api/v1/sync/push", c.token, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: c.device, Mutations: muts})
	var resp syncproto.PushResponse
	mustOK(t, r, &resp)
	if len(resp.Results) != len(muts) {
		t.Fatalf("%d results for %d mutations: %s", len(resp.Results), len(muts), r.Body)
	}
	for i, res := range resp.Results {
		if res.MutationID != muts[i].MutationID {
			t.Fatalf("result %d answers %q, want %q", i, res.MutationID, muts[i].MutationID)
		}
	}
	if _, err := syncproto.ParseHLC(resp.HLC); err != nil {
		t.Fatalf("push answer has a bad HLC: %v", err)
	}
	return resp
}

// pushOne sends one mutation and returns its result.
func (c *client) pushOne(t testing.TB, m syncproto.Mutation) syncproto.Result {
	t.Helper()
	return c.push(t, m).Results[0]
}

// pull asks for changes since the checkpoints.
func (c *client) pull(t testing.TB, cps map[string]int64, limit int) syncproto.PullResponse {
	t.Helper()
	if cps == nil {
		cps = map[string]int64{}
	}
	var resp syncproto.PullResponse
	mustOK(t, c.e.Do(t, "POST", "/api/v1/sync/pull", c.token, syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: cps, Limit: limit}), &resp)
	return resp
}

// placeScopes checks that a pull's last scope is the user's own ("user:ID", his notifications)
// and returns the scopes of his role and assignment before it, without the "down:ID" scopes of
// the units above him (scopes_test checks those).
func placeScopes(t testing.TB, c *client, resp syncproto.PullResponse) []syncproto.ScopeChanges {
	t.Helper()
	n := len(resp.Scopes)
	if want := "user:" + c.e.userID(t, c.user); n == 0 || resp.Scopes[n-1].Scope != want {
		t.Fatalf("%s's pull does not end with his user scope %s: %+v", c.user, want, resp.Scopes)
	}
	var out []syncproto.ScopeChanges
	for _, s := range resp.Scopes[:n-1] {
		if !strings.HasPrefix(s.Scope, "down:") {
			out = append(out, s)
		}
	}
	return out
}

// notDown drops the "down:ID" scopes from a list of scopes.
func notDown(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !strings.HasPrefix(s, "down:") {
			out = append(out, s)
		}
	}
	return out
}

// notDownCount counts the scopes of checkpoints that are not "down:ID".
func notDownCount(cps map[string]int64) int {
	n := 0
	for s := range cps {
		if !strings.HasPrefix(s, "down:") {
			n++
		}
	}
	return n
}

// wantResult checks one answer; a rejection must carry the code and a Chinese message.
func wantResult(t testing.TB, res syncproto.Result, status, code string) {
	t.Helper()
	if res.Status != status || res.Code != code {
		t.Fatalf("result %s/%s, want %s/%s: %+v", res.Status, res.Code, status, code, res)
	}
	switch status {
	case syncproto.StatusRejected:
		if !chinese.MatchString(res.Message) || res.Seq != 0 {
			t.Fatalf("rejection without a Chinese message, or with a seq: %+v", res)
		}
	default:
		if res.Seq <= 0 {
			t.Fatalf("%s without a seq: %+v", status, res)
		}
	}
}

// ---- mutations ----

// vals encodes field values.
func vals(kv map[string]any) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(kv))
	for k, v := range kv {
		if raw, ok := v.(json.RawMessage); ok {
			out[k] = raw
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[k] = b
	}
	return out
}

func mutation(coll, id, op, hlc string, fields map[string]any) syncproto.Mutation {
	return syncproto.Mutation{MutationID: yingji.NewID(), Collection: coll, ID: id, Op: op, HLC: hlc, Fields: vals(fields)}
}

// newHazard creates a hazard of an enterprise.
func (c *client) newHazard(entID, title string) syncproto.Mutation {
	return mutation("hazards", yingji.NewID(), syncproto.OpCreate, c.hlc(), map[string]any{"title": title, "enterprise_id": entID})
}

// update changes fields of a record at the device's clock.
func (c *client) update(coll, id string, fields map[string]any) syncproto.Mutation {
	return mutation(coll, id, syncproto.OpUpdate, c.hlc(), fields)
}

// createHazard pushes a new hazard and returns its id and seq.
func (c *client) createHazard(t testing.TB, entID, title string) (string, int64) {
	t.Helper()
	m := c.newHazard(entID, title)
	res := c.pushOne(t, m)
	wantResult(t, res, syncproto.StatusApplied, "")
	return m.ID, res.Seq
}

// photo is a fake SHA-256 photo reference.
func photo(n int) string { return fmt.Sprintf("%064x", n) }

// ---- replica ----

type key struct{ coll, id string }

// replica is what a device holds: records per scope and a checkpoint per scope. It applies
// pull answers as the SDK does and checks every complete scope against the server's checksum.
type replica struct {
	cps  map[string]int64
	recs map[string]map[key]syncproto.Record
}

func newReplica() *replica {
	return &replica{cps: map[string]int64{}, recs: map[string]map[key]syncproto.Record{}}
}

func (r *replica) checkpoints() map[string]int64 {
	out := make(map[string]int64, len(r.cps))
	for k, v := range r.cps {
		out[k] = v
	}
	return out
}

// apply folds one pull answer in; it reports whether some scope has more.
func (r *replica) apply(t testing.TB, resp syncproto.PullResponse) bool {
	t.Helper()
	for _, sc := range resp.Purge {
		delete(r.recs, sc)
		delete(r.cps, sc)
	}
	more := false
	for _, ch := range resp.Scopes {
		m := r.recs[ch.Scope]
		if ch.Reset || m == nil {
			m = map[key]syncproto.Record{}
			r.recs[ch.Scope] = m
		}
		for _, rec := range ch.Records {
			if rec.Deleted {
				delete(m, key{rec.Collection, rec.ID})
			} else {
				m[key{rec.Collection, rec.ID}] = rec
			}
		}
		for _, ref := range ch.Removed {
			delete(m, key{ref.Collection, ref.ID})
		}
		r.cps[ch.Scope] = ch.Checkpoint
		if ch.More {
			more = true
			continue
		}
		sum, n := checksum(m)
		want, err := syncproto.ParseChecksum(ch.Checksum)
		if err != nil {
			t.Fatalf("scope %s: bad checksum %q", ch.Scope, ch.Checksum)
		}
		if sum != want || n != ch.Count {
			t.Fatalf("scope %s at %d: replica has checksum %d over %d records, server says %d over %d",
				ch.Scope, ch.Checkpoint, sum, n, want, ch.Count)
		}
	}
	return more
}

// checksum is the sum modulo 2^64 of RecordHash over the records, computed as a device would.
func checksum(m map[key]syncproto.Record) (uint64, int64) {
	var sum uint64
	for k, rec := range m {
		sum += syncproto.RecordHash(k.coll, k.id, rec.Seq)
	}
	return sum, int64(len(m))
}

// sync pulls until no scope has more, returning the number of pages.
func (c *client) sync(t testing.TB, r *replica, limit int) int {
	t.Helper()
	for pages := 1; ; pages++ {
		if !r.apply(t, c.pull(t, r.checkpoints(), limit)) {
			return pages
		}
		if pages > 10000 {
			t.Fatalf("pull does not end")
		}
	}
}

// ids lists the ids of one collection in a scope, sorted.
func (r *replica) ids(scope, coll string) []string {
	var out []string
	for k := range r.recs[scope] {
		if k.coll == coll {
			out = append(out, k.id)
		}
	}
	sort.Strings(out)
	return out
}

func (r *replica) get(scope, coll, id string) (syncproto.Record, bool) {
	rec, ok := r.recs[scope][key{coll, id}]
	return rec, ok
}

// str reads a string field of a record.
func str(rec syncproto.Record, name string) string {
	var s string
	json.Unmarshal(rec.Fields[name], &s)
	return s
}

// strs reads a string array field of a record.
func strs(rec syncproto.Record, name string) []string {
	var s []string
	json.Unmarshal(rec.Fields[name], &s)
	return s
}

// record finds the latest state of a record in a scope with a fresh full pull.
func (c *client) record(t testing.TB, scope, coll, id string) syncproto.Record {
	t.Helper()
	r := newReplica()
	c.sync(t, r, 0)
	rec, ok := r.get(scope, coll, id)
	if !ok {
		t.Fatalf("%s %s not in %s", coll, id, scope)
	}
	return rec
}

// ---- raw HTTP ----

// rawPost sends a prepared body with headers and returns the answer, body as sent on the wire.
func (e *env) rawPost(t testing.TB, path, token string, body []byte, header map[string]string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// post sends a JSON body without failing the test (for goroutines).
func (e *env) post(path, token string, body any) (apptest.Response, error) {
	return e.send("POST", path, token, body)
}

// send is a request with a JSON body that does not fail the test (for goroutines).
func (e *env) send(method, path, token string, body any) (apptest.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return apptest.Response{}, err
	}
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(b))
	if err != nil {
		return apptest.Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := e.Client.Do(req)
	if err != nil {
		return apptest.Response{}, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: out}, err
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("answer is not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- live ----

// live is a WebSocket on /api/v1/sync/live; its messages arrive on C.
type live struct {
	conn *websocket.Conn
	C    chan syncproto.Poke
	// Err receives the error that ended reading (a close frame or a broken connection).
	Err chan error
}

// dialLive connects with the token in the Authorization header and waits for the hello.
func dialLive(t testing.TB, baseURL, token string) *live {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(baseURL, "http") + "/api/v1/sync/live"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial live: %v", err)
	}
	l := &live{conn: conn, C: make(chan syncproto.Poke, 256), Err: make(chan error, 1)}
	go func() {
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				l.Err <- err
				close(l.C)
				return
			}
			var p syncproto.Poke
			if json.Unmarshal(b, &p) == nil {
				l.C <- p
			}
		}
	}()
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	if p := l.next(t, 5*time.Second); p.Type != "hello" {
		t.Fatalf("first live message %+v, want hello", p)
	}
	return l
}

// next waits for the next message.
func (l *live) next(t testing.TB, within time.Duration) syncproto.Poke {
	t.Helper()
	select {
	case p, ok := <-l.C:
		if !ok {
			t.Fatalf("live socket closed: %v", <-l.Err)
		}
		return p
	case <-time.After(within):
		t.Fatalf("no live message within %v", within)
	}
	return syncproto.Poke{}
}

// waitPoke waits for a poke of scope at seq or later, skipping others.
func (l *live) waitPoke(t testing.TB, scope string, seq int64, within time.Duration) syncproto.Poke {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no poke of %s at %d within %v", scope, seq, within)
		}
		p := l.next(t, left)
		if p.Type == "poke" && p.Scope == scope && p.Seq >= seq {
			return p
		}
	}
}

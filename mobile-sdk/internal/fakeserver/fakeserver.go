// Package fakeserver is an in-memory stand-in for the Yingji sync endpoints, for the SDK's
// unit tests only: it follows syncproto (push, pull with pages, checksums, removals, purges,
// live pokes) without the real server's store. The end-to-end tests use the real server.
package fakeserver

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/syncproto"
)

// Server is the fake. Lock Mu to change its knobs while it serves.
type Server struct {
	Mu sync.Mutex
	// Scopes the user may read: "all" holds every record, "ent:X" those with enterprise_id X.
	Scopes []string
	Specs  []syncproto.CollectionSpec
	// Limit caps the records of one pull answer.
	Limit int
	// Reject refuses a mutation the rules accept (authorization); nil accepts all.
	Reject func(m syncproto.Mutation) *syncproto.Rejection
	// SessionEnd, when set, answers every authenticated request 401 with this code.
	SessionEnd string
	// DropPushAnswers applies the next N pushes but kills the connection before answering.
	DropPushAnswers int
	// Fail answers the next N requests 503.
	Fail int
	// MaxBatch answers 413 to pushes of more mutations.
	MaxBatch int
	// BadRecordAt poisons a pull answer: a record with an empty id at this index of a page.
	BadRecordAt int
	// Counters.
	Pushes, Pulls, GzipRequests int

	URL   string
	srv   *httptest.Server
	clock *syncproto.Clock
	seq   int64
	recs  map[ref]*rec
	log   []change
	done  map[string]syncproto.Result
	subs  map[chan syncproto.Poke]bool
}

type ref struct{ coll, id string }

type rec struct {
	state syncproto.RecordState
	seq   int64
}

type change struct {
	seq    int64
	ref    ref
	scopes []string
}

// Password is the only password the fake accepts; Token is the token it issues.
const (
	Password = "pw"
	Token    = "tok"
)

// HazardSpec is a hazards-like collection for tests.
func HazardSpec() syncproto.CollectionSpec {
	return syncproto.CollectionSpec{Name: "hazards", Deletable: true, Fields: []syncproto.FieldSpec{
		{Name: "title", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "description", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "level", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Set},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: &syncproto.StateMachine{
			States: []string{"open", "fixing", "closed"}, Initial: "open",
			Transitions: map[string][]string{"open": {"fixing", "closed"}, "fixing": {"closed"}}}},
		{Name: "reported_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	}}
}

// New starts a fake with the hazards spec, scope "all" and a page limit of 1000.
func New() *Server {
	s := &Server{Scopes: []string{"all"}, Specs: []syncproto.CollectionSpec{HazardSpec()}, Limit: 1000, BadRecordAt: -1,
		recs: map[ref]*rec{}, done: map[string]syncproto.Result{}, subs: map[chan syncproto.Poke]bool{}}
	s.clock = syncproto.NewClock("server", nil)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/sync/push", s.auth(s.push))
	mux.HandleFunc("POST /api/v1/sync/pull", s.auth(s.pull))
	mux.HandleFunc("GET /api/v1/sync/live", s.auth(s.live))
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the fake.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req map[string]string
	json.NewDecoder(r.Body).Decode(&req)
	if req["password"] != Password {
		writeJSON(w, 401, syncproto.Error{Code: "auth.bad_credentials", Message: "用户名或密码错误", RequestID: "r1"})
		return
	}
	s.Mu.Lock()
	s.SessionEnd = ""
	s.Mu.Unlock()
	writeJSON(w, 200, map[string]any{"token": Token, "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339),
		"user": map[string]string{"id": "u-" + req["username"], "username": req["username"], "name": "测试用户", "role": "grid"}})
}

func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.Mu.Lock()
		end, fail := s.SessionEnd, s.Fail > 0
		if fail {
			s.Fail--
		}
		s.Mu.Unlock()
		if fail {
			writeJSON(w, 503, syncproto.Error{Code: "unavailable", Message: "服务暂不可用"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+Token || end != "" {
			code := end
			if code == "" {
				code = "auth.unauthorized"
			}
			writeJSON(w, 401, syncproto.Error{Code: code, Message: "您的账号已在另一台设备登录"})
			return
		}
		next(w, r)
	}
}

func (s *Server) decode(r *http.Request, v any) error {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return err
		}
		s.Mu.Lock()
		s.GzipRequests++
		s.Mu.Unlock()
		rd = zr
	}
	return json.NewDecoder(rd).Decode(v)
}

func (s *Server) spec(name string) *syncproto.CollectionSpec {
	for i := range s.Specs {
		if s.Specs[i].Name == name {
			return &s.Specs[i]
		}
	}
	return nil
}

// scopesOf lists the scopes of a record state.
func scopesOf(st syncproto.RecordState) []string {
	if !st.Exists {
		return nil
	}
	out := []string{"all"}
	var ent string
	json.Unmarshal(st.Fields["enterprise_id"], &ent)
	if ent != "" {
		out = append(out, "ent:"+ent)
	}
	return out
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	var req syncproto.PushRequest
	if err := s.decode(r, &req); err != nil {
		writeJSON(w, 400, syncproto.Error{Code: "bad_request", Message: "请求格式错误"})
		return
	}
	s.Mu.Lock()
	if s.MaxBatch > 0 && len(req.Mutations) > s.MaxBatch {
		s.Mu.Unlock()
		writeJSON(w, 413, syncproto.Error{Code: "sync.batch_too_large", Message: "太大"})
		return
	}
	s.Pushes++
	resp := syncproto.PushResponse{Protocol: syncproto.Protocol}
	pokes := map[string]int64{}
	for _, m := range req.Mutations {
		resp.Results = append(resp.Results, s.apply(m, pokes))
	}
	resp.HLC = s.clock.Now().String()
	drop := s.DropPushAnswers > 0
	if drop {
		s.DropPushAnswers--
	}
	s.publish(pokes)
	s.Mu.Unlock()
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
	}
	writeJSON(w, 200, resp)
}

func (s *Server) apply(m syncproto.Mutation, pokes map[string]int64) syncproto.Result {
	if res, ok := s.done[m.MutationID]; ok {
		return res
	}
	res := syncproto.Result{MutationID: m.MutationID}
	defer func() { s.done[m.MutationID] = res }()
	spec := s.spec(m.Collection)
	if spec == nil {
		res.Status, res.Code, res.Message = syncproto.StatusRejected, syncproto.CodeUnknownColl, "未知的数据集"
		return res
	}
	if s.Reject != nil {
		if rej := s.Reject(m); rej != nil {
			res.Status, res.Code, res.Message = syncproto.StatusRejected, rej.Code, rej.Message
			return res
		}
	}
	k := ref{m.Collection, m.ID}
	cur := syncproto.RecordState{Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}
	old := s.recs[k]
	if old != nil {
		cur = old.state
	}
	if h, err := syncproto.ParseHLC(m.HLC); err == nil {
		s.clock.Observe(h)
	}
	next, merged, rej := syncproto.Merge(spec, cur, m)
	if rej != nil {
		res.Status, res.Code, res.Message = syncproto.StatusRejected, rej.Code, rej.Message
		return res
	}
	s.seq++
	scopes := append(scopesOf(cur), scopesOf(next)...)
	if next.Deleted {
		scopes = scopesOf(cur)
	}
	s.recs[k] = &rec{state: next, seq: s.seq}
	s.log = append(s.log, change{seq: s.seq, ref: k, scopes: scopes})
	for _, sc := range scopes {
		pokes[sc] = s.seq
	}
	res.Status, res.Seq = syncproto.StatusApplied, s.seq
	if merged {
		res.Status = syncproto.StatusMerged
		res.Record = &syncproto.Record{Collection: k.coll, ID: k.id, Seq: s.seq, Deleted: next.Deleted, Fields: next.Fields, Stamps: next.Stamps}
	}
	return res
}

// Put writes a record as the server itself would (another user's change), returning its seq.
func (s *Server) Put(coll, id string, fields map[string]any, deleted bool) int64 {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	k := ref{coll, id}
	cur := syncproto.RecordState{Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}
	if old := s.recs[k]; old != nil {
		cur = old.state
	}
	next := syncproto.RecordState{Exists: true, Deleted: deleted, Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}
	for k, v := range cur.Fields {
		next.Fields[k] = v
	}
	for k, v := range cur.Stamps {
		next.Stamps[k] = v
	}
	stamp := s.clock.Now().String()
	for name, v := range fields {
		b, _ := json.Marshal(v)
		next.Fields[name], next.Stamps[name] = b, stamp
	}
	s.seq++
	scopes := append(scopesOf(cur), scopesOf(next)...)
	if deleted {
		scopes = scopesOf(cur)
	}
	s.recs[k] = &rec{state: next, seq: s.seq}
	s.log = append(s.log, change{seq: s.seq, ref: k, scopes: scopes})
	pokes := map[string]int64{}
	for _, sc := range scopes {
		pokes[sc] = s.seq
	}
	s.publish(pokes)
	return s.seq
}

// Record returns the server's state of a record.
func (s *Server) Record(coll, id string) (syncproto.RecordState, int64, bool) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	r := s.recs[ref{coll, id}]
	if r == nil {
		return syncproto.RecordState{}, 0, false
	}
	return r.state, r.seq, true
}

// Count is the number of live records on the server.
func (s *Server) Count() int {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	n := 0
	for _, r := range s.recs {
		if !r.state.Deleted {
			n++
		}
	}
	return n
}

func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	var req syncproto.PullRequest
	if err := s.decode(r, &req); err != nil {
		writeJSON(w, 400, syncproto.Error{Code: "bad_request", Message: "请求格式错误"})
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.Pulls++
	resp := syncproto.PullResponse{Protocol: syncproto.Protocol, Collections: s.Specs, Scopes: []syncproto.ScopeChanges{}}
	for sc := range req.Checkpoints {
		if !slices.Contains(s.Scopes, sc) {
			resp.Purge = append(resp.Purge, sc)
		}
	}
	sort.Strings(resp.Purge)
	limit := s.Limit
	if req.Limit > 0 {
		limit = min(limit, req.Limit)
	}
	budget := limit
	for _, sc := range s.Scopes {
		cp := req.Checkpoints[sc]
		if cp < 0 || cp > s.seq {
			cp = 0
		}
		out := syncproto.ScopeChanges{Scope: sc, Reset: cp == 0, Records: []syncproto.Record{}, Checkpoint: s.seq}
		var changes []change
		for _, c := range s.log {
			if c.seq > cp && slices.Contains(c.scopes, sc) {
				changes = append(changes, c)
			}
		}
		if len(changes) > budget {
			changes, out.More = changes[:budget], true
			out.Checkpoint = cp
			if len(changes) > 0 {
				out.Checkpoint = changes[len(changes)-1].seq
			}
		}
		budget -= len(changes)
		seen := map[ref]bool{}
		for i := len(changes) - 1; i >= 0; i-- {
			k := changes[i].ref
			if seen[k] {
				continue
			}
			seen[k] = true
			cur := s.recs[k]
			switch {
			case cur.state.Deleted:
				if cp > 0 {
					out.Records = append(out.Records, syncproto.Record{Collection: k.coll, ID: k.id, Seq: cur.seq, Deleted: true})
				}
			case slices.Contains(scopesOf(cur.state), sc):
				out.Records = append(out.Records, syncproto.Record{Collection: k.coll, ID: k.id, Seq: cur.seq, Fields: cur.state.Fields, Stamps: cur.state.Stamps})
			default:
				if cp > 0 {
					out.Removed = append(out.Removed, syncproto.RecordRef{Collection: k.coll, ID: k.id})
				}
			}
		}
		slices.Reverse(out.Records)
		if s.BadRecordAt >= 0 && s.BadRecordAt < len(out.Records) {
			out.Records[s.BadRecordAt].ID = ""
		}
		if !out.More {
			var sum uint64
			for k, r := range s.recs {
				if !r.state.Deleted && slices.Contains(scopesOf(r.state), sc) {
					sum += syncproto.RecordHash(k.coll, k.id, r.seq)
					out.Count++
				}
			}
			out.Checksum = syncproto.FormatChecksum(sum)
		}
		resp.Scopes = append(resp.Scopes, out)
	}
	resp.HLC = s.clock.Now().String()
	writeJSON(w, 200, resp)
}

func (s *Server) publish(pokes map[string]int64) {
	for ch := range s.subs {
		for sc, seq := range pokes {
			select {
			case ch <- syncproto.Poke{Type: "poke", Scope: sc, Seq: seq}:
			default:
			}
		}
	}
}

// CloseLive tells every live connection the session ended, as the real server does.
func (s *Server) CloseLive(code, message string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	s.SessionEnd = code
	for ch := range s.subs {
		select {
		case ch <- syncproto.Poke{Type: "closed", Code: code, Message: message}:
		default:
		}
	}
}

// LiveCount is the number of open live connections.
func (s *Server) LiveCount() int {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return len(s.subs)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	// Subscribe before the handshake completes, so no change after "connected" is missed.
	ch := make(chan syncproto.Poke, 64)
	s.Mu.Lock()
	s.subs[ch] = true
	s.Mu.Unlock()
	defer func() {
		s.Mu.Lock()
		delete(s.subs, ch)
		s.Mu.Unlock()
	}()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	// Like the real server: "hello" once the connection is subscribed.
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-ch:
			b, _ := json.Marshal(p)
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return
			}
			if p.Type == "closed" {
				c.Close(websocket.StatusPolicyViolation, strings.ToLower(p.Code))
				return
			}
		}
	}
}

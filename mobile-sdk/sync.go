package sdk

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/syncproto"
)

// LoginResponse is the server's answer to a login.
type LoginResponse struct {
	Token     string          `json:"token"`
	ExpiresAt string          `json:"expires_at"`
	User      json.RawMessage `json:"user"`
}

type userRef struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

// Login signs the device in and stores the session; it returns the user as the server sent it.
// A different user may not log in while the outbox holds another user's changes: they would be
// pushed in the wrong name.
func (c *Client) Login(ctx context.Context, server, username, password string) (json.RawMessage, error) {
	server = strings.TrimRight(strings.TrimSpace(server), "/")
	if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errorf(KindInvalid, CodeBadInput, "服务器地址无效：%q（应为 http:// 或 https:// 开头）", server)
	}
	if username == "" || password == "" {
		return nil, errorf(KindInvalid, CodeBadInput, "请提供用户名和密码")
	}
	// Refuse another user before asking the server: a login there ends the session of the
	// user whose changes wait here (one account per device), who then could not push them
	// without signing in again. (The server lowercases usernames; the user id is checked again
	// below.)
	if err := c.checkOutboxOwner(ctx, c.db, func(prev userRef) bool {
		return strings.EqualFold(prev.Username, strings.TrimSpace(username))
	}); err != nil {
		return nil, err
	}
	var resp LoginResponse
	req := map[string]string{"username": username, "password": password, "client": "mobile", "device_id": c.deviceID}
	err := c.newRetrier().do(ctx, func() error {
		return c.call(ctx, server, "", "POST", "/api/v1/auth/login", req, &resp)
	})
	if err != nil {
		return nil, err
	}
	var u userRef
	if resp.Token == "" || json.Unmarshal(resp.User, &u) != nil || u.ID == "" {
		return nil, errorf(KindUnreachable, CodeBadAnswer, "服务器的登录应答格式错误")
	}
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		prevServer, err := getMeta(ctx, tx, metaServer)
		if err != nil {
			return err
		}
		if err := c.checkOutboxOwner(ctx, tx, func(prev userRef) bool { return prev.ID == u.ID }); err != nil {
			return err
		}
		if prevServer != "" && prevServer != server {
			// Another server: its seqs mean nothing here. Keep only what waits to be sent.
			if err := c.forgetReplica(ctx, tx); err != nil {
				return err
			}
		}
		for k, v := range map[string]string{metaServer: server, metaToken: resp.Token, metaExpiresAt: resp.ExpiresAt, metaUser: string(resp.User)} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return delMeta(ctx, tx, metaEndCode, metaEndMessage)
	})
	if err != nil {
		return nil, err
	}
	return resp.User, nil
}

// checkOutboxOwner refuses a login unless the outbox is empty, no user signed in before, or
// same says the new user is the previous one.
func (c *Client) checkOutboxOwner(ctx context.Context, q querier, same func(prev userRef) bool) error {
	prevUser, err := getMeta(ctx, q, metaUser)
	if err != nil {
		return err
	}
	var pu userRef
	json.Unmarshal([]byte(prevUser), &pu)
	if pu.ID == "" || same(pu) {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errorf(KindInvalid, "auth.outbox_of_other_user",
			"本机还有 %d 条属于用户“%s”的未同步修改，请先由该用户登录并同步", n, pu.Username)
	}
	return nil
}

// Logout forgets the session locally; the replica and the outbox stay for the next login.
func (c *Client) Logout(ctx context.Context) error {
	return c.inTx(ctx, func(tx *sql.Tx) error { return delMeta(ctx, tx, metaToken, metaExpiresAt) })
}

// forgetReplica drops every scope and the server state not needed by the outbox.
func (c *Client) forgetReplica(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{"DELETE FROM scope_records", "DELETE FROM scopes", "DELETE FROM specs",
		"DELETE FROM meta WHERE key = '" + metaSpecsLoaded + "'",
		`DELETE FROM records WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.collection = records.collection AND o.id = records.id)
			AND NOT EXISTS (SELECT 1 FROM rejected r WHERE r.collection = records.collection AND r.id = records.id)`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// session returns the server and token, or a KindAuth error saying why there is none.
func (c *Client) session(ctx context.Context) (server, token string, err error) {
	if server, err = getMeta(ctx, c.db, metaServer); err != nil {
		return
	}
	if token, err = getMeta(ctx, c.db, metaToken); err != nil {
		return
	}
	if token == "" || server == "" {
		code, _ := getMeta(ctx, c.db, metaEndCode)
		msg, _ := getMeta(ctx, c.db, metaEndMessage)
		if code != "" {
			return "", "", &Error{Kind: KindAuth, Code: code, Message: msg + "；请重新登录（未同步的修改仍保存在本机）"}
		}
		return "", "", errorf(KindAuth, CodeNotLoggedIn, "尚未登录，请先登录")
	}
	return server, token, nil
}

// endSession forgets a token the server no longer accepts, keeping why.
func (c *Client) endSession(ctx context.Context, code, message string) {
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		if err := delMeta(ctx, tx, metaToken); err != nil {
			return err
		}
		if err := setMeta(ctx, tx, metaEndCode, code); err != nil {
			return err
		}
		return setMeta(ctx, tx, metaEndMessage, message)
	})
	if err != nil {
		c.log.Error("end session", "err", err)
	}
}

// authFailed ends the session when err says the server refused it.
func (c *Client) authFailed(ctx context.Context, err error) error {
	if e := AsError(err); e.Kind == KindAuth && strings.HasPrefix(e.Code, "auth.") && e.Code != "auth.forbidden" {
		c.endSession(context.WithoutCancel(ctx), e.Code, e.Message)
	}
	return err
}

// SyncStats count what one exchange did.
type SyncStats struct {
	Pushed        int `json:"pushed"`
	Applied       int `json:"applied"`
	Merged        int `json:"merged"`
	Rejected      int `json:"rejected"`
	Pulled        int `json:"pulled"`
	MediaUploaded int `json:"media_uploaded"`     // queued files the server now holds (deduplicated ones too)
	Repaired      int `json:"repaired,omitempty"` // scopes re-fetched after a checksum mismatch
}

// Sync pushes the outbox, sends the queued attached files, and pulls every scope until nothing
// more is pending. Network errors are retried within Options.RetryBudget; then it returns
// KindUnreachable and the outbox and the media queue keep everything. One Sync runs at a time.
func (c *Client) Sync(ctx context.Context) (SyncStats, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var st SyncStats
	server, token, err := c.session(ctx)
	if err != nil {
		return st, err
	}
	r := c.newRetrier()
	if err := c.push(ctx, r, server, token, &st); err != nil {
		return st, c.authFailed(ctx, err)
	}
	// Attached files after the records that refer to them (media.go).
	if err := c.uploadMedia(ctx, r, server, token, &st); err != nil {
		return st, c.authFailed(ctx, err)
	}
	if err := c.pull(ctx, r, server, token, &st); err != nil {
		return st, c.authFailed(ctx, err)
	}
	err = c.inTx(ctx, func(tx *sql.Tx) error { return setMeta(ctx, tx, metaLastSync, c.now().Format(time.RFC3339)) })
	return st, err
}

// Push sends the outbox and the queued attached files without pulling: what an app calls to
// get its changes to the server quickly (a following Sync brings the canonical records).
func (c *Client) Push(ctx context.Context) (SyncStats, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var st SyncStats
	server, token, err := c.session(ctx)
	if err != nil {
		return st, err
	}
	r := c.newRetrier()
	if err := c.push(ctx, r, server, token, &st); err != nil {
		return st, c.authFailed(ctx, err)
	}
	if err := c.uploadMedia(ctx, r, server, token, &st); err != nil {
		return st, c.authFailed(ctx, err)
	}
	return st, nil
}

// push sends the outbox in order, in batches, and applies each answer in one transaction.
// The next batch leaves as soon as an answer has arrived, while that answer is applied: the
// server has committed a batch before the next one reaches it, so the order holds, and the
// phone's work on one answer overlaps the server's on the next batch.
func (c *Client) push(ctx context.Context, r *retrier, server, token string, st *SyncStats) error {
	batch := c.opts.BatchSize
	var from int64 = math.MinInt64 // the outbox position after which the next batch starts
	var next *pushFlight
	defer func() {
		if next != nil {
			next.cancel()
			<-next.done
		}
	}()
	for {
		f := next
		next = nil
		if f == nil {
			var err error
			if f, err = c.sendBatch(ctx, r, server, token, from, batch); err != nil || f == nil {
				return err
			}
		}
		<-f.done
		f.cancel()
		muts, resp, err := f.muts, f.resp, f.err
		if errors.Is(err, errTooLarge) {
			if batch > 1 {
				batch = max(1, len(muts)/2)
				continue
			}
			// One change alone is too large: it can never go; the user must see it.
			resp = syncproto.PushResponse{Results: []syncproto.Result{{MutationID: muts[0].MutationID, Status: syncproto.StatusRejected,
				Code: "sync.too_large", Message: "该修改的数据量超过服务器的限制，未能提交"}}}
			muts = muts[:1]
		} else if err != nil {
			return err
		}
		if len(resp.Results) != len(muts) {
			return errorf(KindUnreachable, CodeBadAnswer, "服务器的应答与提交的修改数量不符（%d/%d）", len(resp.Results), len(muts))
		}
		from = f.pos[len(muts)-1]
		if next, err = c.sendBatch(ctx, r, server, token, from, batch); err != nil {
			return err
		}
		err = c.inTx(ctx, func(tx *sql.Tx) error {
			ctx := withSpecCache(ctx)
			for i, res := range resp.Results {
				if res.MutationID != muts[i].MutationID {
					return errorf(KindUnreachable, CodeBadAnswer, "服务器的应答顺序错误")
				}
			}
			if err := c.applyAnswers(ctx, tx, muts, resp.Results, st); err != nil {
				return err
			}
			return c.observe(ctx, tx, resp.HLC)
		})
		if err != nil {
			return err
		}
		st.Pushed += len(muts)
	}
}

// pushFlight is a batch on its way to the server.
type pushFlight struct {
	muts   []syncproto.Mutation
	pos    []int64 // their outbox positions
	resp   syncproto.PushResponse
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

// sendBatch takes the next batch of the outbox after position from, marks it sent and sends
// it in the background; nil when the outbox holds nothing more.
func (c *Client) sendBatch(ctx context.Context, r *retrier, server, token string, from int64, batch int) (*pushFlight, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT pos, mutation_id, collection, id, op, base_seq, fields, base, hlc
		FROM outbox WHERE pos > ? ORDER BY pos LIMIT ?`, from, batch)
	if err != nil {
		return nil, err
	}
	f := &pushFlight{done: make(chan struct{})}
	for rows.Next() {
		var m syncproto.Mutation
		var pos int64
		var fs, b string
		if err := rows.Scan(&pos, &m.MutationID, &m.Collection, &m.ID, &m.Op, &m.BaseSeq, &fs, &b, &m.HLC); err != nil {
			rows.Close()
			return nil, err
		}
		json.Unmarshal([]byte(fs), &m.Fields)
		json.Unmarshal([]byte(b), &m.Base)
		f.muts, f.pos = append(f.muts, m), append(f.pos, pos)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(f.muts) == 0 {
		return nil, err
	}
	// Mark them sent before sending: after a crash they are resent with the same ids,
	// which the server answers from its stored results.
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		return inChunks(f.muts, func(part []syncproto.Mutation, in string, args []any) error {
			_, err := tx.ExecContext(ctx, "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE mutation_id IN ("+in+")", args...)
			return err
		}, func(m syncproto.Mutation) any { return m.MutationID })
	})
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	req := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: c.deviceID, Mutations: f.muts}
	go func() {
		defer close(f.done)
		f.err = r.do(fctx, func() error { return c.call(fctx, server, token, "POST", "/api/v1/sync/push", req, &f.resp) })
	}()
	return f, nil
}

// inChunks calls fn with parts of items of at most 500, their placeholders and arguments.
func inChunks[T any](items []T, fn func(part []T, in string, args []any) error, arg func(T) any) error {
	for len(items) > 0 {
		part := items[:min(500, len(items))]
		items = items[len(part):]
		args := make([]any, len(part))
		for i, it := range part {
			args[i] = arg(it)
		}
		if err := fn(part, strings.Repeat("?, ", len(part)-1)+"?", args); err != nil {
			return err
		}
	}
	return nil
}

// locallyChanged lists the records with a pending or rejected change: their view must be
// recomputed; every other record's view is the server's state.
func locallyChanged(ctx context.Context, q querier) (map[[2]string]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT collection, id FROM outbox UNION SELECT collection, id FROM rejected")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// storeServerRecord stores a record's server state unless the replica already holds a later
// version (force: a reset scope, where the server's word is final), and refreshes its view.
func storeServerRecord(ctx context.Context, q querier, rec syncproto.Record, force bool) error {
	var seq int64
	err := q.QueryRowContext(ctx, "SELECT seq FROM records WHERE collection = ? AND id = ?", rec.Collection, rec.ID).Scan(&seq)
	found := err == nil
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if !found || rec.Seq >= seq || force {
		s := syncproto.RecordState{Exists: true, Deleted: rec.Deleted, Fields: rec.Fields, Stamps: recordStamps(rec)}
		if s.Fields == nil {
			s.Fields = map[string]json.RawMessage{}
		}
		if s.Stamps == nil {
			s.Stamps = map[string]string{}
		}
		if err := writeServer(ctx, q, rec.Collection, rec.ID, rec.Seq, s); err != nil {
			return err
		}
	}
	return refresh(ctx, q, rec.Collection, rec.ID)
}

// maxRepairs bounds the checksum re-fetches of one scope in one Sync.
const maxRepairs = 2

// pull asks for every scope's changes until no scope has more, one transaction per page.
// While a page is applied the next one is already being fetched with the checkpoints the page
// will leave behind; if applying it left others (a purge, a checksum repair), that prefetch is
// dropped and the page asked for again.
func (c *Client) pull(ctx context.Context, r *retrier, server, token string, st *SyncStats) error {
	repairs := map[string]int{}
	cps, err := checkpoints(ctx, c.db)
	if err != nil {
		return err
	}
	fetch := func(cps map[string]int64) (syncproto.PullResponse, error) {
		var resp syncproto.PullResponse
		req := syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: cps, Limit: c.opts.PullLimit}
		err := c.call(ctx, server, token, "POST", "/api/v1/sync/pull", req, &resp)
		return resp, err
	}
	var resp syncproto.PullResponse
	if err := r.do(ctx, func() (err error) { resp, err = fetch(cps); return err }); err != nil {
		return err
	}
	type fetched struct {
		resp syncproto.PullResponse
		err  error
	}
	for round := 0; round < 100000; round++ {
		next, more := expectedCheckpoints(cps, &resp)
		var prefetch chan fetched
		if more {
			prefetch = make(chan fetched, 1)
			go func() {
				r, err := fetch(next)
				prefetch <- fetched{r, err}
			}()
		}
		var again bool
		err := c.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			again, err = c.applyPage(ctx, tx, &resp, repairs, st)
			return err
		})
		if err != nil {
			if prefetch != nil {
				<-prefetch
			}
			return err
		}
		if cps, err = checkpoints(ctx, c.db); err != nil {
			if prefetch != nil {
				<-prefetch
			}
			return err
		}
		if prefetch != nil {
			f := <-prefetch
			if f.err == nil && maps.Equal(cps, next) {
				resp = f.resp
				continue
			}
		}
		if !again {
			return nil
		}
		if err := r.do(ctx, func() (err error) { resp, err = fetch(cps); return err }); err != nil {
			return err
		}
	}
	return errorf(KindUnreachable, CodeBadAnswer, "同步未能结束（服务器一直返回更多数据）")
}

// expectedCheckpoints are the checkpoints cps become once resp is applied as it is, and
// whether some scope has more to pull.
func expectedCheckpoints(cps map[string]int64, resp *syncproto.PullResponse) (map[string]int64, bool) {
	next := maps.Clone(cps)
	if next == nil {
		next = map[string]int64{}
	}
	for _, p := range resp.Purge {
		delete(next, p)
	}
	more := false
	for _, sc := range resp.Scopes {
		next[sc.Scope] = sc.Checkpoint
		more = more || sc.More
	}
	return next, more
}

func checkpoints(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT scope, checkpoint FROM scopes")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var cp int64
		if err := rows.Scan(&s, &cp); err != nil {
			return nil, err
		}
		out[s] = cp
	}
	return out, rows.Err()
}

// applyPage applies one pull answer: specs, purges, then each scope's records, removals,
// checkpoint and checksum, all in the caller's transaction. It reports whether to pull again.
func (c *Client) applyPage(ctx context.Context, tx *sql.Tx, resp *syncproto.PullResponse, repairs map[string]int, st *SyncStats) (bool, error) {
	specsChanged := false
	if len(resp.Collections) > 0 {
		var err error
		if specsChanged, err = storeSpecs(ctx, tx, resp.Collections); err != nil {
			return false, err
		}
	}
	for _, sc := range resp.Purge {
		if err := dropScope(ctx, tx, sc); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM scopes WHERE scope = ?", sc); err != nil {
			return false, err
		}
	}
	more := false
	for _, sc := range resp.Scopes {
		m, err := c.applyScope(ctx, tx, sc, repairs, st)
		if err != nil {
			return false, fmt.Errorf("sdk: scope %s: %w", sc.Scope, err)
		}
		more = more || m
	}
	if specsChanged {
		if err := refreshQueued(ctx, tx); err != nil {
			return false, err
		}
	}
	return more, c.observe(ctx, tx, resp.HLC)
}

// storeSpecs replaces the specs; it reports whether they changed.
func storeSpecs(ctx context.Context, tx *sql.Tx, specs []syncproto.CollectionSpec) (bool, error) {
	old, err := loadSpecs(ctx, tx)
	if err != nil {
		return false, err
	}
	loaded, err := getMeta(ctx, tx, metaSpecsLoaded)
	if err != nil {
		return false, err
	}
	changed := loaded == "" || len(old) != len(specs)
	if _, err := tx.ExecContext(ctx, "DELETE FROM specs"); err != nil {
		return false, err
	}
	for _, s := range specs {
		raw, _ := json.Marshal(s)
		if o, ok := old[s.Name]; !ok {
			changed = true
		} else if ob, _ := json.Marshal(o); string(ob) != string(raw) {
			changed = true
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO specs (name, spec) VALUES (?, ?)", s.Name, string(raw)); err != nil {
			return false, err
		}
	}
	return changed, setMeta(ctx, tx, metaSpecsLoaded, "1")
}

// refreshQueued recomputes the views of records with queued or rejected changes (after the
// rules changed).
func refreshQueued(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT collection, id FROM outbox UNION SELECT DISTINCT collection, id FROM rejected")
	if err != nil {
		return err
	}
	var refs []syncproto.RecordRef
	for rows.Next() {
		var r syncproto.RecordRef
		if err := rows.Scan(&r.Collection, &r.ID); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	for _, r := range refs {
		if err := refresh(ctx, tx, r.Collection, r.ID); err != nil {
			return err
		}
	}
	return nil
}

type scopeSum struct {
	sum   uint64
	count int64
}

func (c *Client) applyScope(ctx context.Context, tx *sql.Tx, sc syncproto.ScopeChanges, repairs map[string]int, st *SyncStats) (bool, error) {
	if sc.Scope == "" {
		return false, errorf(KindUnreachable, CodeBadAnswer, "服务器的应答缺少范围名称")
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO scopes (scope) VALUES (?) ON CONFLICT (scope) DO NOTHING", sc.Scope); err != nil {
		return false, err
	}
	if sc.Reset {
		if err := dropScope(ctx, tx, sc.Scope); err != nil {
			return false, err
		}
	}
	var s scopeSum
	var sum int64
	if err := tx.QueryRowContext(ctx, "SELECT sum, count FROM scopes WHERE scope = ?", sc.Scope).Scan(&sum, &s.count); err != nil {
		return false, err
	}
	s.sum = uint64(sum)
	local, err := locallyChanged(ctx, tx)
	if err != nil {
		return false, err
	}
	// What the scope holds of the page's records, read at once (nothing after a reset).
	var refs []syncproto.RecordRef
	for _, rec := range sc.Records {
		if rec.Collection == "" || rec.ID == "" {
			return false, errorf(KindUnreachable, CodeBadAnswer, "服务器的应答含无效记录")
		}
		refs = append(refs, syncproto.RecordRef{Collection: rec.Collection, ID: rec.ID})
	}
	refs = append(refs, sc.Removed...)
	members := map[[2]string]int64{}
	if !sc.Reset {
		if members, err = loadMembers(ctx, tx, sc.Scope, refs); err != nil {
			return false, err
		}
	}
	// Live records without a local change (all of an initial sync) are stored together at
	// the end, a few hundred per statement; the others one by one as they come.
	var synced []syncproto.Record
	for _, rec := range sc.Records {
		if !rec.Deleted && !local[[2]string{rec.Collection, rec.ID}] {
			c.member(&s, members, rec.Collection, rec.ID, rec.Seq, true)
			synced = append(synced, rec)
			st.Pulled++
			continue
		}
		if err := c.setMember(ctx, tx, sc.Scope, rec.Collection, rec.ID, rec.Seq, !rec.Deleted, &s, members); err != nil {
			return false, err
		}
		if err := storeServerRecord(ctx, tx, rec, sc.Reset); err != nil {
			return false, err
		}
		if rec.Deleted {
			if err := dropIfOrphan(ctx, tx, rec.Collection, rec.ID); err != nil {
				return false, err
			}
		}
		st.Pulled++
	}
	if err := storeSyncedMany(ctx, tx, sc.Scope, synced, sc.Reset); err != nil {
		return false, err
	}
	for _, ref := range sc.Removed {
		if err := c.setMember(ctx, tx, sc.Scope, ref.Collection, ref.ID, 0, false, &s, members); err != nil {
			return false, err
		}
		if err := dropIfOrphan(ctx, tx, ref.Collection, ref.ID); err != nil {
			return false, err
		}
		st.Pulled++
	}
	cp, more, verified := sc.Checkpoint, sc.More, false
	if !sc.More {
		want, err := syncproto.ParseChecksum(sc.Checksum)
		if sc.Checksum == "" {
			want, err = 0, nil
		}
		verified = err == nil && want == s.sum && sc.Count == s.count
		if !verified {
			c.log.Warn("checksum mismatch", "scope", sc.Scope, "local_sum", s.sum, "local_count", s.count, "server_sum", sc.Checksum, "server_count", sc.Count)
			if repairs[sc.Scope] < maxRepairs {
				// A broken replica repairs itself: fetch the scope again from a snapshot.
				repairs[sc.Scope]++
				st.Repaired++
				cp, more = 0, true
			}
		}
	}
	_, err = tx.ExecContext(ctx, "UPDATE scopes SET checkpoint = ?, sum = ?, count = ?, verified = ?, synced_at = ? WHERE scope = ?",
		cp, int64(s.sum), s.count, verified, c.now().Format(time.RFC3339), sc.Scope)
	return more, err
}

// loadMembers reads the seqs at which scope holds the given records.
func loadMembers(ctx context.Context, tx *sql.Tx, scope string, refs []syncproto.RecordRef) (map[[2]string]int64, error) {
	out := make(map[[2]string]int64, len(refs))
	byColl := map[string][]string{}
	for _, r := range refs {
		byColl[r.Collection] = append(byColl[r.Collection], r.ID)
	}
	for coll, ids := range byColl {
		// scope, collection and id: the primary key serves each id.
		err := inChunks(ids, func(part []string, in string, args []any) error {
			rows, err := tx.QueryContext(ctx, "SELECT id, seq FROM scope_records WHERE scope = ? AND collection = ? AND id IN ("+in+")",
				append([]any{scope, coll}, args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var seq int64
				if err := rows.Scan(&id, &seq); err != nil {
					return err
				}
				out[[2]string{coll, id}] = seq
			}
			return rows.Err()
		}, func(id string) any { return id })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setMember records that scope holds a live record at seq (live) or no longer holds it, and
// keeps the scope's checksum. members holds what the scope held of the page's records (see
// loadMembers) and is kept up to date.
func (c *Client) setMember(ctx context.Context, tx *sql.Tx, scope, coll, id string, seq int64, live bool, s *scopeSum, members map[[2]string]int64) error {
	had := c.member(s, members, coll, id, seq, live)
	if !live {
		if had {
			_, err := tx.ExecContext(ctx, "DELETE FROM scope_records WHERE scope = ? AND collection = ? AND id = ?", scope, coll, id)
			return err
		}
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO scope_records (scope, collection, id, seq) VALUES (?, ?, ?, ?)
		ON CONFLICT (scope, collection, id) DO UPDATE SET seq = excluded.seq`, scope, coll, id, seq)
	return err
}

// member is setMember's bookkeeping without the write: the scope's checksum and members. It
// reports whether the scope held the record before.
func (c *Client) member(s *scopeSum, members map[[2]string]int64, coll, id string, seq int64, live bool) bool {
	k := [2]string{coll, id}
	old, had := members[k]
	if had {
		s.sum -= syncproto.RecordHash(coll, id, old)
		s.count--
	}
	if !live {
		delete(members, k)
		return had
	}
	members[k] = seq
	s.sum += syncproto.RecordHash(coll, id, seq)
	s.count++
	return had
}

// storeManyRows is how many records storeSyncedMany writes per statement.
const storeManyRows = 200

// storeSyncedMany stores live records that have no local change — server state and view alike,
// unless the replica already holds a later version (force: a reset scope) — and their
// membership of scope: one statement per storeManyRows records for each table.
func storeSyncedMany(ctx context.Context, tx *sql.Tx, scope string, recs []syncproto.Record, force bool) error {
	for start := 0; start < len(recs); start += storeManyRows {
		part := recs[start:min(start+storeManyRows, len(recs))]
		var q strings.Builder
		args := make([]any, 0, len(part)*6+1)
		q.WriteString(`INSERT INTO records (collection, id, seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps,
		v_exists, v_deleted, v_fields, state) VALUES `)
		for i, rec := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, 1, 0, '', ?, ?, 1, 0, ?, 'synced')")
			fields := fieldsText(rec.Fields)
			args = append(args, rec.Collection, rec.ID, rec.Seq, fields, recordStampsText(rec), fields)
		}
		// A record twice in one statement takes its last state, as one by one.
		q.WriteString(` ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, s_exists = 1, s_deleted = 0, s_deleted_at = '',
		s_fields = excluded.s_fields, s_stamps = excluded.s_stamps, v_exists = 1, v_deleted = 0, v_fields = excluded.v_fields,
		state = 'synced'
		WHERE excluded.seq >= records.seq OR ?`)
		args = append(args, force)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		q.Reset()
		args = args[:0]
		q.WriteString("INSERT INTO scope_records (scope, collection, id, seq) VALUES ")
		for i, rec := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args = append(args, scope, rec.Collection, rec.ID, rec.Seq)
		}
		q.WriteString(" ON CONFLICT (scope, collection, id) DO UPDATE SET seq = excluded.seq")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// dropScope forgets what the replica holds of a scope: its membership, its checksum, and the
// records no other scope holds and no local change needs.
func dropScope(ctx context.Context, tx *sql.Tx, scope string) error {
	rows, err := tx.QueryContext(ctx, "SELECT collection, id FROM scope_records WHERE scope = ?", scope)
	if err != nil {
		return err
	}
	var refs []syncproto.RecordRef
	for rows.Next() {
		var r syncproto.RecordRef
		if err := rows.Scan(&r.Collection, &r.ID); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if _, err := tx.ExecContext(ctx, "DELETE FROM scope_records WHERE scope = ?", scope); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE scopes SET checkpoint = 0, sum = 0, count = 0, verified = 0 WHERE scope = ?", scope); err != nil {
		return err
	}
	for _, r := range refs {
		if err := dropIfOrphan(ctx, tx, r.Collection, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// dropIfOrphan deletes a record no scope holds and no local change refers to.
func dropIfOrphan(ctx context.Context, q querier, coll, id string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM records WHERE collection = ? AND id = ?
		AND NOT EXISTS (SELECT 1 FROM scope_records s WHERE s.collection = records.collection AND s.id = records.id)
		AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.collection = records.collection AND o.id = records.id)
		AND NOT EXISTS (SELECT 1 FROM rejected r WHERE r.collection = records.collection AND r.id = records.id)`, coll, id)
	return err
}

// SetPushToken registers this device's FCM token for the signed-in user, so alerts reach the
// phone in the background (platform: "android" or "ios"). Call it after login and whenever
// the push service gives a new token. It needs the network.
func (c *Client) SetPushToken(ctx context.Context, token, platform string) error {
	server, tok, err := c.session(ctx)
	if err != nil {
		return err
	}
	return c.call(ctx, server, tok, http.MethodPut, "/api/v1/push-tokens",
		map[string]string{"device_id": c.deviceID, "token": token, "platform": platform}, nil)
}

// fieldsText is jsonText of a pulled record's fields, byte for byte, without re-encoding
// each value: the values arrive compact from the server, so they are copied as they are
// unless one needs what json.Marshal would change (whitespace, HTML characters, U+2028/9),
// in which case json.Marshal does it.
func fieldsText(f map[string]json.RawMessage) string {
	if len(f) == 0 {
		return jsonText(f)
	}
	names := make([]string, 0, len(f))
	size := 2
	for k, v := range f {
		if !plainKey(k) || !plainValue(v) {
			return jsonText(f)
		}
		names = append(names, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = append(b, f[k]...)
	}
	return string(append(b, '}'))
}

// recordStamps are a record's stamps, decoded from RawStamps when the page left them raw
// (syncproto.DecodePull).
func recordStamps(rec syncproto.Record) map[string]string {
	if rec.Stamps != nil || rec.RawStamps == nil {
		return rec.Stamps
	}
	var s map[string]string
	json.Unmarshal(rec.RawStamps, &s)
	return s
}

// recordStampsText is jsonText of a record's stamps. Stamps that came raw are stored as they
// came when json.Marshal would write the same bytes: the server sends them as json.Marshal
// wrote them (names sorted, compact); anything else is decoded and written again.
func recordStampsText(rec syncproto.Record) string {
	if rec.Stamps == nil && rec.RawStamps != nil {
		if len(rec.RawStamps) > 2 && rec.RawStamps[0] == '{' && syncproto.PlainJSON(rec.RawStamps) && sortedNames(rec.RawStamps) {
			return string(rec.RawStamps)
		}
		return jsonText(recordStamps(rec))
	}
	return stampsText(rec.Stamps)
}

// sortedNames reports whether the member names of a compact object of strings without
// escapes ({"a":"x","b":"y"}) come in ascending order, as json.Marshal writes a map; false
// for anything else.
func sortedNames(obj []byte) bool {
	var prev []byte
	i := 1
	for i < len(obj)-1 {
		if obj[i] != '"' {
			return false
		}
		end := bytes.IndexByte(obj[i+1:], '"')
		if end < 0 {
			return false
		}
		name := obj[i+1 : i+1+end]
		if bytes.IndexByte(name, '\\') >= 0 || (prev != nil && bytes.Compare(prev, name) >= 0) {
			return false
		}
		prev = name
		i += end + 2
		if i >= len(obj) || obj[i] != ':' || i+1 >= len(obj) || obj[i+1] != '"' {
			return false
		}
		vend := bytes.IndexByte(obj[i+2:], '"')
		if vend < 0 || bytes.IndexByte(obj[i+2:i+2+vend], '\\') >= 0 {
			return false
		}
		i += vend + 3
		if i < len(obj)-1 {
			if obj[i] != ',' {
				return false
			}
			i++
		}
	}
	return i == len(obj)-1 && obj[i] == '}'
}

// stampsText is jsonText of a record's stamps, byte for byte (see fieldsText).
func stampsText(s map[string]string) string {
	if len(s) == 0 {
		return jsonText(s)
	}
	names := make([]string, 0, len(s))
	for k, v := range s {
		if !plainKey(k) || !plainKey(v) {
			return jsonText(s)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `":"` + s[k] + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// plainKey reports whether json.Marshal writes s between quotes unchanged.
func plainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainValue reports whether json.Marshal copies the raw value unchanged (see
// syncproto.PlainJSON).
func plainValue(v json.RawMessage) bool { return syncproto.PlainJSON(v) }

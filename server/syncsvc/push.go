package syncsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// CheckProtocol refuses a protocol this server does not speak.
func CheckProtocol(p int) error {
	if p < syncproto.MinProtocol {
		e := yingji.Errorf(yingji.EINVALID, syncproto.CodeUpgrade, "应用版本过旧，无法同步，请升级到最新版本后再试（离线数据仍保存在手机上）")
		return e.WithData(map[string]any{"min_protocol": syncproto.MinProtocol, "max_protocol": syncproto.Protocol})
	}
	if p > syncproto.Protocol {
		e := yingji.Errorf(yingji.EINVALID, "sync.server_too_old", "服务器版本较旧，暂不支持此版本的应用，请联系管理员升级服务器")
		return e.WithData(map[string]any{"min_protocol": syncproto.MinProtocol, "max_protocol": syncproto.Protocol})
	}
	return nil
}

// Push applies a batch of mutations in outbox order, in one transaction: each gets its own
// answer and a rejected one never blocks the rest. What the batch reads is loaded up front and
// what it writes goes out in a few multi-row statements, so a phone's full outbox lands fast.
func (s *Service) Push(ctx context.Context, a *yingji.Actor, req syncproto.PushRequest) (syncproto.PushResponse, error) {
	resp := syncproto.PushResponse{Protocol: syncproto.Protocol}
	if err := CheckProtocol(req.Protocol); err != nil {
		return resp, err
	}
	if len(req.Mutations) > MaxBatch {
		e := yingji.Errorf(yingji.ETOOLARGE, "sync.batch_too_large", "一次最多提交 %d 条修改", MaxBatch)
		return resp, e.WithData(map[string]any{"limit": MaxBatch})
	}
	// A mutation whose domain write fails (a constraint the collection did not foresee) aborts
	// the transaction; the batch is then retried with that mutation rejected. A transient
	// failure (a deadlock with a portal edit of the same rows, a serialization failure) is not
	// the mutation's fault: the whole batch is retried as it is, and a rejection that would be
	// stored as its answer for good is never made of it.
	failed := map[int]bool{}
	deferInserts := true
	var results []syncproto.Result
	received := s.Now() // the receipt time of every change of the batch (see Step)
	for attempt := 1; ; attempt++ {
		var sf *saveFailure
		err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
			var err error
			results, err = s.pushBatch(ctx, tx, a, req.DeviceID, req.Mutations, failed, received, deferInserts)
			return err
		})
		if transient(err) && attempt < maxAttempts && ctx.Err() == nil {
			s.Log.Warn("sync: push batch hit a transient database error; retrying", "attempt", attempt, "err", err)
			continue
		}
		var df *deferredFailure
		if errors.As(err, &df) && deferInserts && !transient(err) {
			// Which new record broke the multi-row insert is unknown: again, one by one.
			s.Log.Warn("sync: multi-row insert failed; retrying the batch record by record", "err", err)
			deferInserts = false
			continue
		}
		if errors.As(err, &sf) && !failed[sf.index] && !transient(err) {
			s.Log.Warn("sync: mutation failed to save; retrying the batch without it", "mutation_id", req.Mutations[sf.index].MutationID, "err", sf.err)
			failed[sf.index] = true
			continue
		}
		if err != nil {
			return resp, fmt.Errorf("sync: push: %w", err)
		}
		break
	}
	for i, r := range results {
		if r.Code == syncproto.CodeForbidden || r.Code == syncproto.CodeServerOwned {
			m := req.Mutations[i]
			s.Audit.Record(ctx, a, yingji.Event{Action: "sync.push", ObjectType: m.Collection, ObjectID: m.ID, Result: "denied",
				Detail: map[string]any{"mutation_id": m.MutationID, "op": m.Op, "fields": keys(m.Fields), "code": r.Code}})
		}
	}
	resp.Results = results
	resp.HLC = s.Clock.Now().String()
	return resp, nil
}

// maxAttempts bounds the retries of a batch after transient database errors.
const maxAttempts = 5

// transient reports whether err is a database error that a retry of the transaction clears:
// a deadlock (40P01) or a serialization failure (40001) on PostgreSQL.
func transient(err error) bool {
	var se interface{ SQLState() string }
	if !errors.As(err, &se) {
		return false
	}
	switch se.SQLState() {
	case "40P01", "40001":
		return true
	}
	return false
}

type saveFailure struct {
	index int
	err   error
}

func (e *saveFailure) Error() string { return fmt.Sprintf("mutation %d: %v", e.index, e.err) }
func (e *saveFailure) Unwrap() error { return e.err }

func keys(f Fields) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	return out
}

// payloadHash identifies what a mutation id stood for, so a reused id with another payload
// is told apart from a replay.
func payloadHash(m syncproto.Mutation) string {
	h := sha256.Sum256(mutationJSON(m))
	return hex.EncodeToString(h[:])
}

// pushCtx is one push batch in its transaction.
type pushCtx struct {
	s      *Service
	tx     sqldb.Querier
	a      *yingji.Actor
	device string
	b      *batch
	fields map[ref]Fields // current domain state of the records the batch touches
	stored map[string]storedAnswer
	// received is when the batch arrived; step the action time of the mutation being applied.
	received time.Time
	step     *Step
}

type storedAnswer struct {
	hash, user string
	result     syncproto.Result
}

func (s *Service) pushBatch(ctx context.Context, tx sqldb.Querier, a *yingji.Actor, device string, ms []syncproto.Mutation, failed map[int]bool, received time.Time, deferInserts bool) ([]syncproto.Result, error) {
	ctx = WithCache(ctx)
	var buf *insertBuffer
	if deferInserts {
		ctx, buf = withInserts(ctx, tx)
	}
	p := &pushCtx{s: s, tx: tx, a: a, device: device, b: newBatch(), fields: map[ref]Fields{}, stored: map[string]storedAnswer{},
		received: received}
	p.b.origin = Origin{UserID: a.UserID, DeviceID: device}
	// Take the numbers before reading anything: the counter row stays locked until the
	// transaction ends, so on PostgreSQL (read committed) a concurrent push of the same record
	// has committed before the preload below reads it. Preloading first would merge against a
	// stale state: a lost write, and a checksum that subtracts the wrong record hash.
	if err := p.b.reserve(ctx, tx, len(ms)); err != nil {
		return nil, err
	}
	if err := p.preload(ctx, ms); err != nil {
		return nil, err
	}
	results := make([]syncproto.Result, len(ms))
	last := ""
	for i, m := range ms {
		if m.Collection != last {
			// Another collection's code may read the tables of the records deferred so far.
			if err := buf.flush(ctx); err != nil {
				return nil, err
			}
			last = m.Collection
		}
		if failed[i] {
			results[i] = p.answer(m, syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusRejected,
				Code: syncproto.CodeInvalid, Message: "修改无法保存，请检查内容后重新提交"})
			continue
		}
		r, err := p.one(ctx, m)
		if err != nil {
			return nil, &saveFailure{index: i, err: err}
		}
		results[i] = r
	}
	if err := buf.flush(ctx); err != nil {
		return nil, err
	}
	return results, s.flush(ctx, tx, p.b)
}

// preload reads the stored answers of the batch's mutation ids and the state of the records it
// touches, a statement per collection rather than several per mutation.
func (p *pushCtx) preload(ctx context.Context, ms []syncproto.Mutation) error {
	var mids []string
	ids := map[string][]string{}
	seen := map[ref]bool{}
	for _, m := range ms {
		if m.MutationID != "" {
			mids = append(mids, m.MutationID)
		}
		r := ref{m.Collection, m.ID}
		if _, ok := p.s.colls[m.Collection]; ok && yingji.ValidID(m.ID) && !seen[r] {
			seen[r] = true
			ids[m.Collection] = append(ids[m.Collection], m.ID)
		}
	}
	err := sqldb.InChunks(mids, nil, func(args []any, in string) error {
		rows, err := p.tx.Query(ctx, `SELECT mutation_id, payload_hash, user_id, result FROM sync_mutations
			WHERE mutation_id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("sync: look up mutations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, res string
			var st storedAnswer
			if err := rows.Scan(&id, &st.hash, &st.user, &res); err != nil {
				return err
			}
			json.Unmarshal([]byte(res), &st.result)
			p.stored[id] = st
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for coll, list := range ids {
		priors, err := loadPriors(ctx, p.tx, coll, list)
		if err != nil {
			return err
		}
		for id, pr := range priors {
			p.b.overlay[ref{coll, id}] = pr
		}
		f, err := p.s.colls[coll].Load(ctx, p.tx, list)
		if err != nil {
			return err
		}
		for id, v := range f {
			p.fields[ref{coll, id}] = v
		}
	}
	return nil
}

// answer keeps a result to store with the batch and returns it.
func (p *pushCtx) answer(m syncproto.Mutation, r syncproto.Result) syncproto.Result {
	h := payloadHash(m)
	p.b.answers = append(p.b.answers, answer{m: m, hash: h, user: p.a.UserID, device: p.device, ip: p.a.IP, actor: p.a, result: r,
		step: p.step})
	p.step = nil
	p.stored[m.MutationID] = storedAnswer{hash: h, user: p.a.UserID, result: r}
	return r
}

// one answers one mutation. err is only for a failed domain write.
func (p *pushCtx) one(ctx context.Context, m syncproto.Mutation) (syncproto.Result, error) {
	if m.MutationID == "" || len(m.MutationID) > 64 {
		return syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusRejected, Code: syncproto.CodeInvalid,
			Message: "修改缺少有效的编号（mutation_id）"}, nil
	}
	if st, ok := p.stored[m.MutationID]; ok {
		if st.hash == payloadHash(m) && st.user == p.a.UserID {
			return st.result, nil
		}
		return syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusRejected, Code: syncproto.CodeMutationIDReused,
			Message: "修改编号已被另一条内容不同的修改使用，本条未保存"}, nil
	}
	r, rej, err := p.apply(ctx, m)
	if err != nil {
		return r, err
	}
	if rej != nil {
		r = syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusRejected, Code: rej.Code, Message: rej.Message}
	}
	return p.answer(m, r), nil
}

// apply merges one mutation into its record and saves it. A refusal is returned as rej; err
// is a failed domain write.
func (p *pushCtx) apply(ctx context.Context, m syncproto.Mutation) (syncproto.Result, *syncproto.Rejection, error) {
	res := syncproto.Result{MutationID: m.MutationID}
	c, ok := p.s.colls[m.Collection]
	if !ok {
		return res, Rejected(syncproto.CodeUnknownColl, fmt.Sprintf("未知的数据集“%s”", m.Collection)), nil
	}
	if !yingji.ValidID(m.ID) {
		return res, Rejected(syncproto.CodeInvalid, "记录编号必须是 UUID"), nil
	}
	remote, err := syncproto.ParseHLC(m.HLC)
	if err != nil {
		return res, Rejected(syncproto.CodeBadHLC, "修改的时间戳无效"), nil
	}
	// A device clock far ahead would win every last-writer-wins race: such a stamp is
	// replaced by the server's, and the rules decide as usual.
	stamp := p.s.Clock.Stamp(remote, syncproto.MaxDrift)
	m.HLC = stamp.String()
	// The time the person acted, bounded by the receipt; the collection raises it to when
	// the record existed (see Step).
	p.step = NewStep(stamp, p.received)
	ctx = WithStep(ctx, p.step)

	r := ref{m.Collection, m.ID}
	before := p.b.overlay[r]
	cur, exists := p.fields[r]
	state := syncproto.RecordState{Exists: exists || (before.exists && before.deleted), Fields: cur, Stamps: before.stamps,
		Deleted: before.deleted, DeletedAt: before.deletedAt}
	if state.Fields == nil {
		state.Fields = Fields{}
	}
	var curForAuth Fields
	if exists {
		curForAuth = cur
	}
	if err := c.Authorize(ctx, p.tx, p.a, m, curForAuth); err != nil {
		return res, asRejection(err), nil
	}
	next, merged, rej := syncproto.Merge(c.Spec(), state, m)
	if rej != nil {
		return res, rej, nil
	}
	created := !state.Exists
	place := before.place
	if !next.Deleted {
		if err := c.Prepare(ctx, p.tx, p.a, next.Fields, created); err != nil {
			return res, asRejection(err), nil
		}
		if ch, ok := c.(ChangeChecker); ok {
			if err := ch.CheckChange(ctx, p.tx, p.a, curForAuth, next.Fields); err != nil {
				return res, asRejection(err), nil
			}
		}
		for name := range next.Fields {
			if next.Stamps[name] == "" {
				next.Stamps[name] = m.HLC
			}
		}
		if place, err = c.Place(ctx, p.tx, m.ID, next.Fields); err != nil {
			return res, asRejection(err), nil
		}
	}
	if err := c.Save(ctx, p.tx, m.ID, next.Fields, created, next.Deleted); err != nil {
		var rj *syncproto.Rejection
		if errors.As(err, &rj) {
			return res, rj, nil
		}
		return res, nil, err
	}
	if obs := p.s.observers[m.Collection]; len(obs) > 0 {
		after := next.Fields
		if next.Deleted {
			after = nil
		}
		for _, o := range obs {
			if err := o(ctx, p.tx, p.a, m.ID, curForAuth, after); err != nil {
				return res, nil, err
			}
		}
	}
	var digests map[string]string
	if !next.Deleted {
		digests = Digests(next.Fields)
	}
	seq, err := p.b.record(r, before, place, next.Deleted, next.DeletedAt, next.Stamps, digests)
	if err != nil {
		return res, nil, err
	}
	if next.Deleted {
		delete(p.fields, r)
	} else {
		p.fields[r] = next.Fields
	}
	res.Status, res.Seq = syncproto.StatusApplied, seq
	if merged {
		res.Status = syncproto.StatusMerged
		res.Record = &syncproto.Record{Collection: m.Collection, ID: m.ID, Seq: seq, Deleted: next.Deleted, Fields: next.Fields, Stamps: next.Stamps}
	}
	return res, nil, nil
}

// asRejection turns a refusal from a collection into the rejection sent to the device.
func asRejection(err error) *syncproto.Rejection {
	var r *syncproto.Rejection
	if errors.As(err, &r) {
		return r
	}
	var ye *yingji.Error
	if errors.As(err, &ye) {
		code := ye.Code
		if ye.Kind == yingji.EFORBIDDEN {
			code = syncproto.CodeForbidden
		}
		return &syncproto.Rejection{Code: code, Message: ye.Message}
	}
	return &syncproto.Rejection{Code: syncproto.CodeInvalid, Message: "修改无法保存"}
}

package syncsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

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

// Push applies a batch of mutations in outbox order, in one transaction with a savepoint per
// mutation: each gets its own answer and a rejected one never blocks the rest.
func (s *Service) Push(ctx context.Context, a *yingji.Actor, req syncproto.PushRequest) (syncproto.PushResponse, error) {
	resp := syncproto.PushResponse{Protocol: syncproto.Protocol}
	if err := CheckProtocol(req.Protocol); err != nil {
		return resp, err
	}
	if len(req.Mutations) > MaxBatch {
		e := yingji.Errorf(yingji.ETOOLARGE, "sync.batch_too_large", "一次最多提交 %d 条修改", MaxBatch)
		return resp, e.WithData(map[string]any{"limit": MaxBatch})
	}
	results := make([]syncproto.Result, len(req.Mutations))
	var denied []syncproto.Mutation
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		b := newBatch()
		denied = denied[:0]
		for i, m := range req.Mutations {
			res, err := s.pushOne(ctx, tx, a, req.DeviceID, m, b)
			if err != nil {
				return err
			}
			if res.Code == syncproto.CodeForbidden || res.Code == syncproto.CodeServerOwned {
				denied = append(denied, m)
			}
			results[i] = res
		}
		return s.commit(ctx, tx, b)
	})
	if err != nil {
		return resp, fmt.Errorf("sync: push: %w", err)
	}
	for _, m := range denied {
		s.Audit.Record(ctx, a, yingji.Event{Action: "sync.push", ObjectType: m.Collection, ObjectID: m.ID, Result: "denied",
			Detail: map[string]any{"mutation_id": m.MutationID, "op": m.Op, "fields": keys(m.Fields)}})
	}
	resp.Results = results
	resp.HLC = s.Clock.Now().String()
	return resp, nil
}

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
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *Service) pushOne(ctx context.Context, tx sqldb.Querier, a *yingji.Actor, device string, m syncproto.Mutation, b *batch) (syncproto.Result, error) {
	res := syncproto.Result{MutationID: m.MutationID}
	if m.MutationID == "" || len(m.MutationID) > 64 {
		res.Status, res.Code, res.Message = syncproto.StatusRejected, syncproto.CodeInvalid, "修改缺少有效的编号（mutation_id）"
		return res, nil
	}
	hash := payloadHash(m)
	var storedHash, storedUser, stored string
	err := tx.QueryRow(ctx, `SELECT payload_hash, user_id, result FROM sync_mutations WHERE mutation_id = $1`, m.MutationID).Scan(&storedHash, &storedUser, &stored)
	switch {
	case err == nil:
		if storedHash == hash && storedUser == a.UserID {
			var r syncproto.Result
			if json.Unmarshal([]byte(stored), &r) == nil {
				return r, nil
			}
		}
		res.Status, res.Code, res.Message = syncproto.StatusRejected, syncproto.CodeMutationIDReused, "修改编号已被另一条内容不同的修改使用，本条未保存"
		return res, nil
	case !errors.Is(err, yingji.ErrNotFound):
		return res, fmt.Errorf("sync: look up mutation: %w", err)
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT mutation"); err != nil {
		return res, err
	}
	mb := newBatch()
	r, rej, err := s.apply(ctx, tx, a, m, mb)
	if err != nil {
		return res, err
	}
	if rej != nil {
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT mutation"); err != nil {
			return res, err
		}
		r = syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusRejected, Code: rej.Code, Message: rej.Message}
	} else {
		b.merge(mb)
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT mutation"); err != nil {
		return res, err
	}
	stored2, _ := json.Marshal(r)
	if _, err := tx.Exec(ctx, `INSERT INTO sync_mutations (mutation_id, user_id, device_id, ip, collection, record_id,
		payload_hash, status, result, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		m.MutationID, a.UserID, device, a.IP, m.Collection, m.ID, hash, r.Status, string(stored2), s.Now().UTC()); err != nil {
		return res, fmt.Errorf("sync: store answer: %w", err)
	}
	return r, nil
}

// apply merges one mutation into the record and saves it. A rejection is returned as rej;
// err is for failures of the database, which abort the whole batch.
func (s *Service) apply(ctx context.Context, tx sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, b *batch) (syncproto.Result, *syncproto.Rejection, error) {
	res := syncproto.Result{MutationID: m.MutationID}
	c, ok := s.colls[m.Collection]
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
	m.HLC = s.Clock.Stamp(remote, syncproto.MaxDrift).String()

	before, err := loadPrior(ctx, tx, m.Collection, m.ID)
	if err != nil {
		return res, nil, err
	}
	loaded, err := c.Load(ctx, tx, []string{m.ID})
	if err != nil {
		return res, nil, err
	}
	cur, exists := loaded[m.ID]
	state := syncproto.RecordState{Exists: exists || (before.exists && before.deleted), Fields: cur, Stamps: before.stamps,
		Deleted: before.deleted, DeletedAt: before.deletedAt}
	if state.Fields == nil {
		state.Fields = Fields{}
	}
	var curForAuth Fields
	if exists {
		curForAuth = cur
	}
	if err := c.Authorize(ctx, tx, a, m, curForAuth); err != nil {
		return res, asRejection(err), nil
	}
	spec := c.Spec()
	next, merged, rej := syncproto.Merge(spec, state, m)
	if rej != nil {
		return res, rej, nil
	}
	created := !state.Exists
	var place Place
	if next.Deleted {
		place = before.place
	} else {
		if err := c.Prepare(ctx, tx, a, next.Fields, created); err != nil {
			return res, asRejection(err), nil
		}
		for name := range next.Fields {
			if next.Stamps[name] == "" {
				next.Stamps[name] = m.HLC
			}
		}
		if place, err = c.Place(ctx, tx, m.ID, next.Fields); err != nil {
			return res, asRejection(err), nil
		}
	}
	if err := c.Save(ctx, tx, m.ID, next.Fields, created, next.Deleted); err != nil {
		var r *syncproto.Rejection
		if errors.As(err, &r) || yingji.ErrorKind(err) != yingji.EINTERNAL {
			return res, asRejection(err), nil
		}
		return res, nil, err
	}
	seq, err := s.record(ctx, tx, b, m.Collection, m.ID, before, place, next.Deleted, next.DeletedAt, next.Stamps)
	if err != nil {
		return res, nil, err
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

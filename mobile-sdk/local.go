package sdk

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/yingji/yingji/syncproto"
)

// ParseObject reads a JSON object of fields (as the CLI and the app pass them).
func ParseObject(s string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, errorf(KindInvalid, CodeBadJSON, "JSON 格式错误，应为一个对象，例如 {\"title\": \"...\"}")
	}
	return m, nil
}

// ParseArray reads a JSON array of objects of fields (an import, as the app passes it).
func ParseArray(s string) ([]map[string]json.RawMessage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(s), &raws); err != nil {
		return nil, errorf(KindInvalid, CodeBadJSON, "JSON 格式错误，应为对象的数组，例如 [{\"title\": \"...\"}]")
	}
	out := make([]map[string]json.RawMessage, len(raws))
	for i, r := range raws {
		f, err := ParseObject(string(r))
		if err != nil {
			return nil, prefixIndex(err, i)
		}
		out[i] = f
	}
	return out, nil
}

// Create queues a new record and returns its id: fields["id"] when given (a UUID), else a new
// UUIDv7.
func (c *Client) Create(ctx context.Context, collection string, fields map[string]json.RawMessage) (string, error) {
	fields = copyFields(fields)
	id := uuid.Must(uuid.NewV7()).String()
	if raw, ok := fields["id"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || uuid.Validate(s) != nil {
			return "", errorf(KindInvalid, CodeBadInput, "记录编号（id）必须是 UUID")
		}
		id = strings.ToLower(s)
		delete(fields, "id")
	}
	err := c.write(ctx, collection, id, syncproto.OpCreate, fields, "")
	return id, err
}

// CreateMany queues many new records of one collection in one transaction (an import): all of
// them or, when one is refused, none; the error names the one (its index in the message). It
// returns their ids in order. Each is checked as Create checks it.
func (c *Client) CreateMany(ctx context.Context, collection string, records []map[string]json.RawMessage) ([]string, error) {
	ids := make([]string, len(records))
	all := make([]map[string]json.RawMessage, len(records))
	seen := make(map[string]bool, len(records))
	for i, f := range records {
		f = copyFields(f)
		id := uuid.Must(uuid.NewV7()).String()
		if raw, ok := f["id"]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil || uuid.Validate(s) != nil {
				return nil, errorf(KindInvalid, CodeBadInput, "第 %d 条记录：记录编号（id）必须是 UUID", i+1)
			}
			id = strings.ToLower(s)
			delete(f, "id")
		}
		if seen[id] {
			return nil, errorf(KindInvalid, syncproto.CodeExists, "第 %d 条记录：记录编号与前面的记录重复", i+1)
		}
		seen[id] = true
		if err := checkWrite(collection, f); err != nil {
			return nil, prefixIndex(err, i)
		}
		ids[i], all[i] = id, f
	}
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		ctx := withSpecCache(ctx)
		for i, f := range all {
			if err := c.writeTx(ctx, tx, collection, ids[i], syncproto.OpCreate, f, ""); err != nil {
				return prefixIndex(err, i)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// prefixIndex names the record of a batch an error is about.
func prefixIndex(err error, i int) error {
	if e, ok := err.(*Error); ok {
		cp := *e
		cp.Message = fmt.Sprintf("第 %d 条记录：%s", i+1, e.Message)
		return &cp
	}
	return err
}

// Update queues a change of the given fields of a record.
func (c *Client) Update(ctx context.Context, collection, id string, fields map[string]json.RawMessage) error {
	fields = copyFields(fields)
	if raw, ok := fields["id"]; ok {
		var s string
		json.Unmarshal(raw, &s)
		if !strings.EqualFold(s, id) {
			return errorf(KindInvalid, CodeBadInput, "不能修改记录编号（id）")
		}
		delete(fields, "id")
	}
	if len(fields) == 0 {
		return errorf(KindInvalid, CodeBadInput, "没有要修改的字段")
	}
	return c.write(ctx, collection, id, syncproto.OpUpdate, fields, "")
}

// Delete queues the deletion of a record.
func (c *Client) Delete(ctx context.Context, collection, id string) error {
	return c.write(ctx, collection, id, syncproto.OpDelete, nil, "")
}

func copyFields(f map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

// write checks a change against the local view with the collection's rules, then stores it
// in the outbox and refreshes the view, in one transaction. dismiss names a rejected change
// this one replaces (a retry): it goes only if the new change is accepted.
func (c *Client) write(ctx context.Context, collection, id, op string, fields map[string]json.RawMessage, dismiss string) error {
	if err := checkWrite(collection, fields); err != nil {
		return err
	}
	return c.inTx(ctx, func(tx *sql.Tx) error { return c.writeTx(ctx, tx, collection, id, op, fields, dismiss) })
}

// checkWrite checks the names and values of a change.
func checkWrite(collection string, fields map[string]json.RawMessage) error {
	if !validName(collection) {
		return errorf(KindInvalid, CodeUnknownColl, "数据集名称无效")
	}
	for name, v := range fields {
		if !validName(name) || strings.HasPrefix(name, "_") {
			return errorf(KindInvalid, CodeUnknownField, "字段名“%s”无效", name)
		}
		if !json.Valid(v) {
			return errorf(KindInvalid, CodeBadJSON, "字段“%s”的值不是合法的 JSON", name)
		}
	}
	return nil
}

// writeTx is write inside the caller's transaction (names already checked).
func (c *Client) writeTx(ctx context.Context, tx *sql.Tx, collection, id, op string, fields map[string]json.RawMessage, dismiss string) error {
	if dismiss != "" {
		if _, err := tx.ExecContext(ctx, "DELETE FROM rejected WHERE mutation_id = ?", dismiss); err != nil {
			return err
		}
		if err := refresh(ctx, tx, collection, id); err != nil {
			return err
		}
	}
	r, err := loadRow(ctx, tx, collection, id)
	if err != nil {
		return err
	}
	spec, known, err := specFor(ctx, tx, collection, r.server.Fields, r.view.Fields, fields)
	if err != nil {
		return err
	}
	if known {
		for name := range fields {
			if _, ok := spec.Field(name); !ok {
				return errorf(KindInvalid, CodeUnknownField, "“%s”没有字段“%s”", collection, name)
			}
		}
	}
	switch op {
	case syncproto.OpCreate:
		if r.found && r.view.Exists && !r.view.Deleted {
			return errorf(KindInvalid, syncproto.CodeExists, "记录已存在")
		}
	default:
		if !r.found || !r.view.Exists {
			return errorf(KindNotFound, CodeNotFound, "记录不存在")
		}
		if r.view.Deleted {
			return errorf(KindInvalid, syncproto.CodeDeleted, "该记录已被删除")
		}
	}
	// The current local state with stamps: the server's, with the queued changes merged.
	muts, err := queued(ctx, tx, collection, id)
	if err != nil {
		return err
	}
	cur := r.server
	for _, q := range muts {
		if next, _, rej := syncproto.Merge(spec, cur, q); rej == nil {
			cur = next
		}
	}
	if !cur.Exists && r.view.Exists {
		cur = r.view // a refused create, shown for fixing
	}
	m := syncproto.Mutation{MutationID: uuid.Must(uuid.NewV7()).String(), Collection: collection, ID: id, Op: op,
		BaseSeq: r.seq, Fields: fields, HLC: c.clock.Now().String()}
	if op == syncproto.OpUpdate {
		for name := range fields {
			if f, _ := spec.Field(name); f.Rule == syncproto.Set {
				if m.Base == nil {
					m.Base = map[string]json.RawMessage{}
				}
				base := cur.Fields[name]
				if len(base) == 0 || string(base) == "null" {
					base = json.RawMessage("[]")
				}
				m.Base[name] = base
			}
		}
	}
	// A state change the user asks for must be a transition from the state he sees (the
	// server would quietly keep a more advanced state; here it is his mistake).
	if op == syncproto.OpUpdate && cur.Exists {
		for name, v := range fields {
			f, _ := spec.Field(name)
			if f.Rule != syncproto.State || f.Machine == nil {
				continue
			}
			var from, to string
			json.Unmarshal(cur.Fields[name], &from)
			json.Unmarshal(v, &to)
			if from != "" && f.Machine.Rank(to) >= 0 && !f.Machine.Allowed(from, to) {
				return errorf(KindInvalid, syncproto.CodeBadTransition, "状态不能从“%s”变为“%s”", from, to)
			}
		}
	}
	if _, _, rej := syncproto.Merge(spec, cur, m); rej != nil {
		kind := KindInvalid
		if rej.Code == syncproto.CodeNotFound {
			kind = KindNotFound
		}
		return &Error{Kind: kind, Code: rej.Code, Message: rej.Message}
	}
	if err := enqueue(ctx, tx, m, c.now()); err != nil {
		return err
	}
	if err := refresh(ctx, tx, collection, id); err != nil {
		return err
	}
	return c.saveClock(ctx, tx)
}

func enqueue(ctx context.Context, q querier, m syncproto.Mutation, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO outbox (mutation_id, collection, id, op, base_seq, fields, base, hlc, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.MutationID, m.Collection, m.ID, m.Op, m.BaseSeq,
		jsonText(m.Fields), jsonText(m.Base), m.HLC, now.Format(stampFormat))
	return err
}

// Get returns the local view of a record (deleted ones too, with Deleted set).
func (c *Client) Get(ctx context.Context, collection, id string) (Record, error) {
	if err := c.checkCollection(ctx, collection); err != nil {
		return Record{}, err
	}
	r, err := loadRow(ctx, c.db, collection, id)
	if err != nil {
		return Record{}, err
	}
	if !r.found || !r.view.Exists {
		return Record{}, errorf(KindNotFound, CodeNotFound, "记录不存在：%s %s", collection, id)
	}
	return Record{Collection: collection, ID: id, Seq: r.seq, State: r.state, Deleted: r.view.Deleted, Fields: r.view.Fields}, nil
}

// checkCollection refuses a collection the server's specs do not name (once they are known).
func (c *Client) checkCollection(ctx context.Context, collection string) error {
	_, _, err := specFor(ctx, c.db, collection)
	return err
}

// Filter keeps records whose field equals Value: a string field compares as text, any other
// value by its JSON form (level=2, done=true).
type Filter struct {
	Field string
	Value string
}

func (f Filter) match(r Record) bool {
	var v json.RawMessage
	if f.Field == "id" {
		v, _ = json.Marshal(r.ID)
	} else {
		v = r.Fields[f.Field]
	}
	if len(v) == 0 {
		return f.Value == "" || f.Value == "null"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s == f.Value
	}
	var a, b any
	if json.Unmarshal(v, &a) != nil || json.Unmarshal([]byte(f.Value), &b) != nil {
		return strings.TrimSpace(string(v)) == f.Value
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// List returns the live records of a collection that match every filter, oldest id first.
func (c *Client) List(ctx context.Context, collection string, filters ...Filter) ([]Record, error) {
	spec, known, err := specFor(ctx, c.db, collection)
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		if f.Field == "id" {
			continue
		}
		if !validName(f.Field) {
			return nil, errorf(KindInvalid, CodeUnknownField, "字段名“%s”无效", f.Field)
		}
		if known {
			if _, ok := spec.Field(f.Field); !ok {
				return nil, errorf(KindInvalid, CodeUnknownField, "“%s”没有字段“%s”", collection, f.Field)
			}
		}
	}
	rows, err := c.db.QueryContext(ctx, `SELECT id, seq, v_fields, state FROM records
		WHERE collection = ? AND v_exists = 1 AND v_deleted = 0 ORDER BY id`, collection)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r := Record{Collection: collection}
		var raw string
		if err := rows.Scan(&r.ID, &r.Seq, &raw, &r.State); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(raw), &r.Fields)
		ok := true
		for _, f := range filters {
			ok = ok && f.match(r)
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// PendingChange is a change waiting in the outbox.
type PendingChange struct {
	MutationID string                     `json:"mutation_id"`
	Collection string                     `json:"collection"`
	ID         string                     `json:"id"`
	Op         string                     `json:"op"`
	Fields     map[string]json.RawMessage `json:"fields"`
	CreatedAt  string                     `json:"created_at"`
	State      string                     `json:"state"` // pending, or sending (answer not yet received)
	BaseSeq    int64                      `json:"base_seq"`
}

// Pending lists the outbox in order.
func (c *Client) Pending(ctx context.Context) ([]PendingChange, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT mutation_id, collection, id, op, fields, created_at, state, base_seq FROM outbox ORDER BY pos`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PendingChange{}
	for rows.Next() {
		var p PendingChange
		var f string
		if err := rows.Scan(&p.MutationID, &p.Collection, &p.ID, &p.Op, &f, &p.CreatedAt, &p.State, &p.BaseSeq); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(f), &p.Fields)
		if p.Fields == nil {
			p.Fields = map[string]json.RawMessage{}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RejectedChange is a change the server refused.
type RejectedChange struct {
	MutationID string                     `json:"mutation_id"`
	Collection string                     `json:"collection"`
	ID         string                     `json:"id"`
	Code       string                     `json:"code"`
	Message    string                     `json:"message"`
	Op         string                     `json:"op"`
	Fields     map[string]json.RawMessage `json:"fields"`
	CreatedAt  string                     `json:"created_at"`
	RejectedAt string                     `json:"rejected_at"`
}

// Rejected lists the refused changes, oldest first.
func (c *Client) Rejected(ctx context.Context) ([]RejectedChange, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT mutation_id, collection, id, code, message, op, fields, created_at, rejected_at
		FROM rejected ORDER BY rejected_at, mutation_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RejectedChange{}
	for rows.Next() {
		var p RejectedChange
		var f string
		if err := rows.Scan(&p.MutationID, &p.Collection, &p.ID, &p.Code, &p.Message, &p.Op, &f, &p.CreatedAt, &p.RejectedAt); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(f), &p.Fields)
		if p.Fields == nil {
			p.Fields = map[string]json.RawMessage{}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Dismiss forgets a rejected change (the user accepts the server's state).
func (c *Client) Dismiss(ctx context.Context, mutationID string) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		var coll, id string
		err := tx.QueryRowContext(ctx, "SELECT collection, id FROM rejected WHERE mutation_id = ?", mutationID).Scan(&coll, &id)
		if err == sql.ErrNoRows {
			return errorf(KindNotFound, CodeNotFound, "没有编号为 %s 的被拒绝修改", mutationID)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM rejected WHERE mutation_id = ?", mutationID); err != nil {
			return err
		}
		return refresh(ctx, tx, coll, id)
	})
}

// Retry queues a rejected change again as a new change, with fields replaced by the given
// ones when not nil (the user's fix), and forgets the rejection.
func (c *Client) Retry(ctx context.Context, mutationID string, fields map[string]json.RawMessage) error {
	var coll, id, op, raw string
	err := c.db.QueryRowContext(ctx, "SELECT collection, id, op, fields FROM rejected WHERE mutation_id = ?", mutationID).Scan(&coll, &id, &op, &raw)
	if err == sql.ErrNoRows {
		return errorf(KindNotFound, CodeNotFound, "没有编号为 %s 的被拒绝修改", mutationID)
	} else if err != nil {
		return err
	}
	if fields == nil {
		json.Unmarshal([]byte(raw), &fields)
	}
	fields = copyFields(fields)
	delete(fields, "id")
	// The rejection goes in the same transaction as the new change, and only with it.
	r, err := loadRow(ctx, c.db, coll, id)
	if err != nil {
		return err
	}
	if op == syncproto.OpCreate && r.found && r.server.Exists {
		op = syncproto.OpUpdate
	}
	if op == syncproto.OpUpdate && len(fields) == 0 {
		return errorf(KindInvalid, CodeBadInput, "没有要修改的字段")
	}
	if op == syncproto.OpDelete {
		fields = nil
	}
	return c.write(ctx, coll, id, op, fields, mutationID)
}

// ScopeStatus describes one scope of the replica.
type ScopeStatus struct {
	Scope      string `json:"scope"`
	Checkpoint int64  `json:"checkpoint"`
	Count      int64  `json:"count"`
	Verified   bool   `json:"verified"`
	SyncedAt   string `json:"synced_at,omitempty"`
}

// Status summarises the replica.
type Status struct {
	Server         string          `json:"server"`
	User           json.RawMessage `json:"user"`
	DeviceID       string          `json:"device_id"`
	LoggedIn       bool            `json:"logged_in"`
	LastSync       *string         `json:"last_sync"`
	Pending        int             `json:"pending"`
	Rejected       int             `json:"rejected"`
	MediaPending   int             `json:"media_pending"` // attached files waiting to be uploaded
	MediaFailed    int             `json:"media_failed"`  // attached files the server refused (see Media)
	Scopes         []ScopeStatus   `json:"scopes"`
	SessionEnded   string          `json:"session_ended,omitempty"` // code of the last session's end
	SessionMessage string          `json:"session_message,omitempty"`
}

// Status reports the session, the outbox and the scopes.
func (c *Client) Status(ctx context.Context) (Status, error) {
	st := Status{DeviceID: c.deviceID, Scopes: []ScopeStatus{}, User: json.RawMessage("null")}
	var err error
	get := func(k string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = getMeta(ctx, c.db, k)
		return v
	}
	st.Server = get(metaServer)
	if u := get(metaUser); u != "" {
		st.User = json.RawMessage(u)
	}
	st.LoggedIn = get(metaToken) != ""
	if ls := get(metaLastSync); ls != "" {
		st.LastSync = &ls
	}
	st.SessionEnded, st.SessionMessage = get(metaEndCode), get(metaEndMessage)
	if err != nil {
		return st, err
	}
	if err := c.db.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&st.Pending); err != nil {
		return st, err
	}
	if err := c.db.QueryRowContext(ctx, "SELECT count(*) FROM rejected").Scan(&st.Rejected); err != nil {
		return st, err
	}
	if err := c.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state IN ('queued', 'uploading')),
		count(*) FILTER (WHERE state = 'failed') FROM media_queue`).Scan(&st.MediaPending, &st.MediaFailed); err != nil {
		return st, err
	}
	rows, err := c.db.QueryContext(ctx, "SELECT scope, checkpoint, count, verified, synced_at FROM scopes ORDER BY scope")
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var s ScopeStatus
		if err := rows.Scan(&s.Scope, &s.Checkpoint, &s.Count, &s.Verified, &s.SyncedAt); err != nil {
			return st, err
		}
		st.Scopes = append(st.Scopes, s)
	}
	sort.Slice(st.Scopes, func(i, j int) bool { return st.Scopes[i].Scope < st.Scopes[j].Scope })
	return st, rows.Err()
}

// Collections lists the collection specs the server last sent (empty before the first sync).
func (c *Client) Collections(ctx context.Context) ([]syncproto.CollectionSpec, error) {
	m, err := loadSpecs(ctx, c.db)
	if err != nil {
		return nil, err
	}
	out := make([]syncproto.CollectionSpec, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

package sdk

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"sort"

	"github.com/yingji/yingji/syncproto"
)

// Record states as the user sees them.
const (
	StateSynced   = "synced"   // equal to the server's last known state
	StatePending  = "pending"  // local changes wait in the outbox
	StateRejected = "rejected" // the server refused a change; the user must fix or dismiss it
)

// Record is the local view of a record: the server's state with pending changes on top.
type Record struct {
	Collection string
	ID         string
	Seq        int64 // server version, 0 if never synced
	State      string
	Deleted    bool
	Fields     map[string]json.RawMessage
}

// MarshalJSON writes the record as the field client shows it: id, the fields at the top level,
// then _state, _seq and (when deleted) _deleted.
func (r Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	id, _ := json.Marshal(r.ID)
	b.Write(id)
	names := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		if k != "id" && (len(k) == 0 || k[0] != '_') {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		v := r.Fields[k]
		if !json.Valid(v) {
			v = json.RawMessage("null")
		}
		b.Write(v)
	}
	st, _ := json.Marshal(r.State)
	b.WriteString(`,"_state":`)
	b.Write(st)
	sq, _ := json.Marshal(r.Seq)
	b.WriteString(`,"_seq":`)
	b.Write(sq)
	if r.Deleted {
		b.WriteString(`,"_deleted":true`)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// row is a records row.
type row struct {
	found  bool
	seq    int64
	server syncproto.RecordState
	view   syncproto.RecordState
	state  string
}

func loadRow(ctx context.Context, q querier, coll, id string) (row, error) {
	var r row
	var sEx, sDel, vEx, vDel bool
	var sFields, sStamps, vFields string
	err := q.QueryRowContext(ctx, `SELECT seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps, v_exists, v_deleted, v_fields, state
		FROM records WHERE collection = ? AND id = ?`, coll, id).
		Scan(&r.seq, &sEx, &sDel, &r.server.DeletedAt, &sFields, &sStamps, &vEx, &vDel, &vFields, &r.state)
	if err == sql.ErrNoRows {
		r.server = emptyState()
		r.view = emptyState()
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.found = true
	r.server.Exists, r.server.Deleted = sEx, sDel
	r.server.Fields, r.server.Stamps = map[string]json.RawMessage{}, map[string]string{}
	json.Unmarshal([]byte(sFields), &r.server.Fields)
	json.Unmarshal([]byte(sStamps), &r.server.Stamps)
	r.view = syncproto.RecordState{Exists: vEx, Deleted: vDel, Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}
	json.Unmarshal([]byte(vFields), &r.view.Fields)
	return r, nil
}

func emptyState() syncproto.RecordState {
	return syncproto.RecordState{Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	if string(b) == "null" {
		return "{}"
	}
	return string(b)
}

// writeServer stores the server's state of a record (keeping its view columns).
func writeServer(ctx context.Context, q querier, coll, id string, seq int64, s syncproto.RecordState) error {
	_, err := q.ExecContext(ctx, `INSERT INTO records (collection, id, seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, s_exists = excluded.s_exists,
		s_deleted = excluded.s_deleted, s_deleted_at = excluded.s_deleted_at, s_fields = excluded.s_fields, s_stamps = excluded.s_stamps`,
		coll, id, seq, s.Exists, s.Deleted, s.DeletedAt, jsonText(s.Fields), jsonText(s.Stamps))
	return err
}

// queued loads the outbox mutations of one record, in order.
func queued(ctx context.Context, q querier, coll, id string) ([]syncproto.Mutation, error) {
	return scanMutations(q.QueryContext(ctx, `SELECT mutation_id, collection, id, op, base_seq, fields, base, hlc
		FROM outbox WHERE collection = ? AND id = ? ORDER BY pos`, coll, id))
}

func scanMutations(rows *sql.Rows, err error) ([]syncproto.Mutation, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []syncproto.Mutation
	for rows.Next() {
		var m syncproto.Mutation
		var f, b string
		if err := rows.Scan(&m.MutationID, &m.Collection, &m.ID, &m.Op, &m.BaseSeq, &f, &b, &m.HLC); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(f), &m.Fields)
		json.Unmarshal([]byte(b), &m.Base)
		out = append(out, m)
	}
	return out, rows.Err()
}

// refresh recomputes a record's local view from its server state, its outbox and its
// rejected changes, and drops a row that holds nothing any more.
func refresh(ctx context.Context, q querier, coll, id string) error {
	// Most records have no local change: their view is the server's state, copied as it is.
	var local bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE collection = ?1 AND id = ?2)
		OR EXISTS (SELECT 1 FROM rejected WHERE collection = ?1 AND id = ?2)`, coll, id).Scan(&local); err != nil {
		return err
	}
	if !local {
		if _, err := q.ExecContext(ctx, "DELETE FROM records WHERE collection = ? AND id = ? AND s_exists = 0", coll, id); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `UPDATE records SET v_exists = s_exists, v_deleted = s_deleted, v_fields = s_fields, state = 'synced'
			WHERE collection = ? AND id = ?`, coll, id)
		return err
	}
	r, err := loadRow(ctx, q, coll, id)
	if err != nil {
		return err
	}
	muts, err := queued(ctx, q, coll, id)
	if err != nil {
		return err
	}
	rejected, err := scanMutations(q.QueryContext(ctx, `SELECT mutation_id, collection, id, op, base_seq, fields, base, hlc
		FROM rejected WHERE collection = ? AND id = ? ORDER BY rejected_at, mutation_id`, coll, id))
	if err != nil {
		return err
	}
	if !r.found && len(muts) == 0 && len(rejected) == 0 {
		return nil
	}
	var fieldSets []map[string]json.RawMessage
	fieldSets = append(fieldSets, r.server.Fields)
	for _, m := range append(append([]syncproto.Mutation{}, muts...), rejected...) {
		fieldSets = append(fieldSets, m.Fields)
	}
	spec, _, err := specFor(ctx, q, coll, fieldSets...)
	if err != nil {
		if AsError(err).Kind != KindInvalid {
			return err
		}
		// A collection the server does not know: show the changes as they are.
		spec = permissiveSpec(coll, fieldSets...)
	}
	view := r.server
	for _, m := range muts {
		if next, _, rej := syncproto.Merge(spec, view, m); rej == nil {
			view = next
		}
	}
	if !view.Exists {
		// A refused create stays visible so the user can fix it.
		for _, m := range rejected {
			if m.Op == syncproto.OpCreate {
				if next, _, rej := syncproto.Merge(spec, view, m); rej == nil {
					view = next
				}
			}
		}
	}
	state := StateSynced
	switch {
	case len(rejected) > 0:
		state = StateRejected
	case len(muts) > 0:
		state = StatePending
	}
	if !r.server.Exists && !view.Exists && len(muts) == 0 && len(rejected) == 0 {
		_, err := q.ExecContext(ctx, "DELETE FROM records WHERE collection = ? AND id = ?", coll, id)
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO records (collection, id, v_exists, v_deleted, v_fields, state) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (collection, id) DO UPDATE SET v_exists = excluded.v_exists, v_deleted = excluded.v_deleted,
		v_fields = excluded.v_fields, state = excluded.state`,
		coll, id, view.Exists, view.Deleted, jsonText(view.Fields), state)
	return err
}

// stampFormat writes local times: RFC 3339 in UTC with milliseconds, fixed width so text
// order is time order.
const stampFormat = "2006-01-02T15:04:05.000Z07:00"

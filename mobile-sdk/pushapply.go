package sdk

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/yingji/yingji/syncproto"
)

// pushedRow is a record's server state while a push answer is applied: loaded with the
// others of the batch, changed in memory by each answer in turn, written back with them.
type pushedRow struct {
	seq   int64
	s     syncproto.RecordState
	dirty bool // changed here, not written yet
}

// applyAnswers applies the server's answers to a pushed batch, in the caller's transaction:
// an applied change becomes the record's server state (ours with the change merged, at the
// answer's seq, until a pull brings the canonical record), a merged one with its record takes
// that record, a rejected one is kept with its code for the user to fix. Then the answered
// changes leave the outbox and each record's view is recomputed.
//
// A batch is mostly new records that nothing else changed: their server state is read in one
// statement per 500, and written, view alike, in one multi-row statement per 200; only records
// with another pending or a rejected change get their view recomputed one by one (refresh).
func (c *Client) applyAnswers(ctx context.Context, tx *sql.Tx, muts []syncproto.Mutation, results []syncproto.Result, st *SyncStats) error {
	rows, err := loadPushed(ctx, tx, muts, results)
	if err != nil {
		return err
	}
	row := func(k [2]string) (*pushedRow, error) {
		if p := rows[k]; p != nil {
			return p, nil
		}
		r, err := loadRow(ctx, tx, k[0], k[1])
		if err != nil {
			return nil, err
		}
		p := &pushedRow{seq: r.seq, s: r.server}
		rows[k] = p
		return p, nil
	}
	for i, res := range results {
		m := muts[i]
		k := [2]string{m.Collection, m.ID}
		switch res.Status {
		case syncproto.StatusApplied, syncproto.StatusMerged:
			if res.Status == syncproto.StatusApplied {
				st.Applied++
			} else {
				st.Merged++
			}
			if res.Record != nil {
				// The canonical record: stored as the server sent it. What this batch changed
				// of the record so far is written first, then read again if needed.
				if p := rows[k]; p != nil && p.dirty {
					if err := writeServer(ctx, tx, k[0], k[1], p.seq, p.s); err != nil {
						return err
					}
				}
				delete(rows, k)
				rec := *res.Record
				if rec.Collection == "" {
					rec.Collection = m.Collection
				}
				if rec.ID == "" {
					rec.ID = m.ID
				}
				if err := storeServerRecord(ctx, tx, rec, false); err != nil {
					return err
				}
				continue
			}
			p, err := row(k)
			if err != nil {
				return err
			}
			if res.Seq < p.seq {
				continue
			}
			spec, _, err := specFor(ctx, tx, m.Collection, p.s.Fields, m.Fields)
			if err != nil {
				spec = permissiveSpec(m.Collection, p.s.Fields, m.Fields)
			}
			if next, _, rej := syncproto.Merge(spec, p.s, m); rej == nil {
				p.s = next
			}
			p.seq, p.dirty = res.Seq, true
		case syncproto.StatusRejected:
			st.Rejected++
			code, msg := res.Code, res.Message
			if code == "" {
				code = "sync.rejected"
			}
			if msg == "" {
				msg = "服务器拒绝了该修改"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (mutation_id, collection, id, op, base_seq, fields, base, hlc, created_at, code, message, rejected_at)
				SELECT mutation_id, collection, id, op, base_seq, fields, base, hlc, created_at, ?, ?, ? FROM outbox WHERE mutation_id = ?
				ON CONFLICT (mutation_id) DO NOTHING`, code, msg, c.now().Format(stampFormat), m.MutationID); err != nil {
				return err
			}
		default:
			return errorf(KindUnreachable, CodeBadAnswer, "服务器的应答含未知状态“%s”", res.Status)
		}
	}
	err = inChunks(muts, func(part []syncproto.Mutation, in string, args []any) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE mutation_id IN ("+in+")", args...)
		return err
	}, func(m syncproto.Mutation) any { return m.MutationID })
	if err != nil {
		return err
	}

	// Views. A record with nothing left in the outbox or among the rejected shows its server
	// state: written with it in one statement (or dropped, when it holds nothing).
	local, err := stillLocal(ctx, tx, muts)
	if err != nil {
		return err
	}
	var synced, serverOnly []pushedKey
	var gone, again [][2]string
	done := make(map[[2]string]bool, len(muts))
	for _, m := range muts {
		k := [2]string{m.Collection, m.ID}
		if done[k] {
			continue
		}
		done[k] = true
		p := rows[k]
		switch {
		case p == nil || !p.dirty:
			again = append(again, k)
		case local[k]:
			serverOnly = append(serverOnly, pushedKey{k, p})
			again = append(again, k)
		case !p.s.Exists:
			gone = append(gone, k)
		default:
			synced = append(synced, pushedKey{k, p})
		}
	}
	if err := writePushed(ctx, tx, serverOnly, false); err != nil {
		return err
	}
	if err := writePushed(ctx, tx, synced, true); err != nil {
		return err
	}
	for _, k := range gone {
		if _, err := tx.ExecContext(ctx, "DELETE FROM records WHERE collection = ? AND id = ?", k[0], k[1]); err != nil {
			return err
		}
	}
	for _, k := range again {
		if err := refresh(ctx, tx, k[0], k[1]); err != nil {
			return err
		}
	}
	return nil
}

type pushedKey struct {
	k [2]string
	p *pushedRow
}

// loadPushed reads the server state of the records whose answers carry no record, a
// statement per collection and 500 ids. A record the replica does not hold is loaded empty.
func loadPushed(ctx context.Context, q querier, muts []syncproto.Mutation, results []syncproto.Result) (map[[2]string]*pushedRow, error) {
	out := make(map[[2]string]*pushedRow, len(muts))
	ids := map[string][]string{}
	for i, m := range muts {
		k := [2]string{m.Collection, m.ID}
		if r := results[i]; (r.Status == syncproto.StatusApplied || r.Status == syncproto.StatusMerged) && r.Record == nil && out[k] == nil {
			out[k] = &pushedRow{s: emptyState()}
			ids[m.Collection] = append(ids[m.Collection], m.ID)
		}
	}
	for coll, list := range ids {
		err := inChunks(list, func(_ []string, in string, args []any) error {
			rs, err := q.QueryContext(ctx, `SELECT id, seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps FROM records
				WHERE collection = ? AND id IN (`+in+`)`, append([]any{coll}, args...)...)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var id, fields, stamps string
				var p pushedRow
				if err := rs.Scan(&id, &p.seq, &p.s.Exists, &p.s.Deleted, &p.s.DeletedAt, &fields, &stamps); err != nil {
					return err
				}
				p.s.Fields, p.s.Stamps = map[string]json.RawMessage{}, map[string]string{}
				json.Unmarshal([]byte(fields), &p.s.Fields)
				json.Unmarshal([]byte(stamps), &p.s.Stamps)
				out[[2]string{coll, id}] = &p
			}
			return rs.Err()
		}, func(id string) any { return id })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stillLocal lists the records of the batch that still have a pending or rejected change.
func stillLocal(ctx context.Context, q querier, muts []syncproto.Mutation) (map[[2]string]bool, error) {
	ids := map[string][]string{}
	seen := make(map[[2]string]bool, len(muts))
	for _, m := range muts {
		if k := [2]string{m.Collection, m.ID}; !seen[k] {
			seen[k] = true
			ids[m.Collection] = append(ids[m.Collection], m.ID)
		}
	}
	out := map[[2]string]bool{}
	for coll, list := range ids {
		err := inChunks(list, func(_ []string, in string, args []any) error {
			all := append(append(append([]any{coll}, args...), coll), args...)
			rs, err := q.QueryContext(ctx, `SELECT id FROM outbox WHERE collection = ? AND id IN (`+in+`)
				UNION SELECT id FROM rejected WHERE collection = ? AND id IN (`+in+`)`, all...)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					return err
				}
				out[[2]string{coll, id}] = true
			}
			return rs.Err()
		}, func(id string) any { return id })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writePushed writes the server state of records, 200 to a statement; synced: their view is
// that state as well.
func writePushed(ctx context.Context, q querier, rows []pushedKey, synced bool) error {
	cols, per := 8, "(?, ?, ?, ?, ?, ?, ?, ?)"
	head := `INSERT INTO records (collection, id, seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps) VALUES `
	tail := ` ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, s_exists = excluded.s_exists,
		s_deleted = excluded.s_deleted, s_deleted_at = excluded.s_deleted_at, s_fields = excluded.s_fields, s_stamps = excluded.s_stamps`
	if synced {
		cols, per = 11, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'synced')"
		head = `INSERT INTO records (collection, id, seq, s_exists, s_deleted, s_deleted_at, s_fields, s_stamps, v_exists, v_deleted, v_fields, state) VALUES `
		tail += `, v_exists = excluded.v_exists, v_deleted = excluded.v_deleted, v_fields = excluded.v_fields, state = 'synced'`
	}
	for len(rows) > 0 {
		part := rows[:min(200, len(rows))]
		rows = rows[len(part):]
		args := make([]any, 0, cols*len(part))
		for _, r := range part {
			fields := fieldsText(r.p.s.Fields)
			args = append(args, r.k[0], r.k[1], r.p.seq, r.p.s.Exists, r.p.s.Deleted, r.p.s.DeletedAt, fields, stampsText(r.p.s.Stamps))
			if synced {
				args = append(args, r.p.s.Exists, r.p.s.Deleted, fields)
			}
		}
		if _, err := q.ExecContext(ctx, head+strings.Repeat(per+", ", len(part)-1)+per+tail, args...); err != nil {
			return err
		}
		for _, r := range part {
			r.p.dirty = false
		}
	}
	return nil
}

package syncsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// prior is what the change log knows of a record: its latest change, where it was, and the
// stamps of its fields.
type prior struct {
	exists    bool
	seq       int64
	place     Place
	deleted   bool
	deletedAt string
	stamps    map[string]string
	digests   map[string]string
	// rawStamps are the stamps as stored, read by a pull instead of stamps (see loadStates).
	rawStamps json.RawMessage
}

type ref struct {
	coll, id string
}

// change is one accepted change, written to the change log when its batch is flushed.
type change struct {
	seq       int64
	ref       ref
	place     Place
	old       Place
	deleted   bool
	deletedAt string
	stamps    map[string]string
	digests   map[string]string
}

// batch gathers a transaction's changes — change-log rows, latest record states, checksum
// deltas, mutation answers and scopes to poke — and writes them with a few multi-row
// statements at the end. Its overlay answers for records changed earlier in the same batch.
type batch struct {
	seqNext, seqEnd int64 // numbers taken from the counter and not used yet
	changes         []change
	answers         []answer
	overlay         map[ref]prior
	sums            map[string]*sumDelta
	pokes           map[string]int64
	origin          Origin // the pushing device, for the change's listeners
}

type answer struct {
	m                syncproto.Mutation
	hash             string
	user, device, ip string
	actor            *yingji.Actor
	result           syncproto.Result
	step             *Step // when the person made the change (nil: not applied)
}

type sumDelta struct {
	sum   uint64
	count int64
}

func newBatch() *batch {
	return &batch{overlay: map[ref]prior{}, sums: map[string]*sumDelta{}, pokes: map[string]int64{}}
}

// reserve takes n change numbers from the counter. The counter row stays locked until the
// transaction ends, so numbers are taken and committed in the same order: a puller that has
// seen number k has seen every number below it that will ever commit. Unused numbers are gaps,
// which pullers do not mind.
func (b *batch) reserve(ctx context.Context, q sqldb.Querier, n int) error {
	if n <= 0 {
		return nil
	}
	var last int64
	if err := q.QueryRow(ctx, `UPDATE sync_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq`, n).Scan(&last); err != nil {
		return fmt.Errorf("sync: reserve numbers: %w", err)
	}
	b.seqNext, b.seqEnd = last-int64(n)+1, last+1
	return nil
}

func (b *batch) add(scope string, h uint64, n int64) {
	d := b.sums[scope]
	if d == nil {
		d = &sumDelta{}
		b.sums[scope] = d
	}
	d.sum += h // modulo 2^64
	d.count += n
}

// record adds one change of a record from state before to its new place (or tombstone).
func (b *batch) record(r ref, before prior, place Place, deleted bool, deletedAt string, stamps, digests map[string]string) (int64, error) {
	if b.seqNext >= b.seqEnd {
		return 0, errors.New("sync: no change number reserved")
	}
	seq := b.seqNext
	b.seqNext++
	b.changes = append(b.changes, change{seq: seq, ref: r, place: place, old: before.place, deleted: deleted, deletedAt: deletedAt, stamps: stamps, digests: digests})
	if before.exists && !before.deleted {
		h := syncproto.RecordHash(r.coll, r.id, before.seq)
		for _, sc := range before.place.Scopes() {
			b.add(sc, -h, -1)
		}
	}
	if !deleted {
		h := syncproto.RecordHash(r.coll, r.id, seq)
		for _, sc := range place.Scopes() {
			b.add(sc, h, 1)
		}
	}
	for _, sc := range append(before.place.Scopes(), place.Scopes()...) {
		b.pokes[sc] = seq
	}
	b.overlay[r] = prior{exists: true, seq: seq, place: place, deleted: deleted, deletedAt: deletedAt, stamps: stamps, digests: digests}
	return seq, nil
}

// flush writes everything the batch gathered and arranges the pokes for after the commit.
func (s *Service) flush(ctx context.Context, q sqldb.Querier, b *batch) error {
	now := s.Now().UTC()
	for start := 0; start < len(b.changes); start += 500 {
		chunk := b.changes[start:min(start+500, len(b.changes))]
		logArgs := make([]any, 0, 15*len(chunk))
		for _, c := range chunk {
			logArgs = append(logArgs, c.seq, c.ref.coll, c.ref.id, c.place.OrgPath, c.place.EnterpriseID, c.old.OrgPath, c.old.EnterpriseID,
				c.place.UserID, c.old.UserID, c.place.Shared, c.old.Shared, c.place.IncidentID, c.old.IncidentID, c.deleted, now)
		}
		if _, err := q.Exec(ctx, `INSERT INTO sync_changes (seq, collection, record_id, org_path, enterprise_id,
			old_org_path, old_enterprise_id, user_id, old_user_id, shared, old_shared, incident_id, old_incident_id, deleted, at) VALUES `+valuesList(len(chunk), 15), logArgs...); err != nil {
			return fmt.Errorf("sync: change log: %w", err)
		}
		// A record changed twice in one chunk would make one upsert touch a row twice: write
		// each record's last state only.
		recs := chunk
		if dup := lastStates(chunk); dup != nil {
			recs = dup
		}
		recArgs := make([]any, 0, 12*len(recs))
		for _, c := range recs {
			recArgs = appendRecordArgs(recArgs, c)
		}
		if _, err := q.Exec(ctx, `INSERT INTO sync_records (collection, record_id, seq, org_path, enterprise_id, user_id, shared, incident_id, deleted, deleted_at, stamps, digests)
			VALUES `+valuesList(len(recs), 12)+`
			ON CONFLICT (collection, record_id) DO UPDATE SET seq = excluded.seq, org_path = excluded.org_path,
			enterprise_id = excluded.enterprise_id, user_id = excluded.user_id, shared = excluded.shared, incident_id = excluded.incident_id, deleted = excluded.deleted, deleted_at = excluded.deleted_at,
			stamps = excluded.stamps, digests = excluded.digests`,
			recArgs...); err != nil {
			return fmt.Errorf("sync: record state: %w", err)
		}
	}
	for start := 0; start < len(b.answers); start += 500 {
		chunk := b.answers[start:min(start+500, len(b.answers))]
		args := make([]any, 0, 10*len(chunk))
		for _, a := range chunk {
			args = append(args, a.m.MutationID, a.user, a.device, a.ip, a.m.Collection, a.m.ID, a.hash, a.result.Status, resultJSON(a.result), now)
		}
		if _, err := q.Exec(ctx, `INSERT INTO sync_mutations (mutation_id, user_id, device_id, ip, collection, record_id,
			payload_hash, status, result, created_at) VALUES `+valuesList(len(chunk), 10), args...); err != nil {
			return fmt.Errorf("sync: store answers: %w", err)
		}
	}
	if err := auditAnswers(ctx, q, b.answers, now); err != nil {
		return err
	}
	if err := writeHeads(ctx, q, b); err != nil {
		return err
	}
	if len(b.pokes) > 0 {
		pokes := b.pokes
		origin := b.origin
		q.AfterCommit(func() { s.notify(pokes, origin) })
	}
	return nil
}

// writeHeads writes each touched scope's checksum and newest change number (last_seq, which
// lets a pull skip the scopes with nothing new), in two statements whatever the number of
// scopes: they run while the transaction holds the change log's counter, which every writer
// of sync_sums holds, so the rows read here stay as read until the commit. Every scope a
// change touches, before or after it, is poked, and those are the scopes whose pulls see the
// change: last_seq follows the pokes.
func writeHeads(ctx context.Context, q sqldb.Querier, b *batch) error {
	scopes := slices.Sorted(maps.Keys(b.pokes))
	for sc := range b.sums {
		if _, ok := b.pokes[sc]; !ok { // never: a change pokes the scopes it counts in
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return nil
	}
	type head struct{ sum, count int64 }
	cur := make(map[string]head, len(scopes))
	err := sqldb.InChunks(scopes, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT scope, sum, count FROM sync_sums WHERE scope IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sc string
			var h head
			if err := rows.Scan(&sc, &h.sum, &h.count); err != nil {
				return err
			}
			cur[sc] = h
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sync: read checksums: %w", err)
	}
	for start := 0; start < len(scopes); start += 500 {
		var rows []string
		var args []any
		for _, sc := range scopes[start:min(start+500, len(scopes))] {
			h := cur[sc]
			if d := b.sums[sc]; d != nil {
				h.sum = int64(uint64(h.sum) + d.sum) // modulo 2^64
				h.count += d.count
			}
			rows = append(rows, "("+Placeholders(len(args)+1, 4)+")")
			args = append(args, sc, h.sum, h.count, max(b.pokes[sc], b.seqNext-1))
		}
		if _, err := q.Exec(ctx, `INSERT INTO sync_sums (scope, sum, count, last_seq) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (scope) DO UPDATE SET sum = excluded.sum, count = excluded.count, last_seq = excluded.last_seq`, args...); err != nil {
			return fmt.Errorf("sync: write checksums: %w", err)
		}
	}
	return nil
}

func appendRecordArgs(args []any, c change) []any {
	dg := "{}"
	if c.digests != nil {
		dg = stringMapJSON(c.digests)
	}
	return append(args, c.ref.coll, c.ref.id, c.seq, c.place.OrgPath, c.place.EnterpriseID, c.place.UserID, c.place.Shared, c.place.IncidentID, c.deleted, c.deletedAt, stringMapJSON(c.stamps), dg)
}

// resultJSON is json.Marshal(r) of a stored answer; an applied one (the common case) without
// reflection.
func resultJSON(r syncproto.Result) string {
	if r.Status == syncproto.StatusApplied && r.Code == "" && r.Message == "" && r.Record == nil && syncproto.PlainString(r.MutationID) {
		b := make([]byte, 0, 80)
		b = append(b, `{"mutation_id":`...)
		b = syncproto.AppendString(b, r.MutationID)
		b = append(b, `,"status":"applied"`...)
		if r.Seq != 0 {
			b = append(b, `,"seq":`...)
			b = strconv.AppendInt(b, r.Seq, 10)
		}
		return string(append(b, '}'))
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// Digests returns a short digest of each field's value (canonical JSON), to tell later which
// fields a write changed.
func Digests(f Fields) map[string]string {
	out := make(map[string]string, len(f))
	for name, v := range f {
		h := sha256.Sum256(digestText(v))
		out[name] = hex.EncodeToString(h[:8])
	}
	return out
}

// lastStates returns the last change of each record when some record changed more than once
// in the chunk, else nil.
func lastStates(chunk []change) []change {
	last := map[ref]int{}
	for i, c := range chunk {
		last[c.ref] = i
	}
	if len(last) == len(chunk) {
		return nil
	}
	out := make([]change, 0, len(last))
	for i, c := range chunk {
		if last[c.ref] == i {
			out = append(out, c)
		}
	}
	return out
}

// priors returns the change-log state of records, from the batch's overlay or the database.
func (b *batch) priors(ctx context.Context, q sqldb.Querier, coll string, ids []string) (map[string]prior, error) {
	out := map[string]prior{}
	var missing []string
	for _, id := range ids {
		if p, ok := b.overlay[ref{coll, id}]; ok {
			out[id] = p
		} else {
			missing = append(missing, id)
		}
	}
	db, err := loadPriors(ctx, q, coll, missing)
	for id, p := range db {
		out[id] = p
	}
	return out, err
}

// Changed records changes the server made outside sync (the REST API, imports) to records of
// a synced collection, in the caller's transaction: every field gets the server's stamp, so an
// office edit wins over older edits from phones. Unsynced collections are ignored.
func (s *Service) Changed(ctx context.Context, q sqldb.Querier, coll string, ids ...string) error {
	return s.changed(ctx, q, coll, ids, true)
}

// Moved records records whose place changed but not their fields: no field is re-stamped.
func (s *Service) Moved(ctx context.Context, q sqldb.Querier, coll string, ids ...string) error {
	return s.changed(ctx, q, coll, ids, false)
}

// Lock takes the change log's lock for the rest of the caller's transaction.
func (s *Service) Lock(ctx context.Context, q sqldb.Querier) error {
	_, err := q.Exec(ctx, `UPDATE sync_counter SET seq = seq WHERE id = 1`)
	return err
}

func (s *Service) changed(ctx context.Context, q sqldb.Querier, coll string, ids []string, restamp bool) error {
	c, ok := s.colls[coll]
	if !ok || len(ids) == 0 {
		return nil
	}
	if err := insertsOf(ctx).flush(ctx); err != nil {
		return err
	}
	cur, err := c.Load(ctx, q, ids)
	if err != nil {
		return fmt.Errorf("sync: load %s: %w", coll, err)
	}
	b := newBatch()
	// Numbers first: the counter row's lock orders this transaction after every other writer,
	// so the change-log state read next is the latest (see pushBatch).
	if err := b.reserve(ctx, q, len(ids)); err != nil {
		return err
	}
	priors, err := b.priors(ctx, q, coll, ids)
	if err != nil {
		return err
	}
	stamp := s.Clock.Now().String()
	for _, id := range ids {
		before := priors[id]
		f, exists := cur[id]
		if !exists && (!before.exists || before.deleted) {
			continue
		}
		var place Place
		deletedAt := ""
		stamps := map[string]string{}
		for k, v := range before.stamps {
			stamps[k] = v
		}
		var digests map[string]string
		if exists {
			if place, err = c.Place(ctx, q, id, f); err != nil {
				return err
			}
			// Only the fields the office really changed get the server's stamp; a field it
			// did not touch keeps the stamp of whoever wrote it last.
			digests = Digests(f)
			for name, d := range digests {
				if stamps[name] == "" || (restamp && before.digests[name] != d) {
					stamps[name] = stamp
				}
			}
		} else {
			deletedAt = stamp
		}
		if _, err := b.record(ref{coll, id}, before, place, !exists, deletedAt, stamps, digests); err != nil {
			return err
		}
	}
	return s.flush(ctx, q, b)
}

// head is the newest change number.
func head(ctx context.Context, q sqldb.Querier) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT seq FROM sync_counter WHERE id = 1`).Scan(&seq)
	return seq, err
}

// auditAnswers writes an audit-log entry for every change a push accepted, in the pushing
// transaction: who, when, from where, on which device, and the fields as sent.
func auditAnswers(ctx context.Context, q sqldb.Querier, answers []answer, now time.Time) error {
	rows := 0
	var args []any
	flushRows := func() error {
		if rows == 0 {
			return nil
		}
		_, err := q.Exec(ctx, `INSERT INTO audit_log (id, at, user_id, username, actor_org_path, ip, request_id, action,
			object_type, object_id, result, detail) VALUES `+valuesList(rows, 12), args...)
		rows, args = 0, nil
		if err != nil {
			return fmt.Errorf("sync: audit: %w", err)
		}
		return nil
	}
	for _, a := range answers {
		if a.result.Status == syncproto.StatusRejected || a.actor == nil {
			continue
		}
		actionAt := ""
		if a.step != nil {
			// The time the person made the change (the audit entry's own time is its receipt).
			actionAt = a.step.At.Format(time.RFC3339Nano)
		}
		rows++
		args = append(args, yingji.NewID(), now, a.actor.UserID, a.actor.Username, a.actor.OrgPath, a.actor.IP, a.actor.RequestID,
			"sync."+a.m.Op, a.m.Collection, a.m.ID, "ok", auditDetail(a, actionAt))
		if rows == 400 {
			if err := flushRows(); err != nil {
				return err
			}
		}
	}
	return flushRows()
}

package syncsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// batch collects what a transaction changes in scope checksums and which scopes to poke, so
// both are written once per transaction and the pokes go out only after the commit.
type batch struct {
	sums  map[string]*sumDelta
	pokes map[string]int64
}

type sumDelta struct {
	sum   uint64
	count int64
}

func newBatch() *batch { return &batch{sums: map[string]*sumDelta{}, pokes: map[string]int64{}} }

func (b *batch) add(scope string, h uint64, n int64) {
	d := b.sums[scope]
	if d == nil {
		d = &sumDelta{}
		b.sums[scope] = d
	}
	d.sum += h // modulo 2^64
	d.count += n
}

// merge folds o into b (a mutation's changes into its batch once the mutation succeeded).
func (b *batch) merge(o *batch) {
	for s, d := range o.sums {
		b.add(s, d.sum, d.count)
	}
	for s, seq := range o.pokes {
		b.pokes[s] = max(b.pokes[s], seq)
	}
}

// flush writes the checksum deltas. The change-log counter row, locked by every writing
// transaction, serialises these read-modify-writes.
func (b *batch) flush(ctx context.Context, q sqldb.Querier) error {
	for scope, d := range b.sums {
		var sum, count int64
		err := q.QueryRow(ctx, `SELECT sum, count FROM sync_sums WHERE scope = $1`, scope).Scan(&sum, &count)
		if err != nil && !errors.Is(err, yingji.ErrNotFound) {
			return fmt.Errorf("sync: read checksum: %w", err)
		}
		sum = int64(uint64(sum) + d.sum)
		count += d.count
		if _, err := q.Exec(ctx, `INSERT INTO sync_sums (scope, sum, count) VALUES ($1, $2, $3)
			ON CONFLICT (scope) DO UPDATE SET sum = $2, count = $3`, scope, sum, count); err != nil {
			return fmt.Errorf("sync: write checksum: %w", err)
		}
	}
	return nil
}

// prior is what the change log knew of a record before a change.
type prior struct {
	exists    bool
	seq       int64
	place     Place
	deleted   bool
	deletedAt string
	stamps    map[string]string
}

func loadPrior(ctx context.Context, q sqldb.Querier, coll, id string) (prior, error) {
	var p prior
	var stamps string
	err := q.QueryRow(ctx, `SELECT seq, org_path, enterprise_id, deleted, deleted_at, stamps FROM sync_records
		WHERE collection = $1 AND record_id = $2`, coll, id).Scan(&p.seq, &p.place.OrgPath, &p.place.EnterpriseID, &p.deleted, &p.deletedAt, &stamps)
	if errors.Is(err, yingji.ErrNotFound) {
		return prior{stamps: map[string]string{}}, nil
	}
	if err != nil {
		return p, fmt.Errorf("sync: load record state: %w", err)
	}
	p.exists = true
	if err := json.Unmarshal([]byte(stamps), &p.stamps); err != nil || p.stamps == nil {
		p.stamps = map[string]string{}
	}
	return p, nil
}

// record writes one change: a new number from the counter, a change-log row with the scopes
// before and after (so devices of a scope the record left are told), the record's latest
// state, and the checksum deltas of every scope it left or entered.
func (s *Service) record(ctx context.Context, q sqldb.Querier, b *batch, coll, id string, before prior, place Place,
	deleted bool, deletedAt string, stamps map[string]string) (int64, error) {
	var seq int64
	if err := q.QueryRow(ctx, `UPDATE sync_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sync: next seq: %w", err)
	}
	now := s.Now().UTC()
	if _, err := q.Exec(ctx, `INSERT INTO sync_changes (seq, collection, record_id, org_path, enterprise_id,
		old_org_path, old_enterprise_id, deleted, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		seq, coll, id, place.OrgPath, place.EnterpriseID, before.place.OrgPath, before.place.EnterpriseID, deleted, now); err != nil {
		return 0, fmt.Errorf("sync: change log: %w", err)
	}
	st, _ := json.Marshal(stamps)
	if _, err := q.Exec(ctx, `INSERT INTO sync_records (collection, record_id, seq, org_path, enterprise_id, deleted, deleted_at, stamps)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (collection, record_id) DO UPDATE SET seq = $3, org_path = $4, enterprise_id = $5,
		deleted = $6, deleted_at = $7, stamps = $8`,
		coll, id, seq, place.OrgPath, place.EnterpriseID, deleted, deletedAt, string(st)); err != nil {
		return 0, fmt.Errorf("sync: record state: %w", err)
	}
	if before.exists && !before.deleted {
		h := syncproto.RecordHash(coll, id, before.seq)
		for _, sc := range before.place.Scopes() {
			b.add(sc, -h, -1)
		}
	}
	if !deleted {
		h := syncproto.RecordHash(coll, id, seq)
		for _, sc := range place.Scopes() {
			b.add(sc, h, 1)
		}
	}
	for _, sc := range append(before.place.Scopes(), place.Scopes()...) {
		b.pokes[sc] = seq
	}
	return seq, nil
}

// commit flushes a batch and arranges its pokes for after the commit.
func (s *Service) commit(ctx context.Context, q sqldb.Querier, b *batch) error {
	if err := b.flush(ctx, q); err != nil {
		return err
	}
	if len(b.pokes) > 0 {
		pokes := b.pokes
		q.AfterCommit(func() { s.notify(pokes) })
	}
	return nil
}

// Changed records changes the server made outside sync (the REST API, imports) to records of
// a synced collection, in the caller's transaction: every field gets the server's stamp, so an
// office edit wins over older edits from phones. Unsynced collections are ignored.
func (s *Service) Changed(ctx context.Context, q sqldb.Querier, coll string, ids ...string) error {
	c, ok := s.colls[coll]
	if !ok || len(ids) == 0 {
		return nil
	}
	cur, err := c.Load(ctx, q, ids)
	if err != nil {
		return fmt.Errorf("sync: load %s: %w", coll, err)
	}
	b := newBatch()
	stamp := s.Clock.Now().String()
	for _, id := range ids {
		before, err := loadPrior(ctx, q, coll, id)
		if err != nil {
			return err
		}
		f, exists := cur[id]
		if !exists && (!before.exists || before.deleted) {
			continue
		}
		var place Place
		deletedAt := ""
		stamps := before.stamps
		if exists {
			if place, err = c.Place(ctx, q, id, f); err != nil {
				return err
			}
			for name := range f {
				stamps[name] = stamp
			}
		} else {
			deletedAt = stamp
		}
		if _, err := s.record(ctx, q, b, coll, id, before, place, !exists, deletedAt, stamps); err != nil {
			return err
		}
	}
	return s.commit(ctx, q, b)
}

// Head is the newest change number.
func head(ctx context.Context, q sqldb.Querier) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT seq FROM sync_counter WHERE id = 1`).Scan(&seq)
	return seq, err
}

var _ = time.Now

package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/yingji/yingji/server/sqldb"
)

// Minute and hour rollups.
//
// A reading's minute bucket is open while now < bucket start + 1 min + rollupGrace. The rollups
// of readings in open buckets (minute and hour alike) are merged in memory (rollupState.acc,
// deltas since the last write) and merged into reading_rollups every rollupEvery, at Flush and
// at Close, sorted by key so instances lock rows in the same order. A reading whose minute
// bucket is no longer open (store-and-forward, or a queue that fell behind by more than the
// grace) has its minute and hour rollups upserted in the transaction that stores it. Both ways
// merge: n and sum add up, min and max combine, last is the value with the latest last_ts. So a
// bucket is complete at most rollupEvery after it closes, and the minute and hour rows of one
// reading always reach the database in the same transaction.
//
// Crash recovery. Each running instance owns a lease, a meta row "monitor.rollups.<id>" =
// "<from> <updated>": every delta it has not written yet belongs to a minute bucket at or after
// from (unix ms), and updated is when it last wrote (it writes every rollupEvery, even with
// nothing to merge). Close deletes the lease. A lease not updated for leaseStale belongs to an
// instance that died with deltas in memory; its readings are durable, so its buckets are
// rebuilt from them: minute buckets [from, to) from readings, then the hour buckets around them
// from the minute rows, each with one INSERT … SELECT … GROUP BY that replaces the buckets
// (to = its last write + 2 × rollupEvery + Config.MaxFuture, the latest bucket it can have
// touched). When an instance starts and no other lease is live, it does so at once, before
// storing anything. Otherwise live instances may still hold deltas of open buckets, which a
// rebuild would count twice, so the rebuild waits until the last hour bucket is settled
// (closed, plus grace, plus two rollup writes) and any instance does it from its rollup loop.

const (
	// rollupGrace keeps a minute bucket open this long after its end for readings that arrive
	// a little late (the queue's lag, devices' clocks).
	rollupGrace = 30 * time.Second
	// rollupEvery is how often the in-memory rollups are written and the lease renewed.
	rollupEvery = 10 * time.Second
	// leaseStaleWrites: a lease not renewed for this many rollupEvery is dead.
	leaseStaleWrites = 3
	leasePrefix      = "monitor.rollups."

	minuteMS = int64(60_000)
	hourMS   = int64(3_600_000)
)

// rollup is the aggregate of a point's readings in one bucket.
type rollup struct {
	point  string
	res    string // "minute" | "hour"
	bucket int64  // unix ms of the bucket's start
	n      int64
	sum    float64
	min    float64
	max    float64
	last   float64
	lastTS int64
}

type rollupKey struct {
	point  string
	hour   bool
	bucket int64
}

// rollupAgg merges readings per (point, minute) and (point, hour).
type rollupAgg map[rollupKey]*rollup

func (m rollupAgg) add(r *row) {
	m.addKey(rollupKey{r.point, false, floorDiv(r.ts, minuteMS) * minuteMS}, r)
	m.addKey(rollupKey{r.point, true, floorDiv(r.ts, hourMS) * hourMS}, r)
}

func (m rollupAgg) addKey(k rollupKey, r *row) {
	a := m[k]
	if a == nil {
		res := "minute"
		if k.hour {
			res = "hour"
		}
		m[k] = &rollup{point: r.point, res: res, bucket: k.bucket, n: 1, sum: r.value, min: r.value, max: r.value, last: r.value, lastTS: r.ts}
		return
	}
	a.n++
	a.sum += r.value
	a.min, a.max = min(a.min, r.value), max(a.max, r.value)
	if r.ts >= a.lastTS {
		a.last, a.lastTS = r.value, r.ts
	}
}

// sorted returns the aggregates ordered by (point, resolution, bucket).
func (m rollupAgg) sorted() []rollup {
	out := make([]rollup, 0, len(m))
	for _, a := range m {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b rollup) int {
		if c := strings.Compare(a.point, b.point); c != 0 {
			return c
		}
		if c := strings.Compare(a.res, b.res); c != 0 {
			return c
		}
		return int(a.bucket - b.bucket)
	})
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilTo(a, b int64) int64 { return -floorDiv(-a, b) * b }

// rollupState is the writer's rollup side, guarded by writer.flushMu.
type rollupState struct {
	acc      rollupAgg
	grace    time.Duration
	every    time.Duration
	started  bool   // startRollupsLocked ran
	lease    string // meta key of this instance's lease; "" until claimed
	released bool   // deleted at shutdown: not renewed any more
}

func newRollupState() rollupState {
	return rollupState{acc: rollupAgg{}, grace: rollupGrace, every: rollupEvery}
}

// openAfter returns the bucket start after which a minute bucket is open at now (unix ms).
func (w *writer) openAfter(now int64) int64 { return now - minuteMS - w.roll.grace.Milliseconds() }

// lateRollups aggregates the rows whose minute bucket starts at or before cut.
func lateRollups(rows []row, cut int64) []rollup {
	var m rollupAgg
	for i := range rows {
		if floorDiv(rows[i].ts, minuteMS)*minuteMS <= cut {
			if m == nil {
				m = rollupAgg{}
			}
			m.add(&rows[i])
		}
	}
	return m.sorted()
}

// accumulate merges the rows of open buckets (after cut) into memory; the caller holds flushMu.
func (w *writer) accumulate(rows []row, cut int64) {
	for i := range rows {
		if floorDiv(rows[i].ts, minuteMS)*minuteMS > cut {
			w.roll.acc.add(&rows[i])
		}
	}
}

// writeRollups merges the in-memory rollups into the database and renews the lease.
func (w *writer) writeRollups(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.startRollupsLocked(ctx)
	return w.writeRollupsLocked(ctx)
}

func (w *writer) writeRollupsLocked(ctx context.Context) error {
	if w.crashed.Load() {
		return nil
	}
	now := w.s.Now().UnixMilli()
	rs := w.roll.acc.sorted()
	renew := w.roll.lease != "" && !w.roll.released
	if len(rs) == 0 && !renew {
		return nil
	}
	// after this write, unwritten deltas can only be in buckets open from now on
	value := fmt.Sprintf("%d %d", floorDiv(w.openAfter(now), minuteMS)*minuteMS, now)
	const upsertLease = `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if p, ok := w.s.db.(pooler); ok && w.s.db.Engine() == sqldb.Postgres {
		err := pgx.BeginFunc(ctx, p.Pool(), func(tx pgx.Tx) error {
			if len(rs) > 0 {
				if err := execPGRollups(ctx, tx, rs); err != nil {
					return err
				}
			}
			if renew {
				if _, err := tx.Exec(ctx, upsertLease, w.roll.lease, value); err != nil {
					return fmt.Errorf("renew rollup lease: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("monitor: write rollups: %w", err)
		}
		w.roll.acc = rollupAgg{}
		return nil
	}
	// SQLite: transactions of at most sqlTxRows rollups; the lease with the last one
	for start := 0; start == 0 || start < len(rs); start += sqlTxRows {
		chunk := rs[start:min(start+sqlTxRows, len(rs))]
		lastChunk := start+sqlTxRows >= len(rs)
		err := w.s.db.InTx(ctx, func(tx sqldb.Querier) error {
			if err := execSQLRollups(ctx, tx, chunk); err != nil {
				return err
			}
			if renew && lastChunk {
				if _, err := tx.Exec(ctx, upsertLease, w.roll.lease, value); err != nil {
					return fmt.Errorf("renew rollup lease: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("monitor: write rollups: %w", err)
		}
		for _, r := range chunk {
			delete(w.roll.acc, rollupKey{r.point, r.res == "hour", r.bucket})
		}
	}
	return nil
}

// startRollups repairs what dead instances left (at once when no other instance is live) and
// claims this instance's lease, before the writer stores anything: run calls it first, and
// whatever takes flushMu first (a Flush may come before run starts) calls startRollupsLocked.
func (w *writer) startRollups(ctx context.Context) {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.startRollupsLocked(ctx)
}

func (w *writer) startRollupsLocked(ctx context.Context) {
	if w.roll.started || w.crashed.Load() {
		return
	}
	w.roll.started = true
	if err := w.repairDead(ctx, len(w.roll.acc) == 0); err != nil {
		w.s.log.Error("monitor: repair rollups at start", "err", err)
	}
	w.roll.lease = leasePrefix + randomID()
	if err := w.writeRollupsLocked(ctx); err != nil {
		w.s.log.Error("monitor: claim rollup lease", "err", err)
	}
}

// releaseLease deletes this instance's lease after its last rollups were written.
func (w *writer) releaseLease(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if w.roll.lease == "" || w.roll.released || len(w.roll.acc) > 0 {
		return nil
	}
	if _, err := w.s.db.Exec(ctx, `DELETE FROM meta WHERE key = $1`, w.roll.lease); err != nil {
		return err
	}
	w.roll.released = true
	return nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type lease struct {
	key, value    string
	from, updated int64
}

func (w *writer) leases(ctx context.Context) ([]lease, error) {
	rows, err := w.s.db.Query(ctx, `SELECT key, value FROM meta WHERE key LIKE 'monitor.rollups.%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []lease
	for rows.Next() {
		var l lease
		if err := rows.Scan(&l.key, &l.value); err != nil {
			return nil, err
		}
		f := strings.Fields(l.value)
		if len(f) != 2 {
			continue
		}
		var e1, e2 error
		l.from, e1 = strconv.ParseInt(f[0], 10, 64)
		l.updated, e2 = strconv.ParseInt(f[1], 10, 64)
		if e1 == nil && e2 == nil {
			out = append(out, l)
		}
	}
	return out, rows.Err()
}

// repairDead rebuilds the buckets of dead leases that are settled, or all of them at start when
// no other lease is live; the caller holds flushMu and has no unwritten deltas.
func (w *writer) repairDead(ctx context.Context, atStart bool) error {
	ls, err := w.leases(ctx)
	if err != nil {
		return fmt.Errorf("monitor: read rollup leases: %w", err)
	}
	now := w.s.Now().UnixMilli()
	every := w.roll.every.Milliseconds()
	stale := now - leaseStaleWrites*every
	live := false
	for _, l := range ls {
		if l.key != w.roll.lease && l.updated >= stale {
			live = true
		}
	}
	for _, l := range ls {
		if l.key == w.roll.lease || l.updated >= stale {
			continue
		}
		to := floorDiv(l.updated+2*every+w.s.cfg.MaxFuture.Milliseconds(), minuteMS)*minuteMS + minuteMS
		settled := now >= ceilTo(to, hourMS)+w.roll.grace.Milliseconds()+2*every
		if !settled && !(atStart && !live) {
			continue
		}
		start := time.Now()
		if err := w.repair(ctx, l.from, to); err != nil {
			return err
		}
		if _, err := w.s.db.Exec(ctx, `DELETE FROM meta WHERE key = $1 AND value = $2`, l.key, l.value); err != nil {
			return fmt.Errorf("monitor: delete rollup lease: %w", err)
		}
		w.s.log.Info("monitor: rebuilt rollups of a stopped instance", "from", time.UnixMilli(l.from).UTC(),
			"to", time.UnixMilli(to).UTC(), "took", time.Since(start))
	}
	return nil
}

// Rebuild statements: $1 ≤ bucket < $2. The first replaces minute buckets from the raw
// readings, the second hour buckets from the minute rows (the same readings: the minute and
// hour rollups of a reading are always written together, and the minute rows are kept longer
// than readings may arrive late). last is the value at last_ts (any of them on a tie).
const (
	rebuildMinutes = `INSERT INTO reading_rollups (point_id, resolution, bucket, n, sum, min, max, last, last_ts)
	SELECT g.point_id, 'minute', g.b, g.cnt, g.total, g.lo, g.hi,
		(SELECT r.value FROM readings r WHERE r.point_id = g.point_id AND r.ts = g.lts LIMIT 1), g.lts
	FROM (SELECT point_id, (ts / 60000) * 60000 AS b, count(*) AS cnt, sum(value) AS total,
			min(value) AS lo, max(value) AS hi, max(ts) AS lts
		FROM readings WHERE ts >= $1 AND ts < $2 GROUP BY point_id, (ts / 60000) * 60000) g
	WHERE true
	ON CONFLICT (point_id, resolution, bucket) DO UPDATE SET n = excluded.n, sum = excluded.sum,
		min = excluded.min, max = excluded.max, last = excluded.last, last_ts = excluded.last_ts`
	rebuildHours = `INSERT INTO reading_rollups (point_id, resolution, bucket, n, sum, min, max, last, last_ts)
	SELECT g.point_id, 'hour', g.b, g.cnt, g.total, g.lo, g.hi,
		(SELECT m.last FROM reading_rollups m WHERE m.point_id = g.point_id AND m.resolution = 'minute'
			AND m.bucket >= g.b AND m.bucket < g.b + 3600000 AND m.last_ts = g.lts LIMIT 1), g.lts
	FROM (SELECT point_id, (bucket / 3600000) * 3600000 AS b, sum(n) AS cnt, sum(sum) AS total,
			min(min) AS lo, max(max) AS hi, max(last_ts) AS lts
		FROM reading_rollups WHERE resolution = 'minute' AND bucket >= $1 AND bucket < $2
		GROUP BY point_id, (bucket / 3600000) * 3600000) g
	WHERE true
	ON CONFLICT (point_id, resolution, bucket) DO UPDATE SET n = excluded.n, sum = excluded.sum,
		min = excluded.min, max = excluded.max, last = excluded.last, last_ts = excluded.last_ts`
)

// repair replaces the minute buckets [from, to) and the hour buckets around them with what the
// stored readings give. On PostgreSQL it runs in a REPEATABLE READ transaction, so a concurrent
// merge into the same rows (a late reading's) makes it fail and retry instead of being lost.
func (w *writer) repair(ctx context.Context, from, to int64) error {
	from = floorDiv(from, minuteMS) * minuteMS
	hFrom, hTo := floorDiv(from, hourMS)*hourMS, ceilTo(to, hourMS)
	run := func(exec func(q string, args ...any) error) error {
		if err := exec(`DELETE FROM reading_rollups WHERE resolution = 'minute' AND bucket >= $1 AND bucket < $2`, from, to); err != nil {
			return err
		}
		if err := exec(rebuildMinutes, from, to); err != nil {
			return err
		}
		if err := exec(`DELETE FROM reading_rollups WHERE resolution = 'hour' AND bucket >= $1 AND bucket < $2`, hFrom, hTo); err != nil {
			return err
		}
		return exec(rebuildHours, hFrom, hTo)
	}
	if p, ok := w.s.db.(pooler); ok && w.s.db.Engine() == sqldb.Postgres {
		var err error
		for range 5 {
			err = pgx.BeginTxFunc(ctx, p.Pool(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
				return run(func(q string, args ...any) error { _, err := tx.Exec(ctx, q, args...); return err })
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || (pe.Code != "40001" && pe.Code != "40P01") {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("monitor: rebuild rollups: %w", err)
		}
		return nil
	}
	err := w.s.db.InTx(ctx, func(tx sqldb.Querier) error {
		return run(func(q string, args ...any) error { _, err := tx.Exec(ctx, q, args...); return err })
	})
	if err != nil {
		return fmt.Errorf("monitor: rebuild rollups: %w", err)
	}
	return nil
}

package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yingji/yingji/server/sqldb"
)

// The bulk writer: accepted readings wait in one bounded buffer; every FlushInterval, or as
// soon as FlushRows are waiting, the writer stores them: PostgreSQL by COPY in one transaction,
// SQLite by multi-row INSERTs in transactions of at most sqlTxRows rows, so other writers of
// the file (alerts, river's jobs) get the write lock between them. Raw readings are durable
// when their transaction commits. Their minute and hour rollups are kept in memory and written
// every rollupEvery (see rollup.go); readings too late for an open bucket have their rollups
// upserted in the same transaction as the readings. A failed flush is retried with the next
// one (the buffer keeps growing up to Config.QueueRows, then Deliver waits and finally drops).

// maxFlushRows × FlushRows is the most rows one flush stores, so a backlog drains in
// steps that each make room for waiting producers.
const maxFlushRows = 4

type writer struct {
	s *Service

	mu    sync.Mutex
	buf   []row
	spare []row
	space chan struct{} // closed when the buffer was taken
	kick  chan struct{}

	flushMu sync.Mutex // one flush or rollup write at a time (the loop, Flush, Close)
	retry   []row      // rows of a failed flush, guarded by flushMu

	roll rollupState // guarded by flushMu
	// stored is, per point, the latest reading time this writer has seen stored (guarded by
	// flushMu): a batch whose every reading is later cannot hold one stored before, so
	// PostgreSQL takes it by plain COPY (storePG).
	stored map[string]int64
	// crashed makes the writer stop as a killed process would: no final flush, no rollup
	// write, the lease left behind (tests of the crash recovery set it).
	crashed atomic.Bool
}

func newWriter(s *Service) *writer {
	return &writer{s: s, space: make(chan struct{}), kick: make(chan struct{}, 1), roll: newRollupState(), stored: map[string]int64{}}
}

func (w *writer) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// add queues rows; it returns a reject reason when they were dropped.
func (w *writer) add(ctx context.Context, rows []row) string {
	cfg := &w.s.cfg
	var deadline *time.Timer
	for {
		w.mu.Lock()
		if len(w.buf)+len(rows) <= cfg.QueueRows || len(w.buf) == 0 {
			w.buf = append(w.buf, rows...)
			n := len(w.buf)
			w.mu.Unlock()
			if n >= cfg.FlushRows {
				select {
				case w.kick <- struct{}{}:
				default:
				}
			}
			if deadline != nil {
				deadline.Stop()
			}
			return ""
		}
		space := w.space
		w.mu.Unlock()
		if deadline == nil {
			deadline = time.NewTimer(cfg.EnqueueWait)
		}
		select {
		case <-space:
		case <-deadline.C:
			w.s.metrics.dropped.Add(float64(len(rows)))
			return RejectOverloaded
		case <-ctx.Done():
			deadline.Stop()
			w.s.metrics.dropped.Add(float64(len(rows)))
			return RejectOverloaded
		}
	}
}

// take removes up to max rows from the front of the buffer and wakes writers waiting for room.
func (w *writer) take(max int) []row {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rows []row
	if len(w.buf) <= max {
		rows = w.buf
		w.buf = w.spare[:0]
		w.spare = nil
	} else {
		rows = append(w.spare[:0], w.buf[:max]...)
		w.spare = nil
		w.buf = w.buf[:copy(w.buf, w.buf[max:])]
	}
	close(w.space)
	w.space = make(chan struct{})
	return rows
}

// give returns a buffer for reuse.
func (w *writer) give(rows []row) {
	if cap(rows) > 4*w.s.cfg.FlushRows {
		return
	}
	w.mu.Lock()
	if w.spare == nil {
		w.spare = rows[:0]
	}
	w.mu.Unlock()
}

// run flushes until ctx ends, then flushes what is left and writes the rollups. Before the
// first flush it claims this instance's rollup lease and repairs the rollups of instances that
// stopped without writing theirs (rollup.go).
func (w *writer) run(ctx context.Context) {
	w.startRollups(ctx)
	t := time.NewTicker(w.s.cfg.FlushInterval)
	defer t.Stop()
	r := time.NewTicker(w.roll.every)
	defer r.Stop()
	for {
		select {
		case <-ctx.Done():
			if w.crashed.Load() {
				return
			}
			fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := w.flushAll(fctx); err != nil {
				w.s.log.Error("monitor: final flush failed", "err", err)
			} else if err := w.releaseLease(fctx); err != nil {
				w.s.log.Error("monitor: release rollup lease", "err", err)
			}
			cancel()
			return
		case <-r.C:
			if err := w.writeRollups(ctx); err != nil {
				w.s.log.Error("monitor: write rollups", "err", err)
			} else if err := w.repairDead(ctx, false); err != nil && ctx.Err() == nil {
				w.s.log.Error("monitor: repair rollups", "err", err)
			}
			continue
		case <-t.C:
		case <-w.kick:
		}
		if err := w.flushOnce(ctx); err != nil {
			w.s.log.Error("monitor: store readings", "err", err)
		} else if w.pending() >= w.s.cfg.FlushRows {
			select { // more waiting: flush again at once
			case w.kick <- struct{}{}:
			default:
			}
		}
	}
}

// flushOnce stores the waiting rows (and those of a failed flush before).
func (w *writer) flushOnce(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	if w.crashed.Load() {
		return nil
	}
	w.startRollupsLocked(ctx)
	rows := w.take(maxFlushRows * w.s.cfg.FlushRows)
	if len(w.retry) > 0 {
		rows = append(w.retry, rows...)
		w.retry = nil
	}
	if len(rows) == 0 {
		w.give(rows)
		return nil
	}
	start := time.Now()
	n, err := w.store(ctx, rows)
	w.s.metrics.stored.Add(float64(n))
	if err != nil {
		rows = rows[n:]
		if len(rows) > w.s.cfg.QueueRows { // keep the newest rows that fit
			drop := len(rows) - w.s.cfg.QueueRows
			w.s.metrics.dropped.Add(float64(drop))
			rows = rows[drop:]
		}
		w.retry = slices.Clone(rows)
		return err
	}
	w.s.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	w.give(rows)
	return nil
}

// flushRaw stores every waiting reading (their open rollups stay in memory).
func (w *writer) flushRaw(ctx context.Context) error {
	for range 1000 { // bounded: under load new rows keep arriving
		if err := w.flushOnce(ctx); err != nil {
			return err
		}
		w.flushMu.Lock()
		left := len(w.retry)
		w.flushMu.Unlock()
		if w.pending() == 0 && left == 0 {
			return nil
		}
	}
	return nil
}

// flushAll stores everything waiting, in FlushRows chunks, then writes the rollups.
func (w *writer) flushAll(ctx context.Context) error {
	if err := w.flushRaw(ctx); err != nil {
		return err
	}
	return w.writeRollups(ctx)
}

type pooler interface{ Pool() *pgxpool.Pool }

// store writes rows, with the rollups of those too late for an open bucket, and adds the
// others' rollups to the in-memory accumulators. It returns how many rows are stored (on
// SQLite a failure can come after some transactions committed).
//
// A reading already stored (same point and time: sent again after a reconnect, possibly to
// another instance or after a restart) is not stored again — readings are unique by
// (point_id, ts) — and counts in no rollup: only the rows actually inserted do.
func (w *writer) store(ctx context.Context, rows []row) (int, error) {
	cut := w.openAfter(w.s.Now().UnixMilli())
	if p, ok := w.s.db.(pooler); ok && w.s.db.Engine() == sqldb.Postgres {
		stored, err := w.storePG(ctx, p.Pool(), rows, cut)
		if err != nil {
			return 0, err
		}
		w.accumulate(stored, cut)
		w.s.metrics.duplicates.Add(float64(len(rows) - len(stored)))
		return len(rows), nil
	}
	for start := 0; start < len(rows); start += sqlTxRows {
		chunk := rows[start:min(start+sqlTxRows, len(rows))]
		var stored []row
		err := errSomeStored
		if w.fresh(chunk) {
			stored, err = storeSQL(ctx, w.s.db, chunk, cut, false)
		}
		if errors.Is(err, errSomeStored) {
			stored, err = storeSQL(ctx, w.s.db, chunk, cut, true)
		}
		if err != nil {
			return start, err
		}
		w.noteStored(chunk)
		w.accumulate(stored, cut)
		w.s.metrics.duplicates.Add(float64(len(chunk) - len(stored)))
	}
	return len(rows), nil
}

// rowKey identifies a reading.
type rowKey struct {
	point string
	ts    int64
}

// without returns rows less those whose key is in dups (rows itself when dups is empty).
func without(rows []row, dups map[rowKey]bool) []row {
	if len(dups) == 0 {
		return rows
	}
	out := make([]row, 0, len(rows))
	for _, r := range rows {
		if !dups[rowKey{r.point, r.ts}] {
			out = append(out, r)
		}
	}
	return out
}

const pgRollupUpsert = `INSERT INTO reading_rollups (point_id, resolution, bucket, n, sum, min, max, last, last_ts)
	SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::bigint[])
	ON CONFLICT (point_id, resolution, bucket) DO UPDATE SET
		n = reading_rollups.n + excluded.n, sum = reading_rollups.sum + excluded.sum,
		min = LEAST(reading_rollups.min, excluded.min), max = GREATEST(reading_rollups.max, excluded.max),
		last = CASE WHEN excluded.last_ts >= reading_rollups.last_ts THEN excluded.last ELSE reading_rollups.last END,
		last_ts = GREATEST(reading_rollups.last_ts, excluded.last_ts)`

// COPY cannot skip rows that conflict, so readings are copied into a temporary staging table
// (one per connection, emptied at commit) and moved into readings with ON CONFLICT DO NOTHING;
// the same statement answers the staged rows that were not inserted (usually none, so nothing
// more crosses the wire).
const (
	pgStage     = `CREATE TEMP TABLE IF NOT EXISTS readings_stage (point_id TEXT, ts BIGINT, value DOUBLE PRECISION) ON COMMIT DELETE ROWS`
	pgFromStage = `WITH ins AS (
		INSERT INTO readings (point_id, ts, value) SELECT point_id, ts, value FROM readings_stage
		ON CONFLICT (point_id, ts) DO NOTHING RETURNING point_id, ts)
	SELECT s.point_id, s.ts FROM readings_stage s LEFT JOIN ins ON ins.point_id = s.point_id AND ins.ts = s.ts
	WHERE ins.point_id IS NULL`
	pgStageQuiet = `SET LOCAL client_min_messages = warning` // no NOTICE for the existing staging table
)

// storePG stores rows and the rollups of the late ones among those inserted; it returns the
// rows inserted. Readings later than what this writer has stored for their points go straight
// into readings by COPY, as fast as before readings were unique; the others (sent again, or of
// points this writer has not stored yet) go through the staging table, in the same
// transaction. Should a reading taken for new exist after all (stored by another instance, or
// twice in the batch), the unique index refuses the COPY and the whole batch is staged.
func (w *writer) storePG(ctx context.Context, pool *pgxpool.Pool, rows []row, cut int64) ([]row, error) {
	var direct, staged []row
	if w.fresh(rows) {
		direct = rows
	} else {
		for i := range rows {
			if last, ok := w.stored[rows[i].point]; ok && rows[i].ts > last {
				direct = append(direct, rows[i])
			} else {
				staged = append(staged, rows[i])
			}
		}
	}
	stored, err := storePGTx(ctx, pool, direct, staged, cut)
	var pe *pgconn.PgError
	if err != nil && len(direct) > 0 && errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		stored, err = storePGTx(ctx, pool, nil, rows, cut)
	}
	if err != nil {
		return nil, err
	}
	w.noteStored(rows)
	return stored, nil
}

const pgUniqueViolation = "23505"

// storePGTx copies direct into readings and moves those of staged not stored yet there
// through the staging table, with the rollups of the late ones among the rows inserted, in one
// transaction; it returns the rows inserted.
func storePGTx(ctx context.Context, pool *pgxpool.Pool, direct, staged []row, cut int64) ([]row, error) {
	var stored []row
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if len(direct) > 0 {
			if err := copyRows(ctx, tx, "readings", direct); err != nil {
				return fmt.Errorf("copy readings: %w", err)
			}
		}
		stored = direct
		if len(staged) > 0 {
			ins, err := stagePG(ctx, tx, staged)
			if err != nil {
				return err
			}
			if len(direct) == 0 {
				stored = ins
			} else {
				stored = append(slices.Clip(direct), ins...)
			}
		}
		if rs := lateRollups(stored, cut); len(rs) > 0 {
			return execPGRollups(ctx, tx, rs)
		}
		return nil
	})
	return stored, err
}

func copyRows(ctx context.Context, tx pgx.Tx, table string, rows []row) error {
	vals := make([]any, 3*len(rows))
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"point_id", "ts", "value"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			v := vals[3*i : 3*i+3 : 3*i+3]
			v[0], v[1], v[2] = rows[i].point, rows[i].ts, rows[i].value
			return v, nil
		}))
	return err
}

// stagePG moves those of rows not stored yet into readings through the staging table and
// returns them.
func stagePG(ctx context.Context, tx pgx.Tx, rows []row) ([]row, error) {
	if _, err := tx.Exec(ctx, pgStageQuiet); err != nil {
		return nil, fmt.Errorf("stage readings: %w", err)
	}
	if _, err := tx.Exec(ctx, pgStage); err != nil {
		return nil, fmt.Errorf("stage readings: %w", err)
	}
	if err := copyRows(ctx, tx, "readings_stage", rows); err != nil {
		return nil, fmt.Errorf("copy readings: %w", err)
	}
	res, err := tx.Query(ctx, pgFromStage)
	if err != nil {
		return nil, fmt.Errorf("insert readings: %w", err)
	}
	var dups map[rowKey]bool
	for res.Next() {
		var k rowKey
		if err := res.Scan(&k.point, &k.ts); err != nil {
			res.Close()
			return nil, fmt.Errorf("insert readings: %w", err)
		}
		if dups == nil {
			dups = map[rowKey]bool{}
		}
		dups[k] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("insert readings: %w", err)
	}
	return without(rows, dups), nil
}

// fresh reports whether every row is later than what this writer has stored for its point.
func (w *writer) fresh(rows []row) bool {
	for i := range rows {
		if last, ok := w.stored[rows[i].point]; !ok || rows[i].ts <= last {
			return false
		}
	}
	return true
}

// noteStored records that rows are in readings now (inserted or found there).
func (w *writer) noteStored(rows []row) {
	for i := range rows {
		if last, ok := w.stored[rows[i].point]; !ok || rows[i].ts > last {
			w.stored[rows[i].point] = rows[i].ts
		}
	}
}

// execPGRollups merges rollups into reading_rollups with one statement.
func execPGRollups(ctx context.Context, tx pgx.Tx, rs []rollup) error {
	{
		n := len(rs)
		pts, res := make([]string, n), make([]string, n)
		bks, ns, lts := make([]int64, n), make([]int64, n), make([]int64, n)
		sums, mins, maxs, lasts := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i, r := range rs {
			pts[i], res[i], bks[i], ns[i], sums[i], mins[i], maxs[i], lasts[i], lts[i] = r.point, r.res, r.bucket, r.n, r.sum, r.min, r.max, r.last, r.lastTS
		}
		if _, err := tx.Exec(ctx, pgRollupUpsert, pts, res, bks, ns, sums, mins, maxs, lasts, lts); err != nil {
			return fmt.Errorf("upsert rollups: %w", err)
		}
		return nil
	}
}

// SQLite: at most 999 parameters per statement in old builds; chunks stay under it. One
// transaction stores at most sqlTxRows readings or rollups, so the single write lock is held
// for a few milliseconds at a time.
const (
	sqlTxRows       = 2000
	sqlReadingChunk = 300
	sqlRollupChunk  = 100
)

var (
	readingInserts sync.Map // readingStmt → statement
	rollupUpserts  sync.Map
)

type readingStmt struct {
	n         int
	returning bool
}

func readingInsert(n int, returning bool) string {
	if q, ok := readingInserts.Load(readingStmt{n, returning}); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO readings (point_id, ts, value) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
	}
	b.WriteString(" ON CONFLICT (point_id, ts) DO NOTHING")
	if returning {
		b.WriteString(" RETURNING point_id, ts")
	}
	readingInserts.Store(readingStmt{n, returning}, b.String())
	return b.String()
}

func rollupUpsert(n int) string {
	if q, ok := rollupUpserts.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO reading_rollups (point_id, resolution, bucket, n, sum, min, max, last, last_ts) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", 9*i+j+1)
		}
		b.WriteByte(')')
	}
	b.WriteString(` ON CONFLICT (point_id, resolution, bucket) DO UPDATE SET
		n = reading_rollups.n + excluded.n, sum = reading_rollups.sum + excluded.sum,
		min = min(reading_rollups.min, excluded.min), max = max(reading_rollups.max, excluded.max),
		last = CASE WHEN excluded.last_ts >= reading_rollups.last_ts THEN excluded.last ELSE reading_rollups.last END,
		last_ts = max(reading_rollups.last_ts, excluded.last_ts)`)
	rollupUpserts.Store(n, b.String())
	return b.String()
}

// errSomeStored: a batch taken for fresh held readings stored before; it is stored again the
// careful way.
var errSomeStored = errors.New("monitor: some readings were stored before")

// storeSQL stores rows and the rollups of the late ones among those inserted; it returns the
// rows inserted. With careful, RETURNING answers which were inserted (not those stored
// before); without, a batch believed fresh is inserted as it is, and should any reading turn
// out stored before, the transaction is rolled back with errSomeStored.
func storeSQL(ctx context.Context, db sqldb.DB, rows []row, cut int64, careful bool) ([]row, error) {
	var stored []row
	err := db.InTx(ctx, func(tx sqldb.Querier) error {
		args := make([]any, 0, 3*sqlReadingChunk)
		if !careful {
			for start := 0; start < len(rows); start += sqlReadingChunk {
				chunk := rows[start:min(start+sqlReadingChunk, len(rows))]
				args = args[:0]
				for _, r := range chunk {
					args = append(args, r.point, r.ts, r.value)
				}
				n, err := tx.Exec(ctx, readingInsert(len(chunk), false), args...)
				if err != nil {
					return fmt.Errorf("insert readings: %w", err)
				}
				if n != int64(len(chunk)) {
					return errSomeStored
				}
			}
			stored = rows
			return execSQLRollups(ctx, tx, lateRollups(rows, cut))
		}
		var inserted map[rowKey]bool
		n := 0
		for start := 0; start < len(rows); start += sqlReadingChunk {
			chunk := rows[start:min(start+sqlReadingChunk, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r.point, r.ts, r.value)
			}
			res, err := tx.Query(ctx, readingInsert(len(chunk), true), args...)
			if err != nil {
				return fmt.Errorf("insert readings: %w", err)
			}
			got := map[rowKey]bool{}
			for res.Next() {
				var k rowKey
				if err := res.Scan(&k.point, &k.ts); err != nil {
					res.Close()
					return fmt.Errorf("insert readings: %w", err)
				}
				got[k] = true
			}
			res.Close()
			if err := res.Err(); err != nil {
				return fmt.Errorf("insert readings: %w", err)
			}
			if len(got) < len(chunk) && inserted == nil {
				inserted = map[rowKey]bool{}
				for _, r := range rows[:start] { // every earlier chunk went in whole
					inserted[rowKey{r.point, r.ts}] = true
				}
			}
			if inserted != nil {
				for k := range got {
					inserted[k] = true
				}
			}
			n += len(got)
		}
		stored = rows
		if inserted != nil {
			stored = make([]row, 0, n)
			for _, r := range rows {
				if k := (rowKey{r.point, r.ts}); inserted[k] {
					stored = append(stored, r)
					delete(inserted, k) // a key twice in rows was inserted once
				}
			}
		}
		return execSQLRollups(ctx, tx, lateRollups(stored, cut))
	})
	return stored, err
}

// execSQLRollups merges rollups into reading_rollups in statements of sqlRollupChunk rows.
func execSQLRollups(ctx context.Context, tx sqldb.Querier, rs []rollup) error {
	args := make([]any, 0, 9*sqlRollupChunk)
	for start := 0; start < len(rs); start += sqlRollupChunk {
		chunk := rs[start:min(start+sqlRollupChunk, len(rs))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r.point, r.res, r.bucket, r.n, r.sum, r.min, r.max, r.last, r.lastTS)
		}
		if _, err := tx.Exec(ctx, rollupUpsert(len(chunk)), args...); err != nil {
			return fmt.Errorf("upsert rollups: %w", err)
		}
	}
	return nil
}

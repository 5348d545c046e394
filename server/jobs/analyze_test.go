package jobs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/postgres/pgtest"
)

// TestAnalyzeJob: on PostgreSQL the runner's statistics job analyzes a table loaded in bulk
// where autovacuum is off, without anybody asking.
func TestAnalyzeJob(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `ALTER TABLE sync_changes SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO sync_changes (seq, collection, record_id, at)
		SELECT g, 'hazards', 'h' || g, now() FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, db, jobs.Options{Log: slog.New(slog.DiscardHandler), Interval: -1,
		AnalyzeEvery: 300 * time.Millisecond, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r.Stop(sctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rows float64
		var analyzed bool
		db.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
		if err := db.QueryRow(ctx, `SELECT c.reltuples::float8, s.last_analyze IS NOT NULL FROM pg_stat_user_tables s
			JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = current_schema() AND s.relname = 'sync_changes'`).Scan(&rows, &analyzed); err != nil {
			t.Fatal(err)
		}
		if analyzed && rows == 5000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync_changes not analyzed by the job: %v rows known, analyzed %v", rows, analyzed)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

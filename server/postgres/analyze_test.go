package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/postgres/pgtest"
)

// stats reads what the planner and the statistics collector know of a table.
func stats(t *testing.T, db *postgres.DB, table string) (reltuples float64, modified int64, analyzed bool) {
	t.Helper()
	ctx := context.Background()
	err := db.QueryRow(ctx, `SELECT c.reltuples::float8, s.n_mod_since_analyze, s.last_analyze IS NOT NULL
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = current_schema() AND s.relname = $1`, table).Scan(&reltuples, &modified, &analyzed)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// TestAnalyzeStale: a table loaded in bulk where autovacuum is off gets statistics from the
// job's AnalyzeStale, the planner then knows its size, and a second pass analyzes nothing.
func TestAnalyzeStale(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	// Autovacuum off for the table, whatever the server's setting: the case to handle.
	if _, err := db.Exec(ctx, `ALTER TABLE sync_records SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO sync_records (collection, record_id, seq, stamps, digests)
		SELECT 'hazards', 'h' || g, g, '{}', '{}' FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	// The statistics collector learns of the rows when the inserting backend reports them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
		if _, modified, _ := stats(t, db, "sync_records"); modified >= 20000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the inserts never showed in pg_stat_user_tables")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if tuples, _, analyzed := stats(t, db, "sync_records"); analyzed || tuples > 0 {
		t.Fatalf("sync_records analyzed before the job: %v rows known, analyzed %v", tuples, analyzed)
	}

	t.Run("OK", func(t *testing.T) {
		tables, err := db.AnalyzeStale(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(tables, "sync_records") {
			t.Fatalf("analyzed %v, not sync_records", tables)
		}
		db.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
		tuples, modified, analyzed := stats(t, db, "sync_records")
		if !analyzed || tuples < 19000 || tuples > 21000 || modified != 0 {
			t.Fatalf("after the job: %v rows known (want about 20000), %d modified since, analyzed %v", tuples, modified, analyzed)
		}
		again, err := db.AnalyzeStale(ctx)
		if err != nil || slices.Contains(again, "sync_records") {
			t.Fatalf("second pass analyzed %v (%v): nothing changed since", again, err)
		}
	})

	t.Run("OKBelowThreshold", func(t *testing.T) {
		// 100 changed rows of 20,000: below autovacuum's 50 + 10 %, left alone.
		if _, err := db.Exec(ctx, `UPDATE sync_records SET seq = seq + 1 WHERE seq <= 100`); err != nil {
			t.Fatal(err)
		}
		tables, err := db.AnalyzeStale(ctx)
		if err != nil || slices.Contains(tables, "sync_records") {
			t.Fatalf("analyzed %v (%v) after a few changes", tables, err)
		}
	})
}

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AnalyzeStale does for the schema's tables what autovacuum's analyze would, where autovacuum
// will not (autovacuum = off, or autovacuum_enabled = false on the table): it ANALYZEs every
// table whose rows changed since its last analyze by more than autovacuum would allow
// (autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × its rows), and every table
// never analyzed that has rows. It returns the tables it analyzed.
//
// Without statistics PostgreSQL takes a freshly imported table for nearly empty: a sync page's
// lookups of a thousand records by id became scans of a whole collection, ten times slower
// (BENCHMARKS.md, "Sync end to end beside a peer"). Where autovacuum runs it does this itself
// within autovacuum_naptime and AnalyzeStale leaves those tables alone.
func (db *DB) AnalyzeStale(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT s.schemaname, s.relname
		FROM pg_stat_user_tables s
		JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = current_schema()
		  AND (current_setting('autovacuum') = 'off' OR c.reloptions @> ARRAY['autovacuum_enabled=false']
		       OR c.reloptions @> ARRAY['autovacuum_enabled=off'])
		  AND s.n_mod_since_analyze > 0
		  AND (c.reltuples < 0 OR s.n_mod_since_analyze >
		       current_setting('autovacuum_analyze_threshold')::float8 +
		       current_setting('autovacuum_analyze_scale_factor')::float8 * c.reltuples)
		ORDER BY s.relname`)
	if err != nil {
		return nil, fmt.Errorf("postgres: analyze: find stale tables: %w", err)
	}
	stale, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Schema, Table string }])
	if err != nil {
		return nil, fmt.Errorf("postgres: analyze: find stale tables: %w", err)
	}
	var done []string
	for _, t := range stale {
		if _, err := db.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{t.Schema, t.Table}.Sanitize()); err != nil {
			return done, fmt.Errorf("postgres: analyze %s: %w", t.Table, err)
		}
		done = append(done, t.Table)
	}
	return done, nil
}

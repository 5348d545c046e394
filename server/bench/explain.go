package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// explain prints the plans (PostgreSQL: EXPLAIN ANALYZE, buffers included; SQLite: EXPLAIN
// QUERY PLAN and the statement's time) of the statements a pull page and a push batch run
// most, on a server's database holding the seeded records of ent.
func explain(ctx context.Context, db sqldb.DB, ent string) error {
	var ids []string
	rows, err := db.Query(ctx, `SELECT record_id FROM sync_changes WHERE enterprise_id = $1 ORDER BY seq LIMIT 1000`, ent)
	ids, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) { var s string; return s, r.Scan(&s) })
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("no seeded records")
	}
	in := sqldb.Placeholders(2, len(ids))
	idArgs := make([]any, len(ids))
	for i, id := range ids {
		idArgs[i] = id
	}
	stmts := []stmt{
		{"pull: one page of the change log of an enterprise scope (1,001 rows)",
			`SELECT seq, collection, record_id FROM sync_changes WHERE seq > $1 AND seq <= $2 AND (enterprise_id = $3 OR old_enterprise_id = $4) ORDER BY seq LIMIT 1001`,
			[]any{int64(0), int64(1) << 40, ent, ent}},
		{"pull: the same page as the server reads it now, a UNION of one ordered index scan per branch (migration 00022)",
			`SELECT seq, collection, record_id FROM (SELECT * FROM (SELECT seq, collection, record_id FROM sync_changes WHERE enterprise_id = $1 AND enterprise_id <> '' AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4) b0
			UNION SELECT * FROM (SELECT seq, collection, record_id FROM sync_changes WHERE old_enterprise_id = $5 AND old_enterprise_id <> '' AND seq > $6 AND seq <= $7 ORDER BY seq LIMIT $8) b1) u ORDER BY seq LIMIT $9`,
			[]any{ent, int64(0), int64(1) << 40, 1001, ent, int64(0), int64(1) << 40, 1001, 1001}},
		{"pull: the last page of the same scope (checkpoint 1,000 before the head)",
			`SELECT seq, collection, record_id FROM (SELECT * FROM (SELECT seq, collection, record_id FROM sync_changes WHERE enterprise_id = $1 AND enterprise_id <> '' AND seq > (SELECT seq - 1000 FROM sync_counter) AND seq <= $2 ORDER BY seq LIMIT $3) b0
			UNION SELECT * FROM (SELECT seq, collection, record_id FROM sync_changes WHERE old_enterprise_id = $4 AND old_enterprise_id <> '' AND seq > (SELECT seq - 1000 FROM sync_counter) AND seq <= $5 ORDER BY seq LIMIT $6) b1) u ORDER BY seq LIMIT $7`,
			[]any{ent, int64(1) << 40, 1001, ent, int64(1) << 40, 1001, 1001}},
		{"pull: the change-log states of the page's 1,000 records",
			`SELECT record_id, seq, org_path, enterprise_id, user_id, deleted, deleted_at, stamps, '' FROM sync_records WHERE collection = $1 AND record_id IN (` + in + `)`,
			append([]any{"hazards"}, idArgs...)},
		{"pull and push: the domain rows of 1,000 hazards",
			`SELECT id, title, description, enterprise_id, level, status, photos, reported_by, reported_at, deadline, rectifier_id, location FROM hazards WHERE id IN (` + sqldb.Placeholders(1, len(ids)) + `)`,
			idArgs},
		{"push: stored answers of 1,000 mutation ids",
			`SELECT mutation_id, payload_hash, user_id, result FROM sync_mutations WHERE mutation_id IN (` + sqldb.Placeholders(1, len(ids)) + `)`,
			idArgs},
	}
	pg := db.Engine() == "postgres"
	run := func(fn func(q sqldb.Querier) error) error { return fn(db) }
	if pg {
		// As Pull reads them (syncsvc: enable_bitmapscan off in its transaction), after the
		// plans the planner picks by itself.
		run = func(fn func(q sqldb.Querier) error) error {
			if err := fn(db); err != nil {
				return err
			}
			fmt.Printf("\n**As the pull runs them (`SET LOCAL enable_bitmapscan = off`):**\n")
			return db.ReadTx(ctx, func(tx sqldb.Querier) error {
				if _, err := tx.Exec(ctx, "SET LOCAL enable_bitmapscan = off"); err != nil {
					return err
				}
				return fn(tx)
			})
		}
	}
	return run(func(db sqldb.Querier) error { return plans(ctx, db, pg, stmts) })
}

type stmt struct {
	what, sql string
	args      []any
}

func plans(ctx context.Context, db sqldb.Querier, pg bool, stmts []stmt) error {
	for _, s := range stmts {
		engine := "sqlite"
		if pg {
			engine = "postgres"
		}
		fmt.Printf("\n%s — %s\n\n```\n", engine, s.what)
		q := "EXPLAIN QUERY PLAN " + s.sql
		if pg {
			q = "EXPLAIN (ANALYZE, BUFFERS) " + s.sql
		}
		rows, err := db.Query(ctx, q, s.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		for rows.Next() {
			if pg {
				var line string
				if err := rows.Scan(&line); err != nil {
					rows.Close()
					return err
				}
				if len(line) > 240 {
					line = line[:240] + " …"
				}
				fmt.Println(line)
			} else {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					rows.Close()
					return err
				}
				fmt.Println(detail)
			}
		}
		rows.Close()
		if !pg {
			t0 := time.Now()
			rows, err := db.Query(ctx, s.sql, s.args...)
			n := 0
			if err == nil {
				for rows.Next() {
					n++
				}
				rows.Close()
			}
			fmt.Printf("-- %d rows in %s\n", n, strings.TrimSpace(time.Since(t0).Round(10*time.Microsecond).String()))
		}
		fmt.Println("```")
	}
	return nil
}

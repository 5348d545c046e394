// Package postgres is the production database engine on pgx v5's pool. It implements sqldb.DB;
// migrations run only through Migrate (the `migrate` command), and Open refuses a schema that
// does not match the program.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/yingji/yingji/migrations"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// DB is an open PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
	// reads serves the read-only transactions (ReadTx: a phone's pull), the single statements
	// of Query and QueryRow (a session's lookup on every request) and NOTIFY, beside the pool
	// of the write transactions and Exec: a burst of writers queued on a row lock (the change
	// log's counter, an incident code) holds every connection of its pool, and a pull or a poke
	// queued behind them waited for the whole burst to end.
	reads  *pgxpool.Pool
	std    *sql.DB // for goose, over the same pool
	mig    *sqldb.Migrator
	schema string
}

// Options tune Open.
type Options struct {
	// Schema, when set, becomes the connection's search_path (tests use one per test).
	Schema   string
	MaxConns int32
}

// Open connects to url. It does not migrate: call Migrate, or check with sqldb.CheckSchema.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if opt.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	}
	// Statements are prepared once per connection; a generic plan made while a table was
	// still empty (a fresh install, a bulk load) would scan it whole for the life of the
	// connection. Custom plans follow the data.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	reads, err := pgxpool.NewWithConfig(ctx, cfg.Copy())
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := &DB{pool: pool, reads: reads, std: stdlib.OpenDBFromPool(pool), schema: opt.Schema}
	if db.mig, err = sqldb.NewMigrator(sqldb.Postgres, db.std, migrations.Postgres()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies every pending migration and returns the version reached.
func (db *DB) Migrate(ctx context.Context) (int64, error) { return db.mig.Up(ctx) }

// Pool exposes the pool for metrics and for libraries that take one.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

func (db *DB) Engine() string                                         { return sqldb.Postgres }
func (db *DB) Ping(ctx context.Context) error                         { return db.pool.Ping(ctx) }
func (db *DB) SchemaStatus(ctx context.Context) (int64, int64, error) { return db.mig.Status(ctx) }

func (db *DB) Close() error {
	err := db.std.Close()
	db.pool.Close()
	db.reads.Close()
	return err
}

func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return execOn(ctx, db.pool, query, args)
}

func (db *DB) Query(ctx context.Context, query string, args ...any) (sqldb.Rows, error) {
	return queryOn(ctx, db.reads, query, args)
}

func (db *DB) QueryRow(ctx context.Context, query string, args ...any) sqldb.Row {
	return row{db.reads.QueryRow(ctx, query, args...)}
}

func (db *DB) InTx(ctx context.Context, fn func(sqldb.Querier) error) error {
	return db.runTx(ctx, db.pool, pgx.TxOptions{}, fn)
}

// ReadTx runs fn in a REPEATABLE READ, READ ONLY transaction: one snapshot throughout.
func (db *DB) ReadTx(ctx context.Context, fn func(sqldb.Querier) error) error {
	return db.runTx(ctx, db.reads, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// asyncCommitKey marks a context whose transactions commit without waiting for the WAL flush.
type asyncCommitKey struct{}

// AsyncCommit returns a context whose read-write transactions (InTx) commit asynchronously
// (SET LOCAL synchronous_commit TO OFF): the commit returns before its WAL reaches the disk.
// For bulk work that is redone if lost, such as the demo city's history on the first start:
// a crash may lose its last fraction of a second, never corrupt anything, and the next ordinary
// commit flushes everything before it. The SQLite engine ignores it.
func AsyncCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, asyncCommitKey{}, true)
}

func (db *DB) runTx(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(sqldb.Querier) error) error {
	x := &tx{}
	async := opts.AccessMode != pgx.ReadOnly && ctx.Value(asyncCommitKey{}) != nil
	err := pgx.BeginTxFunc(ctx, pool, opts, func(t pgx.Tx) error {
		x.t = t
		if async {
			if _, err := t.Exec(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
				return err
			}
		}
		return fn(x)
	})
	if err != nil {
		return mapErr(err)
	}
	for _, f := range x.after {
		f()
	}
	return nil
}

// AfterCommit outside a transaction runs fn at once.
func (db *DB) AfterCommit(fn func()) { fn() }

type conn interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}

type tx struct {
	t     pgx.Tx
	after []func()
}

func (t *tx) AfterCommit(fn func()) { t.after = append(t.after, fn) }

func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return execOn(ctx, t.t, query, args)
}
func (t *tx) Query(ctx context.Context, query string, args ...any) (sqldb.Rows, error) {
	return queryOn(ctx, t.t, query, args)
}
func (t *tx) QueryRow(ctx context.Context, query string, args ...any) sqldb.Row {
	return row{t.t.QueryRow(ctx, query, args...)}
}

func execOn(ctx context.Context, c conn, query string, args []any) (int64, error) {
	tag, err := c.Exec(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

func queryOn(ctx context.Context, c conn, query string, args []any) (sqldb.Rows, error) {
	r, err := c.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return rows{r}, nil
}

type rows struct{ r pgx.Rows }

func (r rows) Next() bool             { return r.r.Next() }
func (r rows) Scan(dest ...any) error { return mapErr(r.r.Scan(dest...)) }
func (r rows) Err() error             { return mapErr(r.r.Err()) }
func (r rows) Close()                 { r.r.Close() }

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error { return mapErr(r.r.Scan(dest...)) }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return yingji.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %v", yingji.ErrDuplicate, err)
	}
	return err
}

// Schema is the search_path schema the database was opened with ("" for the default).
func (db *DB) Schema() string { return db.schema }

// Package sqlite is the embedded database engine: mattn/go-sqlite3 tuned for a server (WAL,
// busy_timeout, foreign keys, one writer connection beside a read pool). It implements
// sqldb.DB and migrates itself on open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/yingji/yingji/migrations"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// DB is an open SQLite database.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer at a time
	read  *sql.DB // a pool of read-only connections
	mig   *sqldb.Migrator
	path  string
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_loc", "UTC")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{write: w, path: path}
	// Migrate before the read pool opens so readers see the schema.
	if db.mig, err = sqldb.NewMigrator(sqldb.SQLite, w, migrations.SQLite()); err != nil {
		w.Close()
		return nil, err
	}
	if _, err := db.mig.Up(ctx); err != nil {
		w.Close()
		return nil, err
	}
	q.Set("_query_only", "1")
	q.Del("_txlock")
	r, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.read = r
	return db, nil
}

// WriteDB and ReadDB expose the handles for metrics and for libraries that need *sql.DB.
func (db *DB) WriteDB() *sql.DB { return db.write }
func (db *DB) ReadDB() *sql.DB  { return db.read }

// Path is the database file.
func (db *DB) Path() string { return db.path }

func (db *DB) Engine() string { return sqldb.SQLite }

func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

func (db *DB) SchemaStatus(ctx context.Context) (int64, int64, error) { return db.mig.Status(ctx) }

func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return execOn(ctx, db.write, query, args)
}

func (db *DB) Query(ctx context.Context, query string, args ...any) (sqldb.Rows, error) {
	return queryOn(ctx, db.read, query, args)
}

func (db *DB) QueryRow(ctx context.Context, query string, args ...any) sqldb.Row {
	return row{db.read.QueryRowContext(ctx, rewrite(query), args...)}
}

// InTx runs fn in an immediate transaction on the writer connection.
func (db *DB) InTx(ctx context.Context, fn func(sqldb.Querier) error) error {
	return runTx(ctx, db.write, fn)
}

// ReadTx runs fn in a deferred transaction on a reader: WAL gives it one snapshot from its
// first read to its end.
func (db *DB) ReadTx(ctx context.Context, fn func(sqldb.Querier) error) error {
	return runTx(ctx, db.read, fn)
}

func runTx(ctx context.Context, d *sql.DB, fn func(sqldb.Querier) error) error {
	t, err := d.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	x := &tx{t: t}
	if err := fn(x); err != nil {
		t.Rollback()
		return err
	}
	if err := mapErr(t.Commit()); err != nil {
		return err
	}
	for _, f := range x.after {
		f()
	}
	return nil
}

// AfterCommit outside a transaction runs fn at once.
func (db *DB) AfterCommit(fn func()) { fn() }

type conn interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

type tx struct {
	t     *sql.Tx
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
	return row{t.t.QueryRowContext(ctx, rewrite(query), args...)}
}

func execOn(ctx context.Context, c conn, query string, args []any) (int64, error) {
	res, err := c.ExecContext(ctx, rewrite(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

func queryOn(ctx context.Context, c conn, query string, args []any) (sqldb.Rows, error) {
	r, err := c.QueryContext(ctx, rewrite(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return rows{r}, nil
}

type rows struct{ r *sql.Rows }

func (r rows) Next() bool             { return r.r.Next() }
func (r rows) Scan(dest ...any) error { return mapErr(r.r.Scan(dest...)) }
func (r rows) Err() error             { return mapErr(r.r.Err()) }
func (r rows) Close()                 { r.r.Close() }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error { return mapErr(r.r.Scan(dest...)) }

// mapErr turns engine errors into the domain's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return yingji.ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		return fmt.Errorf("%w: %v", yingji.ErrDuplicate, err)
	}
	return err
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

var rewritten sync.Map // query text → SQLite text

// rewrite turns PostgreSQL's $N placeholders into SQLite's numbered ?N, so a query may use
// its parameters in any order and more than once on both engines.
func rewrite(q string) string {
	if v, ok := rewritten.Load(q); ok {
		return v.(string)
	}
	s := placeholder.ReplaceAllString(q, "?$1")
	rewritten.Store(q, s)
	return s
}

// Package sqldb is the small database interface the stores are written against, so one store
// implementation serves both engines. Queries use the SQL both accept: $1 placeholders,
// ON CONFLICT, RETURNING, CTEs. The sqlite and postgres packages implement it and map their
// engine's errors to yingji's sentinels (ErrNotFound, ErrDuplicate).
package sqldb

import (
	"context"
)

// Engine names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Querier runs statements: a DB outside a transaction, or a Tx.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row. Its Scan returns an error
	// wrapping yingji.ErrNotFound when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// AfterCommit runs fn once the transaction commits (never if it rolls back); outside a
	// transaction it runs fn at once.
	AfterCommit(fn func())
}

// Rows is a result set; always Close it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result.
type Row interface {
	Scan(dest ...any) error
}

// DB is an open database of one engine.
type DB interface {
	Querier
	// InTx runs fn in a read-write transaction, committing when it returns nil.
	InTx(ctx context.Context, fn func(tx Querier) error) error
	// ReadTx runs fn in a read-only transaction that sees one consistent snapshot.
	ReadTx(ctx context.Context, fn func(tx Querier) error) error
	Engine() string
	Ping(ctx context.Context) error
	// SchemaStatus reports the schema version in the database and the one this program knows.
	SchemaStatus(ctx context.Context) (have, want int64, err error)
	Close() error
}

// CollectRows reads every row with scan and closes rows.
func CollectRows[T any](rows Rows, err error, scan func(Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

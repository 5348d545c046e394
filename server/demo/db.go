package demo

import (
	"context"

	"github.com/yingji/yingji/server/sqldb"
)

// historyDB is the database as the history's services see it. On PostgreSQL a statement a
// service runs outside a transaction (the alert deliveries and reminders jobs insert their rows
// one by one) runs in a transaction of its own, so it commits without waiting for the WAL flush
// as the history's transactions do (postgres.AsyncCommit, set by the caller of Load): alone,
// each of those few hundred commits waited for the disk. One statement in a transaction of its
// own does what it did alone.
type historyDB struct {
	sqldb.DB
}

func newHistoryDB(db sqldb.DB) sqldb.DB {
	if db.Engine() != sqldb.Postgres {
		return db
	}
	return historyDB{db}
}

func (d historyDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := d.DB.InTx(ctx, func(q sqldb.Querier) error {
		var err error
		n, err = q.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

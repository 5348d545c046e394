package syncsvc

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
)

// insertBuffer holds, during one push batch, the new rows of tables that defer their inserts
// (Table.Deferred): they go out as one multi-row INSERT per table and column set when the batch
// moves on to another collection, when anything reads or updates the table through the sync
// path, and before the batch's change log is written. A failure of that statement cannot be
// told to one mutation: the batch is then tried again with every insert made one by one (see
// Push), which finds the mutation to reject.
type insertBuffer struct {
	q       sqldb.Querier
	pending []*pendingRows
}

type pendingRows struct {
	table string
	cols  []string
	rows  [][]any
}

type insertsKey struct{}

func withInserts(ctx context.Context, q sqldb.Querier) (context.Context, *insertBuffer) {
	b := &insertBuffer{q: q}
	return context.WithValue(ctx, insertsKey{}, b), b
}

func insertsOf(ctx context.Context) *insertBuffer {
	b, _ := ctx.Value(insertsKey{}).(*insertBuffer)
	return b
}

// add keeps one row to insert later.
func (b *insertBuffer) add(table string, cols []string, args []any) {
	for _, p := range b.pending {
		if p.table == table && slicesEqual(p.cols, cols) {
			p.rows = append(p.rows, args)
			return
		}
	}
	b.pending = append(b.pending, &pendingRows{table: table, cols: cols, rows: [][]any{args}})
}

// deferredFailure is a failed multi-row insert of deferred rows.
type deferredFailure struct{ err error }

func (e *deferredFailure) Error() string { return "sync: deferred inserts: " + e.err.Error() }
func (e *deferredFailure) Unwrap() error { return e.err }

// flush writes every row kept, in the order the tables were first written.
func (b *insertBuffer) flush(ctx context.Context) error {
	if b == nil || len(b.pending) == 0 {
		return nil
	}
	pending := b.pending
	b.pending = nil
	for _, p := range pending {
		// At most ~30,000 arguments a statement (SQLite's limit is 32,766).
		per := max(1, 30000/len(p.cols))
		for start := 0; start < len(p.rows); start += per {
			chunk := p.rows[start:min(start+per, len(p.rows))]
			args := make([]any, 0, len(chunk)*len(p.cols))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := b.q.Exec(ctx, "INSERT INTO "+p.table+" ("+strings.Join(p.cols, ", ")+") VALUES "+valuesList(len(chunk), len(p.cols)), args...); err != nil {
				return &deferredFailure{fmt.Errorf("%s: %w", p.table, err)}
			}
		}
	}
	return nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

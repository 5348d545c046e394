package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// auditBuffer is the history's audit store: the services record every action as they do live
// (audit.Service), but the entries are written in batches, many rows to an INSERT and one
// transaction to a batch, instead of one commit each. On PostgreSQL each of those single-row
// commits outside a transaction waited for its WAL flush: with a month of history's thousands
// of entries that was the largest part of the first start there.
type auditBuffer struct {
	db      sqldb.DB
	store   audit.Store
	pending []audit.Entry
}

// auditBatch is how many entries wait before they are written; auditRows go in one INSERT.
const (
	auditBatch = 2000
	auditRows  = 200
)

func (b *auditBuffer) InsertAudit(ctx context.Context, e audit.Entry) error {
	b.pending = append(b.pending, e)
	if len(b.pending) >= auditBatch {
		return b.flush(ctx)
	}
	return nil
}

// ListAudit reads the log with what is pending written first.
func (b *auditBuffer) ListAudit(ctx context.Context, f audit.Filter, p yingji.ListParams) (yingji.Page[audit.Entry], error) {
	if err := b.flush(ctx); err != nil {
		return yingji.Page[audit.Entry]{}, err
	}
	return b.store.ListAudit(ctx, f, p)
}

// flush writes the pending entries in one transaction.
func (b *auditBuffer) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	const cols = 12
	err := b.db.InTx(ctx, func(q sqldb.Querier) error {
		for start := 0; start < len(b.pending); start += auditRows {
			rows := b.pending[start:min(start+auditRows, len(b.pending))]
			var sql strings.Builder
			sql.WriteString(`INSERT INTO audit_log (id, at, user_id, username, actor_org_path, ip, request_id, action, object_type, object_id, result, detail) VALUES `)
			args := make([]any, 0, len(rows)*cols)
			for i, e := range rows {
				if i > 0 {
					sql.WriteString(", ")
				}
				sql.WriteString("(")
				for c := range cols {
					if c > 0 {
						sql.WriteString(", ")
					}
					fmt.Fprintf(&sql, "$%d", i*cols+c+1)
				}
				sql.WriteString(")")
				args = append(args, e.ID, e.At.UTC(), e.UserID, e.Username, e.ActorOrgPath, e.IP, e.RequestID, e.Action, e.ObjectType,
					e.ObjectID, e.Result, string(e.Detail))
			}
			if _, err := q.Exec(ctx, sql.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo history: audit log: %w", err)
	}
	b.pending = b.pending[:0]
	return nil
}

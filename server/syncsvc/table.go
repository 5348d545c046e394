package syncsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/syncproto"
)

// Table maps a collection's fields one to one onto the columns of a simple domain table:
// strings and times in TEXT columns, everything else (arrays, objects, numbers) as JSON text.
// A collection whose table looks like that declares a Table instead of writing SQL.
type Table struct {
	Name    string
	Columns []string        // field names, also column names; "id" is implicit
	JSON    map[string]bool // columns holding JSON text
	// Extra returns server columns computed from the fields (org_path), written on save.
	Extra func(ctx context.Context, q sqldb.Querier, f Fields) (map[string]any, error)
	// Stamped adds created_at and updated_at, maintained on save.
	Stamped bool
	// Deferred lets a push batch insert the table's new records with one multi-row statement
	// (see insertBuffer) instead of one each. Set it only when the collection's own code
	// (Authorize, Prepare, CheckChange, Place, Save and the observers of its changes) never
	// reads the table by its own SQL during a push: a new record of the batch is not in the
	// table until the batch moves on to another collection or reads it through Load.
	Deferred bool
}

// Load reads records by id.
func (t *Table) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]Fields, error) {
	if err := insertsOf(ctx).flush(ctx); err != nil {
		return nil, err
	}
	out := map[string]Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, "SELECT id, "+strings.Join(t.Columns, ", ")+" FROM "+t.Name+" WHERE id IN ("+in+")", args...)
		if err != nil {
			return fmt.Errorf("sync: load %s: %w", t.Name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			vals := make([]string, len(t.Columns))
			dest := []any{&id}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			f := make(Fields, len(t.Columns))
			for i, c := range t.Columns {
				if t.JSON[c] {
					f[c] = json.RawMessage(vals[i])
				} else {
					f[c] = quote(vals[i])
				}
			}
			out[id] = f
		}
		return rows.Err()
	})
	return out, err
}

// Save inserts, updates or deletes a record.
func (t *Table) Save(ctx context.Context, q sqldb.Querier, id string, f Fields, created, deleted bool) error {
	buf := insertsOf(ctx)
	if !created || deleted || !t.Deferred {
		if err := buf.flush(ctx); err != nil {
			return err
		}
		buf = nil
	}
	if deleted {
		_, err := q.Exec(ctx, "DELETE FROM "+t.Name+" WHERE id = $1", id)
		return err
	}
	cols := []string{"id"}
	args := []any{id}
	for _, c := range t.Columns {
		cols = append(cols, c)
		args = append(args, t.value(c, f[c]))
	}
	if t.Extra != nil {
		extra, err := t.Extra(ctx, q, f)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(extra))
		for c := range extra {
			names = append(names, c)
		}
		sort.Strings(names) // one column order, so deferred rows share a statement
		for _, c := range names {
			cols = append(cols, c)
			args = append(args, extra[c])
		}
	}
	now := time.Now().UTC()
	if t.Stamped {
		cols = append(cols, "updated_at")
		args = append(args, now)
	}
	if created {
		if t.Stamped {
			cols = append(cols, "created_at")
			args = append(args, now)
		}
		if buf != nil {
			buf.add(t.Name, cols, args)
			return nil
		}
		_, err := q.Exec(ctx, "INSERT INTO "+t.Name+" ("+strings.Join(cols, ", ")+") VALUES ("+Placeholders(1, len(cols))+")", args...)
		return err
	}
	sets := make([]string, 0, len(cols)-1)
	for i, c := range cols[1:] {
		sets = append(sets, fmt.Sprintf("%s = $%d", c, i+2))
	}
	_, err := q.Exec(ctx, "UPDATE "+t.Name+" SET "+strings.Join(sets, ", ")+" WHERE id = $1", args...)
	return err
}

func (t *Table) value(col string, v json.RawMessage) string {
	if t.JSON[col] {
		if len(v) == 0 {
			return "null"
		}
		return string(v)
	}
	return stringOf(v)
}

// quote is JSON(s) for a string: the bytes json.Marshal writes, without its reflection for
// the common string that needs no escape.
func quote(s string) json.RawMessage {
	return syncproto.AppendString(make([]byte, 0, len(s)+2), s)
}

package store

import (
	"context"
	"strings"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var _ audit.Store = (*Store)(nil)

func (s *Store) InsertAudit(ctx context.Context, e audit.Entry) error {
	_, err := s.DB.Exec(ctx, `INSERT INTO audit_log (id, at, user_id, username, actor_org_path, ip, request_id, action,
		object_type, object_id, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.At.UTC(), e.UserID, e.Username, e.ActorOrgPath, e.IP, e.RequestID, e.Action, e.ObjectType, e.ObjectID,
		e.Result, string(e.Detail))
	return err
}

var auditSorts = map[string]string{"at": "at", "username": "username", "action": "action"}

func (s *Store) ListAudit(ctx context.Context, f audit.Filter, p yingji.ListParams) (yingji.Page[audit.Entry], error) {
	page := yingji.Page[audit.Entry]{Items: []audit.Entry{}}
	order, err := p.OrderBy(auditSorts, "at DESC, id DESC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	// Entries of the system and of failed logins by unknown names have no org path; only a
	// caller whose scope is the whole tree ("/…" of the city) sees them via the "" prefix.
	if f.OrgPrefix != "" {
		w.Prefix("actor_org_path", f.OrgPrefix)
	}
	if f.UserID != "" {
		w.Add("user_id = ?", f.UserID)
	}
	if f.Username != "" {
		w.Add("username = ?", strings.ToLower(f.Username))
	}
	if strings.HasSuffix(f.Action, ".") {
		w.Prefix("action", f.Action)
	} else if f.Action != "" {
		w.Add("action = ?", f.Action)
	}
	if f.ObjectType != "" {
		w.Add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		w.Add("object_id = ?", f.ObjectID)
	}
	if f.Result != "" {
		w.Add("result = ?", f.Result)
	}
	if f.From != nil {
		w.Add("at >= ?", f.From.UTC())
	}
	if f.To != nil {
		w.Add("at < ?", f.To.UTC())
	}
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log"+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := s.DB.Query(ctx, `SELECT id, at, user_id, username, actor_org_path, ip, request_id, action, object_type,
		object_id, result, detail FROM audit_log`+w.SQL()+" ORDER BY "+order+" LIMIT "+w.Next(p.PageSize)+" OFFSET "+w.Next(p.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (audit.Entry, error) {
		var e audit.Entry
		var detail string
		err := r.Scan(&e.ID, &e.At, &e.UserID, &e.Username, &e.ActorOrgPath, &e.IP, &e.RequestID, &e.Action,
			&e.ObjectType, &e.ObjectID, &e.Result, &detail)
		e.Detail = []byte(detail)
		return e, err
	})
	return page, err
}

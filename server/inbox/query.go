package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Filter narrows a user's inbox.
type Filter struct {
	UnreadOnly bool
	Kind       string
}

const cols = `id, user_id, kind, title, body, level, ref_collection, ref_id, link, created_at, read_at`

func scan(r sqldb.Rows) (Notification, error) {
	var n Notification
	err := r.Scan(&n.ID, &n.UserID, &n.Kind, &n.Title, &n.Body, &n.Level, &n.RefCollection, &n.RefID, &n.Link, &n.CreatedAt, &n.ReadAt)
	return n, err
}

func (f Filter) where(userID string) (sqldb.Where, error) {
	var w sqldb.Where
	w.Add("user_id = ?", userID)
	if f.UnreadOnly {
		w.Add("read_at = ?", "")
	}
	if f.Kind != "" {
		if !slices.Contains(Kinds, f.Kind) {
			return w, yingji.Invalid("notification.bad_kind", "kind", "未知的消息类型“%s”", f.Kind)
		}
		w.Add("kind = ?", f.Kind)
	}
	return w, nil
}

func signedIn(a *yingji.Actor) error {
	if a == nil || a.UserID == "" {
		return yingji.Errorf(yingji.EUNAUTHORIZED, "auth.required", "请先登录")
	}
	return nil
}

// List returns the actor's own notifications, newest first.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Notification], error) {
	page := yingji.Page[Notification]{Items: []Notification{}}
	if err := signedIn(a); err != nil {
		return page, err
	}
	w, err := f.where(a.UserID)
	if err != nil {
		return page, err
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM notifications`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("inbox: list: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT `+cols+` FROM notifications`+w.SQL()+` ORDER BY created_at DESC, id DESC LIMIT `+
		w.Next(p.PageSize)+` OFFSET `+w.Next(p.Offset()), w.Args...)
	items, err := sqldb.CollectRows(rows, err, scan)
	if err != nil {
		return page, fmt.Errorf("inbox: list: %w", err)
	}
	page.Items = items
	return page, nil
}

// UnreadCount is the number of the actor's unread notifications (the badge).
func (s *Service) UnreadCount(ctx context.Context, a *yingji.Actor) (int, error) {
	if err := signedIn(a); err != nil {
		return 0, err
	}
	var n int
	err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at = ''`, a.UserID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inbox: unread count: %w", err)
	}
	return n, nil
}

// Get returns one of the actor's notifications; another user's is not found.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Notification, error) {
	if err := signedIn(a); err != nil {
		return Notification{}, err
	}
	return s.get(ctx, s.DB, a.UserID, id)
}

func (s *Service) get(ctx context.Context, q sqldb.Querier, userID, id string) (Notification, error) {
	rows, err := q.Query(ctx, `SELECT `+cols+` FROM notifications WHERE id = $1 AND user_id = $2`, id, userID)
	list, err := sqldb.CollectRows(rows, err, scan)
	if err != nil {
		return Notification{}, fmt.Errorf("inbox: get: %w", err)
	}
	if len(list) == 0 {
		// Another user's notification is as absent as one that never was.
		return Notification{}, yingji.Errorf(yingji.ENOTFOUND, "notification.not_found", "消息不存在")
	}
	return list[0], nil
}

// MarkRead marks one of the actor's notifications read (reading it again changes nothing)
// and returns it. The change reaches his phones by sync.
func (s *Service) MarkRead(ctx context.Context, a *yingji.Actor, id string) (Notification, error) {
	if err := signedIn(a); err != nil {
		return Notification{}, err
	}
	var n Notification
	var changed bool
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		var err error
		if n, err = s.get(ctx, tx, a.UserID, id); err != nil {
			return err
		}
		if n.ReadAt != "" {
			return nil
		}
		n.ReadAt = s.now()
		if _, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $2 WHERE id = $1`, id, n.ReadAt); err != nil {
			return fmt.Errorf("inbox: mark read: %w", err)
		}
		changed = true
		return s.Sync.Changed(ctx, tx, CollectionName, id)
	})
	if err != nil {
		var ye *yingji.Error
		if errors.As(err, &ye) && ye.Kind == yingji.ENOTFOUND {
			s.Audit.Record(ctx, a, yingji.Event{Action: "notification.read", ObjectType: "notification", ObjectID: id, Result: "denied",
				Detail: map[string]any{"reason": "not_found"}})
		}
		return Notification{}, err
	}
	if changed {
		s.Audit.Record(ctx, a, yingji.Event{Action: "notification.read", ObjectType: "notification", ObjectID: id, Result: "ok",
			Detail: map[string]any{"read_at": n.ReadAt}})
	}
	return n, nil
}

// MarkAllRead marks every unread notification of the actor read (of one kind when kind is
// set) and returns how many it marked.
func (s *Service) MarkAllRead(ctx context.Context, a *yingji.Actor, kind string) (int, error) {
	if err := signedIn(a); err != nil {
		return 0, err
	}
	w, err := Filter{UnreadOnly: true, Kind: kind}.where(a.UserID)
	if err != nil {
		return 0, err
	}
	var ids []string
	at := s.now()
	err = s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		rows, err := tx.Query(ctx, `SELECT id FROM notifications`+w.SQL(), w.Args...)
		ids, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		err = sqldb.InChunks(ids, []any{at}, func(args []any, in string) error {
			_, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $1 WHERE id IN (`+in+`)`, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("inbox: mark all read: %w", err)
		}
		return s.Sync.Changed(ctx, tx, CollectionName, ids...)
	})
	if err != nil {
		return 0, err
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: "notification.read_all", ObjectType: "notification", Result: "ok",
		Detail: map[string]any{"count": len(ids), "kind": kind, "read_at": at}})
	return len(ids), nil
}

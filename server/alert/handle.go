package alert

import (
	"context"
	"errors"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// HandleInput is an office action on an alert: the status to move to and the disposal fields
// (empty fields stay as they are; photos are added).
type HandleInput struct {
	Status   string   `json:"-"`
	Reason   string   `json:"reason"`
	Measures string   `json:"measures"`
	Photos   []string `json:"photos"`
}

// Handle moves an alert from the portal by the same rules as a phone's push: the actor must
// handle alerts in its scope, the transition must be allowed, closing needs a reason; the
// change is recorded in the change log so phones get it.
func (s *Service) Handle(ctx context.Context, a *yingji.Actor, id string, in HandleInput) (Alert, error) {
	if err := a.Require(yingji.PermAlertHandle); err != nil {
		return Alert{}, err
	}
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if err := s.Sync.Lock(ctx, tx); err != nil {
			return err
		}
		cur, err := s.alerts.Load(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		f, ok := cur[id]
		if !ok {
			return yingji.Errorf(yingji.ENOTFOUND, "alert.not_found", "预警不存在")
		}
		p, err := place(ctx, tx, id)
		if err != nil {
			return err
		}
		if !inScope(a, p) {
			return yingji.Forbidden("预警")
		}
		from := syncsvc.Str(f, "status")
		if !Machine.Allowed(from, in.Status) {
			return yingji.Errorf(yingji.ECONFLICT, "alert.bad_transition", "预警当前为“%s”，不能改为“%s”", StatusName(from), StatusName(in.Status))
		}
		next := syncsvc.Fields{}
		for k, v := range f {
			next[k] = v
		}
		next["status"] = syncsvc.JSON(in.Status)
		if r := strings.TrimSpace(in.Reason); r != "" {
			next["disposal_reason"] = syncsvc.JSON(r)
		}
		if m := strings.TrimSpace(in.Measures); m != "" {
			next["disposal_measures"] = syncsvc.JSON(m)
		}
		if len(in.Photos) > 0 {
			photos := photosOf(f)
			for _, h := range in.Photos {
				if !containsStr(photos, h) {
					photos = append(photos, h)
				}
			}
			next["photos"] = syncsvc.JSON(photos)
		}
		if err := s.alerts.Prepare(ctx, tx, a, next, false); err != nil {
			return asError(err)
		}
		now := fmtTime(s.Now())
		if err := stepFields(a, from, next, now, now); err != nil {
			return asError(err)
		}
		if err := s.alerts.Save(ctx, tx, id, next, false, false); err != nil {
			return err
		}
		return s.Sync.Changed(ctx, tx, "alerts", id)
	})
	if err != nil {
		return Alert{}, err
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: "alert." + in.Status, ObjectType: "alert", ObjectID: id, Result: "ok", Detail: in})
	return s.load(ctx, s.DB, id)
}

// AddAction records a comment or a tier's feedback from the portal (alert_actions, synced).
func (s *Service) AddAction(ctx context.Context, a *yingji.Actor, alertID, kind, text string) (string, error) {
	if err := a.Require(yingji.PermAlertHandle); err != nil {
		return "", err
	}
	id := yingji.NewID()
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if err := s.Sync.Lock(ctx, tx); err != nil {
			return err
		}
		p, err := place(ctx, tx, alertID)
		if err != nil {
			return asError(err)
		}
		if !inScope(a, p) {
			return yingji.Forbidden("预警")
		}
		f := syncsvc.Fields{"alert_id": syncsvc.JSON(alertID), "kind": syncsvc.JSON(kind), "text": syncsvc.JSON(strings.TrimSpace(text))}
		if err := s.actions.Prepare(ctx, tx, a, f, true); err != nil {
			return asError(err)
		}
		if err := s.actions.Save(ctx, tx, id, f, true, false); err != nil {
			return err
		}
		return s.Sync.Changed(ctx, tx, "alert_actions", id)
	})
	return id, err
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// asError turns a sync rejection into a coded error for the API.
func asError(err error) error {
	var r *syncproto.Rejection
	if errors.As(err, &r) {
		kind := yingji.EINVALID
		if r.Code == syncproto.CodeForbidden {
			kind = yingji.EFORBIDDEN
		}
		if r.Message == "预警不存在" {
			kind = yingji.ENOTFOUND
		}
		return &yingji.Error{Kind: kind, Code: r.Code, Message: r.Message}
	}
	return err
}

package alert

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// ActionKinds are what an action on an alert records; "feedback" is each tier's report before
// the alert closes (每一级都要反馈).
var ActionKinds = []string{"comment", "acknowledge", "dispose", "feedback"}

var actionSpec = &syncproto.CollectionSpec{
	Name:       "alert_actions",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "alert_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "text", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Set},
		{Name: "tier", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "by_user", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		// at is when the person acted: sent by the device, or the mutation's time (see
		// syncsvc.Step), bounded like it; received_at is when the server received it.
		{Name: "at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
	},
}

// Actions is the append-only collection of comments, acknowledgements, disposals and feedback
// on alerts.
type Actions struct {
	syncsvc.Table
	Now func() time.Time
}

// NewActions returns the alert_actions collection.
func NewActions() *Actions {
	c := &Actions{Now: time.Now}
	c.Table = syncsvc.Table{Name: "alert_actions", Columns: []string{"alert_id", "kind", "text", "photos", "tier", "by_user", "at", "received_at"},
		JSON: map[string]bool{"photos": true},
		Extra: func(context.Context, sqldb.Querier, syncsvc.Fields) (map[string]any, error) {
			return map[string]any{"created_at": c.Now().UTC()}, nil
		}}
	return c
}

func (c *Actions) Spec() *syncproto.CollectionSpec { return actionSpec }

func (c *Actions) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return place(ctx, q, syncsvc.Str(f, "alert_id"))
}

func (c *Actions) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if !a.Can(yingji.PermAlertHandle) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能处置预警")
	}
	var f syncsvc.Fields = m.Fields
	if cur != nil {
		f = cur
	}
	p, err := place(ctx, q, syncsvc.Str(f, "alert_id"))
	if err != nil {
		return err
	}
	if !inScope(a, p) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "该预警不在您的管辖范围内")
	}
	return nil
}

// ActorTier is the tier a user acts for: enterprise staff for the enterprise, township
// administrators for the township, everyone above for the county.
func ActorTier(a *yingji.Actor) string {
	switch {
	case a.Role.ScopeKind() == yingji.ScopeEnterprise:
		return TierEnterprise
	case a.Role == yingji.RoleTownshipAdmin || a.Role == yingji.RoleGridWorker:
		return TierTownship
	}
	return TierCounty
}

func (c *Actions) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	if created {
		f["by_user"] = syncsvc.JSON(a.UserID)
		f["tier"] = syncsvc.JSON(ActorTier(a))
		def := map[string]any{"text": "", "photos": []string{}}
		for k, v := range def {
			if _, ok := f[k]; !ok {
				f[k] = syncsvc.JSON(v)
			}
		}
		at, received, err := c.actionTime(ctx, q, f)
		if err != nil {
			return err
		}
		f["at"], f["received_at"] = syncsvc.JSON(fmtTime(at)), syncsvc.JSON(fmtTime(received))
	}
	if !slices.Contains(ActionKinds, syncsvc.Str(f, "kind")) {
		return syncsvc.Rejected(syncproto.CodeBadValue, "未知的处置记录类型（comment、acknowledge、dispose、feedback）")
	}
	if len([]rune(syncsvc.Str(f, "text"))) > 2000 {
		return syncsvc.Rejected(syncproto.CodeBadValue, "内容不超过 2000 个字")
	}
	return validateDisposal("", "", photosOf(f))
}

// actionTime is when the person took a new action: the time the device sent in "at", else
// the mutation's (syncsvc.Step); either way not after the server received it and not before
// the alert started. Outside a push (the portal) it is now.
func (c *Actions) actionTime(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (at, received time.Time, err error) {
	st := syncsvc.StepOf(ctx)
	if st == nil {
		now := c.Now().UTC()
		return now, now, nil
	}
	if v := syncsvc.Str(f, "at"); v != "" {
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return at, received, syncsvc.Rejected(syncproto.CodeBadValue, "时间“at”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
		}
		// The device's own word replaces the mutation's time, bounded alike.
		st.Set(t)
	}
	var started string
	err = q.QueryRow(ctx, `SELECT started_at FROM alerts WHERE id = $1`, syncsvc.Str(f, "alert_id")).Scan(&started)
	if errors.Is(err, yingji.ErrNotFound) {
		return at, received, syncsvc.Rejected(syncproto.CodeInvalid, "预警不存在")
	}
	if err != nil {
		return at, received, err
	}
	return st.NotBefore(parseTime(started)), st.Received, nil
}

// Save writes the action and its photos' media references.
func (c *Actions) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	if err := c.Table.Save(ctx, q, id, f, created, deleted); err != nil {
		return err
	}
	p, err := place(ctx, q, syncsvc.Str(f, "alert_id"))
	var rj *syncproto.Rejection
	if errors.As(err, &rj) {
		return rj
	}
	if err != nil {
		return err
	}
	return mediasvc.SetRefs(ctx, q, mediasvc.Refs{Collection: actionSpec.Name, RecordID: id, OrgPath: p.OrgPath,
		EnterpriseID: p.EnterpriseID, SHA256s: photosOf(f)})
}

package hazard

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// ActionKinds are what an action on a hazard records.
var ActionKinds = []string{"comment", "assign", "rectify", "submit", "accept", "reject"}

var actionSpec = &syncproto.CollectionSpec{
	Name:       "hazard_actions",
	AppendOnly: true,
	Fields: []syncproto.FieldSpec{
		{Name: "hazard_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "text", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "assignee", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "by_user", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
	},
}

// Actions is the append-only collection of comments and assignments on hazards.
type Actions struct {
	syncsvc.Table
	Now func() time.Time
}

// NewActions returns the hazard_actions collection.
func NewActions() *Actions {
	c := &Actions{Now: time.Now}
	c.Table = syncsvc.Table{Name: "hazard_actions",
		Columns: []string{"hazard_id", "kind", "text", "assignee", "by_user", "at"},
		Extra: func(context.Context, sqldb.Querier, syncsvc.Fields) (map[string]any, error) {
			return map[string]any{"created_at": c.Now().UTC()}, nil
		}}
	return c
}

func (c *Actions) Spec() *syncproto.CollectionSpec { return actionSpec }

func hazardEnterprise(ctx context.Context, q sqldb.Querier, id string) (string, string, error) {
	var ent, path string
	err := q.QueryRow(ctx, `SELECT enterprise_id, org_path FROM hazards WHERE id = $1`, id).Scan(&ent, &path)
	if errors.Is(err, yingji.ErrNotFound) {
		return "", "", syncsvc.Rejected(syncproto.CodeInvalid, "所属隐患不存在")
	}
	return ent, path, err
}

func (c *Actions) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	ent, path, err := hazardEnterprise(ctx, q, syncsvc.Str(f, "hazard_id"))
	return syncsvc.Place{OrgPath: path, EnterpriseID: ent}, err
}

func (c *Actions) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if !slices.Contains(writers, a.Role) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能处理隐患")
	}
	var f syncsvc.Fields = m.Fields
	if cur != nil {
		f = cur
	}
	ent, path, err := hazardEnterprise(ctx, q, syncsvc.Str(f, "hazard_id"))
	if err != nil {
		return err
	}
	if !a.CanReadEnterprise(ent, path) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "该隐患不在您的管辖范围内")
	}
	// An action that records a step is taken by those who may take the step.
	return MayTake(a.Role, actionSteps[syncsvc.Str(f, "kind")], "")
}

var actionSteps = map[string]string{"assign": StepAssign, "rectify": StepRectify, "submit": StepSubmit,
	"accept": StepAccept, "reject": StepSendBack}

// actionTime fills "at" of a new action: when the person took it (the time the device sent,
// else the mutation's, see syncsvc.Step), not after the server received it and not before the
// hazard was reported. Outside a push it is now, unless given.
func (c *Actions) actionTime(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) error {
	st := syncsvc.StepOf(ctx)
	given := syncsvc.Str(f, "at")
	if given != "" {
		t, err := time.Parse(time.RFC3339Nano, given)
		if err != nil {
			return syncsvc.Rejected(syncproto.CodeBadValue, "时间“at”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
		}
		if st == nil {
			return nil
		}
		st.Set(t)
	}
	if st == nil {
		f["at"] = syncsvc.JSON(c.Now().UTC().Format(time.RFC3339))
		return nil
	}
	var reported string
	err := q.QueryRow(ctx, `SELECT reported_at FROM hazards WHERE id = $1`, syncsvc.Str(f, "hazard_id")).Scan(&reported)
	if errors.Is(err, yingji.ErrNotFound) {
		return syncsvc.Rejected(syncproto.CodeInvalid, "所属隐患不存在")
	}
	if err != nil {
		return err
	}
	if t, perr := time.Parse(time.RFC3339, reported); perr == nil {
		st.NotBefore(t)
	}
	// Milliseconds: the timeline orders actions among the other steps by this time.
	f["at"] = syncsvc.JSON(st.At.Truncate(time.Millisecond).Format(time.RFC3339Nano))
	return nil
}

func (c *Actions) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	if created {
		f["by_user"] = syncsvc.JSON(a.UserID)
		for k, v := range map[string]string{"text": "", "assignee": ""} {
			if _, ok := f[k]; !ok {
				f[k] = syncsvc.JSON(v)
			}
		}
		if err := c.actionTime(ctx, q, f); err != nil {
			return err
		}
	}
	if !slices.Contains(ActionKinds, syncsvc.Str(f, "kind")) {
		return syncsvc.Rejected(syncproto.CodeBadValue, "未知的处理类型")
	}
	if len([]rune(syncsvc.Str(f, "text"))) > 2000 {
		return syncsvc.Rejected(syncproto.CodeBadValue, "内容不超过 2000 个字")
	}
	return nil
}

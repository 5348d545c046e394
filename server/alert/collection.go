package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Machine is the status of an alert: new → acknowledged → disposing → closed, and any open
// status → false alarm. A phone that disposes of an alert it never acknowledged may skip
// steps; the more advanced state wins when two phones race.
var Machine = &syncproto.StateMachine{
	States:  []string{StatusNew, StatusAcknowledged, StatusDisposing, StatusClosed, StatusFalseAlarm},
	Initial: StatusNew,
	Transitions: map[string][]string{
		StatusNew:          {StatusAcknowledged, StatusDisposing, StatusClosed, StatusFalseAlarm},
		StatusAcknowledged: {StatusDisposing, StatusClosed, StatusFalseAlarm},
		StatusDisposing:    {StatusClosed, StatusFalseAlarm},
	},
}

func serverField(name, typ string) syncproto.FieldSpec {
	return syncproto.FieldSpec{Name: name, Type: typ, Rule: syncproto.ServerOwned}
}

var spec = &syncproto.CollectionSpec{
	Name: "alerts",
	Fields: []syncproto.FieldSpec{
		serverField("enterprise_id", syncproto.TypeString),
		serverField("device_id", syncproto.TypeString),
		serverField("point_id", syncproto.TypeString),
		serverField("rule_id", syncproto.TypeString),
		serverField("cause", syncproto.TypeString),
		serverField("kind", syncproto.TypeString),
		serverField("level", syncproto.TypeNumber),
		serverField("level_name", syncproto.TypeString),
		serverField("title", syncproto.TypeString),
		serverField("message", syncproto.TypeString),
		serverField("value", syncproto.TypeNumber),
		serverField("threshold", syncproto.TypeNumber),
		serverField("unit", syncproto.TypeString),
		serverField("started_at", syncproto.TypeTime),
		serverField("last_at", syncproto.TypeTime),
		serverField("cleared_at", syncproto.TypeTime),
		serverField("tier", syncproto.TypeString),
		serverField("escalated_at", syncproto.TypeTime),
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: Machine},
		{Name: "disposal_reason", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "disposal_measures", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Set},
		serverField("acknowledged_by", syncproto.TypeString),
		serverField("acknowledged_at", syncproto.TypeTime),
		serverField("disposed_by", syncproto.TypeString),
		serverField("disposed_at", syncproto.TypeTime),
		serverField("closed_at", syncproto.TypeTime),
		serverField("acknowledged_received_at", syncproto.TypeTime),
		serverField("disposed_received_at", syncproto.TypeTime),
		serverField("closed_received_at", syncproto.TypeTime),
	},
}

var columns = []string{"enterprise_id", "device_id", "point_id", "rule_id", "cause", "kind", "level", "level_name", "title",
	"message", "value", "threshold", "unit", "started_at", "last_at", "cleared_at", "tier", "escalated_at", "status",
	"disposal_reason", "disposal_measures", "photos", "acknowledged_by", "acknowledged_at", "disposed_by", "disposed_at", "closed_at",
	"acknowledged_received_at", "disposed_received_at", "closed_received_at"}

// Collection is the alerts collection. Alerts are raised by the server (Apply); phones change
// only the status and the disposal fields.
type Collection struct {
	syncsvc.Table
	Now func() time.Time
}

// NewCollection returns the alerts collection.
func NewCollection() *Collection {
	return &Collection{Now: time.Now, Table: syncsvc.Table{Name: "alerts", Stamped: true, Columns: columns,
		JSON: map[string]bool{"level": true, "value": true, "threshold": true, "photos": true}}}
}

func (c *Collection) Spec() *syncproto.CollectionSpec { return spec }

// place is where an alert belongs: its org path (the enterprise's, or the device's for an
// alert without an enterprise) and its enterprise.
func place(ctx context.Context, q sqldb.Querier, id string) (syncsvc.Place, error) {
	return syncsvc.Cached(ctx, "alert_place:"+id, func() (syncsvc.Place, error) {
		var p syncsvc.Place
		err := q.QueryRow(ctx, `SELECT org_path, enterprise_id FROM alerts WHERE id = $1`, id).Scan(&p.OrgPath, &p.EnterpriseID)
		if errors.Is(err, yingji.ErrNotFound) {
			return p, syncsvc.Rejected(syncproto.CodeInvalid, "预警不存在")
		}
		return p, err
	})
}

func (c *Collection) Place(ctx context.Context, q sqldb.Querier, id string, _ syncsvc.Fields) (syncsvc.Place, error) {
	return place(ctx, q, id)
}

// inScope reports whether the actor may see an alert at p.
func inScope(a *yingji.Actor, p syncsvc.Place) bool {
	if p.EnterpriseID != "" {
		return a.CanReadEnterprise(p.EnterpriseID, p.OrgPath)
	}
	return a.Role.ScopeKind() != yingji.ScopeEnterprise && a.InSubtree(p.OrgPath)
}

// Authorize lets those who handle alerts (PermAlertHandle) change alerts in their scope;
// alerts are never created or deleted on phones.
func (c *Collection) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if cur == nil || m.Op != syncproto.OpUpdate {
		return syncsvc.Rejected(syncproto.CodeForbidden, "预警由系统根据监测数据产生，不能在移动端新建或删除")
	}
	if !a.Can(yingji.PermAlertHandle) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "您的角色不能处置预警")
	}
	p, err := place(ctx, q, m.ID)
	if err != nil {
		return err
	}
	if !inScope(a, p) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "该预警不在您的管辖范围内")
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Prepare validates the fields people write.
func (c *Collection) Prepare(_ context.Context, _ sqldb.Querier, _ *yingji.Actor, f syncsvc.Fields, _ bool) error {
	return validateDisposal(syncsvc.Str(f, "disposal_reason"), syncsvc.Str(f, "disposal_measures"), photosOf(f))
}

func validateDisposal(reason, measures string, photos []string) error {
	bad := func(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }
	if len([]rune(reason)) > 2000 {
		return bad("处置原因不超过 2000 个字")
	}
	if len([]rune(measures)) > 5000 {
		return bad("处置措施不超过 5000 个字")
	}
	if len(photos) > 50 {
		return bad("照片最多 50 张")
	}
	for _, p := range photos {
		if !sha256Hex.MatchString(p) {
			return bad("照片应以其 SHA-256 十六进制摘要引用")
		}
	}
	return nil
}

func photosOf(f syncsvc.Fields) []string {
	var photos []string
	json.Unmarshal(f["photos"], &photos)
	return photos
}

// CheckChange checks a status change and fills the server-owned fields it implies: who
// acknowledged and when, who disposed and when, when it closed. Closing or marking a false
// alarm needs a reason. "When" is the time the person acted (the mutation's, see
// syncsvc.Step), never before the alert started or its previous step; the receipt time is
// kept beside it.
func (c *Collection) CheckChange(ctx context.Context, _ sqldb.Querier, a *yingji.Actor, prev, next syncsvc.Fields) error {
	if st := syncsvc.StepOf(ctx); st != nil {
		st.NotBefore(floor(prev))
	}
	at, received := syncsvc.StepTimes(ctx, c.Now())
	return stepFields(a, syncsvc.Str(prev, "status"), next, fmtTime(at), fmtTime(received))
}

// floor is the earliest time a step on an alert can have been taken: when it started, or its
// latest step so far.
func floor(f syncsvc.Fields) time.Time {
	var t time.Time
	for _, name := range []string{"started_at", "acknowledged_at", "disposed_at", "closed_at"} {
		if v := parseTime(syncsvc.Str(f, name)); v.After(t) {
			t = v
		}
	}
	return t
}

// stepFields fills the fields of the step from → next's status: by the actor, taken at at and
// received at received (equal for a step taken in the office).
func stepFields(a *yingji.Actor, from string, next syncsvc.Fields, at, received string) error {
	to := syncsvc.Str(next, "status")
	if to == from {
		return nil
	}
	if !Open(to) && len([]rune(strings.TrimSpace(syncsvc.Str(next, "disposal_reason")))) == 0 {
		return syncsvc.Rejected(syncproto.CodeMissingField, "关闭预警或标记为误报时必须填写处置原因")
	}
	set := func(step string) {
		if syncsvc.Str(next, step+"_at") == "" {
			next[step+"_by"] = syncsvc.JSON(a.UserID)
			next[step+"_at"] = syncsvc.JSON(at)
			next[step+"_received_at"] = syncsvc.JSON(received)
		}
	}
	if from == StatusNew || from == "" {
		set("acknowledged")
	}
	if to == StatusDisposing || !Open(to) {
		set("disposed")
	}
	if !Open(to) {
		next["closed_at"] = syncsvc.JSON(at)
		next["closed_received_at"] = syncsvc.JSON(received)
	}
	return nil
}

// Save writes the alert, an event when its status changed, and its photos' media references
// in the same transaction.
func (c *Collection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	var old string
	if !created {
		if err := q.QueryRow(ctx, `SELECT status FROM alerts WHERE id = $1`, id).Scan(&old); err != nil {
			return fmt.Errorf("alert: save: %w", err)
		}
	}
	if err := c.Table.Save(ctx, q, id, f, created, deleted); err != nil {
		return err
	}
	if to := syncsvc.Str(f, "status"); to != old && !created {
		step := "disposed"
		if to == StatusAcknowledged {
			step = "acknowledged"
		}
		by, at, received := syncsvc.Str(f, step+"_by"), syncsvc.Str(f, step+"_at"), syncsvc.Str(f, step+"_received_at")
		if !Open(to) {
			at, received = syncsvc.Str(f, "closed_at"), syncsvc.Str(f, "closed_received_at")
		}
		if at == "" {
			at, received = fmtTime(c.Now()), ""
		}
		if err := addEvent(ctx, q, event{AlertID: id, Kind: EventStatus, Status: to, By: by, At: at, ReceivedAt: received,
			Message: syncsvc.Str(f, "disposal_reason")}); err != nil {
			return err
		}
	}
	p, err := place(ctx, q, id)
	if err != nil {
		return err
	}
	return mediasvc.SetRefs(ctx, q, mediasvc.Refs{Collection: spec.Name, RecordID: id, OrgPath: p.OrgPath,
		EnterpriseID: p.EnterpriseID, SHA256s: photosOf(f)})
}

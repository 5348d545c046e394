package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

const alertCols = `a.id, a.enterprise_id, COALESCE(e.name, ''), a.org_path, a.device_id, a.point_id, a.rule_id, a.cause, a.kind,
	a.level, a.level_name, a.title, a.message, a.value, a.threshold, a.unit, a.started_at, a.last_at, a.cleared_at, a.tier,
	a.escalated_at, a.status, a.disposal_reason, a.disposal_measures, a.photos, a.acknowledged_by, a.acknowledged_at,
	a.disposed_by, a.disposed_at, a.closed_at, a.acknowledged_received_at, a.disposed_received_at, a.closed_received_at, a.incident_id`

const alertFrom = ` FROM alerts a LEFT JOIN enterprises e ON e.id = a.enterprise_id`

func scanAlert(r sqldb.Rows) (Alert, error) {
	var a Alert
	var level, value, threshold, photos string
	err := r.Scan(&a.ID, &a.EnterpriseID, &a.EnterpriseName, &a.OrgPath, &a.DeviceID, &a.PointID, &a.RuleID, &a.Cause, &a.Kind,
		&level, &a.LevelName, &a.Title, &a.Message, &value, &threshold, &a.Unit, &a.StartedAt, &a.LastAt, &a.ClearedAt, &a.Tier,
		&a.EscalatedAt, &a.Status, &a.DisposalReason, &a.DisposalMeasures, &photos, &a.AcknowledgedBy, &a.AcknowledgedAt,
		&a.DisposedBy, &a.DisposedAt, &a.ClosedAt, &a.AcknowledgedReceivedAt, &a.DisposedReceivedAt, &a.ClosedReceivedAt, &a.IncidentID)
	a.Level, _ = strconv.Atoi(level)
	a.Value, _ = strconv.ParseFloat(value, 64)
	a.Threshold, _ = strconv.ParseFloat(threshold, 64)
	a.Photos = []string{}
	json.Unmarshal([]byte(photos), &a.Photos)
	return a, err
}

// load reads one alert without scope checks.
func (s *Service) load(ctx context.Context, q sqldb.Querier, id string) (Alert, error) {
	rows, err := q.Query(ctx, `SELECT `+alertCols+alertFrom+` WHERE a.id = $1`, id)
	list, err := sqldb.CollectRows(rows, err, scanAlert)
	if err != nil {
		return Alert{}, fmt.Errorf("alert: load: %w", err)
	}
	if len(list) == 0 {
		return Alert{}, yingji.Errorf(yingji.ENOTFOUND, "alert.not_found", "预警不存在")
	}
	return list[0], nil
}

// Get returns an alert in the actor's scope.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Alert, error) {
	if err := a.Require(yingji.PermAlertRead); err != nil {
		return Alert{}, err
	}
	al, err := s.load(ctx, s.DB, id)
	if err != nil {
		return al, err
	}
	if !alertInScope(a, al) {
		s.Audit.Record(ctx, a, yingji.Event{Action: "alert.read", ObjectType: "alert", ObjectID: id, Result: "denied"})
		return Alert{}, yingji.Forbidden("预警")
	}
	return al, nil
}

func alertInScope(a *yingji.Actor, al Alert) bool {
	if al.EnterpriseID != "" {
		return a.CanReadEnterprise(al.EnterpriseID, al.OrgPath)
	}
	return a.Role.ScopeKind() != yingji.ScopeEnterprise && a.InSubtree(al.OrgPath)
}

// scopeWhere limits a query on alerts "a" to the actor's scope.
func scopeWhere(w *sqldb.Where, a *yingji.Actor) {
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		w.Add("a.enterprise_id = ?", a.EnterpriseID)
		return
	}
	w.Prefix("a.org_path", a.OrgPath)
}

// Filter narrows a list of alerts.
type Filter struct {
	Status       string // one status
	OpenOnly     bool   // not closed, not a false alarm
	Level        int
	Kind         string
	Tier         string
	EnterpriseID string
	OrgUnitID    string // alerts under this unit
	From, To     time.Time
	Q            string // title, message or enterprise name contains
}

var sortable = map[string]string{"started_at": "a.started_at", "level": "a.level", "last_at": "a.last_at", "status": "a.status"}

// List returns a page of alerts in the actor's scope, newest first by default.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Alert], error) {
	out := yingji.Page[Alert]{Items: []Alert{}}
	if err := a.Require(yingji.PermAlertRead); err != nil {
		return out, err
	}
	p.Normalize()
	order, err := p.OrderBy(sortable, "a.started_at DESC, a.id DESC")
	if err != nil {
		return out, err
	}
	var w sqldb.Where
	scopeWhere(&w, a)
	if err := s.filterWhere(ctx, &w, f); err != nil {
		return out, err
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*)`+alertFrom+w.SQL(), w.Args...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("alert: count: %w", err)
	}
	q := `SELECT ` + alertCols + alertFrom + w.SQL() + ` ORDER BY ` + order + ` LIMIT ` + w.Next(p.PageSize) + ` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	out.Items, err = sqldb.CollectRows(rows, err, scanAlert)
	if err != nil {
		return out, fmt.Errorf("alert: list: %w", err)
	}
	return out, nil
}

func (s *Service) filterWhere(ctx context.Context, w *sqldb.Where, f Filter) error {
	if f.Status != "" {
		if Machine.Rank(f.Status) < 0 {
			return yingji.Invalid("alert.bad_status", "status", "未知的预警状态“%s”", f.Status)
		}
		w.Add("a.status = ?", f.Status)
	}
	if f.OpenOnly {
		w.Add("a.status NOT IN ('closed', 'false_alarm')")
	}
	if f.Level > 0 {
		w.Add("a.level = ?", strconv.Itoa(f.Level))
	}
	if f.Kind != "" {
		w.Add("a.kind = ?", f.Kind)
	}
	if f.Tier != "" {
		w.Add("a.tier = ?", f.Tier)
	}
	if f.EnterpriseID != "" {
		w.Add("a.enterprise_id = ?", f.EnterpriseID)
	}
	if f.OrgUnitID != "" {
		var path string
		err := s.DB.QueryRow(ctx, `SELECT path FROM org_units WHERE id = $1`, f.OrgUnitID).Scan(&path)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("alert.bad_unit", "org_unit_id", "组织机构不存在")
		}
		if err != nil {
			return err
		}
		w.Prefix("a.org_path", path)
	}
	if !f.From.IsZero() {
		w.Add("a.started_at >= ?", fmtTime(f.From))
	}
	if !f.To.IsZero() {
		w.Add("a.started_at < ?", fmtTime(f.To))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		like := sqldb.Like(q)
		w.Add(`(a.title LIKE ? ESCAPE '\' OR a.message LIKE ? ESCAPE '\' OR COALESCE(e.name, '') LIKE ? ESCAPE '\')`, like, like, like)
	}
	return nil
}

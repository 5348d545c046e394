package incident

import (
	"context"
	"errors"
	"time"

	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// FromAlert turns an alert into an incident in one step (预警转事件): the incident takes the
// alert's enterprise, place and start time unless given, names the alert (alert_id) and the
// alert names it (alerts.incident_id); the alert's timeline gets an "incident" event. An alert
// becomes one incident at most.
func (s *Service) FromAlert(ctx context.Context, a *yingji.Actor, alertID string, in Incident) (Incident, error) {
	var x Incident
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		var al struct{ enterprise, path, title, message, started, incident string }
		err := tx.QueryRow(ctx, `SELECT enterprise_id, org_path, title, message, started_at, incident_id FROM alerts WHERE id = $1`, alertID).
			Scan(&al.enterprise, &al.path, &al.title, &al.message, &al.started, &al.incident)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Errorf(yingji.ENOTFOUND, "alert.not_found", "预警不存在")
		} else if err != nil {
			return err
		}
		inScope := a.InSubtree(al.path)
		if a.Role.ScopeKind() == yingji.ScopeEnterprise {
			inScope = al.enterprise != "" && al.enterprise == a.EnterpriseID
		}
		if !a.Can(yingji.PermIncidentReport) || !a.Can(yingji.PermAlertRead) || !inScope {
			return yingji.Errorf(yingji.EFORBIDDEN, "incident.out_of_scope", "无权将该预警转为事件：不在您的管辖范围内")
		}
		if al.incident != "" {
			return yingji.Errorf(yingji.ECONFLICT, "incident.alert_taken", "该预警已转为事件").WithData(map[string]any{"incident_id": al.incident})
		}
		x = in
		x.ID, x.Source, x.AlertID = "", SourceAlert, alertID
		if x.Title == "" {
			x.Title = al.title
		}
		if x.Class == "" {
			x.Class = string(plan.ClassAccident)
		}
		if x.Description == "" {
			x.Description = al.message
		}
		if x.EnterpriseID == "" && x.OrgUnitID == "" {
			x.EnterpriseID = al.enterprise
		}
		if x.OccurredAt == "" {
			x.OccurredAt = al.started
		}
		if x.Lat == nil && x.EnterpriseID != "" {
			var lat, lng *float64
			if err := tx.QueryRow(ctx, `SELECT lat, lng, address FROM enterprises WHERE id = $1`, x.EnterpriseID).Scan(&lat, &lng, &x.Address); err == nil && lat != nil {
				x.Lat, x.Lng = lat, lng
			}
		}
		now := s.now()
		if err := s.prepareNew(ctx, tx, a, &x, now, now); err != nil {
			return err
		}
		x.Source, x.AlertID = SourceAlert, alertID
		if err := s.Insert(ctx, tx, &x); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET incident_id = $1 WHERE id = $2`, x.ID, alertID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_events (id, alert_id, kind, level, tier, status, by_user, message, at, received_at)
			VALUES ($1, $2, 'incident', 0, '', '', $3, $4, $5, '')`, yingji.NewID(), alertID, a.UserID, "已转为事件 "+x.Code+"："+x.Title,
			now.Format(time.RFC3339)); err != nil {
			return err
		}
		return s.changed(ctx, tx, CollectionName, x.ID)
	})
	if err != nil {
		return Incident{}, s.deny(ctx, a, "incident.from_alert", "alert", alertID, err)
	}
	s.ok(ctx, a, "incident.from_alert", ObjectIncident, x.ID, map[string]any{"alert_id": alertID, "code": x.Code})
	return x, nil
}

// Count is one group of a statistic.
type Count struct {
	Key          string  `json:"key"`
	Name         string  `json:"name"`
	Incidents    int     `json:"incidents"`
	Dead         int     `json:"dead"`
	Injured      int     `json:"injured"`
	EconomicLoss float64 `json:"economic_loss"`
}

// Stats are the incident statistics of a period (exercises never count).
type Stats struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Total   Count   `json:"total"`
	ByClass []Count `json:"by_class"`
	ByGrade []Count `json:"by_grade"`
	ByMonth []Count `json:"by_month"` // yyyy-mm in China time
}

// Stats counts the real incidents (not exercises) in the actor's scope that occurred in
// [from, to).
func (s *Service) Stats(ctx context.Context, a *yingji.Actor, from, to time.Time) (Stats, error) {
	if err := a.Require(yingji.PermIncidentRead); err != nil {
		return Stats{}, err
	}
	f := ReadScope(a)
	no := false
	f.Exercise, f.From, f.To = &no, FormatTime(from), FormatTime(to)
	w := f.where()
	rows, err := s.DB.Query(ctx, `SELECT class, grade, occurred_at, dead, injured, economic_loss FROM incidents`+w.SQL(), w.Args...)
	type row struct {
		class, grade, at string
		dead, injured    int
		loss             float64
	}
	rs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (row, error) {
		var x row
		return x, r.Scan(&x.class, &x.grade, &x.at, &x.dead, &x.injured, &x.loss)
	})
	if err != nil {
		return Stats{}, err
	}
	st := Stats{From: f.From, To: f.To, Total: Count{Key: "total", Name: "合计"}, ByClass: []Count{}, ByGrade: []Count{}, ByMonth: []Count{}}
	for _, c := range plan.Classes {
		st.ByClass = append(st.ByClass, Count{Key: string(c.Class), Name: c.Class.Name()})
	}
	for _, g := range append(append([]string{}, plan.Grades...), "") {
		name := g
		if g == "" {
			name = "未定级"
		}
		st.ByGrade = append(st.ByGrade, Count{Key: g, Name: name})
	}
	add := func(c *Count, r row) {
		c.Incidents++
		c.Dead += r.dead
		c.Injured += r.injured
		c.EconomicLoss += r.loss
	}
	months := map[string]int{}
	for m := from.In(china); m.Before(to); m = time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, china) {
		k := m.Format("2006-01")
		months[k] = len(st.ByMonth)
		st.ByMonth = append(st.ByMonth, Count{Key: k, Name: m.Format("2006年01月")})
		if len(st.ByMonth) > 120 {
			break
		}
	}
	for _, r := range rs {
		add(&st.Total, r)
		for i := range st.ByClass {
			if st.ByClass[i].Key == r.class {
				add(&st.ByClass[i], r)
			}
		}
		for i := range st.ByGrade {
			if st.ByGrade[i].Key == r.grade {
				add(&st.ByGrade[i], r)
			}
		}
		if t, err := time.Parse(time.RFC3339, r.at); err == nil {
			if i, ok := months[t.In(china).Format("2006-01")]; ok {
				add(&st.ByMonth[i], r)
			}
		}
	}
	return st, nil
}

package alert

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// zone is where periods are counted: Asia/Shanghai.
var zone = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// Groupings of the statistics.
const (
	ByPeriod     = "period"
	ByEnterprise = "enterprise"
	ByTownship   = "township"
	ByIndustry   = "industry"
	ByKind       = "kind"
	ByLevel      = "level"
)

// StatsQuery asks for alert statistics: alerts that started in [From, To) grouped by GroupBy
// (period groups by Period: week from Monday, month, year; Beijing time).
type StatsQuery struct {
	GroupBy  string
	Period   string
	From, To time.Time
}

// StatsRow is one group.
type StatsRow struct {
	Key           string  `json:"key"`
	Label         string  `json:"label"`
	Count         int     `json:"count"`           // alerts
	Open          int     `json:"open"`            // not closed, not a false alarm
	FalseAlarms   int     `json:"false_alarms"`    // marked false alarm
	Escalated     int     `json:"escalated"`       // escalated beyond the enterprise
	HandledInTime int     `json:"handled_in_time"` // closed (or a false alarm) before the dispose deadline
	InTimeRate    float64 `json:"in_time_rate"`    // HandledInTime ÷ Count
	// AcknowledgedInTime are the alerts acknowledged before the ack deadline. Like
	// HandledInTime it judges by when the person acted, not when the phone synced.
	AcknowledgedInTime int `json:"acknowledged_in_time"`
}

// Stats are the statistics of one query, with the total.
type Stats struct {
	GroupBy string     `json:"group_by"`
	Period  string     `json:"period,omitempty"`
	Rows    []StatsRow `json:"rows"`
	Total   StatsRow   `json:"total"`
}

type statAlert struct {
	Alert
	industry, townshipID, townshipName string
}

// Stats counts the alerts in the actor's scope.
func (s *Service) Stats(ctx context.Context, a *yingji.Actor, q StatsQuery) (Stats, error) {
	out := Stats{GroupBy: q.GroupBy, Rows: []StatsRow{}}
	if err := a.Require(yingji.PermAlertRead); err != nil {
		return out, err
	}
	if out.GroupBy == "" {
		out.GroupBy = ByPeriod
	}
	switch out.GroupBy {
	case ByPeriod:
		if q.Period == "" {
			q.Period = "month"
		}
		if q.Period != "week" && q.Period != "month" && q.Period != "year" {
			return out, yingji.Invalid("stats.bad_period", "period", "时间段只能是 week（周）、month（月）或 year（年）")
		}
		out.Period = q.Period
	case ByEnterprise, ByTownship, ByIndustry, ByKind, ByLevel:
	default:
		return out, yingji.Invalid("stats.bad_group", "group_by", "分组只能是 period、enterprise、township、industry、kind 或 level")
	}
	var w sqldb.Where
	scopeWhere(&w, a)
	if err := s.filterWhere(ctx, &w, Filter{From: q.From, To: q.To}); err != nil {
		return out, err
	}
	rows, err := s.DB.Query(ctx, `SELECT `+alertCols+`, COALESCE(e.industry, ''), COALESCE(t.id, ''), COALESCE(t.name, '')`+alertFrom+`
		LEFT JOIN org_units t ON t.id = e.township_id`+w.SQL(), w.Args...)
	list, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (statAlert, error) {
		var x statAlert
		var level, value, threshold, photos string
		err := r.Scan(&x.ID, &x.EnterpriseID, &x.EnterpriseName, &x.OrgPath, &x.DeviceID, &x.PointID, &x.RuleID, &x.Cause, &x.Kind,
			&level, &x.LevelName, &x.Title, &x.Message, &value, &threshold, &x.Unit, &x.StartedAt, &x.LastAt, &x.ClearedAt, &x.Tier,
			&x.EscalatedAt, &x.Status, &x.DisposalReason, &x.DisposalMeasures, &photos, &x.AcknowledgedBy, &x.AcknowledgedAt,
			&x.DisposedBy, &x.DisposedAt, &x.ClosedAt, &x.AcknowledgedReceivedAt, &x.DisposedReceivedAt, &x.ClosedReceivedAt, &x.IncidentID, &x.industry, &x.townshipID, &x.townshipName)
		x.Level, _ = strconv.Atoi(level)
		return x, err
	})
	if err != nil {
		return out, fmt.Errorf("alert: stats: %w", err)
	}
	groups := map[string]*StatsRow{}
	add := func(row *StatsRow, x statAlert) {
		row.Count++
		if Open(x.Status) {
			row.Open++
		}
		if x.Status == StatusFalseAlarm {
			row.FalseAlarms++
		}
		if x.Tier != TierEnterprise {
			row.Escalated++
		}
		if s.InTime(x.Alert) {
			row.HandledInTime++
		}
		if s.AckedInTime(x.Alert) {
			row.AcknowledgedInTime++
		}
	}
	for _, x := range list {
		key, label := s.group(out.GroupBy, out.Period, x)
		g := groups[key]
		if g == nil {
			g = &StatsRow{Key: key, Label: label}
			groups[key] = g
		}
		add(g, x)
		add(&out.Total, x)
	}
	for _, g := range groups {
		g.InTimeRate = rate(g.HandledInTime, g.Count)
		out.Rows = append(out.Rows, *g)
	}
	sort.Slice(out.Rows, func(i, j int) bool { return out.Rows[i].Key < out.Rows[j].Key })
	out.Total.Key, out.Total.Label = "total", "合计"
	out.Total.InTimeRate = rate(out.Total.HandledInTime, out.Total.Count)
	return out, nil
}

// InTime reports whether an alert was closed (or marked a false alarm) before its dispose
// deadline, by the time the person closed it (closed_at), not when the server received it.
func (s *Service) InTime(a Alert) bool {
	return !Open(a.Status) && s.stepInTime(a, StepDispose)
}

// AckedInTime reports whether an alert was acknowledged before its ack deadline, by the time
// the person acknowledged it.
func (s *Service) AckedInTime(a Alert) bool { return s.stepInTime(a, StepAck) }

// stepInTime reports whether the step was taken by its deadline, by the action time: the ack
// step by acknowledged_at, the dispose and county steps by closed_at.
func (s *Service) stepInTime(a Alert, step string) bool {
	at := a.ClosedAt
	if step == StepAck {
		at = a.AcknowledgedAt
	}
	if at == "" {
		return false
	}
	return !parseTime(at).After(s.Config.Due(parseTime(a.StartedAt), step))
}

func rate(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func (s *Service) group(by, period string, x statAlert) (string, string) {
	switch by {
	case ByEnterprise:
		if x.EnterpriseID == "" {
			return "", "（无企业）"
		}
		return x.EnterpriseID, x.EnterpriseName
	case ByTownship:
		if x.townshipID == "" {
			return "", "（未知）"
		}
		return x.townshipID, x.townshipName
	case ByIndustry:
		if x.industry == "" {
			return "", "（未填写行业）"
		}
		return x.industry, x.industry
	case ByKind:
		return x.Kind, KindName(x.Kind)
	case ByLevel:
		k := fmt.Sprintf("%02d", x.Level)
		return k, fmt.Sprintf("%d级", x.Level)
	}
	t := parseTime(x.StartedAt).In(zone)
	switch period {
	case "week":
		d := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		k := d.Format("2006-01-02")
		y, wk := d.ISOWeek()
		return k, fmt.Sprintf("%d 年第 %d 周（%s 起）", y, wk, k)
	case "year":
		return t.Format("2006"), t.Format("2006 年")
	}
	return t.Format("2006-01"), t.Format("2006 年 1 月")
}

// Home are the phone's home-screen numbers of alerts in the user's scope.
type Home struct {
	Open        int         `json:"open"`         // open alerts in scope
	ByLevel     map[int]int `json:"by_level"`     // open alerts by level
	Unconfirmed int         `json:"unconfirmed"`  // open alerts still new (not acknowledged)
	Mine        int         `json:"mine"`         // open alerts at the user's own tier that he may handle
	TodayRaised int         `json:"today_raised"` // alerts raised today (Beijing time)
}

// Home returns the home-screen numbers.
func (s *Service) Home(ctx context.Context, a *yingji.Actor) (Home, error) {
	h := Home{ByLevel: map[int]int{}}
	if err := a.Require(yingji.PermAlertRead); err != nil {
		return h, err
	}
	var w sqldb.Where
	scopeWhere(&w, a)
	w.Add("a.status NOT IN ('closed', 'false_alarm')")
	rows, err := s.DB.Query(ctx, `SELECT a.level, a.status, a.tier`+alertFrom+w.SQL(), w.Args...)
	type r struct{ level, status, tier string }
	list, err := sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (r, error) {
		var x r
		return x, rs.Scan(&x.level, &x.status, &x.tier)
	})
	if err != nil {
		return h, fmt.Errorf("alert: home: %w", err)
	}
	mine := ActorTier(a)
	for _, x := range list {
		l, _ := strconv.Atoi(x.level)
		h.Open++
		h.ByLevel[l]++
		if x.status == StatusNew {
			h.Unconfirmed++
		}
		if a.Can(yingji.PermAlertHandle) && tierRank(x.tier) >= tierRank(mine) {
			h.Mine++
		}
	}
	now := s.Now().In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	var w2 sqldb.Where
	scopeWhere(&w2, a)
	w2.Add("a.started_at >= ?", fmtTime(today))
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*)`+alertFrom+w2.SQL(), w2.Args...).Scan(&h.TodayRaised); err != nil {
		return h, err
	}
	return h, nil
}

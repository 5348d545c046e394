// Package stats answers the statistics of hazards and patrols: by status, level, enterprise,
// township, industry and period, patrol completion rates and the numbers of a phone's home
// screen. Every number counts only what the caller may read: enterprise roles their
// enterprise, the others their org subtree. Periods are computed in Asia/Shanghai with the
// patrol calendar (weeks start on Monday).
package stats

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Service computes statistics.
type Service struct {
	DB  sqldb.DB
	Now func() time.Time
}

// New returns a service on db; now may be nil (the wall clock).
func New(db sqldb.DB, now func() time.Time) *Service { return &Service{DB: db, Now: now} }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) patrols() *patrol.Service { return &patrol.Service{DB: s.DB, Now: s.Now} }

// Group-by keys of hazard statistics.
const (
	ByStatus     = "status"
	ByLevel      = "level"
	ByEnterprise = "enterprise"
	ByTownship   = "township"
	ByIndustry   = "industry"
	ByPeriod     = "period"
)

// GroupBys lists the group-by keys.
var GroupBys = []string{ByStatus, ByLevel, ByEnterprise, ByTownship, ByIndustry, ByPeriod}

// Period kinds of the period grouping.
const (
	Week  = "week"
	Month = "month"
	Year  = "year"
)

// Hazard statuses and levels (as the hazards table stores them), in display order.
var (
	Statuses     = []string{"reported", "assigned", "rectifying", "submitted", "accepted"}
	Levels       = []string{"general", "major"}
	statusLabels = map[string]string{"reported": "已上报", "assigned": "已交办", "rectifying": "整改中", "submitted": "待验收", "accepted": "已验收"}
	levelLabels  = map[string]string{"general": "一般", "major": "重大"}
)

// StatusLabel is the Chinese name of a hazard status.
func StatusLabel(v string) string { return labelOr(statusLabels, v) }

// LevelLabel is the Chinese name of a hazard level.
func LevelLabel(v string) string { return labelOr(levelLabels, v) }

func labelOr(m map[string]string, v string) string {
	if l, ok := m[v]; ok {
		return l
	}
	return v
}

const accepted = "accepted"

// scope adds the actor's read filter for enterprise-anchored rows of table alias t.
func scope(w *sqldb.Where, a *yingji.Actor, t string) {
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add(t+".enterprise_id = ?", sc.EnterpriseID)
		return
	}
	w.Prefix(t+".org_path", sc.OrgPrefix)
}

// parseTime reads an RFC 3339 time, or a date (the end of that day in Asia/Shanghai, for
// deadlines).
func parseTime(v string, endOfDay bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if d, err := patrol.ParseDay(v); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, true
	}
	return time.Time{}, false
}

// PeriodKey returns the key and Chinese label of the period t falls in.
func PeriodKey(kind string, t time.Time) (key, label string) {
	l := t.In(patrol.Zone)
	switch kind {
	case Week:
		start := patrol.Schedule{Frequency: patrol.Weekly}.PeriodAt(t).Start
		y, w := start.AddDate(0, 0, 3).ISOWeek() // the week's Thursday decides its year
		return fmt.Sprintf("%04d-W%02d", y, w), fmt.Sprintf("%d年第%d周", y, w)
	case Year:
		return fmt.Sprintf("%04d", l.Year()), fmt.Sprintf("%d年", l.Year())
	default:
		return fmt.Sprintf("%04d-%02d", l.Year(), int(l.Month())), fmt.Sprintf("%d年%d月", l.Year(), int(l.Month()))
	}
}

// HazardQuery selects and groups hazards. From and To bound reported_at: [From, To); zero
// means unbounded.
type HazardQuery struct {
	GroupBy  string
	Period   string // week, month (default) or year, for GroupBy period
	From, To time.Time
}

// Row is one group of hazards.
type Row struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Count   int    `json:"count"`
	Open    int    `json:"open"`    // not accepted
	Overdue int    `json:"overdue"` // deadline passed and rectification not finished (hazard.IsOverdue)
}

// HazardStats are hazards grouped, with the totals.
type HazardStats struct {
	GroupBy string `json:"group_by"`
	Period  string `json:"period,omitempty"`
	Rows    []Row  `json:"rows"`
	Total   Row    `json:"total"`
}

type hazardRow struct {
	id, enterpriseID, enterprise, industry, townshipID, township string
	level, status                                                string
	reportedAt, deadline                                         string
}

// loadHazards reads the hazards in the actor's scope with their enterprise and township.
func (s *Service) loadHazards(ctx context.Context, a *yingji.Actor) ([]hazardRow, error) {
	var w sqldb.Where
	scope(&w, a, "h")
	rows, err := s.DB.Query(ctx, `SELECT h.id, h.enterprise_id, COALESCE(e.name, ''), COALESCE(e.industry, ''),
		COALESCE(e.township_id, ''), COALESCE(u.name, ''), h.level, h.status, h.reported_at, h.deadline
		FROM hazards h
		LEFT JOIN enterprises e ON e.id = h.enterprise_id
		LEFT JOIN org_units u ON u.id = e.township_id`+w.SQL(), w.Args...)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (hazardRow, error) {
		var h hazardRow
		err := r.Scan(&h.id, &h.enterpriseID, &h.enterprise, &h.industry, &h.townshipID, &h.township, &h.level, &h.status, &h.reportedAt, &h.deadline)
		return h, err
	})
}

// overdue: the rectification deadline passed and the rectification is not finished (a
// submitted hazard waits for acceptance and is not overdue); the same rule as the hazard list's
// overdue filter.
func (h hazardRow) overdue(now time.Time) bool {
	return hazard.IsOverdue(h.status, h.deadline, now)
}

func (r *Row) add(h hazardRow, now time.Time) {
	r.Count++
	if h.status != accepted {
		r.Open++
	}
	if h.overdue(now) {
		r.Overdue++
	}
}

func invalid(field, format string, args ...any) error {
	return yingji.Invalid("request.bad_query", field, format, args...)
}

// Hazards groups the hazards in the actor's scope.
func (s *Service) Hazards(ctx context.Context, a *yingji.Actor, q HazardQuery) (HazardStats, error) {
	if q.GroupBy == "" {
		q.GroupBy = ByStatus
	}
	if !contains(GroupBys, q.GroupBy) {
		return HazardStats{}, invalid("group_by", "查询参数 group_by 应为 status、level、enterprise、township、industry 或 period")
	}
	if q.GroupBy == ByPeriod {
		if q.Period == "" {
			q.Period = Month
		}
		if q.Period != Week && q.Period != Month && q.Period != Year {
			return HazardStats{}, invalid("period", "查询参数 period 应为 week（周）、month（月）或 year（年）")
		}
	} else {
		q.Period = ""
	}
	list, err := s.loadHazards(ctx, a)
	if err != nil {
		return HazardStats{}, err
	}
	now := s.now()
	out := HazardStats{GroupBy: q.GroupBy, Period: q.Period, Rows: []Row{}, Total: Row{Key: "total", Label: "合计"}}
	groups := map[string]*Row{}
	// Fixed groups list every value, even with no hazards.
	switch q.GroupBy {
	case ByStatus:
		for _, v := range Statuses {
			groups[v] = &Row{Key: v, Label: StatusLabel(v)}
		}
	case ByLevel:
		for _, v := range Levels {
			groups[v] = &Row{Key: v, Label: LevelLabel(v)}
		}
	}
	for _, h := range list {
		at, ok := parseTime(h.reportedAt, false)
		if (!q.From.IsZero() || !q.To.IsZero()) && !ok {
			continue
		}
		if !q.From.IsZero() && at.Before(q.From) || !q.To.IsZero() && !at.Before(q.To) {
			continue
		}
		var key, label string
		switch q.GroupBy {
		case ByStatus:
			key, label = h.status, StatusLabel(h.status)
		case ByLevel:
			key, label = h.level, LevelLabel(h.level)
		case ByEnterprise:
			key, label = h.enterpriseID, h.enterprise
		case ByTownship:
			key, label = h.townshipID, h.township
		case ByIndustry:
			key, label = h.industry, h.industry
			if key == "" {
				label = "未填写行业"
			}
		case ByPeriod:
			if !ok {
				key, label = "", "上报时间不详"
			} else {
				key, label = PeriodKey(q.Period, at)
			}
		}
		g := groups[key]
		if g == nil {
			g = &Row{Key: key, Label: label}
			groups[key] = g
		}
		g.add(h, now)
		out.Total.add(h, now)
	}
	order := func(keys []string) {
		for _, k := range keys {
			if g := groups[k]; g != nil {
				out.Rows = append(out.Rows, *g)
				delete(groups, k)
			}
		}
	}
	switch q.GroupBy {
	case ByStatus:
		order(Statuses)
	case ByLevel:
		order(Levels)
	}
	var rest []Row
	for _, g := range groups {
		rest = append(rest, *g)
	}
	sort.Slice(rest, func(i, j int) bool {
		if q.GroupBy == ByPeriod {
			return rest[i].Key < rest[j].Key
		}
		if rest[i].Count != rest[j].Count {
			return rest[i].Count > rest[j].Count
		}
		return rest[i].Label < rest[j].Label
	})
	out.Rows = append(out.Rows, rest...)
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Completion counts the periods of checklists.
type Completion struct {
	Done    int     `json:"done"`    // periods every bound risk point was patrolled in
	Due     int     `json:"due"`     // current periods not done yet
	Overdue int     `json:"overdue"` // ended periods not done
	Total   int     `json:"total"`   // periods begun: done + due + overdue
	Rate    float64 `json:"rate"`    // done / total, 0 with no periods
}

func (c *Completion) add(status string) {
	switch status {
	case patrol.StatusDone:
		c.Done++
	case patrol.StatusOverdue:
		c.Overdue++
	default:
		c.Due++
	}
	c.Total++
}

func (c *Completion) finish() {
	if c.Total > 0 {
		c.Rate = float64(int(float64(c.Done)/float64(c.Total)*10000+0.5)) / 10000
	}
}

// ChecklistCompletion is the completion of one checklist.
type ChecklistCompletion struct {
	ChecklistID   string `json:"checklist_id"`
	ChecklistName string `json:"checklist_name"`
	Frequency     string `json:"frequency"`
	EnterpriseID  string `json:"enterprise_id"`
	Enterprise    string `json:"enterprise"`
	Completion
}

// EnterpriseCompletion is the completion of an enterprise's checklists.
type EnterpriseCompletion struct {
	EnterpriseID string `json:"enterprise_id"`
	Enterprise   string `json:"enterprise"`
	Completion
}

// PatrolStats are the completion of the checklists in scope over [From, To).
type PatrolStats struct {
	From              time.Time              `json:"from"`
	To                time.Time              `json:"to"`
	Checklists        []ChecklistCompletion  `json:"checklists"`
	Enterprises       []EnterpriseCompletion `json:"enterprises"`
	Total             Completion             `json:"total"`
	OverdueChecklists int                    `json:"overdue_checklists"` // checklists with an overdue period
	FlaggedPatrols    int                    `json:"flagged_patrols"`    // patrols flagged implausible in the range
	Patrols           int                    `json:"patrols"`            // patrols finished in the range
}

// MaxRangeDays bounds a patrol statistics range.
const MaxRangeDays = 400

// enterpriseNames maps the enterprises in the actor's scope to their names.
func (s *Service) enterpriseNames(ctx context.Context, a *yingji.Actor) (map[string]string, error) {
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("e.id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("e.org_path", sc.OrgPrefix)
	}
	rows, err := s.DB.Query(ctx, `SELECT e.id, e.name FROM enterprises e`+w.SQL(), w.Args...)
	pairs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) ([2]string, error) {
		var p [2]string
		return p, r.Scan(&p[0], &p[1])
	})
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p[0]] = p[1]
	}
	return m, err
}

// Patrols computes the completion of the active checklists in the actor's scope over the
// periods of [from, to) that have begun by now.
func (s *Service) Patrols(ctx context.Context, a *yingji.Actor, from, to time.Time) (PatrolStats, error) {
	if !from.Before(to) || to.Sub(from) > MaxRangeDays*24*time.Hour {
		return PatrolStats{}, invalid("to", "日期范围应从 from 到 to（含），且不超过 %d 天", MaxRangeDays)
	}
	out := PatrolStats{From: from, To: to, Checklists: []ChecklistCompletion{}, Enterprises: []EnterpriseCompletion{}}
	ps := s.patrols()
	list, err := ps.List(ctx, a, "", true)
	if err != nil {
		return out, err
	}
	names, err := s.enterpriseNames(ctx, a)
	if err != nil {
		return out, err
	}
	now := s.now()
	byEnt := map[string]*EnterpriseCompletion{}
	var entOrder []string
	for _, c := range list {
		cal, err := ps.Calendar(ctx, c, from, to)
		if err != nil {
			return out, err
		}
		cc := ChecklistCompletion{ChecklistID: c.ID, ChecklistName: c.Name, Frequency: c.Frequency, EnterpriseID: c.EnterpriseID, Enterprise: names[c.EnterpriseID]}
		e := byEnt[c.EnterpriseID]
		if e == nil {
			e = &EnterpriseCompletion{EnterpriseID: c.EnterpriseID, Enterprise: names[c.EnterpriseID]}
			byEnt[c.EnterpriseID] = e
			entOrder = append(entOrder, c.EnterpriseID)
		}
		for _, p := range cal {
			if p.Start.After(now) {
				continue // not begun
			}
			cc.add(p.Status)
			e.add(p.Status)
			out.Total.add(p.Status)
		}
		if cc.Overdue > 0 {
			out.OverdueChecklists++
		}
		cc.finish()
		out.Checklists = append(out.Checklists, cc)
	}
	for _, id := range entOrder {
		e := byEnt[id]
		e.finish()
		out.Enterprises = append(out.Enterprises, *e)
	}
	sort.SliceStable(out.Enterprises, func(i, j int) bool { return out.Enterprises[i].Enterprise < out.Enterprises[j].Enterprise })
	out.Total.finish()

	var w sqldb.Where
	scope(&w, a, "p")
	w.Add("p.finished_utc >= ? AND p.finished_utc < ?", from.UTC(), to.UTC())
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN p.flags <> '[]' AND p.flags <> '' AND p.flags <> 'null' THEN 1 ELSE 0 END), 0)
		FROM patrols p`+w.SQL(), w.Args...).Scan(&out.Patrols, &out.FlaggedPatrols); err != nil {
		return out, err
	}
	return out, nil
}

// Home are the numbers of a phone's home screen, today in the caller's scope.
type Home struct {
	Date              string         `json:"date"`               // today, YYYY-MM-DD in Asia/Shanghai
	Today             Completion     `json:"today"`              // periods of active checklists overlapping today, begun by now
	OverduePeriods    int            `json:"overdue_periods"`    // overdue checklist periods of the last 30 days
	OpenHazards       int            `json:"open_hazards"`       // not accepted
	OpenByLevel       map[string]int `json:"open_by_level"`      // general, major
	OverdueHazards    int            `json:"overdue_hazards"`    // deadline passed and rectification not finished (hazard.IsOverdue)
	PendingAcceptance int            `json:"pending_acceptance"` // submitted, awaiting acceptance
}

// HomeDays is how far back the home screen counts overdue periods.
const HomeDays = 30

// Home computes the home-screen numbers.
func (s *Service) Home(ctx context.Context, a *yingji.Actor) (Home, error) {
	now := s.now()
	day := patrol.Schedule{Frequency: patrol.Daily}.PeriodAt(now)
	out := Home{Date: day.Start.Format("2006-01-02"), OpenByLevel: map[string]int{}}
	for _, l := range Levels {
		out.OpenByLevel[l] = 0
	}
	ps := s.patrols()
	list, err := ps.List(ctx, a, "", true)
	if err != nil {
		return out, err
	}
	for _, c := range list {
		cal, err := ps.Calendar(ctx, c, day.Start.AddDate(0, 0, -HomeDays), day.End)
		if err != nil {
			return out, err
		}
		for _, p := range cal {
			if p.Start.After(now) {
				continue
			}
			if p.Status == patrol.StatusOverdue {
				out.OverduePeriods++
			}
			if p.End.After(day.Start) { // overlaps today
				out.Today.add(p.Status)
			}
		}
	}
	out.Today.finish()
	hs, err := s.loadHazards(ctx, a)
	if err != nil {
		return out, err
	}
	for _, h := range hs {
		if h.status == accepted {
			continue
		}
		out.OpenHazards++
		out.OpenByLevel[h.level]++
		if h.overdue(now) {
			out.OverdueHazards++
		}
		if h.status == "submitted" {
			out.PendingAcceptance++
		}
	}
	return out, nil
}

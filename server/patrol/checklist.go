package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Checklist binds risk points (and optionally some of their measures) to a schedule and an
// assignee.
type Checklist struct {
	ID           string    `json:"id"`
	EnterpriseID string    `json:"enterprise_id"`
	OrgPath      string    `json:"org_path"`
	Name         string    `json:"name"`
	Frequency    string    `json:"frequency"`
	Shifts       []string  `json:"shifts"`
	RiskPointIDs []string  `json:"risk_point_ids"`
	MeasureIDs   []string  `json:"measure_ids"` // empty: every measure of the bound points
	Assignee     string    `json:"assignee"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Schedule is the checklist's schedule.
func (c Checklist) Schedule() Schedule { return Schedule{Frequency: c.Frequency, Shifts: c.Shifts} }

// CalendarPeriod is one period of a checklist with its status.
type CalendarPeriod struct {
	Period
	Status  string   `json:"status"`
	Missing []string `json:"missing"` // risk points not patrolled in the period
}

// Service reads and writes checklists.
type Service struct {
	DB    sqldb.DB
	Audit yingji.Auditor
	Now   func() time.Time
	// Changes records writes in the sync change log (the sync service); nil records nothing.
	Changes interface {
		Lock(ctx context.Context, q sqldb.Querier) error
		Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
	}
}

const cols = `id, enterprise_id, org_path, name, frequency, shifts, risk_point_ids, measure_ids, assignee, active, created_at, updated_at`

func scan(r interface{ Scan(...any) error }) (Checklist, error) {
	var c Checklist
	var sh, rps, ms string
	err := r.Scan(&c.ID, &c.EnterpriseID, &c.OrgPath, &c.Name, &c.Frequency, &sh, &rps, &ms, &c.Assignee, &c.Active, &c.CreatedAt, &c.UpdatedAt)
	json.Unmarshal([]byte(sh), &c.Shifts)
	json.Unmarshal([]byte(rps), &c.RiskPointIDs)
	json.Unmarshal([]byte(ms), &c.MeasureIDs)
	for _, p := range []*[]string{&c.Shifts, &c.RiskPointIDs, &c.MeasureIDs} {
		if *p == nil {
			*p = []string{}
		}
	}
	return c, err
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) audit(ctx context.Context, a *yingji.Actor, action, id, result string, detail any) {
	if s.Audit != nil {
		s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "checklist", ObjectID: id, Result: result, Detail: detail})
	}
}

// CanWrite: administrators of the enterprise's subtree and its safety officer or principal.
func CanWrite(a *yingji.Actor, enterpriseID, orgPath string) bool {
	switch {
	case a.Role.AdminRank() > 0:
		return a.InSubtree(orgPath)
	case a.Role == yingji.RoleSafetyOfficer || a.Role == yingji.RoleEnterprisePrincipal:
		return a.EnterpriseID != "" && a.EnterpriseID == enterpriseID
	}
	return false
}

func (s *Service) getRaw(ctx context.Context, id string) (Checklist, error) {
	c, err := scan(s.DB.QueryRow(ctx, `SELECT `+cols+` FROM checklists WHERE id = $1`, id))
	if errors.Is(err, yingji.ErrNotFound) {
		return c, yingji.Errorf(yingji.ENOTFOUND, "checklist.not_found", "巡查清单不存在")
	}
	return c, err
}

// Get returns a checklist the actor may read.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Checklist, error) {
	c, err := s.getRaw(ctx, id)
	if err != nil {
		return c, err
	}
	if !a.CanReadEnterprise(c.EnterpriseID, c.OrgPath) {
		s.audit(ctx, a, "checklist.read", id, "denied", nil)
		return Checklist{}, yingji.Forbidden("巡查清单")
	}
	return c, nil
}

// List returns the checklists in the actor's scope, optionally of one enterprise.
func (s *Service) List(ctx context.Context, a *yingji.Actor, enterpriseID string, activeOnly bool) ([]Checklist, error) {
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("enterprise_id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("org_path", sc.OrgPrefix)
	}
	if enterpriseID != "" {
		w.Add("enterprise_id = ?", enterpriseID)
	}
	if activeOnly {
		w.Add("active = ?", true)
	}
	rows, err := s.DB.Query(ctx, `SELECT `+cols+` FROM checklists`+w.SQL()+` ORDER BY name, id LIMIT 5000`, w.Args...)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Checklist, error) { return scan(r) })
}

// ChecklistFilter selects checklists for a page: Q matches the name.
type ChecklistFilter struct {
	EnterpriseID, Frequency, Q string
	Active                     *bool
}

// Page returns a page of the checklists in the actor's scope, by name unless p sorts by name,
// frequency, active or created_at.
func (s *Service) Page(ctx context.Context, a *yingji.Actor, f ChecklistFilter, p yingji.ListParams) (yingji.Page[Checklist], error) {
	page := yingji.Page[Checklist]{Items: []Checklist{}}
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("enterprise_id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("org_path", sc.OrgPrefix)
	}
	if f.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.EnterpriseID)
	}
	if f.Frequency != "" {
		w.Add("frequency = ?", f.Frequency)
	}
	if f.Active != nil {
		w.Add("active = ?", *f.Active)
	}
	if f.Q != "" {
		w.Add(`name LIKE ? ESCAPE '\'`, sqldb.Like(f.Q))
	}
	order, err := p.OrderBy(map[string]string{"name": "name", "frequency": "frequency", "active": "active", "created_at": "created_at"}, "name, id")
	if err != nil {
		return page, err
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM checklists`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := s.DB.Query(ctx, `SELECT `+cols+` FROM checklists`+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(p.PageSize)+` OFFSET `+w.Next(p.Offset()), w.Args...)
	items, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Checklist, error) { return scan(r) })
	if err != nil {
		return page, err
	}
	page.Items = items
	return page, nil
}

func invalid(field, msg string) error { return yingji.Invalid("checklist.invalid", field, "%s", msg) }

// validate checks a checklist and fills its org path from the enterprise.
func (s *Service) validate(ctx context.Context, q sqldb.Querier, c *Checklist) error {
	if n := len([]rune(c.Name)); n == 0 || n > 100 {
		return invalid("name", "清单名称不能为空，且不超过 100 个字")
	}
	if err := c.Schedule().Validate(); err != nil {
		return invalid("frequency", err.Error())
	}
	err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, c.EnterpriseID).Scan(&c.OrgPath)
	if errors.Is(err, yingji.ErrNotFound) {
		return invalid("enterprise_id", "所属企业不存在")
	} else if err != nil {
		return err
	}
	if len(c.RiskPointIDs) == 0 || len(c.RiskPointIDs) > 500 {
		return invalid("risk_point_ids", "清单须绑定 1 至 500 个风险点")
	}
	c.RiskPointIDs = slices.Compact(slices.Sorted(slices.Values(c.RiskPointIDs)))
	c.MeasureIDs = slices.Compact(slices.Sorted(slices.Values(c.MeasureIDs)))
	known := map[string]bool{}
	for _, id := range c.RiskPointIDs {
		rp, err := LoadRiskPoint(ctx, q, id)
		if errors.Is(err, yingji.ErrNotFound) || (err == nil && rp.EnterpriseID != c.EnterpriseID) {
			return invalid("risk_point_ids", "风险点“"+id+"”不存在或不属于该企业")
		} else if err != nil {
			return err
		}
		for _, m := range rp.Measures {
			known[m.ID] = true
		}
	}
	for _, m := range c.MeasureIDs {
		if !known[m] {
			return invalid("measure_ids", "措施“"+m+"”不属于所绑定的风险点")
		}
	}
	if c.Assignee != "" {
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, c.Assignee).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return invalid("assignee", "负责人（用户）不存在")
		}
	}
	return nil
}

// changed records a checklist write in the sync change log, so phones get it; the change log's
// lock is taken first, in the same order as every other writer of synced tables.
func (s *Service) lock(ctx context.Context, q sqldb.Querier) error {
	if s.Changes == nil {
		return nil
	}
	return s.Changes.Lock(ctx, q)
}

func (s *Service) changed(ctx context.Context, q sqldb.Querier, id string) error {
	if s.Changes == nil {
		return nil
	}
	return s.Changes.Changed(ctx, q, "checklists", id)
}

func (s *Service) write(ctx context.Context, a *yingji.Actor, action string, c Checklist, created bool) (Checklist, error) {
	err := s.DB.InTx(ctx, func(q sqldb.Querier) error {
		if err := s.lock(ctx, q); err != nil {
			return err
		}
		if err := s.validate(ctx, q, &c); err != nil {
			return err
		}
		if !CanWrite(a, c.EnterpriseID, c.OrgPath) {
			return yingji.Forbidden("企业")
		}
		sh, _ := json.Marshal(c.Shifts)
		rps, _ := json.Marshal(c.RiskPointIDs)
		ms, _ := json.Marshal(c.MeasureIDs)
		c.UpdatedAt = s.now()
		if created {
			c.CreatedAt = c.UpdatedAt
			if _, err := q.Exec(ctx, `INSERT INTO checklists (`+cols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				c.ID, c.EnterpriseID, c.OrgPath, c.Name, c.Frequency, string(sh), string(rps), string(ms), c.Assignee, c.Active, c.CreatedAt, c.UpdatedAt); err != nil {
				return err
			}
			return s.changed(ctx, q, c.ID)
		}
		if _, err := q.Exec(ctx, `UPDATE checklists SET enterprise_id = $2, org_path = $3, name = $4, frequency = $5, shifts = $6,
			risk_point_ids = $7, measure_ids = $8, assignee = $9, active = $10, updated_at = $11 WHERE id = $1`,
			c.ID, c.EnterpriseID, c.OrgPath, c.Name, c.Frequency, string(sh), string(rps), string(ms), c.Assignee, c.Active, c.UpdatedAt); err != nil {
			return err
		}
		return s.changed(ctx, q, c.ID)
	})
	if err != nil {
		if yingji.ErrorKind(err) == yingji.EFORBIDDEN {
			s.audit(ctx, a, action, c.ID, "denied", nil)
		}
		return Checklist{}, err
	}
	s.audit(ctx, a, action, c.ID, "ok", c)
	return c, nil
}

// Create adds a checklist.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, c Checklist) (Checklist, error) {
	c.ID = yingji.NewID()
	if c.Shifts == nil {
		c.Shifts = []string{}
	}
	return s.write(ctx, a, "checklist.create", c, true)
}

// Update replaces a checklist's fields; the actor must be able to write it before and after.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, change func(*Checklist)) (Checklist, error) {
	cur, err := s.getRaw(ctx, id)
	if err != nil {
		return cur, err
	}
	if !CanWrite(a, cur.EnterpriseID, cur.OrgPath) {
		s.audit(ctx, a, "checklist.update", id, "denied", nil)
		return Checklist{}, yingji.Forbidden("巡查清单")
	}
	next := cur
	change(&next)
	if next.Shifts == nil {
		next.Shifts = []string{}
	}
	return s.write(ctx, a, "checklist.update", next, false)
}

// Delete removes a checklist.
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, id string) error {
	cur, err := s.getRaw(ctx, id)
	if err != nil {
		return err
	}
	if !CanWrite(a, cur.EnterpriseID, cur.OrgPath) {
		s.audit(ctx, a, "checklist.delete", id, "denied", nil)
		return yingji.Forbidden("巡查清单")
	}
	err = s.DB.InTx(ctx, func(q sqldb.Querier) error {
		if err := s.lock(ctx, q); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM checklists WHERE id = $1`, id); err != nil {
			return err
		}
		return s.changed(ctx, q, id)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, a, "checklist.delete", id, "ok", cur)
	return nil
}

// MaxPeriods bounds one calendar answer.
const MaxPeriods = 2000

// Calendar returns the checklist's periods overlapping [from, to) with their status. A
// checklist has no period that ended before it was created: the first is the one it was
// created in.
func (s *Service) Calendar(ctx context.Context, c Checklist, from, to time.Time) ([]CalendarPeriod, error) {
	if from.Before(c.CreatedAt) {
		from = c.CreatedAt
	}
	periods := c.Schedule().Periods(from, to, MaxPeriods)
	out := []CalendarPeriod{}
	if len(periods) == 0 {
		return out, nil
	}
	patrols := map[string][]time.Time{}
	err := sqldb.InChunks(c.RiskPointIDs, []any{periods[0].Start.UTC(), periods[len(periods)-1].End.UTC()}, func(args []any, in string) error {
		rows, err := s.DB.Query(ctx, `SELECT risk_point_id, finished_utc FROM patrols
			WHERE finished_utc >= $1 AND finished_utc < $2 AND risk_point_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			patrols[id] = append(patrols[id], at)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, p := range periods {
		cp := CalendarPeriod{Period: Period{p.Start, p.End}, Missing: []string{}}
		for _, id := range c.RiskPointIDs {
			if !slices.ContainsFunc(patrols[id], p.Contains) {
				cp.Missing = append(cp.Missing, id)
			}
		}
		cp.Status = Status(p, Done(p, c.RiskPointIDs, patrols), now)
		out = append(out, cp)
	}
	return out, nil
}

// OverduePeriod is a missed period of a checklist.
type OverduePeriod struct {
	ChecklistID   string `json:"checklist_id"`
	ChecklistName string `json:"checklist_name"`
	EnterpriseID  string `json:"enterprise_id"`
	Assignee      string `json:"assignee"`
	CalendarPeriod
}

// Overdue lists the overdue periods of the active checklists in the actor's scope since from.
func (s *Service) Overdue(ctx context.Context, a *yingji.Actor, from time.Time) ([]OverduePeriod, error) {
	list, err := s.List(ctx, a, "", true)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []OverduePeriod{}
	for _, c := range list {
		cal, err := s.Calendar(ctx, c, from, now)
		if err != nil {
			return nil, err
		}
		for _, p := range cal {
			if p.Status == StatusOverdue {
				out = append(out, OverduePeriod{ChecklistID: c.ID, ChecklistName: c.Name, EnterpriseID: c.EnterpriseID,
					Assignee: c.Assignee, CalendarPeriod: p})
			}
		}
	}
	return out, nil
}

package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// ChangeLog records changes of synced records in the writing transaction (the sync service).
type ChangeLog interface {
	// Lock takes the change log's lock first, so office writes lock in a push's order.
	Lock(ctx context.Context, q sqldb.Querier) error
	// Changed records records the office changed.
	Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
}

// Service is the incident module: the store functions taking a Querier (other modules call
// them inside their own transactions) and the actor-checked operations of the API.
type Service struct {
	DB      sqldb.DB
	Changes ChangeLog // nil: no change log (store tests)
	// ScopesChanged is told after commit of the users whose incident scopes changed (the sync
	// service's ScopesChanged); nil: nobody is told.
	ScopesChanged func(ctx context.Context, userIDs ...string)
	Audit         yingji.Auditor
	Log           *slog.Logger
	Now           func() time.Time
	// Inbox puts notifications in users' inboxes and delivers them on their channels; nil: none.
	Inbox Inbox
	// LeaderRole approves response steps when the plan names no 总指挥 with an account: the
	// user of that role nearest above the incident (default city_admin).
	LeaderRole yingji.Role
}

// Inbox is the per-user inbox (*inbox.Service).
type Inbox interface {
	PutTx(ctx context.Context, q sqldb.Querier, it inbox.Item) (bool, error)
}

// New returns the service.
func New(db sqldb.DB, changes ChangeLog, audit yingji.Auditor, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{DB: db, Changes: changes, Audit: audit, Log: log, Now: time.Now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Second) }

// writeTx runs fn in a transaction that writes synced tables: the change log's lock first.
func (s *Service) writeTx(ctx context.Context, fn func(tx sqldb.Querier) error) error {
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if s.Changes != nil {
			if err := s.Changes.Lock(ctx, tx); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

func (s *Service) changed(ctx context.Context, q sqldb.Querier, coll string, ids ...string) error {
	if s.Changes == nil {
		return nil
	}
	return s.Changes.Changed(ctx, q, coll, ids...)
}

// ErrNotFound is the error of an incident that does not exist (or is out of scope).
var ErrNotFound = yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "事件不存在")

func notFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		e := *ErrNotFound
		e.Err = err
		return &e
	}
	return err
}

const cols = `id, code, title, class, sub_type, grade, status, response_level, plan_id, lat, lng, cell, area, address,
	org_path, org_unit_id, enterprise_id, occurred_at, reported_at, received_at, reporter_id, reporter_name, reporter_phone,
	source, alert_id, dead, injured, missing, trapped, affected, economic_loss, materials, exercise, description,
	created_by, created_at, updated_at, terminated_at`

func scan(r sqldb.Row) (Incident, error) {
	var x Incident
	var materials string
	err := r.Scan(&x.ID, &x.Code, &x.Title, &x.Class, &x.SubType, &x.Grade, &x.Status, &x.ResponseLevel, &x.PlanID, &x.Lat, &x.Lng,
		&x.Cell, &x.Area, &x.Address, &x.OrgPath, &x.OrgUnitID, &x.EnterpriseID, &x.OccurredAt, &x.ReportedAt, &x.ReceivedAt,
		&x.ReporterID, &x.ReporterName, &x.ReporterPhone, &x.Source, &x.AlertID, &x.Dead, &x.Injured, &x.Missing, &x.Trapped,
		&x.Affected, &x.EconomicLoss, &materials, &x.Exercise, &x.Description, &x.CreatedBy, &x.CreatedAt, &x.UpdatedAt, &x.TerminatedAt)
	if err != nil {
		return x, err
	}
	x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(materials), &x.Materials); err != nil {
		return x, fmt.Errorf("incident %s materials: %w", x.ID, err)
	}
	if x.Materials == nil {
		x.Materials = []Material{}
	}
	return x, nil
}

func scanRows(r sqldb.Rows) (Incident, error) { return scan(r) }

// Get reads an incident (no scope check: callers check it).
func (s *Service) Get(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	return Load(ctx, q, id)
}

// Reader reads incidents for other modules (dispatch, tasks, the timeline, assessments):
// *Service implements it, so the table's columns and how they read live here once.
type Reader interface {
	Get(ctx context.Context, q sqldb.Querier, id string) (Incident, error)
}

// Load reads an incident from the store (no scope check: callers check it); ErrNotFound when
// there is none. Callers inside a sync push batch may cache it (syncsvc.Cached).
func Load(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	x, err := scan(q.QueryRow(ctx, `SELECT `+cols+` FROM incidents WHERE id = $1`, id))
	return x, notFound(err)
}

// nextCode takes the next incident code of the year: YJ-2026-0001.
func nextCode(ctx context.Context, q sqldb.Querier, at time.Time) (string, error) {
	year := at.In(china).Year()
	var v string
	err := q.QueryRow(ctx, `INSERT INTO meta (key, value) VALUES ($1, '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT) RETURNING value`,
		"incident_seq:"+strconv.Itoa(year)).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("incident code: %w", err)
	}
	n, _ := strconv.Atoi(v)
	return fmt.Sprintf("YJ-%d-%04d", year, n), nil
}

var china = time.FixedZone("CST", 8*3600)

// Insert writes a new incident row as it is, assigning its code (when empty), cell and
// stamps. It records no change: Create and the synced collection do.
func (s *Service) Insert(ctx context.Context, q sqldb.Querier, x *Incident) error {
	now := s.now()
	if x.Code == "" {
		code, err := nextCode(ctx, q, now)
		if err != nil {
			return err
		}
		x.Code = code
	}
	x.Cell = cellOf(*x)
	x.CreatedAt, x.UpdatedAt = now, now
	_, err := q.Exec(ctx, `INSERT INTO incidents (`+cols+`) VALUES (`+sqldb.Placeholders(1, 38)+`)`, args(*x)...)
	if errors.Is(err, yingji.ErrDuplicate) {
		return yingji.Errorf(yingji.ECONFLICT, "incident.duplicate", "该事件已存在")
	}
	return err
}

func args(x Incident) []any {
	var lat, lng any
	if x.Lat != nil && x.Lng != nil {
		lat, lng = *x.Lat, *x.Lng
	}
	return []any{x.ID, x.Code, x.Title, x.Class, x.SubType, x.Grade, x.Status, x.ResponseLevel, x.PlanID, lat, lng, x.Cell,
		x.Area, x.Address, x.OrgPath, x.OrgUnitID, x.EnterpriseID, x.OccurredAt, x.ReportedAt, x.ReceivedAt, x.ReporterID,
		x.ReporterName, x.ReporterPhone, x.Source, x.AlertID, x.Dead, x.Injured, x.Missing, x.Trapped, x.Affected,
		x.EconomicLoss, materialsJSON(x.Materials), x.Exercise, x.Description, x.CreatedBy, x.CreatedAt, x.UpdatedAt, x.TerminatedAt}
}

// Save writes every field of an existing incident but its id, code, creator and created_at.
func (s *Service) Save(ctx context.Context, q sqldb.Querier, x *Incident) error {
	x.UpdatedAt = s.now()
	x.Cell = cellOf(*x)
	a := args(*x)
	names := strings.Split(cols, ",")
	var sets []string
	var vals []any
	for i, n := range names {
		if n == "id" || n == "code" || n == "created_by" || n == "created_at" {
			continue
		}
		vals = append(vals, a[i])
		sets = append(sets, fmt.Sprintf("%s = $%d", strings.TrimSpace(n), len(vals)))
	}
	vals = append(vals, x.ID)
	n, err := q.Exec(ctx, `UPDATE incidents SET `+strings.Join(sets, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(vals)), vals...)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// Filter narrows a list of incidents.
type Filter struct {
	Status   string // one of Statuses, "" any
	Class    string
	Grade    string
	From, To string // occurred_at range, RFC 3339, To exclusive
	Exercise *bool  // nil: both
	Query    string // in title, code or address
	// Scope: OrgPrefix restricts to a subtree; EnterpriseID to an enterprise; MemberID adds the
	// incidents the user is an active member of.
	OrgPrefix    string
	EnterpriseID string
	MemberID     string
	All          bool // no scope restriction (the system)
}

func (f Filter) where() sqldb.Where {
	var w sqldb.Where
	if !f.All {
		var or []string
		var orArgs []any
		if f.OrgPrefix != "" {
			or = append(or, "(org_path >= ? AND org_path < ?)")
			orArgs = append(orArgs, f.OrgPrefix, sqldb.PrefixEnd(f.OrgPrefix))
		}
		if f.EnterpriseID != "" {
			or = append(or, "enterprise_id = ?")
			orArgs = append(orArgs, f.EnterpriseID)
		}
		if f.MemberID != "" {
			or = append(or, "id IN (SELECT incident_id FROM incident_members WHERE user_id = ? AND removed_at IS NULL)")
			orArgs = append(orArgs, f.MemberID)
		}
		if len(or) == 0 {
			w.Add("1 = 0")
		} else {
			w.Add("("+strings.Join(or, " OR ")+")", orArgs...)
		}
	}
	if f.Status != "" {
		w.Add("status = ?", f.Status)
	}
	if f.Class != "" {
		w.Add("class = ?", f.Class)
	}
	if f.Grade != "" {
		w.Add("grade = ?", f.Grade)
	}
	if f.From != "" {
		w.Add("occurred_at >= ?", f.From)
	}
	if f.To != "" {
		w.Add("occurred_at < ?", f.To)
	}
	if f.Exercise != nil {
		w.Add("exercise = ?", *f.Exercise)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		l := sqldb.Like(q)
		w.Add(`(title LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\' OR address LIKE ? ESCAPE '\')`, l, l, l)
	}
	return w
}

var sorts = map[string]string{"occurred_at": "occurred_at", "reported_at": "reported_at", "code": "code",
	"grade": "grade", "status": "status", "response_level": "response_level", "updated_at": "updated_at"}

// ListIn lists incidents matching f, newest first by default.
func (s *Service) ListIn(ctx context.Context, q sqldb.Querier, f Filter, p yingji.ListParams) (yingji.Page[Incident], error) {
	p.Normalize()
	order, err := p.OrderBy(sorts, "occurred_at DESC")
	if err != nil {
		return yingji.Page[Incident]{}, err
	}
	w := f.where()
	page := yingji.Page[Incident]{Items: []Incident{}}
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM incidents`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	sql := `SELECT ` + cols + ` FROM incidents` + w.SQL() + ` ORDER BY ` + order + `, id DESC LIMIT ` + w.Next(p.PageSize) + ` OFFSET ` + w.Next(p.Offset())
	rows, err := q.Query(ctx, sql, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanRows)
	return page, err
}

// Membership.

const memberCols = `m.incident_id, m.user_id, m.grp, m.role_title, m.team_id, m.added_by, m.added_at, m.removed_by, m.removed_at,
	COALESCE(u.name, ''), COALESCE(u.phone, ''), COALESCE(u.username, '')`

func scanMember(r sqldb.Rows) (Member, error) {
	var m Member
	err := r.Scan(&m.IncidentID, &m.UserID, &m.Group, &m.RoleTitle, &m.TeamID, &m.AddedBy, &m.AddedAt, &m.RemovedBy, &m.RemovedAt,
		&m.Name, &m.Phone, &m.Username)
	return m, err
}

// AddMembers adds users to groups of an incident; a user already active in that group stays
// as he is. The users whose scopes change are told after commit.
func (s *Service) AddMembers(ctx context.Context, q sqldb.Querier, incidentID string, ms []Member) error {
	now := FormatTime(s.now())
	var added []string
	for _, m := range ms {
		if !slices.Contains(Groups, m.Group) {
			return yingji.Invalid("incident.bad_group", "grp", "成员分组只能是 hq（应急指挥部）、onsite（现场指挥部）、team（救援队伍）或 member（群组成员）")
		}
		if m.UserID == "" {
			return yingji.Invalid("incident.bad_member", "user_id", "成员须为系统用户")
		}
		n, err := q.Exec(ctx, `INSERT INTO incident_members (incident_id, user_id, grp, role_title, team_id, added_by, added_at)
			SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM incident_members
				WHERE incident_id = $1 AND user_id = $2 AND grp = $3 AND removed_at IS NULL)`,
			incidentID, m.UserID, m.Group, m.RoleTitle, m.TeamID, m.AddedBy, now)
		if err != nil {
			return fmt.Errorf("add incident member: %w", err)
		}
		if n > 0 {
			added = append(added, m.UserID)
		}
	}
	s.scopesChanged(ctx, q, added)
	return nil
}

func (s *Service) scopesChanged(ctx context.Context, q sqldb.Querier, users []string) {
	if len(users) == 0 || s.ScopesChanged == nil {
		return
	}
	users = slices.Compact(slices.Sorted(slices.Values(users)))
	q.AfterCommit(func() { s.ScopesChanged(context.WithoutCancel(ctx), users...) })
}

// AddTeam adds every enabled user of a rescue team to the incident (group team).
func (s *Service) AddTeam(ctx context.Context, q sqldb.Querier, incidentID, teamID string) error {
	return s.addTeam(ctx, q, incidentID, teamID, "")
}

func (s *Service) addTeam(ctx context.Context, q sqldb.Querier, incidentID, teamID, by string) error {
	users, err := strs(ctx, q, `SELECT id FROM users WHERE team_id = $1 AND disabled = $2 ORDER BY id`, teamID, false)
	if err != nil {
		return err
	}
	ms := make([]Member, len(users))
	for i, u := range users {
		ms[i] = Member{UserID: u, Group: GroupTeam, TeamID: teamID, AddedBy: by}
	}
	return s.AddMembers(ctx, q, incidentID, ms)
}

// RemoveTeam removes the members a team brought (group team) from the incident.
func (s *Service) RemoveTeam(ctx context.Context, q sqldb.Querier, incidentID, teamID string) error {
	users, err := strs(ctx, q, `SELECT DISTINCT user_id FROM incident_members
		WHERE incident_id = $1 AND team_id = $2 AND grp = $3 AND removed_at IS NULL ORDER BY user_id`, incidentID, teamID, GroupTeam)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `UPDATE incident_members SET removed_at = $1
		WHERE incident_id = $2 AND team_id = $3 AND grp = $4 AND removed_at IS NULL`,
		FormatTime(s.now()), incidentID, teamID, GroupTeam); err != nil {
		return err
	}
	s.scopesChanged(ctx, q, users)
	return nil
}

// RemoveMember ends a user's membership of one group (every group with grp "").
func (s *Service) RemoveMember(ctx context.Context, q sqldb.Querier, incidentID, userID, grp, by string) error {
	w := `incident_id = $3 AND user_id = $4 AND removed_at IS NULL`
	a := []any{FormatTime(s.now()), by, incidentID, userID}
	if grp != "" {
		w += ` AND grp = $5`
		a = append(a, grp)
	}
	n, err := q.Exec(ctx, `UPDATE incident_members SET removed_at = $1, removed_by = $2 WHERE `+w, a...)
	if err != nil {
		return err
	}
	if n > 0 {
		s.scopesChanged(ctx, q, []string{userID})
	}
	return nil
}

// Members lists an incident's members with their names and phones, active ones only unless
// all, by group and time added.
func (s *Service) Members(ctx context.Context, q sqldb.Querier, incidentID string, all bool) ([]Member, error) {
	w := ""
	if !all {
		w = ` AND m.removed_at IS NULL`
	}
	rows, err := q.Query(ctx, `SELECT `+memberCols+` FROM incident_members m LEFT JOIN users u ON u.id = m.user_id
		WHERE m.incident_id = $1`+w+` ORDER BY CASE m.grp WHEN 'hq' THEN 0 WHEN 'onsite' THEN 1 WHEN 'team' THEN 2 ELSE 3 END, m.added_at, m.user_id`,
		incidentID)
	return sqldb.CollectRows(rows, err, scanMember)
}

// MemberUserIDs lists the users active in an incident (any group), once each.
func (s *Service) MemberUserIDs(ctx context.Context, q sqldb.Querier, incidentID string) ([]string, error) {
	return strs(ctx, q, `SELECT DISTINCT user_id FROM incident_members WHERE incident_id = $1 AND removed_at IS NULL ORDER BY user_id`, incidentID)
}

// IsMember reports whether the user is active in the incident.
func (s *Service) IsMember(ctx context.Context, q sqldb.Querier, incidentID, userID string) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = $1 AND user_id = $2 AND removed_at IS NULL`,
		incidentID, userID).Scan(&n)
	return n > 0, err
}

// UserIncidents lists the incidents a user is active in (his inc:<id> scopes).
func (s *Service) UserIncidents(ctx context.Context, q sqldb.Querier, userID string) ([]string, error) {
	return strs(ctx, q, `SELECT DISTINCT incident_id FROM incident_members WHERE user_id = $1 AND removed_at IS NULL ORDER BY incident_id`, userID)
}

// Scope is the sync scope of an incident's records.
func Scope(incidentID string) string { return syncsvc.IncidentScope(incidentID) }

// ScopeSource gives an actor the scopes inc:<id> of the incidents he is active in (register
// it with the sync service's AddScopeSource).
func (s *Service) ScopeSource(ctx context.Context, q sqldb.Querier, a *yingji.Actor) ([]string, error) {
	if a == nil || a.UserID == "" {
		return nil, nil
	}
	ids, err := s.UserIncidents(ctx, q, a.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = Scope(id)
	}
	return out, nil
}

// strs runs a query of one text column.
func strs(ctx context.Context, q sqldb.Querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
}

// cellOf is the zoom-18 cell of the incident's point ("" without one).
func cellOf(x Incident) string {
	if x.Lat == nil || x.Lng == nil {
		return ""
	}
	return org.CellOf(*x.Lat, *x.Lng)
}

package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var _ org.Store = (*Store)(nil)

// addUnitScope selects the units (columns path and id) in a scope: the subtree under
// sc.Subtree and the units on the path sc.Ancestors.
func addUnitScope(w *sqldb.Where, pathCol, idCol string, sc org.UnitScope) {
	if sc.Subtree == "" && sc.Ancestors == "" {
		return
	}
	var alts []string
	var args []any
	if p := sc.Subtree; p != "" {
		alts = append(alts, "("+pathCol+" >= ? AND "+pathCol+" < ?)")
		args = append(args, p, sqldb.PrefixEnd(p))
	}
	if ids := org.PathIDs(sc.Ancestors); len(ids) > 0 {
		alts = append(alts, idCol+" IN (?"+strings.Repeat(", ?", len(ids)-1)+")")
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if len(alts) == 0 {
		alts = append(alts, "1 = 0")
	}
	w.Add("("+strings.Join(alts, " OR ")+")", args...)
}

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(n int64, err error) error {
	if err == nil && n == 0 {
		return yingji.ErrNotFound
	}
	return err
}

// ---- org units ----

const unitCols = `id, parent_id, level, code, name, path, sort, created_at, updated_at`

func scanUnit(r sqldb.Row) (org.Unit, error) {
	var u org.Unit
	var parent *string
	err := r.Scan(&u.ID, &parent, &u.Level, &u.Code, &u.Name, &u.Path, &u.Sort, &u.CreatedAt, &u.UpdatedAt)
	u.ParentID = str(parent)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

func scanUnits(r sqldb.Rows) (org.Unit, error) { return scanUnit(r) }

func (s *Store) GetUnit(ctx context.Context, id string) (org.Unit, error) {
	u, err := scanUnit(s.DB.QueryRow(ctx, `SELECT `+unitCols+` FROM org_units WHERE id = $1`, id))
	if err != nil {
		return org.Unit{}, fmt.Errorf("store: get unit %s: %w", id, err)
	}
	return u, nil
}

func (s *Store) ListUnits(ctx context.Context, f org.UnitFilter) ([]org.Unit, error) {
	var w sqldb.Where
	addUnitScope(&w, "path", "id", f.Scope)
	if f.Subtree != "" {
		w.Prefix("path", f.Subtree)
	}
	if f.ParentID != "" {
		w.Add("parent_id = ?", f.ParentID)
	}
	if f.Level != "" {
		w.Add("level = ?", string(f.Level))
	}
	if f.Code != "" {
		w.Add("code = ?", f.Code)
	}
	if f.Q != "" {
		w.Add(`name LIKE ? ESCAPE '\'`, sqldb.Like(f.Q))
	}
	rows, err := s.DB.Query(ctx, `SELECT `+unitCols+` FROM org_units`+w.SQL()+` ORDER BY sort, code, id`, w.Args...)
	us, err := sqldb.CollectRows(rows, err, scanUnits)
	if err != nil {
		return nil, fmt.Errorf("store: list units: %w", err)
	}
	return us, nil
}

func insertUnit(ctx context.Context, q sqldb.Querier, u org.Unit) error {
	_, err := q.Exec(ctx, `INSERT INTO org_units (`+unitCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, nullable(u.ParentID), string(u.Level), u.Code, u.Name, u.Path, u.Sort, u.CreatedAt.UTC(), u.UpdatedAt.UTC())
	return err
}

func (s *Store) CreateUnit(ctx context.Context, u org.Unit) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := insertUnit(ctx, tx, u); err != nil {
			return err
		}
		return s.changed(ctx, tx, "org_units", u.ID)
	})
	if err != nil {
		return fmt.Errorf("store: create unit: %w", err)
	}
	return nil
}

func (s *Store) CreateUnits(ctx context.Context, us []org.Unit) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		for i, u := range us {
			if err := insertUnit(ctx, tx, u); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
		}
		return s.changed(ctx, tx, "org_units", unitIDs(us)...)
	})
	if err != nil {
		return fmt.Errorf("store: create units: %w", err)
	}
	return nil
}

func (s *Store) UpdateUnit(ctx context.Context, u org.Unit) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE org_units SET code = $2, name = $3, sort = $4, updated_at = $5 WHERE id = $1`,
			u.ID, u.Code, u.Name, u.Sort, u.UpdatedAt.UTC())); err != nil {
			return err
		}
		return s.changed(ctx, tx, "org_units", u.ID)
	})
	if err != nil {
		return fmt.Errorf("store: update unit %s: %w", u.ID, err)
	}
	return nil
}

func (s *Store) DeleteUnit(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM org_units WHERE id = $1`, id)); err != nil {
			return err
		}
		return s.changed(ctx, tx, "org_units", id)
	})
	if err != nil {
		return fmt.Errorf("store: delete unit %s: %w", id, err)
	}
	return nil
}

func (s *Store) UnitRefs(ctx context.Context, id string) (org.UnitRefs, error) {
	var r org.UnitRefs
	err := s.DB.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM org_units WHERE parent_id = $1),
		(SELECT COUNT(*) FROM enterprises WHERE township_id = $1 OR grid_id = $1),
		(SELECT COUNT(*) FROM teams WHERE org_unit_id = $1),
		(SELECT COUNT(*) FROM users WHERE org_unit_id = $1),
		(SELECT COUNT(*) FROM resources WHERE org_unit_id = $1 AND kind <> 'team')`, id).Scan(&r.Children, &r.Enterprises, &r.Teams, &r.Users, &r.Resources)
	if err != nil {
		return r, fmt.Errorf("store: unit refs %s: %w", id, err)
	}
	return r, nil
}

// ---- enterprises ----

const enterpriseCols = `id, name, credit_code, industry, township_id, grid_id, org_path, address, lat, lng, cell,
	hazardous_chemicals, major_hazard, legal_person, phone, created_at, updated_at`

func scanEnterprise(r sqldb.Row) (org.Enterprise, error) {
	var e org.Enterprise
	var grid *string
	err := r.Scan(&e.ID, &e.Name, &e.CreditCode, &e.Industry, &e.TownshipID, &grid, &e.OrgPath, &e.Address,
		&e.Lat, &e.Lng, &e.Cell, &e.HazardousChemicals, &e.MajorHazard, &e.LegalPerson, &e.Phone,
		&e.CreatedAt, &e.UpdatedAt)
	e.GridID = str(grid)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, err
}

func scanEnterprises(r sqldb.Rows) (org.Enterprise, error) { return scanEnterprise(r) }

func (s *Store) GetEnterprise(ctx context.Context, id string) (org.Enterprise, error) {
	e, err := scanEnterprise(s.DB.QueryRow(ctx, `SELECT `+enterpriseCols+` FROM enterprises WHERE id = $1`, id))
	if err != nil {
		return org.Enterprise{}, fmt.Errorf("store: get enterprise %s: %w", id, err)
	}
	return e, nil
}

func (s *Store) GetEnterpriseByCreditCode(ctx context.Context, code string) (org.Enterprise, error) {
	e, err := scanEnterprise(s.DB.QueryRow(ctx, `SELECT `+enterpriseCols+` FROM enterprises WHERE credit_code = $1`, code))
	if err != nil {
		return org.Enterprise{}, fmt.Errorf("store: get enterprise by credit code: %w", err)
	}
	return e, nil
}

var enterpriseSorts = map[string]string{
	"name": "name", "credit_code": "credit_code", "industry": "industry",
	"created_at": "created_at", "updated_at": "updated_at",
}

func (s *Store) ListEnterprises(ctx context.Context, f org.EnterpriseFilter, p yingji.ListParams) (yingji.Page[org.Enterprise], error) {
	var page yingji.Page[org.Enterprise]
	p.Normalize()
	order, err := p.OrderBy(enterpriseSorts, "name ASC, id ASC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	if f.Scope.EnterpriseID != "" {
		w.Add("id = ?", f.Scope.EnterpriseID)
	}
	if f.Scope.OrgPrefix != "" {
		w.Prefix("org_path", f.Scope.OrgPrefix)
	}
	if f.Q != "" {
		w.Add(`(name LIKE ? ESCAPE '\' OR credit_code LIKE ? ESCAPE '\')`,
			sqldb.Like(f.Q), sqldb.Like(strings.ToUpper(f.Q)))
	}
	if f.TownshipID != "" {
		w.Add("township_id = ?", f.TownshipID)
	}
	if f.GridID != "" {
		w.Add("grid_id = ?", f.GridID)
	}
	if f.Industry != "" {
		w.Add("industry = ?", f.Industry)
	}
	if f.HazardousChemicals != nil {
		w.Add("hazardous_chemicals = ?", *f.HazardousChemicals)
	}
	if f.MajorHazard != nil {
		w.Add("major_hazard = ?", *f.MajorHazard)
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM enterprises`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count enterprises: %w", err)
	}
	q := `SELECT ` + enterpriseCols + ` FROM enterprises` + w.SQL() + ` ORDER BY ` + order +
		` LIMIT ` + w.Next(p.PageSize) + ` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanEnterprises)
	if err != nil {
		return page, fmt.Errorf("store: list enterprises: %w", err)
	}
	return page, nil
}

func insertEnterprise(ctx context.Context, q sqldb.Querier, e org.Enterprise) error {
	_, err := q.Exec(ctx, `INSERT INTO enterprises (`+enterpriseCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		e.ID, e.Name, e.CreditCode, e.Industry, e.TownshipID, nullable(e.GridID), e.OrgPath, e.Address,
		nullFloat(e.Lat), nullFloat(e.Lng), e.Cell, e.HazardousChemicals, e.MajorHazard, e.LegalPerson, e.Phone,
		e.CreatedAt.UTC(), e.UpdatedAt.UTC())
	return err
}

func (s *Store) CreateEnterprise(ctx context.Context, e org.Enterprise) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := insertEnterprise(ctx, tx, e); err != nil {
			return err
		}
		return s.changed(ctx, tx, "enterprises", e.ID)
	})
	if err != nil {
		return fmt.Errorf("store: create enterprise: %w", err)
	}
	return nil
}

func (s *Store) CreateEnterprises(ctx context.Context, es []org.Enterprise) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		for i, e := range es {
			if err := insertEnterprise(ctx, tx, e); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
		}
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.ID
		}
		return s.changed(ctx, tx, "enterprises", ids...)
	})
	if err != nil {
		return fmt.Errorf("store: create enterprises: %w", err)
	}
	return nil
}

func (s *Store) UpdateEnterprise(ctx context.Context, e org.Enterprise) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		err := mustAffect(tx.Exec(ctx, `UPDATE enterprises SET name = $2, credit_code = $3, industry = $4,
		township_id = $5, grid_id = $6, org_path = $7, address = $8, lat = $9, lng = $10, cell = $11,
		hazardous_chemicals = $12, major_hazard = $13, legal_person = $14, phone = $15, updated_at = $16
		WHERE id = $1`,
			e.ID, e.Name, e.CreditCode, e.Industry, e.TownshipID, nullable(e.GridID), e.OrgPath, e.Address,
			nullFloat(e.Lat), nullFloat(e.Lng), e.Cell, e.HazardousChemicals, e.MajorHazard, e.LegalPerson, e.Phone,
			e.UpdatedAt.UTC()))
		if err != nil {
			return err
		}
		// The enterprise's contacts and hazards follow it if it moved.
		if err := s.changed(ctx, tx, "enterprises", e.ID); err != nil {
			return err
		}
		if err := s.movedChildren(ctx, tx, "contacts", `SELECT id FROM contacts WHERE enterprise_id = $1`, e.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hazards SET org_path = $2 WHERE enterprise_id = $1 AND org_path <> $2`, e.ID, e.OrgPath); err != nil {
			return err
		}
		if err := s.movedChildren(ctx, tx, "hazards", `SELECT id FROM hazards WHERE enterprise_id = $1`, e.ID); err != nil {
			return err
		}
		if err := s.riskPointsMoved(ctx, tx, e.ID, e.OrgPath); err != nil {
			return err
		}
		return s.resourcesMoved(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("store: update enterprise %s: %w", e.ID, err)
	}
	return nil
}

func (s *Store) DeleteEnterprise(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		rows, err := tx.Query(ctx, `SELECT id FROM contacts WHERE enterprise_id = $1`, id)
		contacts, err := sqldb.CollectRows(rows, err, scanID)
		if err != nil {
			return err
		}
		if err := s.deleteRiskPointsOf(ctx, tx, id); err != nil {
			return err
		}
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM enterprises WHERE id = $1`, id)); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, "contacts", contacts...); err != nil {
			return err
		}
		return s.changed(ctx, tx, "enterprises", id)
	})
	if err != nil {
		return fmt.Errorf("store: delete enterprise %s: %w", id, err)
	}
	return nil
}

func (s *Store) EnterpriseRefs(ctx context.Context, id string) (org.EnterpriseRefs, error) {
	var r org.EnterpriseRefs
	if err := s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE enterprise_id = $1),
		(SELECT COUNT(*) FROM hazards WHERE enterprise_id = $1),
		(SELECT COUNT(*) FROM resources WHERE enterprise_id = $1)`, id).Scan(&r.Users, &r.Hazards, &r.Resources); err != nil {
		return r, fmt.Errorf("store: enterprise refs %s: %w", id, err)
	}
	return r, nil
}

// ---- contacts ----

const contactCols = `id, enterprise_id, name, title, phone, is_primary, created_at, updated_at`

func scanContact(r sqldb.Row) (org.Contact, error) {
	var c org.Contact
	err := r.Scan(&c.ID, &c.EnterpriseID, &c.Name, &c.Title, &c.Phone, &c.IsPrimary, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func scanContacts(r sqldb.Rows) (org.Contact, error) { return scanContact(r) }

func (s *Store) GetContact(ctx context.Context, id string) (org.Contact, error) {
	c, err := scanContact(s.DB.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = $1`, id))
	if err != nil {
		return org.Contact{}, fmt.Errorf("store: get contact %s: %w", id, err)
	}
	return c, nil
}

func (s *Store) ListContacts(ctx context.Context, enterpriseID string) ([]org.Contact, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+contactCols+` FROM contacts WHERE enterprise_id = $1
		ORDER BY is_primary DESC, created_at, id`, enterpriseID)
	cs, err := sqldb.CollectRows(rows, err, scanContacts)
	if err != nil {
		return nil, fmt.Errorf("store: list contacts: %w", err)
	}
	return cs, nil
}

// clearPrimary makes every other contact of c's enterprise non-primary when c is primary.
func clearPrimary(ctx context.Context, q sqldb.Querier, c org.Contact) error {
	if !c.IsPrimary {
		return nil
	}
	_, err := q.Exec(ctx, `UPDATE contacts SET is_primary = $1, updated_at = $2
		WHERE enterprise_id = $3 AND is_primary = $4 AND id <> $5`, false, c.UpdatedAt.UTC(), c.EnterpriseID, true, c.ID)
	return err
}

func (s *Store) CreateContact(ctx context.Context, c org.Contact) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := clearPrimary(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, c.EnterpriseID, c.Name, c.Title, c.Phone, c.IsPrimary, c.CreatedAt.UTC(), c.UpdatedAt.UTC())
		if err != nil {
			return err
		}
		return s.contactChanged(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("store: create contact: %w", err)
	}
	return nil
}

func (s *Store) UpdateContact(ctx context.Context, c org.Contact) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := clearPrimary(ctx, tx, c); err != nil {
			return err
		}
		if err := mustAffect(tx.Exec(ctx, `UPDATE contacts SET name = $2, title = $3, phone = $4, is_primary = $5,
			updated_at = $6 WHERE id = $1 AND enterprise_id = $7`,
			c.ID, c.Name, c.Title, c.Phone, c.IsPrimary, c.UpdatedAt.UTC(), c.EnterpriseID)); err != nil {
			return err
		}
		return s.contactChanged(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("store: update contact %s: %w", c.ID, err)
	}
	return nil
}

func (s *Store) DeleteContact(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM contacts WHERE id = $1`, id)); err != nil {
			return err
		}
		return s.changed(ctx, tx, "contacts", id)
	})
	if err != nil {
		return fmt.Errorf("store: delete contact %s: %w", id, err)
	}
	return nil
}

// ---- teams ----

const teamSelect = `SELECT t.id, t.name, t.kind, t.org_unit_id, u.path, t.created_at, t.updated_at
	FROM teams t JOIN org_units u ON u.id = t.org_unit_id`

func scanTeam(r sqldb.Row) (org.Team, error) {
	var t org.Team
	err := r.Scan(&t.ID, &t.Name, &t.Kind, &t.OrgUnitID, &t.OrgPath, &t.CreatedAt, &t.UpdatedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

func scanTeams(r sqldb.Rows) (org.Team, error) { return scanTeam(r) }

func (s *Store) GetTeam(ctx context.Context, id string) (org.Team, error) {
	t, err := scanTeam(s.DB.QueryRow(ctx, teamSelect+` WHERE t.id = $1`, id))
	if err != nil {
		return org.Team{}, fmt.Errorf("store: get team %s: %w", id, err)
	}
	return t, nil
}

func (s *Store) ListTeams(ctx context.Context, f org.TeamFilter) ([]org.Team, error) {
	var w sqldb.Where
	addUnitScope(&w, "u.path", "u.id", f.Scope)
	if f.OrgUnitID != "" {
		w.Add("t.org_unit_id = ?", f.OrgUnitID)
	}
	if f.Q != "" {
		w.Add(`t.name LIKE ? ESCAPE '\'`, sqldb.Like(f.Q))
	}
	rows, err := s.DB.Query(ctx, teamSelect+w.SQL()+` ORDER BY t.name, t.id`, w.Args...)
	ts, err := sqldb.CollectRows(rows, err, scanTeams)
	if err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	return ts, nil
}

func (s *Store) CreateTeam(ctx context.Context, t org.Team) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO teams (id, name, kind, org_unit_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, t.Name, t.Kind, t.OrgUnitID, t.CreatedAt.UTC(), t.UpdatedAt.UTC()); err != nil {
			return err
		}
		return s.insertTeamResource(ctx, tx, t) // every team is also a team resource (resource.KindTeam)
	})
	if err != nil {
		return fmt.Errorf("store: create team: %w", err)
	}
	return nil
}

func unitIDs(us []org.Unit) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

func scanID(r sqldb.Rows) (string, error) {
	var id string
	return id, r.Scan(&id)
}

// movedChildren records every row the query names (a parent's children) as moved.
func (s *Store) movedChildren(ctx context.Context, tx sqldb.Querier, collection, query string, args ...any) error {
	if s.Changes == nil {
		return nil
	}
	rows, err := tx.Query(ctx, query, args...)
	ids, err := sqldb.CollectRows(rows, err, scanID)
	if err != nil || len(ids) == 0 {
		return err
	}
	return s.Changes.Moved(ctx, tx, collection, ids...)
}

// contactChanged records an edited contact and its siblings, whose primary flag may have
// been cleared in the same transaction.
func (s *Store) contactChanged(ctx context.Context, tx sqldb.Querier, c org.Contact) error {
	if err := s.changed(ctx, tx, "contacts", c.ID); err != nil {
		return err
	}
	return s.movedChildren(ctx, tx, "contacts", `SELECT id FROM contacts WHERE enterprise_id = $1 AND id <> $2`, c.EnterpriseID, c.ID)
}

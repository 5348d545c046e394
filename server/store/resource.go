package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var _ resource.Store = (*Store)(nil)

// Resources: accident types and details are JSON text columns; lat/lng are NULL without a
// location. A team's row in teams is kept in step in the same transaction.

const resourceCols = `id, kind, name, code, category, subtype, owner, org_unit_id, org_path, enterprise_id, holder_id, status,
	quantity, unit, accident_types, contact, phone, address, lat, lng, cell, details, source, external_id, remark, created_at, updated_at`

const resourceVersionKey = "resources_version"

func scanResource(r sqldb.Row) (resource.Resource, error) {
	var x resource.Resource
	var types, details string
	var lat, lng *float64
	err := r.Scan(&x.ID, &x.Kind, &x.Name, &x.Code, &x.Category, &x.Subtype, &x.Owner, &x.OrgUnitID, &x.OrgPath, &x.EnterpriseID,
		&x.HolderID, &x.Status, &x.Quantity, &x.Unit, &types, &x.Contact, &x.Phone, &x.Address, &lat, &lng, &x.Cell, &details,
		&x.Source, &x.ExternalID, &x.Remark, &x.CreatedAt, &x.UpdatedAt)
	if err != nil {
		return x, err
	}
	x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	if lat != nil && lng != nil {
		x.Location = &resource.Location{Lat: *lat, Lng: *lng}
	}
	if err := json.Unmarshal([]byte(types), &x.AccidentTypes); err != nil {
		return x, fmt.Errorf("accident_types: %w", err)
	}
	if x.AccidentTypes == nil {
		x.AccidentTypes = []string{}
	}
	if err := json.Unmarshal([]byte(details), &x.Details); err != nil {
		return x, fmt.Errorf("details: %w", err)
	}
	return x, nil
}

func scanResources(r sqldb.Rows) (resource.Resource, error) { return scanResource(r) }

func resourceArgs(x resource.Resource) []any {
	var lat, lng any
	if x.Location != nil {
		lat, lng = x.Location.Lat, x.Location.Lng
	}
	types := x.AccidentTypes
	if types == nil {
		types = []string{}
	}
	return []any{x.ID, string(x.Kind), x.Name, x.Code, x.Category, x.Subtype, string(x.Owner), x.OrgUnitID, x.OrgPath, x.EnterpriseID,
		x.HolderID, string(x.Status), x.Quantity, x.Unit, jsonText(types), x.Contact, x.Phone, x.Address, lat, lng, x.Cell,
		jsonText(x.Details), x.Source, x.ExternalID, x.Remark, x.CreatedAt.UTC(), x.UpdatedAt.UTC()}
}

func (s *Store) GetResource(ctx context.Context, id string) (resource.Resource, error) {
	x, err := scanResource(s.DB.QueryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE id = $1`, id))
	if err != nil {
		return resource.Resource{}, fmt.Errorf("store: get resource %s: %w", id, err)
	}
	return x, nil
}

func (s *Store) GetResourceByExternalID(ctx context.Context, source, externalID string) (resource.Resource, error) {
	x, err := scanResource(s.DB.QueryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE source = $1 AND external_id = $2 AND external_id <> ''`,
		source, externalID))
	if err != nil {
		return resource.Resource{}, fmt.Errorf("store: get resource %s/%s: %w", source, externalID, err)
	}
	return x, nil
}

var resourceSorts = map[string]string{"name": "name", "code": "code", "category": "category", "status": "status",
	"quantity": "quantity", "created_at": "created_at", "updated_at": "updated_at"}

func inList(w *sqldb.Where, col string, vals []string) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = w.Next(v)
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")"
}

func resourceWhere(f resource.Filter) sqldb.Where {
	var w sqldb.Where
	sc := f.Scope
	if sc.OrgPrefix != "" || len(sc.Paths) > 0 || sc.EnterpriseID != "" {
		var or []string
		if sc.OrgPrefix != "" {
			or = append(or, "(org_path >= "+w.Next(sc.OrgPrefix)+" AND org_path < "+w.Next(sqldb.PrefixEnd(sc.OrgPrefix))+")")
		}
		if len(sc.Paths) > 0 {
			c := inList(&w, "org_path", sc.Paths)
			if sc.PathsGovernmentOnly {
				c = "(" + c + " AND enterprise_id = '')"
			}
			or = append(or, c)
		}
		if sc.EnterpriseID != "" {
			or = append(or, "enterprise_id = "+w.Next(sc.EnterpriseID))
		}
		w.Add("(" + strings.Join(or, " OR ") + ")")
	}
	for col, v := range map[string]string{"kind": string(f.Kind), "category": f.Category, "subtype": f.Subtype, "status": string(f.Status),
		"owner": string(f.Owner), "enterprise_id": f.EnterpriseID, "holder_id": f.HolderID} {
		if v != "" {
			w.Add(col+" = ?", v)
		}
	}
	w.Prefix("org_path", f.Subtree)
	if f.AccidentType != "" {
		w.Add(`accident_types LIKE ? ESCAPE '\'`, sqldb.Like(jsonText(f.AccidentType)))
	}
	if f.Q != "" {
		q := sqldb.Like(f.Q)
		w.Add(`(name LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\' OR contact LIKE ? ESCAPE '\' OR address LIKE ? ESCAPE '\')`, q, q, q, q)
	}
	if len(f.IDs) > 0 {
		w.Add(inList(&w, "id", f.IDs))
	}
	return w
}

func (s *Store) ListResources(ctx context.Context, f resource.Filter, p yingji.ListParams) (yingji.Page[resource.Resource], error) {
	var page yingji.Page[resource.Resource]
	p.Normalize()
	order, err := p.OrderBy(resourceSorts, "kind ASC, name ASC, id ASC")
	if err != nil {
		return page, err
	}
	w := resourceWhere(f)
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM resources`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count resources: %w", err)
	}
	q := `SELECT ` + resourceCols + ` FROM resources` + w.SQL() + ` ORDER BY ` + order + `, id ASC LIMIT ` + w.Next(p.PageSize) +
		` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanResources)
	if err != nil {
		return page, fmt.Errorf("store: list resources: %w", err)
	}
	if page.Items == nil {
		page.Items = []resource.Resource{}
	}
	return page, nil
}

// bumpResources moves the table's version in the writing transaction.
func bumpResources(ctx context.Context, tx sqldb.Querier) (int64, error) {
	var v string
	if err := tx.QueryRow(ctx, `UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = $1 RETURNING value`,
		resourceVersionKey).Scan(&v); err != nil {
		return 0, fmt.Errorf("resources version: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (s *Store) ResourceVersion(ctx context.Context) (int64, error) {
	var v string
	if err := s.DB.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, resourceVersionKey).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: resources version: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (s *Store) CreateResources(ctx context.Context, rs []resource.Resource) (int64, error) {
	var version int64
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		ids := make([]string, len(rs))
		for i, x := range rs {
			if _, err := tx.Exec(ctx, `INSERT INTO resources (`+resourceCols+`) VALUES (`+sqldb.Placeholders(1, 27)+`)`, resourceArgs(x)...); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
			if x.Kind == resource.KindTeam {
				if _, err := tx.Exec(ctx, `INSERT INTO teams (id, name, kind, org_unit_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
					x.ID, x.Name, x.Subtype, x.OrgUnitID, x.CreatedAt.UTC(), x.UpdatedAt.UTC()); err != nil {
					return &org.BatchError{Index: i, Err: err}
				}
			}
			ids[i] = x.ID
		}
		var err error
		if version, err = bumpResources(ctx, tx); err != nil {
			return err
		}
		return s.changed(ctx, tx, "resources", ids...)
	})
	if err != nil {
		return 0, fmt.Errorf("store: create resources: %w", err)
	}
	return version, nil
}

func (s *Store) UpdateResources(ctx context.Context, rs []resource.Resource) (int64, error) {
	var version int64
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		ids := make([]string, len(rs))
		for i, x := range rs {
			args := resourceArgs(x)
			// Every column but kind (args[1]) and created_at (args[25]).
			err := mustAffect(tx.Exec(ctx, `UPDATE resources SET name = $2, code = $3, category = $4, subtype = $5, owner = $6,
				org_unit_id = $7, org_path = $8, enterprise_id = $9, holder_id = $10, status = $11, quantity = $12, unit = $13,
				accident_types = $14, contact = $15, phone = $16, address = $17, lat = $18, lng = $19, cell = $20, details = $21,
				source = $22, external_id = $23, remark = $24, updated_at = $25 WHERE id = $1`,
				append([]any{args[0]}, append(args[2:25], args[26])...)...))
			if err != nil {
				return err
			}
			if x.Kind == resource.KindTeam {
				if _, err := tx.Exec(ctx, `UPDATE teams SET name = $2, kind = $3, org_unit_id = $4, updated_at = $5 WHERE id = $1`,
					x.ID, x.Name, x.Subtype, x.OrgUnitID, x.UpdatedAt.UTC()); err != nil {
					return err
				}
			}
			ids[i] = x.ID
		}
		var err error
		if version, err = bumpResources(ctx, tx); err != nil {
			return err
		}
		return s.changed(ctx, tx, "resources", ids...)
	})
	if err != nil {
		return 0, fmt.Errorf("store: update resources: %w", err)
	}
	return version, nil
}

func (s *Store) DeleteResource(ctx context.Context, id string) (int64, error) {
	var version int64
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		var kind string
		if err := tx.QueryRow(ctx, `DELETE FROM resources WHERE id = $1 RETURNING kind`, id).Scan(&kind); err != nil {
			return err
		}
		if kind == string(resource.KindTeam) {
			if _, err := tx.Exec(ctx, `DELETE FROM teams WHERE id = $1`, id); err != nil {
				return err
			}
		}
		var err error
		if version, err = bumpResources(ctx, tx); err != nil {
			return err
		}
		return s.changed(ctx, tx, "resources", id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete resource %s: %w", id, err)
	}
	return version, nil
}

func (s *Store) ResourceRefs(ctx context.Context, id string) (held, members int, err error) {
	err = s.DB.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM resources WHERE holder_id = $1), (SELECT COUNT(*) FROM users WHERE team_id = $1)`, id).
		Scan(&held, &members)
	if err != nil {
		return 0, 0, fmt.Errorf("store: resource refs %s: %w", id, err)
	}
	return held, members, nil
}

func (s *Store) LoadResources(ctx context.Context, fn func(resource.Resource)) (int64, error) {
	var version int64
	err := s.DB.ReadTx(ctx, func(tx sqldb.Querier) error {
		var v string
		if err := tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, resourceVersionKey).Scan(&v); err != nil {
			return err
		}
		var err error
		if version, err = strconv.ParseInt(v, 10, 64); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+resourceCols+` FROM resources WHERE lat IS NOT NULL AND lng IS NOT NULL`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			x, err := scanResource(rows)
			if err != nil {
				return err
			}
			fn(x)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("store: load resources: %w", err)
	}
	return version, nil
}

// insertTeamResource gives a team created through the org service its resource row.
func (s *Store) insertTeamResource(ctx context.Context, tx sqldb.Querier, t org.Team) error {
	var path string
	if err := tx.QueryRow(ctx, `SELECT path FROM org_units WHERE id = $1`, t.OrgUnitID).Scan(&path); err != nil {
		return err
	}
	x := resource.Resource{ID: t.ID, Kind: resource.KindTeam, Name: t.Name, Category: "专业", Subtype: t.Kind,
		Owner: resource.OwnerGovernment, OrgUnitID: t.OrgUnitID, OrgPath: path, Status: resource.StatusAvailable,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if _, err := tx.Exec(ctx, `INSERT INTO resources (`+resourceCols+`) VALUES (`+sqldb.Placeholders(1, 27)+`)`, resourceArgs(x)...); err != nil {
		return err
	}
	if _, err := bumpResources(ctx, tx); err != nil {
		return err
	}
	return s.changed(ctx, tx, "resources", t.ID)
}

// resourceSpec: resources are read-only on phones; they are kept in the portal.
var resourceSpec = &syncproto.CollectionSpec{Name: "resources", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "category", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "subtype", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "owner", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "org_unit_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "holder_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "status", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "quantity", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
	{Name: "unit", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "accident_types", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "contact", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "phone", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "address", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "details", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "remark", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

// ResourceCollection is the synced, read-only resources collection on this store: a phone
// holds the resources of its user's scope (his unit and below; an enterprise's own) offline.
func (s *Store) ResourceCollection() syncsvc.Collection { return resourceCollection{} }

type resourceCollection struct{ readOnly }

func (resourceCollection) Spec() *syncproto.CollectionSpec { return resourceSpec }

func (resourceCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+resourceCols+` FROM resources WHERE id IN (`+ph+`)`, args...)
		rs, err := sqldb.CollectRows(rows, err, scanResources)
		for _, x := range rs {
			out[x.ID] = syncsvc.Fields{"kind": syncsvc.JSON(x.Kind), "name": syncsvc.JSON(x.Name), "code": syncsvc.JSON(x.Code),
				"category": syncsvc.JSON(x.Category), "subtype": syncsvc.JSON(x.Subtype), "owner": syncsvc.JSON(x.Owner),
				"org_unit_id": syncsvc.JSON(x.OrgUnitID), "enterprise_id": syncsvc.JSON(x.EnterpriseID), "holder_id": syncsvc.JSON(x.HolderID),
				"status": syncsvc.JSON(x.Status), "quantity": syncsvc.JSON(x.Quantity), "unit": syncsvc.JSON(x.Unit),
				"accident_types": syncsvc.JSON(x.AccidentTypes), "contact": syncsvc.JSON(x.Contact), "phone": syncsvc.JSON(x.Phone),
				"address": syncsvc.JSON(x.Address), "location": syncsvc.JSON(x.Location), "details": syncsvc.JSON(x.Details),
				"remark": syncsvc.JSON(x.Remark), "org_path": syncsvc.JSON(x.OrgPath)}
		}
		return err
	})
	return out, err
}

// IDs lists every resource: the start-up reconcile (syncsvc.Enumerator) logs those the change
// log has never seen, such as the teams migration 00014 turned into team resources in SQL.
func (resourceCollection) IDs(ctx context.Context, q sqldb.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id FROM resources ORDER BY id`)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// Place: government resources are shared with every unit, team and enterprise below their
// unit (a grid worker finds the district's warehouses offline); an enterprise's stay with it
// and the units above.
func (resourceCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	ent := syncsvc.Str(f, "enterprise_id")
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: ent, Shared: ent == "" && syncsvc.Str(f, "owner") != "enterprise"}, nil
}

// resourcesMoved makes an enterprise's resources (and its teams' rows in teams) follow it to
// its new unit and org path.
func (s *Store) resourcesMoved(ctx context.Context, tx sqldb.Querier, e org.Enterprise) error {
	unit := e.TownshipID
	if e.GridID != "" {
		unit = e.GridID
	}
	n, err := tx.Exec(ctx, `UPDATE resources SET org_path = $2, org_unit_id = $3 WHERE enterprise_id = $1 AND (org_path <> $2 OR org_unit_id <> $3)`,
		e.ID, e.OrgPath, unit)
	if err != nil || n == 0 {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE teams SET org_unit_id = $2 WHERE id IN (SELECT id FROM resources WHERE enterprise_id = $1 AND kind = 'team')`,
		e.ID, unit); err != nil {
		return err
	}
	if _, err := bumpResources(ctx, tx); err != nil {
		return err
	}
	return s.movedChildren(ctx, tx, "resources", `SELECT id FROM resources WHERE enterprise_id = $1`, e.ID)
}

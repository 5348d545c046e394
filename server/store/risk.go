package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var _ risk.Store = (*Store)(nil)

// Risk points: accident types, location and measures are JSON text columns.

const riskCols = `id, enterprise_id, org_path, code, name, level, accident_types, responsible, location, measures,
	qr_version, created_at, updated_at`

func scanRiskPoint(r sqldb.Row) (risk.RiskPoint, error) {
	var p risk.RiskPoint
	var types, loc, measures string
	err := r.Scan(&p.ID, &p.EnterpriseID, &p.OrgPath, &p.Code, &p.Name, &p.Level, &types, &p.Responsible, &loc, &measures,
		&p.QRVersion, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(types), &p.AccidentTypes); err != nil {
		return p, fmt.Errorf("accident_types: %w", err)
	}
	if err := json.Unmarshal([]byte(loc), &p.Location); err != nil {
		return p, fmt.Errorf("location: %w", err)
	}
	if err := json.Unmarshal([]byte(measures), &p.Measures); err != nil {
		return p, fmt.Errorf("measures: %w", err)
	}
	if p.AccidentTypes == nil {
		p.AccidentTypes = []string{}
	}
	if p.Measures == nil {
		p.Measures = []risk.Measure{}
	}
	return p, nil
}

func scanRiskPoints(r sqldb.Rows) (risk.RiskPoint, error) { return scanRiskPoint(r) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Store) GetRiskPoint(ctx context.Context, id string) (risk.RiskPoint, error) {
	p, err := scanRiskPoint(s.DB.QueryRow(ctx, `SELECT `+riskCols+` FROM risk_points WHERE id = $1`, id))
	if err != nil {
		return risk.RiskPoint{}, fmt.Errorf("store: get risk point %s: %w", id, err)
	}
	return p, nil
}

var riskSorts = map[string]string{"code": "code", "name": "name", "level": "level", "created_at": "created_at", "updated_at": "updated_at"}

func (s *Store) ListRiskPoints(ctx context.Context, f risk.Filter, p yingji.ListParams) (yingji.Page[risk.RiskPoint], error) {
	var page yingji.Page[risk.RiskPoint]
	p.Normalize()
	order, err := p.OrderBy(riskSorts, "enterprise_id ASC, code ASC, id ASC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	if f.Scope.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.Scope.EnterpriseID)
	}
	w.Prefix("org_path", f.Scope.OrgPrefix)
	if f.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.EnterpriseID)
	}
	if f.Level != "" {
		w.Add("level = ?", string(f.Level))
	}
	if f.Q != "" {
		w.Add(`(name LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	if len(f.IDs) > 0 {
		ph := make([]byte, 0, 3*len(f.IDs))
		args := make([]any, len(f.IDs))
		for i, id := range f.IDs {
			if i > 0 {
				ph = append(ph, ", "...)
			}
			ph = append(ph, '?')
			args[i] = id
		}
		w.Add("id IN ("+string(ph)+")", args...)
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM risk_points`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count risk points: %w", err)
	}
	q := `SELECT ` + riskCols + ` FROM risk_points` + w.SQL() + ` ORDER BY ` + order +
		` LIMIT ` + w.Next(p.PageSize) + ` OFFSET ` + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanRiskPoints)
	if err != nil {
		return page, fmt.Errorf("store: list risk points: %w", err)
	}
	return page, nil
}

func (s *Store) CreateRiskPoints(ctx context.Context, ps []risk.RiskPoint) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		ids := make([]string, len(ps))
		for i, p := range ps {
			_, err := tx.Exec(ctx, `INSERT INTO risk_points (`+riskCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				p.ID, p.EnterpriseID, p.OrgPath, p.Code, p.Name, string(p.Level), jsonText(p.AccidentTypes), p.Responsible,
				jsonText(p.Location), jsonText(p.Measures), p.QRVersion, p.CreatedAt.UTC(), p.UpdatedAt.UTC())
			if err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
			ids[i] = p.ID
		}
		return s.changed(ctx, tx, "risk_points", ids...)
	})
	if err != nil {
		return fmt.Errorf("store: create risk points: %w", err)
	}
	return nil
}

func (s *Store) UpdateRiskPoint(ctx context.Context, p risk.RiskPoint) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		err := mustAffect(tx.Exec(ctx, `UPDATE risk_points SET code = $2, name = $3, level = $4, accident_types = $5,
			responsible = $6, location = $7, measures = $8, updated_at = $9 WHERE id = $1`,
			p.ID, p.Code, p.Name, string(p.Level), jsonText(p.AccidentTypes), p.Responsible, jsonText(p.Location),
			jsonText(p.Measures), p.UpdatedAt.UTC()))
		if err != nil {
			return err
		}
		return s.changed(ctx, tx, "risk_points", p.ID)
	})
	if err != nil {
		return fmt.Errorf("store: update risk point %s: %w", p.ID, err)
	}
	return nil
}

func (s *Store) DeleteRiskPoint(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM risk_points WHERE id = $1`, id)); err != nil {
			return err
		}
		return s.changed(ctx, tx, "risk_points", id)
	})
	if err != nil {
		return fmt.Errorf("store: delete risk point %s: %w", id, err)
	}
	return nil
}

func (s *Store) ReissueQR(ctx context.Context, id string, at time.Time) (int, error) {
	var v int
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := tx.QueryRow(ctx, `UPDATE risk_points SET qr_version = qr_version + 1, updated_at = $2 WHERE id = $1
			RETURNING qr_version`, id, at.UTC()).Scan(&v); err != nil {
			return err
		}
		return s.changed(ctx, tx, "risk_points", id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: reissue qr %s: %w", id, err)
	}
	return v, nil
}

const riskSeedKey = "risk_qr_signing_seed"

// QRSigningSeed keeps the first seed offered; concurrent first starts agree on it.
func (s *Store) QRSigningSeed(ctx context.Context, candidate string) (string, error) {
	if _, err := s.DB.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", riskSeedKey, candidate); err != nil {
		return "", fmt.Errorf("store: qr seed: %w", err)
	}
	var v string
	if err := s.DB.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", riskSeedKey).Scan(&v); err != nil {
		return "", fmt.Errorf("store: qr seed: %w", err)
	}
	return v, nil
}

// riskSpec: risk points are read-only on phones; they are written in the portal.
var riskSpec = &syncproto.CollectionSpec{Name: "risk_points", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "level", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "accident_types", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "responsible", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "measures", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "qr_version", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
}}

// RiskCollection is the synced risk_points collection on this store.
func (s *Store) RiskCollection() syncsvc.Collection { return riskCollection{} }

type riskCollection struct{ readOnly }

func (riskCollection) Spec() *syncproto.CollectionSpec { return riskSpec }

func (riskCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+riskCols+` FROM risk_points WHERE id IN (`+ph+`)`, args...)
		ps, err := sqldb.CollectRows(rows, err, scanRiskPoints)
		for _, p := range ps {
			out[p.ID] = syncsvc.Fields{"enterprise_id": syncsvc.JSON(p.EnterpriseID), "code": syncsvc.JSON(p.Code),
				"name": syncsvc.JSON(p.Name), "level": syncsvc.JSON(p.Level), "accident_types": syncsvc.JSON(p.AccidentTypes),
				"responsible": syncsvc.JSON(p.Responsible), "location": syncsvc.JSON(p.Location), "measures": syncsvc.JSON(p.Measures),
				"qr_version": syncsvc.JSON(p.QRVersion), "org_path": syncsvc.JSON(p.OrgPath)}
		}
		return err
	})
	return out, err
}

func (riskCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: syncsvc.Str(f, "enterprise_id")}, nil
}

// riskPointsMoved makes an enterprise's risk points follow it to its new org path.
func (s *Store) riskPointsMoved(ctx context.Context, tx sqldb.Querier, enterpriseID, path string) error {
	if _, err := tx.Exec(ctx, `UPDATE risk_points SET org_path = $2 WHERE enterprise_id = $1 AND org_path <> $2`, enterpriseID, path); err != nil {
		return err
	}
	return s.movedChildren(ctx, tx, "risk_points", `SELECT id FROM risk_points WHERE enterprise_id = $1`, enterpriseID)
}

// deleteRiskPointsOf deletes an enterprise's risk points, recording their removal.
func (s *Store) deleteRiskPointsOf(ctx context.Context, tx sqldb.Querier, enterpriseID string) error {
	rows, err := tx.Query(ctx, `SELECT id FROM risk_points WHERE enterprise_id = $1`, enterpriseID)
	ids, err := sqldb.CollectRows(rows, err, scanID)
	if err != nil || len(ids) == 0 {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM risk_points WHERE enterprise_id = $1`, enterpriseID); err != nil {
		return err
	}
	return s.changed(ctx, tx, "risk_points", ids...)
}

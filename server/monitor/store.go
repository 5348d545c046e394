package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// SQL of devices and points on either engine.

const deviceCols = `id, code, name, enterprise_id, org_path, category, kind, lat, lng, heartbeat_timeout_s, secret_hash,
	disabled, online, last_seen_at, created_at, updated_at`

func scanDevice(r sqldb.Row) (Device, error) {
	var d Device
	err := r.Scan(&d.ID, &d.Code, &d.Name, &d.EnterpriseID, &d.OrgPath, &d.Category, &d.Kind, &d.Lat, &d.Lng,
		&d.HeartbeatTimeoutS, &d.secretHash, &d.Disabled, &d.Online, &d.LastSeenAt, &d.CreatedAt, &d.UpdatedAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	if d.LastSeenAt != nil {
		t := d.LastSeenAt.UTC()
		d.LastSeenAt = &t
	}
	return d, err
}

func scanDevices(r sqldb.Rows) (Device, error) { return scanDevice(r) }

const pointCols = `id, device_id, enterprise_id, org_path, code, name, kind, unit, range_min, range_max, sampling_period_s,
	thresholds, quality, disabled, created_at, updated_at`

func scanPoint(r sqldb.Row) (Point, error) {
	var p Point
	var th, q string
	err := r.Scan(&p.ID, &p.DeviceID, &p.EnterpriseID, &p.OrgPath, &p.Code, &p.Name, &p.Kind, &p.Unit, &p.RangeMin, &p.RangeMax,
		&p.SamplingPeriodS, &th, &q, &p.Disabled, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(th), &p.Thresholds); err != nil {
		return p, fmt.Errorf("thresholds of point %s: %w", p.ID, err)
	}
	if p.Thresholds == nil {
		p.Thresholds = []ThresholdRule{}
	}
	if err := json.Unmarshal([]byte(q), &p.Quality); err != nil {
		return p, fmt.Errorf("quality of point %s: %w", p.ID, err)
	}
	return p, nil
}

func scanPoints(r sqldb.Rows) (Point, error) { return scanPoint(r) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// enterprise is what the service needs of an enterprise.
type enterprise struct {
	ID, Name, CreditCode, OrgPath string
}

func getEnterprise(ctx context.Context, q sqldb.Querier, id string) (enterprise, error) {
	var e enterprise
	err := q.QueryRow(ctx, `SELECT id, name, credit_code, org_path FROM enterprises WHERE id = $1`, id).
		Scan(&e.ID, &e.Name, &e.CreditCode, &e.OrgPath)
	return e, err
}

func getDevice(ctx context.Context, q sqldb.Querier, id string) (Device, error) {
	return scanDevice(q.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
}

func getPoint(ctx context.Context, q sqldb.Querier, id string) (Point, error) {
	return scanPoint(q.QueryRow(ctx, `SELECT `+pointCols+` FROM monitor_points WHERE id = $1`, id))
}

func insertDevice(ctx context.Context, q sqldb.Querier, d *Device) error {
	_, err := q.Exec(ctx, `INSERT INTO devices (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		d.ID, d.Code, d.Name, d.EnterpriseID, d.OrgPath, string(d.Category), string(d.Kind), d.Lat, d.Lng, d.HeartbeatTimeoutS,
		d.secretHash, d.Disabled, d.Online, d.LastSeenAt, d.CreatedAt.UTC(), d.UpdatedAt.UTC())
	return err
}

func updateDevice(ctx context.Context, q sqldb.Querier, d *Device) error {
	n, err := q.Exec(ctx, `UPDATE devices SET code = $2, name = $3, category = $4, kind = $5, lat = $6, lng = $7,
		heartbeat_timeout_s = $8, disabled = $9, org_path = $10, updated_at = $11 WHERE id = $1`,
		d.ID, d.Code, d.Name, string(d.Category), string(d.Kind), d.Lat, d.Lng, d.HeartbeatTimeoutS, d.Disabled, d.OrgPath, d.UpdatedAt.UTC())
	if err == nil && n == 0 {
		err = yingji.ErrNotFound
	}
	return err
}

func insertPoint(ctx context.Context, q sqldb.Querier, p *Point) error {
	_, err := q.Exec(ctx, `INSERT INTO monitor_points (`+pointCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		p.ID, p.DeviceID, p.EnterpriseID, p.OrgPath, p.Code, p.Name, string(p.Kind), p.Unit, p.RangeMin, p.RangeMax,
		p.SamplingPeriodS, jsonText(p.Thresholds), jsonText(p.Quality), p.Disabled, p.CreatedAt.UTC(), p.UpdatedAt.UTC())
	return err
}

func updatePoint(ctx context.Context, q sqldb.Querier, p *Point) error {
	n, err := q.Exec(ctx, `UPDATE monitor_points SET code = $2, name = $3, kind = $4, unit = $5, range_min = $6, range_max = $7,
		sampling_period_s = $8, thresholds = $9, quality = $10, disabled = $11, updated_at = $12 WHERE id = $1`,
		p.ID, p.Code, p.Name, string(p.Kind), p.Unit, p.RangeMin, p.RangeMax, p.SamplingPeriodS, jsonText(p.Thresholds),
		jsonText(p.Quality), p.Disabled, p.UpdatedAt.UTC())
	if err == nil && n == 0 {
		err = yingji.ErrNotFound
	}
	return err
}

// DeviceFilter narrows a device list. Lists sort by code, name, category, kind, online,
// last_seen_at, created_at (default enterprise, code).
type DeviceFilter struct {
	EnterpriseID string
	Category     Category
	Kind         DeviceKind
	Online       *bool
	Disabled     *bool
	Q            string // code or name contains
}

var deviceSorts = map[string]string{"code": "code", "name": "name", "category": "category", "kind": "kind", "online": "online",
	"last_seen_at": "last_seen_at", "created_at": "created_at"}

func listDevices(ctx context.Context, q sqldb.Querier, scope yingji.EnterpriseScope, f DeviceFilter, p yingji.ListParams) (yingji.Page[Device], error) {
	var page yingji.Page[Device]
	p.Normalize()
	order, err := p.OrderBy(deviceSorts, "enterprise_id ASC, code ASC, id ASC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	scopeWhere(&w, scope)
	if f.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.EnterpriseID)
	}
	if f.Category != "" {
		w.Add("category = ?", string(f.Category))
	}
	if f.Kind != "" {
		w.Add("kind = ?", string(f.Kind))
	}
	if f.Online != nil {
		w.Add("online = ?", *f.Online)
	}
	if f.Disabled != nil {
		w.Add("disabled = ?", *f.Disabled)
	}
	if f.Q != "" {
		w.Add(`(name LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM devices`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("monitor: count devices: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+deviceCols+` FROM devices`+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(p.PageSize)+` OFFSET `+w.Next(p.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanDevices)
	if err != nil {
		return page, fmt.Errorf("monitor: list devices: %w", err)
	}
	return page, nil
}

func scopeWhere(w *sqldb.Where, scope yingji.EnterpriseScope) {
	if scope.EnterpriseID != "" {
		w.Add("enterprise_id = ?", scope.EnterpriseID)
	}
	w.Prefix("org_path", scope.OrgPrefix)
}

// PointFilter narrows a point list. Lists sort by code, name, kind, created_at (default
// device, code).
type PointFilter struct {
	EnterpriseID string
	DeviceID     string
	Category     Category // the device's
	Kind         PointKind
	Online       *bool // the device's
	Q            string
}

var pointSorts = map[string]string{"code": "p.code", "name": "p.name", "kind": "p.kind", "created_at": "p.created_at"}

func listPoints(ctx context.Context, q sqldb.Querier, scope yingji.EnterpriseScope, f PointFilter, lp yingji.ListParams) (yingji.Page[Point], error) {
	var page yingji.Page[Point]
	lp.Normalize()
	order, err := lp.OrderBy(pointSorts, "p.device_id ASC, p.code ASC")
	if err != nil {
		return page, err
	}
	order += ", p.id"
	var w sqldb.Where
	if scope.EnterpriseID != "" {
		w.Add("p.enterprise_id = ?", scope.EnterpriseID)
	}
	w.Prefix("p.org_path", scope.OrgPrefix)
	if f.EnterpriseID != "" {
		w.Add("p.enterprise_id = ?", f.EnterpriseID)
	}
	if f.DeviceID != "" {
		w.Add("p.device_id = ?", f.DeviceID)
	}
	if f.Category != "" {
		w.Add("d.category = ?", string(f.Category))
	}
	if f.Kind != "" {
		w.Add("p.kind = ?", string(f.Kind))
	}
	if f.Online != nil {
		w.Add("d.online = ?", *f.Online)
	}
	if f.Q != "" {
		w.Add(`(p.name LIKE ? ESCAPE '\' OR p.code LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	from := ` FROM monitor_points p JOIN devices d ON d.id = p.device_id`
	if err := q.QueryRow(ctx, `SELECT COUNT(*)`+from+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("monitor: count points: %w", err)
	}
	cols := "p.id, p.device_id, p.enterprise_id, p.org_path, p.code, p.name, p.kind, p.unit, p.range_min, p.range_max, " +
		"p.sampling_period_s, p.thresholds, p.quality, p.disabled, p.created_at, p.updated_at"
	rows, err := q.Query(ctx, `SELECT `+cols+from+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(lp.PageSize)+` OFFSET `+w.Next(lp.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanPoints)
	if err != nil {
		return page, fmt.Errorf("monitor: list points: %w", err)
	}
	return page, nil
}

// allDevices and allPoints load the whole table for the in-memory point table.
func allDevices(ctx context.Context, q sqldb.Querier) ([]Device, error) {
	rows, err := q.Query(ctx, `SELECT `+deviceCols+` FROM devices`)
	return sqldb.CollectRows(rows, err, scanDevices)
}

func allPoints(ctx context.Context, q sqldb.Querier) ([]Point, error) {
	rows, err := q.Query(ctx, `SELECT `+pointCols+` FROM monitor_points`)
	return sqldb.CollectRows(rows, err, scanPoints)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

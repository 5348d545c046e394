package monitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func dupPointCode(code string) error {
	return yingji.Errorf(yingji.ECONFLICT, "monitor.duplicate_point_code", "监测点编码“%s”在该设备上已存在", code).
		WithData(map[string]any{"field": "code"})
}

func (p Point) fields() map[string]any {
	return map[string]any{"code": p.Code, "name": p.Name, "kind": p.Kind, "unit": p.Unit, "range_min": p.RangeMin, "range_max": p.RangeMax,
		"sampling_period_s": p.SamplingPeriodS, "thresholds": p.Thresholds, "quality": p.Quality, "disabled": p.Disabled}
}

// withLatest fills the point's latest reading from memory.
func (s *Service) withLatest(p *Point) {
	if l, ok := s.Latest(p.ID); ok {
		p.Latest = &l
	}
}

// GetPoint returns a point the actor may read, with its latest reading.
func (s *Service) GetPoint(ctx context.Context, a *yingji.Actor, id string) (Point, error) {
	const action = "monitor_point.read"
	if err := s.require(ctx, a, yingji.PermMonitorRead, action, ObjectPoint, id); err != nil {
		return Point{}, err
	}
	p, err := getPoint(ctx, s.db, id)
	if err != nil {
		return Point{}, pointNotFound(err)
	}
	if !a.CanReadEnterprise(p.EnterpriseID, p.OrgPath) {
		return Point{}, s.deny(ctx, a, action, ObjectPoint, id, yingji.Forbidden("监测点"))
	}
	s.withLatest(&p)
	return p, nil
}

// ListPoints returns a page of the points matching f that the actor may read, each with its
// latest reading: the latest values of a device or an enterprise.
func (s *Service) ListPoints(ctx context.Context, a *yingji.Actor, f PointFilter, lp yingji.ListParams) (yingji.Page[Point], error) {
	if err := s.require(ctx, a, yingji.PermMonitorRead, "monitor_point.list", ObjectPoint, ""); err != nil {
		return yingji.Page[Point]{}, err
	}
	if f.Category != "" && !f.Category.Valid() {
		return yingji.Page[Point]{}, yingji.Invalid("request.bad_query", "category", "查询参数 category 应为 hazchem 或 flood")
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return yingji.Page[Point]{}, yingji.Invalid("request.bad_query", "kind", "查询参数 kind 不是有效的监测类型")
	}
	scope := a.ReadScope()
	if scope.EnterpriseID == "" && scope.OrgPrefix == "" {
		return yingji.Page[Point]{Items: []Point{}}, nil
	}
	page, err := listPoints(ctx, s.db, scope, f, lp)
	for i := range page.Items {
		s.withLatest(&page.Items[i])
	}
	return page, err
}

// preparePoint validates a new point of a device the actor may write.
func (s *Service) preparePoint(ctx context.Context, a *yingji.Actor, q sqldb.Querier, action string, p *Point) error {
	p.Normalize()
	if p.DeviceID == "" {
		return yingji.Invalid("monitor.no_device", "device_id", "请选择监测点所属设备")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	d, err := getDevice(ctx, q, p.DeviceID)
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Invalid("monitor.device_not_found", "device_id", "所属设备不存在")
	}
	if err != nil {
		return err
	}
	if !CanWrite(a, d.EnterpriseID, d.OrgPath) {
		return s.deny(ctx, a, action, ObjectPoint, "", yingji.Forbidden("监测设备"))
	}
	p.ID, p.EnterpriseID, p.OrgPath = yingji.NewID(), d.EnterpriseID, d.OrgPath
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	p.Latest = nil
	return nil
}

// CreatePoint adds a point to a device the actor may write. Without threshold rules (nil) the
// point gets its kind's defaults (DefaultThresholds); an empty list means none.
func (s *Service) CreatePoint(ctx context.Context, a *yingji.Actor, p Point) (Point, error) {
	const action = "monitor_point.create"
	if err := s.require(ctx, a, yingji.PermMonitorWrite, action, ObjectPoint, ""); err != nil {
		return Point{}, err
	}
	if err := s.preparePoint(ctx, a, s.db, action, &p); err != nil {
		return Point{}, err
	}
	if err := insertPoint(ctx, s.db, &p); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Point{}, dupPointCode(p.Code)
		}
		return Point{}, err
	}
	s.ok(ctx, a, action, ObjectPoint, p.ID, map[string]any{"after": p.fields()})
	s.changed(ctx)
	return p, nil
}

// writablePoint loads a point the actor may change.
func (s *Service) writablePoint(ctx context.Context, a *yingji.Actor, action, id string) (Point, error) {
	if err := s.require(ctx, a, yingji.PermMonitorWrite, action, ObjectPoint, id); err != nil {
		return Point{}, err
	}
	p, err := getPoint(ctx, s.db, id)
	if err != nil {
		return Point{}, pointNotFound(err)
	}
	if !CanWrite(a, p.EnterpriseID, p.OrgPath) {
		return Point{}, s.deny(ctx, a, action, ObjectPoint, id, yingji.Forbidden("监测点"))
	}
	return p, nil
}

// UpdatePoint replaces a point's editable fields; its device does not change. The running
// pipeline uses the new rules from the next reading (the rule state follows by rule id).
func (s *Service) UpdatePoint(ctx context.Context, a *yingji.Actor, id string, in Point) (Point, error) {
	const action = "monitor_point.update"
	old, err := s.writablePoint(ctx, a, action, id)
	if err != nil {
		return Point{}, err
	}
	if in.DeviceID != "" && in.DeviceID != old.DeviceID {
		return Point{}, yingji.Invalid("monitor.device_immutable", "device_id", "监测点不能改属其他设备")
	}
	p := in
	p.ID, p.DeviceID, p.EnterpriseID, p.OrgPath, p.CreatedAt, p.Latest = old.ID, old.DeviceID, old.EnterpriseID, old.OrgPath, old.CreatedAt, nil
	p.Normalize()
	if err := p.Validate(); err != nil {
		return Point{}, err
	}
	p.UpdatedAt = s.now()
	if err := updatePoint(ctx, s.db, &p); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Point{}, dupPointCode(p.Code)
		}
		return Point{}, pointNotFound(err)
	}
	s.ok(ctx, a, action, ObjectPoint, id, diff(old.fields(), p.fields()))
	s.changed(ctx)
	s.withLatest(&p)
	return p, nil
}

// SetThresholds replaces a point's threshold rules (nil: its kind's defaults).
func (s *Service) SetThresholds(ctx context.Context, a *yingji.Actor, id string, ts []ThresholdRule) (Point, error) {
	const action = "monitor_point.update"
	old, err := s.writablePoint(ctx, a, action, id)
	if err != nil {
		return Point{}, err
	}
	old.Thresholds = ts
	return s.UpdatePoint(ctx, a, id, old)
}

// DeletePoint removes a point and its rule state; stored readings stay until the retention
// removes them.
func (s *Service) DeletePoint(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "monitor_point.delete"
	old, err := s.writablePoint(ctx, a, action, id)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx sqldb.Querier) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rule_states WHERE point_id = $1`, id); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM monitor_points WHERE id = $1`, id)
		if err == nil && n == 0 {
			err = yingji.ErrNotFound
		}
		return err
	})
	if err != nil {
		return pointNotFound(err)
	}
	s.ok(ctx, a, action, ObjectPoint, id, map[string]any{"before": old.fields()})
	s.changed(ctx)
	return nil
}

// ImportItem is one row of a point import: the point and its device. A device whose code
// exists is reused (it must belong to the same enterprise); otherwise it is created.
type ImportItem struct {
	Device Device
	Point  Point
}

// ImportedDevice is a device an import created, with its secret (shown this once).
type ImportedDevice struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Secret string `json:"secret"`
}

// ImportPoints stores every item or none; a refusal names the item (Data "index").
func (s *Service) ImportPoints(ctx context.Context, a *yingji.Actor, items []ImportItem) ([]ImportedDevice, error) {
	const action = "monitor_point.import"
	if err := s.require(ctx, a, yingji.PermMonitorWrite, action, ObjectPoint, ""); err != nil {
		return nil, err
	}
	var created []ImportedDevice
	var newDevs []Device
	var audits []func()
	err := s.db.InTx(ctx, func(tx sqldb.Querier) error {
		created, newDevs, audits = nil, nil, nil
		byCode := map[string]Device{}
		for i, it := range items {
			code := it.Device.Code
			d, seen := byCode[code]
			if !seen {
				old, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE code = $1`, code))
				switch {
				case err == nil:
					if !CanWrite(a, old.EnterpriseID, old.OrgPath) {
						return yingji.AtIndex(i, s.deny(ctx, a, action, ObjectDevice, old.ID, yingji.Forbidden("监测设备")))
					}
					d = old
				case errors.Is(err, yingji.ErrNotFound):
					d = it.Device
					secret, err := s.prepareDevice(ctx, a, action, &d)
					if err != nil {
						return yingji.AtIndex(i, err)
					}
					if err := insertDevice(ctx, tx, &d); err != nil {
						return yingji.AtIndex(i, dupOr(err, dupDeviceCode(d.Code)))
					}
					created = append(created, ImportedDevice{ID: d.ID, Code: d.Code, Secret: secret})
					newDevs = append(newDevs, d)
				default:
					return err
				}
				byCode[code] = d
			}
			if it.Device.EnterpriseID != "" && it.Device.EnterpriseID != d.EnterpriseID {
				return yingji.AtIndex(i, yingji.Invalid("monitor.device_other_enterprise", "enterprise_id",
					"设备编码“%s”已属于其他企业", code))
			}
			p := it.Point
			p.DeviceID = d.ID
			if err := s.preparePoint(ctx, a, tx, action, &p); err != nil {
				return yingji.AtIndex(i, err)
			}
			if err := insertPoint(ctx, tx, &p); err != nil {
				return yingji.AtIndex(i, dupOr(err, dupPointCode(p.Code)))
			}
			audits = append(audits, func() { s.ok(ctx, a, action, ObjectPoint, p.ID, map[string]any{"after": p.fields()}) })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range newDevs {
		s.ok(ctx, a, "monitor_device.create", ObjectDevice, d.ID, map[string]any{"after": d.fields(), "import": true})
	}
	for _, f := range audits {
		f()
	}
	s.changed(ctx)
	if created == nil {
		created = []ImportedDevice{}
	}
	return created, nil
}

func dupOr(err, dup error) error {
	if errors.Is(err, yingji.ErrDuplicate) {
		return dup
	}
	return fmt.Errorf("monitor: import: %w", err)
}

// CanWriteEnterprise reports whether the actor may add devices to e (for imports).
func CanWriteEnterprise(a *yingji.Actor, e org.Enterprise) bool { return CanWrite(a, e.ID, e.OrgPath) }

package monitor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// NewSecret returns a device secret (32 random bytes, base64url) and the hash kept of it.
func NewSecret() (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// secretMatches compares a presented secret with a stored hash in constant time.
func secretMatches(secret, hash string) bool {
	h := hashSecret(secret)
	return len(hash) == len(h) && subtle.ConstantTimeCompare([]byte(h), []byte(hash)) == 1
}

func dupDeviceCode(code string) error {
	return yingji.Errorf(yingji.ECONFLICT, "monitor.duplicate_device_code", "设备编码“%s”已被使用", code).
		WithData(map[string]any{"field": "code"})
}

// enterpriseFor loads the enterprise a device names.
func (s *Service) enterpriseFor(ctx context.Context, q sqldb.Querier, id string) (enterprise, error) {
	e, err := getEnterprise(ctx, q, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return e, yingji.Invalid("monitor.enterprise_not_found", "enterprise_id", "所属企业不存在")
	}
	return e, err
}

// GetDevice returns a device the actor may read.
func (s *Service) GetDevice(ctx context.Context, a *yingji.Actor, id string) (Device, error) {
	const action = "monitor_device.read"
	if err := s.require(ctx, a, yingji.PermMonitorRead, action, ObjectDevice, id); err != nil {
		return Device{}, err
	}
	d, err := getDevice(ctx, s.db, id)
	if err != nil {
		return Device{}, deviceNotFound(err)
	}
	if !a.CanReadEnterprise(d.EnterpriseID, d.OrgPath) {
		return Device{}, s.deny(ctx, a, action, ObjectDevice, id, yingji.Forbidden("监测设备"))
	}
	return d, nil
}

// ListDevices returns a page of the devices matching f that the actor may read.
func (s *Service) ListDevices(ctx context.Context, a *yingji.Actor, f DeviceFilter, p yingji.ListParams) (yingji.Page[Device], error) {
	if err := s.require(ctx, a, yingji.PermMonitorRead, "monitor_device.list", ObjectDevice, ""); err != nil {
		return yingji.Page[Device]{}, err
	}
	if f.Category != "" && !f.Category.Valid() {
		return yingji.Page[Device]{}, yingji.Invalid("request.bad_query", "category", "查询参数 category 应为 hazchem 或 flood")
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return yingji.Page[Device]{}, yingji.Invalid("request.bad_query", "kind", "查询参数 kind 不是有效的设备类型")
	}
	scope := a.ReadScope()
	if scope.EnterpriseID == "" && scope.OrgPrefix == "" {
		return yingji.Page[Device]{Items: []Device{}}, nil
	}
	return listDevices(ctx, s.db, scope, f, p)
}

// prepareDevice validates a new device and places it in its enterprise.
func (s *Service) prepareDevice(ctx context.Context, a *yingji.Actor, action string, d *Device) (secret string, err error) {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return "", err
	}
	e, err := s.enterpriseFor(ctx, s.db, d.EnterpriseID)
	if err != nil {
		return "", err
	}
	if !CanWrite(a, e.ID, e.OrgPath) {
		return "", s.deny(ctx, a, action, ObjectDevice, "", yingji.Forbidden("企业"))
	}
	d.ID, d.OrgPath = yingji.NewID(), e.OrgPath
	d.Online, d.LastSeenAt = false, nil
	d.CreatedAt = s.now()
	d.UpdatedAt = d.CreatedAt
	secret, d.secretHash = NewSecret()
	return secret, nil
}

// CreateDevice adds a device to an enterprise the actor may write and returns it with its
// secret, shown this once (only its SHA-256 hash is kept).
func (s *Service) CreateDevice(ctx context.Context, a *yingji.Actor, d Device) (Device, string, error) {
	const action = "monitor_device.create"
	if err := s.require(ctx, a, yingji.PermMonitorWrite, action, ObjectDevice, ""); err != nil {
		return Device{}, "", err
	}
	secret, err := s.prepareDevice(ctx, a, action, &d)
	if err != nil {
		return Device{}, "", err
	}
	if err := insertDevice(ctx, s.db, &d); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Device{}, "", dupDeviceCode(d.Code)
		}
		return Device{}, "", err
	}
	s.ok(ctx, a, action, ObjectDevice, d.ID, map[string]any{"after": d.fields()})
	s.changed(ctx)
	return d, secret, nil
}

func (d Device) fields() map[string]any {
	return map[string]any{"code": d.Code, "name": d.Name, "enterprise_id": d.EnterpriseID, "category": d.Category, "kind": d.Kind,
		"lat": d.Lat, "lng": d.Lng, "heartbeat_timeout_s": d.HeartbeatTimeoutS, "disabled": d.Disabled}
}

// writableDevice loads a device the actor may change.
func (s *Service) writableDevice(ctx context.Context, a *yingji.Actor, action, id string) (Device, error) {
	if err := s.require(ctx, a, yingji.PermMonitorWrite, action, ObjectDevice, id); err != nil {
		return Device{}, err
	}
	d, err := getDevice(ctx, s.db, id)
	if err != nil {
		return Device{}, deviceNotFound(err)
	}
	if !CanWrite(a, d.EnterpriseID, d.OrgPath) {
		return Device{}, s.deny(ctx, a, action, ObjectDevice, id, yingji.Forbidden("监测设备"))
	}
	return d, nil
}

// UpdateDevice replaces a device's editable fields (code, name, category, kind, location,
// heartbeat timeout, disabled); its enterprise does not change.
func (s *Service) UpdateDevice(ctx context.Context, a *yingji.Actor, id string, in Device) (Device, error) {
	const action = "monitor_device.update"
	old, err := s.writableDevice(ctx, a, action, id)
	if err != nil {
		return Device{}, err
	}
	if in.EnterpriseID != "" && in.EnterpriseID != old.EnterpriseID {
		return Device{}, yingji.Invalid("monitor.enterprise_immutable", "enterprise_id", "监测设备不能改属其他企业")
	}
	d := in
	d.ID, d.EnterpriseID, d.OrgPath, d.CreatedAt = old.ID, old.EnterpriseID, old.OrgPath, old.CreatedAt
	d.Online, d.LastSeenAt, d.secretHash = old.Online, old.LastSeenAt, old.secretHash
	d.Normalize()
	if err := d.Validate(); err != nil {
		return Device{}, err
	}
	d.UpdatedAt = s.now()
	if err := updateDevice(ctx, s.db, &d); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Device{}, dupDeviceCode(d.Code)
		}
		return Device{}, deviceNotFound(err)
	}
	s.ok(ctx, a, action, ObjectDevice, id, diff(old.fields(), d.fields()))
	s.changed(ctx)
	return d, nil
}

// diff lists the fields that changed, before and after.
func diff(before, after map[string]any) map[string]any {
	d := map[string]any{}
	for k, b := range before {
		if jsonText(after[k]) != jsonText(b) {
			d[k] = map[string]any{"before": b, "after": after[k]}
		}
	}
	return d
}

// DeleteDevice removes a device with its points, their rule states and its history. Stored
// readings stay until the retention removes them.
func (s *Service) DeleteDevice(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "monitor_device.delete"
	old, err := s.writableDevice(ctx, a, action, id)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx sqldb.Querier) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rule_states WHERE point_id IN (SELECT id FROM monitor_points WHERE device_id = $1)`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM monitor_points WHERE device_id = $1`, id); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM devices WHERE id = $1`, id)
		if err == nil && n == 0 {
			err = yingji.ErrNotFound
		}
		return err
	})
	if err != nil {
		return deviceNotFound(err)
	}
	if s.tracker != nil {
		s.tracker.Forget(id)
	}
	s.ok(ctx, a, action, ObjectDevice, id, map[string]any{"before": old.fields()})
	s.changed(ctx)
	return nil
}

// ResetSecret gives a device a new secret, returned this once; the old one stops working at
// once on this instance (within Config.ReloadInterval on others). Connected MQTT sessions are
// not cut.
func (s *Service) ResetSecret(ctx context.Context, a *yingji.Actor, id string) (string, error) {
	const action = "monitor_device.reset_secret"
	if _, err := s.writableDevice(ctx, a, action, id); err != nil {
		return "", err
	}
	secret, hash := NewSecret()
	n, err := s.db.Exec(ctx, `UPDATE devices SET secret_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, s.now())
	if err == nil && n == 0 {
		err = yingji.ErrNotFound
	}
	if err != nil {
		return "", deviceNotFound(err)
	}
	s.ok(ctx, a, action, ObjectDevice, id, nil)
	s.changed(ctx)
	return secret, nil
}

// changed reloads the in-memory table after a write through this instance, so the pipeline
// sees the change at once. A failure is logged; the periodic reload retries.
func (s *Service) changed(ctx context.Context) {
	if !s.started.Load() || s.closed.Load() {
		return
	}
	if err := s.reloadTable(context.WithoutCancel(ctx), true); err != nil {
		s.log.Error("monitor: reload after change", "err", err)
	}
	if s.OnChange != nil {
		s.OnChange()
	}
}

package risk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/risk/qrtoken"
	"github.com/yingji/yingji/server/yingji"
)

// Object type in the audit log.
const ObjectRiskPoint = "risk_point"

// Service reads and changes risk points on behalf of an actor, enforcing his permissions and
// data scope, auditing every write and refusal, and signs the tokens of their QR codes.
type Service struct {
	Store Store
	Audit yingji.Auditor
	Now   yingji.Clock

	key ed25519.PrivateKey
}

// NewService returns a service on store; a nil audit records nothing. Call Open before use.
func NewService(store Store, audit yingji.Auditor) *Service {
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	return &Service{Store: store, Audit: audit, Now: time.Now}
}

// Open loads the QR signing key, creating it on the first start (kept in the meta table so
// every instance signs with the same key).
func (s *Service) Open(ctx context.Context) error {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	v, err := s.Store.QRSigningSeed(ctx, hex.EncodeToString(seed))
	if err != nil {
		return fmt.Errorf("risk: qr key: %w", err)
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != ed25519.SeedSize {
		return errors.New("risk: qr signing seed in the meta table is not hex of 32 bytes")
	}
	s.key = ed25519.NewKeyFromSeed(b)
	return nil
}

// PublicKey is the key phones verify QR tokens with, and its id.
func (s *Service) PublicKey() (ed25519.PublicKey, string) {
	pub := s.key.Public().(ed25519.PublicKey)
	return pub, qrtoken.KeyID(pub)
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, ObjectRiskPoint, id, detail)
}

func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, id string, err error) error {
	return audit.Deny(ctx, s.Audit, a, action, ObjectRiskPoint, id, err)
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, id string) error {
	return audit.Require(ctx, s.Audit, a, perm, action, ObjectRiskPoint, id)
}

// CanWrite: administrators over the enterprise, and its own safety officer and principal.
func CanWrite(a *yingji.Actor, e org.Enterprise) bool {
	if !a.Can(yingji.PermRiskWrite) {
		return false
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return a.EnterpriseID != "" && a.EnterpriseID == e.ID
	case yingji.ScopeOrg:
		return a.Role.AdminRank() > 0 && a.InSubtree(e.OrgPath)
	}
	return false
}

func notFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "risk.not_found", Message: "风险点不存在", Err: err}
	}
	return err
}

func dupCode(code string) error {
	return yingji.Errorf(yingji.ECONFLICT, "risk.duplicate_code", "风险点编号“%s”在该企业内已存在", code).
		WithData(map[string]any{"field": "code"})
}

// enterprise loads the enterprise a point names.
func (s *Service) enterprise(ctx context.Context, id string) (org.Enterprise, error) {
	e, err := s.Store.GetEnterprise(ctx, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return e, yingji.Invalid("risk.enterprise_not_found", "enterprise_id", "所属企业不存在")
	}
	return e, err
}

// Get returns a risk point the actor may read.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (RiskPoint, error) {
	const action = "risk_point.read"
	if err := s.require(ctx, a, yingji.PermRiskRead, action, id); err != nil {
		return RiskPoint{}, err
	}
	p, err := s.Store.GetRiskPoint(ctx, id)
	if err != nil {
		return RiskPoint{}, notFound(err)
	}
	if !a.CanReadEnterprise(p.EnterpriseID, p.OrgPath) {
		return RiskPoint{}, s.deny(ctx, a, action, id, yingji.Forbidden("风险点"))
	}
	return p, nil
}

// List returns a page of the risk points matching f that the actor may read.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[RiskPoint], error) {
	if err := s.require(ctx, a, yingji.PermRiskRead, "risk_point.list", ""); err != nil {
		return yingji.Page[RiskPoint]{}, err
	}
	if f.Level != "" && !f.Level.Valid() {
		return yingji.Page[RiskPoint]{}, yingji.Invalid("request.bad_query", "level", "查询参数 level 应为 red、orange、yellow 或 blue")
	}
	f.Scope = a.ReadScope()
	if f.Scope.EnterpriseID == "" && f.Scope.OrgPrefix == "" {
		return yingji.Page[RiskPoint]{Items: []RiskPoint{}}, nil
	}
	return s.Store.ListRiskPoints(ctx, f, p)
}

// prepare normalizes, validates and places a new point for the actor.
func (s *Service) prepare(ctx context.Context, a *yingji.Actor, action string, p *RiskPoint) error {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return err
	}
	e, err := s.enterprise(ctx, p.EnterpriseID)
	if err != nil {
		return err
	}
	if !CanWrite(a, e) {
		return s.deny(ctx, a, action, "", yingji.Forbidden("企业"))
	}
	p.ID = yingji.NewID()
	p.OrgPath = e.OrgPath
	p.QRVersion = 1
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	return nil
}

// Create adds a risk point to an enterprise the actor may write.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, p RiskPoint) (RiskPoint, error) {
	const action = "risk_point.create"
	if err := s.require(ctx, a, yingji.PermRiskWrite, action, ""); err != nil {
		return RiskPoint{}, err
	}
	if err := s.prepare(ctx, a, action, &p); err != nil {
		return RiskPoint{}, err
	}
	if err := s.Store.CreateRiskPoints(ctx, []RiskPoint{p}); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return RiskPoint{}, dupCode(p.Code)
		}
		return RiskPoint{}, err
	}
	s.ok(ctx, a, action, p.ID, map[string]any{"after": p.fields()})
	return p, nil
}

// Import adds all points or none; a refusal names the item (Data "index").
func (s *Service) Import(ctx context.Context, a *yingji.Actor, ps []RiskPoint) error {
	const action = "risk_point.import"
	if err := s.require(ctx, a, yingji.PermRiskWrite, action, ""); err != nil {
		return err
	}
	for i := range ps {
		if err := s.prepare(ctx, a, action, &ps[i]); err != nil {
			return yingji.AtIndex(i, err)
		}
	}
	if err := s.Store.CreateRiskPoints(ctx, ps); err != nil {
		var be *org.BatchError
		if errors.As(err, &be) && errors.Is(err, yingji.ErrDuplicate) {
			return yingji.AtIndex(be.Index, dupCode(ps[be.Index].Code))
		}
		return err
	}
	for _, p := range ps {
		s.ok(ctx, a, action, p.ID, map[string]any{"after": p.fields()})
	}
	return nil
}

// Update replaces a point's fields; its enterprise, id and qr_version do not change (the
// enterprise in `in` must be empty or the same). Measures keep their ids; new ones get one.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, in RiskPoint) (RiskPoint, error) {
	const action = "risk_point.update"
	old, e, err := s.writable(ctx, a, action, id)
	if err != nil {
		return RiskPoint{}, err
	}
	if in.EnterpriseID != "" && in.EnterpriseID != old.EnterpriseID {
		return RiskPoint{}, yingji.Invalid("risk.enterprise_immutable", "enterprise_id", "风险点不能改属其他企业")
	}
	p := in
	p.ID, p.EnterpriseID, p.OrgPath, p.QRVersion, p.CreatedAt = old.ID, old.EnterpriseID, e.OrgPath, old.QRVersion, old.CreatedAt
	p.Normalize()
	if err := p.Validate(); err != nil {
		return RiskPoint{}, err
	}
	p.UpdatedAt = s.now()
	if err := s.Store.UpdateRiskPoint(ctx, p); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return RiskPoint{}, dupCode(p.Code)
		}
		return RiskPoint{}, notFound(err)
	}
	d := map[string]any{}
	before, after := old.fields(), p.fields()
	for k, b := range before {
		if after[k] != b {
			d[k] = map[string]any{"before": b, "after": after[k]}
		}
	}
	s.ok(ctx, a, action, id, d)
	return p, nil
}

// writable loads a point the actor may change.
func (s *Service) writable(ctx context.Context, a *yingji.Actor, action, id string) (RiskPoint, org.Enterprise, error) {
	if err := s.require(ctx, a, yingji.PermRiskWrite, action, id); err != nil {
		return RiskPoint{}, org.Enterprise{}, err
	}
	old, err := s.Store.GetRiskPoint(ctx, id)
	if err != nil {
		return RiskPoint{}, org.Enterprise{}, notFound(err)
	}
	e, err := s.Store.GetEnterprise(ctx, old.EnterpriseID)
	if err != nil {
		return RiskPoint{}, org.Enterprise{}, err
	}
	if !CanWrite(a, e) {
		return RiskPoint{}, org.Enterprise{}, s.deny(ctx, a, action, id, yingji.Forbidden("风险点"))
	}
	return old, e, nil
}

// Delete removes a risk point.
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "risk_point.delete"
	old, _, err := s.writable(ctx, a, action, id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteRiskPoint(ctx, id); err != nil {
		return notFound(err)
	}
	s.ok(ctx, a, action, id, map[string]any{"before": old.fields()})
	return nil
}

// ReissueQR increments the point's qr_version, revoking every code printed before, and
// returns the point with its new token.
func (s *Service) ReissueQR(ctx context.Context, a *yingji.Actor, id string) (RiskPoint, string, error) {
	const action = "risk_point.qr_reissue"
	old, _, err := s.writable(ctx, a, action, id)
	if err != nil {
		return RiskPoint{}, "", err
	}
	at := s.now()
	v, err := s.Store.ReissueQR(ctx, id, at)
	if err != nil {
		return RiskPoint{}, "", notFound(err)
	}
	old.QRVersion, old.UpdatedAt = v, at
	s.ok(ctx, a, action, id, map[string]any{"qr_version": map[string]any{"before": v - 1, "after": v}})
	return old, s.Token(old), nil
}

// Token is the signed text the point's current QR code carries.
func (s *Service) Token(p RiskPoint) string {
	return qrtoken.Sign(s.key, qrtoken.Claims{RiskPointID: p.ID, EnterpriseID: p.EnterpriseID, Version: p.QRVersion,
		IssuedAt: s.Now().Unix()})
}

// Verify checks a scanned token against the point it names as the server holds it now.
func (s *Service) Verify(ctx context.Context, a *yingji.Actor, token string) (RiskPoint, error) {
	pub, _ := s.PublicKey()
	c, err := qrtoken.VerifyToken(pub, token)
	if err != nil {
		return RiskPoint{}, TokenError(err)
	}
	p, err := s.Get(ctx, a, c.RiskPointID)
	if err != nil {
		return RiskPoint{}, err
	}
	if err := c.Check(p.ID, p.QRVersion); err != nil {
		return RiskPoint{}, TokenError(err)
	}
	return p, nil
}

// TokenError gives a verification failure a code and a Chinese message.
func TokenError(err error) error {
	msg := "二维码无效"
	code := "risk.qr_invalid"
	switch {
	case errors.Is(err, qrtoken.ErrMalformed):
		code, msg = "risk.qr_malformed", "这不是本平台的风险点二维码"
	case errors.Is(err, qrtoken.ErrWrongKey):
		code, msg = "risk.qr_wrong_key", "二维码不是本平台签发的"
	case errors.Is(err, qrtoken.ErrForged):
		code, msg = "risk.qr_forged", "二维码签名无效，可能是伪造或被篡改"
	case errors.Is(err, qrtoken.ErrOtherPoint):
		code, msg = "risk.qr_other_point", "二维码属于其他风险点"
	case errors.Is(err, qrtoken.ErrStale):
		code, msg = "risk.qr_stale", "二维码已作废（已重新生成），请张贴最新的二维码"
	}
	return &yingji.Error{Kind: yingji.EINVALID, Code: code, Message: msg, Err: err}
}

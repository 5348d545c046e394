package risk

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Filter narrows a risk point list. Lists sort by code, name, level, created_at or updated_at
// (default code within enterprise).
type Filter struct {
	Scope        yingji.EnterpriseScope // set by the service
	EnterpriseID string
	Level        Level
	Q            string // code or name contains
	IDs          []string
}

// Store keeps risk points. Lookups and updates of a missing row return an error wrapping
// yingji.ErrNotFound; a duplicate (enterprise, code) one wrapping yingji.ErrDuplicate.
type Store interface {
	GetRiskPoint(ctx context.Context, id string) (RiskPoint, error)
	ListRiskPoints(ctx context.Context, f Filter, p yingji.ListParams) (yingji.Page[RiskPoint], error)
	// CreateRiskPoints inserts all points in order or none; a failure is an *org.BatchError.
	CreateRiskPoints(ctx context.Context, ps []RiskPoint) error
	// UpdateRiskPoint saves every field but id, enterprise, org path, qr_version and created_at.
	UpdateRiskPoint(ctx context.Context, p RiskPoint) error
	DeleteRiskPoint(ctx context.Context, id string) error
	// ReissueQR increments the point's qr_version and returns the new one.
	ReissueQR(ctx context.Context, id string, at time.Time) (int, error)
	// QRSigningSeed stores candidate (hex of an Ed25519 seed) unless a seed is already kept,
	// and returns the kept one.
	QRSigningSeed(ctx context.Context, candidate string) (string, error)

	GetEnterprise(ctx context.Context, id string) (org.Enterprise, error)
}

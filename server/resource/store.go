package resource

import (
	"context"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// Scope is what a list may hold: resources under OrgPrefix, those whose org path is one of
// Paths (the units above the caller, whose resources serve him too; only government ones when
// PathsGovernmentOnly), and those of EnterpriseID.
type Scope struct {
	OrgPrefix           string
	Paths               []string
	PathsGovernmentOnly bool
	EnterpriseID        string
}

// Filter narrows a resource list. Lists sort by name, code, category, status, quantity,
// created_at or updated_at (default kind, name).
type Filter struct {
	Scope        Scope // set by the service
	Kind         Kind
	Category     string
	Subtype      string
	Status       Status
	Owner        Owner
	OrgUnitID    string
	Subtree      string // org path: only resources at or below it
	EnterpriseID string
	HolderID     string
	AccidentType string
	Q            string // name, code, contact or employer contains
	IDs          []string
}

// Store keeps resources. Lookups and updates of a missing row return an error wrapping
// yingji.ErrNotFound; a duplicate (source, external_id) one wrapping yingji.ErrDuplicate.
// Every write moves the table's version (what the spatial indexes of other instances check)
// and returns the new one.
type Store interface {
	GetResource(ctx context.Context, id string) (Resource, error)
	GetResourceByExternalID(ctx context.Context, source, externalID string) (Resource, error)
	ListResources(ctx context.Context, f Filter, p yingji.ListParams) (yingji.Page[Resource], error)
	// CreateResources inserts all resources in order or none; a failure is an *org.BatchError.
	// A team also gets its row in teams (accounts of rescue members refer to it).
	CreateResources(ctx context.Context, rs []Resource) (int64, error)
	// UpdateResources saves every field but id, kind and created_at of each, all or none. A
	// team's row in teams follows.
	UpdateResources(ctx context.Context, rs []Resource) (int64, error)
	// DeleteResource deletes a resource (and a team's row in teams).
	DeleteResource(ctx context.Context, id string) (int64, error)
	// ResourceRefs counts what refers to a resource: supplies it holds, accounts of its team.
	ResourceRefs(ctx context.Context, id string) (held, members int, err error)
	// LoadResources calls fn with every located resource and returns the version they are
	// at, in one consistent snapshot.
	LoadResources(ctx context.Context, fn func(Resource)) (int64, error)
	ResourceVersion(ctx context.Context) (int64, error)

	GetUnit(ctx context.Context, id string) (org.Unit, error)
	ListUnits(ctx context.Context, f org.UnitFilter) ([]org.Unit, error)
	GetEnterprise(ctx context.Context, id string) (org.Enterprise, error)
	GetEnterpriseByCreditCode(ctx context.Context, code string) (org.Enterprise, error)
}

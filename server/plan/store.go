package plan

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

// Scope is the read filter of a plan list (set by the service from the actor): plans in the
// subtree OrgPrefix (or of EnterpriseID), and the published or retired government plans of the
// units on the path Ancestors.
type Scope struct {
	OrgPrefix    string
	EnterpriseID string
	Ancestors    string
	// PublishedOnly narrows OrgPrefix and EnterpriseID to published and retired versions: those
	// who may neither author nor review plans read them as their phones do, without drafts and
	// versions under review.
	PublishedOnly bool
}

// Filter narrows a plan list. Lists sort by title, code, version, status, published_at,
// created_at or updated_at (default: updated_at, newest first).
type Filter struct {
	Scope        Scope // set by the service
	PlanID       string
	Status       Status
	Kind         Kind
	Level        Level
	EnterpriseID string
	OrgUnitID    string
	Q            string // title or code contains
	// Latest keeps only the newest version of each plan.
	Latest bool
}

// Transition is one workflow step the store applies to a version, guarded by its status.
type Transition struct {
	ID   string
	From Status
	To   Status
	At   time.Time

	ReviewerID    string // publish, send back
	ReviewerName  string
	ReviewComment string
	Reason        string // retire
}

// Store keeps plans. A missing row is an error wrapping yingji.ErrNotFound; a duplicate
// (an open version already exists) one wrapping yingji.ErrDuplicate.
type Store interface {
	GetPlan(ctx context.Context, id string) (Plan, error)
	ListPlans(ctx context.Context, f Filter, p yingji.ListParams) (yingji.Page[Plan], error)
	// CreatePlans inserts all versions in order or none; a failure is an *org.BatchError.
	CreatePlans(ctx context.Context, ps []Plan) error
	// UpdateDraft saves the editable fields of a draft (title, code, kind, content, editor).
	UpdateDraft(ctx context.Context, p Plan) error
	// TransitionPlan moves a version from t.From to t.To, or fails with yingji.ErrNotFound
	// when it is no longer in t.From. Publishing retires the plan's previously published
	// version and indexes the new one for search; retiring a published version removes it
	// from the index. Both reach phones through the synced collection "plans".
	TransitionPlan(ctx context.Context, t Transition) (Plan, error)
	DeleteDraft(ctx context.Context, id string) error

	GetUnit(ctx context.Context, id string) (org.Unit, error)
	GetEnterprise(ctx context.Context, id string) (org.Enterprise, error)
	search.Store
}

package resource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// ObjectResource is the object type in the audit log.
const ObjectResource = "resource"

// MaxNearest bounds N of a nearest query.
const MaxNearest = 200

// Service reads and changes resources on behalf of an actor, enforcing his permissions and
// data scope and auditing every write and refusal, and answers nearest queries from its
// spatial index.
type Service struct {
	Store Store
	Audit yingji.Auditor
	Log   *slog.Logger
	Now   yingji.Clock
	// CheckEvery is how often a query may check the table's version before it answers, so a
	// change made by another instance shows within it (no extra database connection is held).
	CheckEvery time.Duration

	index     *Index
	reloadMu  sync.Mutex
	lastCheck atomic.Int64 // unix nanoseconds of the last version check
	stop      chan struct{}
	done      chan struct{}
}

// NewService returns a service on store; a nil audit records nothing. Call Open before use.
func NewService(store Store, audit yingji.Auditor, log *slog.Logger) *Service {
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{Store: store, Audit: audit, Log: log.With("component", "resource"), Now: time.Now, CheckEvery: time.Second,
		index: NewIndex()}
}

// Index is the service's spatial index.
func (s *Service) Index() *Index { return s.index }

// Open loads the spatial index.
func (s *Service) Open(ctx context.Context) error {
	s.lastCheck.Store(time.Now().UnixNano())
	return s.reload(ctx)
}

// Start refreshes the index every interval (it catches changes made by other instances when
// no notification arrives) until Close.
func (s *Service) Start(interval time.Duration) {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if err := s.Refresh(ctx); err != nil {
					s.Log.Warn("refresh resource index", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Close stops the refresher.
func (s *Service) Close() {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
}

// Refresh reloads the index when the table moved past it (another instance wrote) or it
// knows it missed a change.
func (s *Service) Refresh(ctx context.Context) error {
	s.lastCheck.Store(time.Now().UnixNano())
	v, err := s.Store.ResourceVersion(ctx)
	if err != nil {
		return err
	}
	if have, stale := s.index.State(); have == v && !stale {
		return nil
	}
	return s.reload(ctx)
}

func (s *Service) reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var entries []*Entry
	v, err := s.Store.LoadResources(ctx, func(r Resource) {
		if e := EntryOf(r); e != nil {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return fmt.Errorf("resource: load index: %w", err)
	}
	s.index.Replace(entries, v)
	return nil
}

// applied puts written resources into the index.
func (s *Service) applied(version int64, rs []Resource, deleted ...string) {
	puts := make(map[string]*Entry, len(rs))
	for _, r := range rs {
		puts[r.ID] = EntryOf(r)
	}
	s.index.Apply(version, puts, deleted...)
}

// current refreshes the index before a query when it knows it is stale, or when the last
// version check is older than CheckEvery (another instance may have written).
func (s *Service) current(ctx context.Context) error {
	_, stale := s.index.State()
	if !stale && time.Since(time.Unix(0, s.lastCheck.Load())) < s.CheckEvery {
		return nil
	}
	return s.Refresh(ctx)
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, ObjectResource, id, detail)
}

func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, id string, err error) error {
	return audit.Deny(ctx, s.Audit, a, action, ObjectResource, id, err)
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, id string) error {
	return audit.Require(ctx, s.Audit, a, perm, action, ObjectResource, id)
}

// ancestors returns the paths of the units on path, from the top: "/a/", "/a/b/", ….
func ancestors(path string) []string {
	var out []string
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			out = append(out, path[:i+1])
		}
	}
	return out
}

// CanRead reports whether the actor may read a resource at orgPath of enterpriseID
// (empty for a government resource). Org roles read their subtree and the units above them
// (a township's people may call on the city's teams); enterprise roles their enterprise's
// resources and the government resources of the units above it.
func CanRead(a *yingji.Actor, orgPath, enterpriseID string) bool {
	if a == nil || a.OrgPath == "" && a.Role.ScopeKind() != yingji.ScopeEnterprise {
		return false
	}
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		if enterpriseID != "" {
			return a.EnterpriseID != "" && enterpriseID == a.EnterpriseID
		}
		return orgPath != "" && a.OrgPath != "" && strings.HasPrefix(a.OrgPath, orgPath)
	}
	return orgPath != "" && (strings.HasPrefix(orgPath, a.OrgPath) || strings.HasPrefix(a.OrgPath, orgPath))
}

// CanWrite: administrators over the resource's unit, and an enterprise's own safety officer
// and principal for its resources.
func CanWrite(a *yingji.Actor, orgPath, enterpriseID string) bool {
	if !a.Can(yingji.PermResourceWrite) {
		return false
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return a.EnterpriseID != "" && enterpriseID == a.EnterpriseID
	case yingji.ScopeOrg:
		return a.Role.AdminRank() > 0 && a.InSubtree(orgPath)
	}
	return false
}

// readScope is the list filter of what the actor may read.
func readScope(a *yingji.Actor) Scope {
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		return Scope{EnterpriseID: a.EnterpriseID, Paths: ancestors(a.OrgPath), PathsGovernmentOnly: true}
	}
	return Scope{OrgPrefix: a.OrgPath, Paths: ancestors(a.OrgPath)}
}

// allow is the index filter of what the actor may read.
func allow(a *yingji.Actor) func(*Entry) bool {
	return func(e *Entry) bool { return CanRead(a, e.OrgPath, e.EnterpriseID) }
}

func notFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "resource.not_found", Message: "资源不存在", Err: err}
	}
	return err
}

func dupExternal(r Resource) error {
	return yingji.Errorf(yingji.ECONFLICT, "resource.duplicate_external_id", "来源系统“%s”的外部编号“%s”已存在", r.Source, r.ExternalID).
		WithData(map[string]any{"field": "external_id"})
}

// Get returns a resource the actor may read.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Resource, error) {
	const action = "resource.read"
	if err := s.require(ctx, a, yingji.PermResourceRead, action, id); err != nil {
		return Resource{}, err
	}
	r, err := s.Store.GetResource(ctx, id)
	if err != nil {
		return Resource{}, notFound(err)
	}
	if !CanRead(a, r.OrgPath, r.EnterpriseID) {
		return Resource{}, s.deny(ctx, a, action, id, yingji.Forbidden("资源"))
	}
	return r, nil
}

// List returns a page of the resources matching f that the actor may read.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Resource], error) {
	if err := s.require(ctx, a, yingji.PermResourceRead, "resource.list", ""); err != nil {
		return yingji.Page[Resource]{}, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return yingji.Page[Resource]{}, yingji.Invalid("request.bad_query", "kind", "查询参数 kind 应为资源种类之一（supply、depot、team、expert、shelter、medical、police、fire、target）")
	}
	if f.Status != "" && !f.Status.Valid() {
		return yingji.Page[Resource]{}, yingji.Invalid("request.bad_query", "status", "查询参数 status 应为 available、busy、maintenance 或 retired")
	}
	if f.Owner != "" && f.Owner != OwnerGovernment && f.Owner != OwnerEnterprise {
		return yingji.Page[Resource]{}, yingji.Invalid("request.bad_query", "owner", "查询参数 owner 应为 government 或 enterprise")
	}
	if f.OrgUnitID != "" {
		u, err := s.Store.GetUnit(ctx, f.OrgUnitID)
		if err != nil {
			return yingji.Page[Resource]{Items: []Resource{}}, nil
		}
		f.Subtree, f.OrgUnitID = u.Path, ""
	}
	f.Scope = readScope(a)
	if f.Scope.OrgPrefix == "" && f.Scope.EnterpriseID == "" && len(f.Scope.Paths) == 0 {
		return yingji.Page[Resource]{Items: []Resource{}}, nil // no anchor: nothing (a zero scope would mean everything)
	}
	return s.Store.ListResources(ctx, f, p)
}

// place checks a resource's references and fills its org path (from its unit or enterprise)
// and, for a supply held by a depot or team, its location (the holder's).
func (s *Service) place(ctx context.Context, a *yingji.Actor, r *Resource) error {
	if r.Owner == OwnerEnterprise {
		e, err := s.Store.GetEnterprise(ctx, r.EnterpriseID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("resource.enterprise_not_found", "enterprise_id", "所属企业不存在")
		} else if err != nil {
			return err
		}
		r.OrgPath, r.OrgUnitID = e.OrgPath, e.TownshipID
		if e.GridID != "" {
			r.OrgUnitID = e.GridID
		}
	} else {
		u, err := s.Store.GetUnit(ctx, r.OrgUnitID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("resource.org_not_found", "org_unit_id", "所属单位不存在")
		} else if err != nil {
			return err
		}
		r.OrgPath = u.Path
	}
	if r.HolderID != "" {
		h, err := s.Store.GetResource(ctx, r.HolderID)
		switch {
		case errors.Is(err, yingji.ErrNotFound):
			return yingji.Invalid("resource.holder_not_found", "holder_id", "所属储备库或队伍不存在")
		case err != nil:
			return err
		case h.Kind != KindDepot && h.Kind != KindTeam:
			return yingji.Invalid("resource.bad_holder", "holder_id", "物资只能存放于储备库或救援队伍，“%s”是%s", h.Name, h.Kind.Name())
		case !CanRead(a, h.OrgPath, h.EnterpriseID):
			return yingji.Invalid("resource.holder_not_found", "holder_id", "所属储备库或队伍不存在或不在您的管辖范围内")
		}
		if h.Location != nil {
			loc := *h.Location
			r.Location = &loc
			r.Normalize()
		}
	}
	return nil
}

// prepare normalizes, validates and places a new resource for the actor.
func (s *Service) prepare(ctx context.Context, a *yingji.Actor, action string, r *Resource) error {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return err
	}
	if err := s.place(ctx, a, r); err != nil {
		return err
	}
	if !CanWrite(a, r.OrgPath, r.EnterpriseID) {
		return s.deny(ctx, a, action, "", yingji.Forbidden("单位或企业"))
	}
	r.ID = yingji.NewID()
	r.CreatedAt = s.now()
	r.UpdatedAt = r.CreatedAt
	return nil
}

// Create adds a resource to a unit or enterprise the actor may write.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, r Resource) (Resource, error) {
	const action = "resource.create"
	if err := s.require(ctx, a, yingji.PermResourceWrite, action, ""); err != nil {
		return Resource{}, err
	}
	if err := s.prepare(ctx, a, action, &r); err != nil {
		return Resource{}, err
	}
	v, err := s.Store.CreateResources(ctx, []Resource{r})
	if err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Resource{}, dupExternal(r)
		}
		return Resource{}, err
	}
	s.applied(v, []Resource{r})
	s.ok(ctx, a, action, r.ID, map[string]any{"after": r.fields()})
	return r, nil
}

// Import adds all resources or none; a refusal names the item (Data "index").
func (s *Service) Import(ctx context.Context, a *yingji.Actor, rs []Resource) error {
	const action = "resource.import"
	if err := s.require(ctx, a, yingji.PermResourceWrite, action, ""); err != nil {
		return err
	}
	for i := range rs {
		if err := s.prepare(ctx, a, action, &rs[i]); err != nil {
			return yingji.AtIndex(i, err)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	v, err := s.Store.CreateResources(ctx, rs)
	if err != nil {
		var be *org.BatchError
		if errors.As(err, &be) && errors.Is(err, yingji.ErrDuplicate) {
			return yingji.AtIndex(be.Index, dupExternal(rs[be.Index]))
		}
		return err
	}
	s.applied(v, rs)
	for _, r := range rs {
		s.ok(ctx, a, action, r.ID, map[string]any{"after": r.fields()})
	}
	return nil
}

// writable loads a resource the actor may change.
func (s *Service) writable(ctx context.Context, a *yingji.Actor, action, id string) (Resource, error) {
	if err := s.require(ctx, a, yingji.PermResourceWrite, action, id); err != nil {
		return Resource{}, err
	}
	old, err := s.Store.GetResource(ctx, id)
	if err != nil {
		return Resource{}, notFound(err)
	}
	if !CanWrite(a, old.OrgPath, old.EnterpriseID) {
		return Resource{}, s.deny(ctx, a, action, id, yingji.Forbidden("资源"))
	}
	return old, nil
}

// Update replaces a resource's fields; its id and kind do not change. When a depot or team
// moves, the supplies it holds move with it.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, in Resource) (Resource, error) {
	const action = "resource.update"
	old, err := s.writable(ctx, a, action, id)
	if err != nil {
		return Resource{}, err
	}
	r, err := s.update(ctx, a, action, old, in)
	if err != nil {
		return Resource{}, err
	}
	return r, nil
}

func (s *Service) update(ctx context.Context, a *yingji.Actor, action string, old, in Resource) (Resource, error) {
	if in.Kind != "" && in.Kind != old.Kind {
		return Resource{}, yingji.Invalid("resource.kind_immutable", "kind", "资源种类不能修改")
	}
	r := in
	r.ID, r.Kind, r.CreatedAt = old.ID, old.Kind, old.CreatedAt
	r.Normalize()
	if err := r.Validate(); err != nil {
		return Resource{}, err
	}
	if r.HolderID == r.ID {
		return Resource{}, yingji.Invalid("resource.bad_holder", "holder_id", "物资不能存放于自身")
	}
	if err := s.place(ctx, a, &r); err != nil {
		return Resource{}, err
	}
	if !CanWrite(a, r.OrgPath, r.EnterpriseID) {
		return Resource{}, s.deny(ctx, a, action, r.ID, yingji.Forbidden("单位或企业"))
	}
	r.UpdatedAt = s.now()
	batch := []Resource{r}
	if (r.Kind == KindDepot || r.Kind == KindTeam) && r.Location != nil && !sameLocation(old.Location, r.Location) {
		held, err := s.held(ctx, r.ID)
		if err != nil {
			return Resource{}, err
		}
		for _, h := range held {
			loc := *r.Location
			h.Location, h.UpdatedAt = &loc, r.UpdatedAt
			h.Normalize()
			batch = append(batch, h)
		}
	}
	v, err := s.Store.UpdateResources(ctx, batch)
	if err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Resource{}, dupExternal(r)
		}
		return Resource{}, notFound(err)
	}
	s.applied(v, batch)
	d := map[string]any{}
	before, after := old.fields(), r.fields()
	for k, b := range before {
		if fmt.Sprint(after[k]) != fmt.Sprint(b) {
			d[k] = map[string]any{"before": b, "after": after[k]}
		}
	}
	if len(batch) > 1 {
		d["moved_supplies"] = len(batch) - 1
	}
	s.ok(ctx, a, action, r.ID, d)
	return r, nil
}

func sameLocation(a, b *Location) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// held lists the supplies a depot or team holds.
func (s *Service) held(ctx context.Context, id string) ([]Resource, error) {
	var out []Resource
	for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
		page, err := s.Store.ListResources(ctx, Filter{HolderID: id}, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) < p.PageSize {
			return out, nil
		}
	}
}

// Delete removes a resource. A depot or team still holding supplies, or a team with member
// accounts, is kept: move or delete those first.
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "resource.delete"
	old, err := s.writable(ctx, a, action, id)
	if err != nil {
		return err
	}
	held, members, err := s.Store.ResourceRefs(ctx, id)
	if err != nil {
		return err
	}
	if held > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "resource.in_use", "“%s”还存放着 %d 种物资，请先移走或删除这些物资", old.Name, held)
	}
	if members > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "resource.in_use", "救援队伍“%s”还有 %d 个队员账号，请先调整这些账号", old.Name, members)
	}
	v, err := s.Store.DeleteResource(ctx, id)
	if err != nil {
		return notFound(err)
	}
	s.applied(v, nil, id)
	s.ok(ctx, a, action, id, map[string]any{"before": old.fields()})
	return nil
}

// Nearest returns the q.N resources nearest to a point that the actor may read, by
// great-circle distance, with their distance in metres: what the response module asks for
// an incident's nearest teams and supplies.
func (s *Service) Nearest(ctx context.Context, a *yingji.Actor, q Query) ([]Hit, error) {
	if err := s.require(ctx, a, yingji.PermResourceRead, "resource.nearest", ""); err != nil {
		return nil, err
	}
	switch {
	case math.IsNaN(q.Lat) || q.Lat < -90 || q.Lat > 90:
		return nil, yingji.Invalid("request.bad_query", "lat", "纬度 lat 应在 -90 到 90 之间")
	case math.IsNaN(q.Lng) || q.Lng < -180 || q.Lng > 180:
		return nil, yingji.Invalid("request.bad_query", "lng", "经度 lng 应在 -180 到 180 之间")
	case q.N < 1 || q.N > MaxNearest:
		return nil, yingji.Invalid("request.bad_query", "n", "n 应在 1 到 %d 之间", MaxNearest)
	case q.Status != "" && !q.Status.Valid():
		return nil, yingji.Invalid("request.bad_query", "status", "查询参数 status 应为 available、busy、maintenance 或 retired")
	case q.Owner != "" && q.Owner != OwnerGovernment && q.Owner != OwnerEnterprise:
		return nil, yingji.Invalid("request.bad_query", "owner", "查询参数 owner 应为 government 或 enterprise")
	case math.IsNaN(q.MinAvailable) || q.MinAvailable < 0 || math.IsNaN(q.MaxDistanceM) || q.MaxDistanceM < 0:
		return nil, yingji.Invalid("request.bad_query", "min_available", "min_available 与 max_distance_m 应为不小于 0 的数")
	}
	for _, k := range q.Kinds {
		if !k.Valid() {
			return nil, yingji.Invalid("request.bad_query", "kinds", "资源种类“%s”无效", k)
		}
	}
	if err := s.current(ctx); err != nil {
		return nil, err
	}
	return s.index.Nearest(q, allow(a)), nil
}

// MapPoints returns the located resources of the kinds (none: all) the actor may read, for
// the one-map's layers; at most limit, and whether there were more.
func (s *Service) MapPoints(ctx context.Context, a *yingji.Actor, kinds []Kind, limit int) ([]*Entry, bool, error) {
	if err := s.require(ctx, a, yingji.PermResourceRead, "resource.map", ""); err != nil {
		return nil, false, err
	}
	for _, k := range kinds {
		if !k.Valid() {
			return nil, false, yingji.Invalid("request.bad_query", "kinds", "资源种类“%s”无效", k)
		}
	}
	if err := s.current(ctx); err != nil {
		return nil, false, err
	}
	out := []*Entry{}
	more := false
	ok := allow(a)
	s.index.Each(kinds, ok, func(e *Entry) bool {
		if len(out) >= limit {
			more = true
			return false
		}
		out = append(out, e)
		return true
	})
	return out, more, nil
}

package org

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
)

// Service reads and changes the organisation on behalf of an actor, enforcing his role's
// permissions and his data scope, and records every write and every refusal in the audit log.
type Service struct {
	Store Store
	Audit yingji.Auditor
	Now   yingji.Clock
}

// NewService returns a service on store; a nil audit records nothing.
func NewService(store Store, audit yingji.Auditor) *Service {
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	return &Service{Store: store, Audit: audit, Now: time.Now}
}

// Object types in the audit log.
const (
	ObjectUnit       = "org_unit"
	ObjectEnterprise = "enterprise"
	ObjectContact    = "contact"
	ObjectTeam       = "team"
)

// Change is one changed field in an audit detail.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// diff returns the fields whose values differ (the values are scalars).
func diff(before, after map[string]any) map[string]Change {
	d := map[string]Change{}
	for k, b := range before {
		if a := after[k]; a != b {
			d[k] = Change{Before: b, After: a}
		}
	}
	return d
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, objType, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, objType, id, detail)
}

// deny records a refusal and returns err.
func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, objType, id string, err error) error {
	return audit.Deny(ctx, s.Audit, a, action, objType, id, err)
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, objType, id string) error {
	return audit.Require(ctx, s.Audit, a, perm, action, objType, id)
}

// notFound gives a store's ErrNotFound a domain code and message, keeping it in the chain.
func notFound(err error, code, msg string) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: code, Message: msg, Err: err}
	}
	return err
}

func unitNotFound(err error) error { return notFound(err, "org.unit_not_found", "单位不存在") }
func enterpriseNotFound(err error) error {
	return notFound(err, "enterprise.not_found", "企业不存在")
}
func contactNotFound(err error) error {
	return notFound(err, "contact.not_found", "联系人不存在")
}
func teamNotFound(err error) error { return notFound(err, "team.not_found", "救援队伍不存在") }

// canReadUnit: everyone reads the units in his subtree and those above him.
func canReadUnit(a *yingji.Actor, path string) bool { return a.InSubtree(path) || a.IsAncestorOf(path) }

// canWriteUnit: administrators change units strictly below their own; a city admin may also
// edit his own city (own=true).
func canWriteUnit(a *yingji.Actor, path string, own bool) bool {
	if a.Role.ScopeKind() != yingji.ScopeOrg || !a.Can(yingji.PermOrgWrite) {
		return false
	}
	if path == a.OrgPath {
		return own && a.Role == yingji.RoleCityAdmin
	}
	return a.InSubtree(path)
}

// canWriteEnterprise: administrators change enterprises in their subtree.
func canWriteEnterprise(a *yingji.Actor, path string) bool {
	return a.Role.ScopeKind() == yingji.ScopeOrg && a.Can(yingji.PermEnterpriseWrite) && a.InSubtree(path)
}

// canWriteContacts: enterprise roles change their own enterprise's contacts, administrators
// those of the enterprises in their subtree.
func canWriteContacts(a *yingji.Actor, e Enterprise) bool {
	if !a.Can(yingji.PermContactWrite) {
		return false
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return a.EnterpriseID != "" && a.EnterpriseID == e.ID
	case yingji.ScopeOrg:
		return a.InSubtree(e.OrgPath)
	}
	return false
}

// ---- units ----

// GetUnit returns a unit in the actor's subtree or above him.
func (s *Service) GetUnit(ctx context.Context, a *yingji.Actor, id string) (Unit, error) {
	const action = "org_unit.read"
	if err := s.require(ctx, a, yingji.PermOrgRead, action, ObjectUnit, id); err != nil {
		return Unit{}, err
	}
	u, err := s.Store.GetUnit(ctx, id)
	if err != nil {
		return Unit{}, unitNotFound(err)
	}
	if !canReadUnit(a, u.Path) {
		return Unit{}, s.deny(ctx, a, action, ObjectUnit, id, yingji.Forbidden("单位"))
	}
	return u, nil
}

// ListUnits returns the units matching f that the actor may read: his subtree and the units
// above him. f.Scope is ignored; f.Subtree narrows to a subtree.
func (s *Service) ListUnits(ctx context.Context, a *yingji.Actor, f UnitFilter) ([]Unit, error) {
	if err := s.require(ctx, a, yingji.PermOrgRead, "org_unit.list", ObjectUnit, ""); err != nil {
		return nil, err
	}
	if a.OrgPath == "" {
		return []Unit{}, nil
	}
	f.Scope = UnitScope{Subtree: a.OrgPath, Ancestors: a.OrgPath}
	return s.Store.ListUnits(ctx, f)
}

// parentOf loads the parent a new unit names (nil for none).
func (s *Service) parentOf(ctx context.Context, id string) (*Unit, error) {
	if id == "" {
		return nil, nil
	}
	p, err := s.Store.GetUnit(ctx, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil, yingji.Invalid("org.parent_not_found", "parent_id", "上级单位不存在")
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func parentPath(p *Unit) string {
	if p == nil {
		return ""
	}
	return p.Path
}

func dupUnitCode(u Unit) error {
	if u.Level == LevelGrid {
		return yingji.Errorf(yingji.ECONFLICT, "org.duplicate_code", "网格编号“%s”在该乡镇（街道）内已存在", u.Code)
	}
	return yingji.Errorf(yingji.ECONFLICT, "org.duplicate_code", "行政区划代码“%s”已存在", u.Code)
}

// CreateUnit adds a unit (ParentID, Level, Code, Name, Sort) strictly inside the actor's subtree.
func (s *Service) CreateUnit(ctx context.Context, a *yingji.Actor, u Unit) (Unit, error) {
	const action = "org_unit.create"
	if err := s.require(ctx, a, yingji.PermOrgWrite, action, ObjectUnit, ""); err != nil {
		return Unit{}, err
	}
	u.Normalize()
	u.ID = yingji.NewID()
	parent, err := s.parentOf(ctx, u.ParentID)
	if err != nil {
		return Unit{}, err
	}
	u.Path = ChildPath(parentPath(parent), u.ID)
	if !canWriteUnit(a, u.Path, false) {
		return Unit{}, s.deny(ctx, a, action, ObjectUnit, u.ParentID, yingji.Forbidden("单位"))
	}
	if err := u.Validate(parent); err != nil {
		return Unit{}, err
	}
	u.CreatedAt = s.now()
	u.UpdatedAt = u.CreatedAt
	if err := s.Store.CreateUnit(ctx, u); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Unit{}, dupUnitCode(u)
		}
		return Unit{}, err
	}
	s.ok(ctx, a, action, ObjectUnit, u.ID, map[string]any{"after": u.fields()})
	return u, nil
}

// UpdateUnit changes a unit's Code, Name and Sort. Level and ParentID must be empty or
// unchanged: units do not move.
func (s *Service) UpdateUnit(ctx context.Context, a *yingji.Actor, id string, in Unit) (Unit, error) {
	const action = "org_unit.update"
	if err := s.require(ctx, a, yingji.PermOrgWrite, action, ObjectUnit, id); err != nil {
		return Unit{}, err
	}
	old, err := s.Store.GetUnit(ctx, id)
	if err != nil {
		return Unit{}, unitNotFound(err)
	}
	if !canWriteUnit(a, old.Path, true) {
		return Unit{}, s.deny(ctx, a, action, ObjectUnit, id, yingji.Forbidden("单位"))
	}
	in.Normalize()
	if (in.Level != "" && in.Level != old.Level) || (in.ParentID != "" && in.ParentID != old.ParentID) {
		return Unit{}, yingji.Invalid("org.unit_move", "parent_id", "不支持修改单位的层级或上级单位")
	}
	u := old
	u.Code, u.Name, u.Sort = in.Code, in.Name, in.Sort
	parent, err := s.parentOf(ctx, old.ParentID)
	if err != nil {
		return Unit{}, err
	}
	if err := u.Validate(parent); err != nil {
		return Unit{}, err
	}
	if u.Code != old.Code && (u.Level == LevelCity || u.Level == LevelDistrict) {
		refs, err := s.Store.UnitRefs(ctx, id)
		if err != nil {
			return Unit{}, err
		}
		if refs.Children > 0 {
			return Unit{}, yingji.Errorf(yingji.ECONFLICT, "org.code_in_use",
				"该单位下已有 %d 个下级单位，其代码以本单位代码开头，不能修改本单位代码", refs.Children)
		}
	}
	u.UpdatedAt = s.now()
	if err := s.Store.UpdateUnit(ctx, u); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Unit{}, dupUnitCode(u)
		}
		return Unit{}, unitNotFound(err)
	}
	s.ok(ctx, a, action, ObjectUnit, id, diff(old.fields(), u.fields()))
	return u, nil
}

// DeleteUnit removes a unit strictly inside the actor's subtree that nothing refers to.
func (s *Service) DeleteUnit(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "org_unit.delete"
	if err := s.require(ctx, a, yingji.PermOrgWrite, action, ObjectUnit, id); err != nil {
		return err
	}
	u, err := s.Store.GetUnit(ctx, id)
	if err != nil {
		return unitNotFound(err)
	}
	if !canWriteUnit(a, u.Path, false) {
		return s.deny(ctx, a, action, ObjectUnit, id, yingji.Forbidden("单位"))
	}
	refs, err := s.Store.UnitRefs(ctx, id)
	if err != nil {
		return err
	}
	var in []string
	for _, r := range []struct {
		n    int
		what string
	}{{refs.Children, "个下级单位"}, {refs.Enterprises, "家企业"}, {refs.Teams, "支救援队伍"}, {refs.Users, "个用户账号"}, {refs.Resources, "个应急资源"}} {
		if r.n > 0 {
			in = append(in, fmt.Sprintf("%d %s", r.n, r.what))
		}
	}
	if len(in) > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "org.unit_in_use", "“%s”下还有%s，请先删除或迁移后再删除该单位",
			u.Name, strings.Join(in, "、")).WithData(refs)
	}
	if err := s.Store.DeleteUnit(ctx, id); err != nil {
		return unitNotFound(err)
	}
	s.ok(ctx, a, action, ObjectUnit, id, map[string]any{"before": u.fields()})
	return nil
}

// ImportUnits inserts units all or none, in one transaction. A unit's parent must exist or
// come earlier in the batch. Every row is checked against the actor's scope; errors carry the
// row's index in Data["index"]. Units without an ID get a new one.
func (s *Service) ImportUnits(ctx context.Context, a *yingji.Actor, units []Unit) error {
	const action = "org_unit.import"
	if err := s.require(ctx, a, yingji.PermOrgWrite, action, ObjectUnit, ""); err != nil {
		return err
	}
	now := s.now()
	batch := make([]Unit, len(units))
	byID := make(map[string]Unit, len(units))
	for i, u := range units {
		u.Normalize()
		if u.ID == "" {
			u.ID = yingji.NewID()
		} else if _, dup := byID[u.ID]; dup || !yingji.ValidID(u.ID) {
			return yingji.AtIndex(i, yingji.Invalid("org.bad_id", "id", "单位编号“%s”无效或重复", u.ID))
		}
		var parent *Unit
		if p, ok := byID[u.ParentID]; ok {
			parent = &p
		} else {
			var err error
			if parent, err = s.parentOf(ctx, u.ParentID); err != nil {
				return yingji.AtIndex(i, err)
			}
		}
		u.Path = ChildPath(parentPath(parent), u.ID)
		if !canWriteUnit(a, u.Path, false) {
			return s.deny(ctx, a, action, ObjectUnit, u.ParentID, yingji.AtIndex(i, yingji.Forbidden("单位")))
		}
		if err := u.Validate(parent); err != nil {
			return yingji.AtIndex(i, err)
		}
		u.CreatedAt, u.UpdatedAt = now, now
		batch[i] = u
		byID[u.ID] = u
	}
	if len(batch) == 0 {
		return nil
	}
	if err := s.Store.CreateUnits(ctx, batch); err != nil {
		var be *BatchError
		if errors.As(err, &be) && errors.Is(err, yingji.ErrDuplicate) {
			return yingji.AtIndex(be.Index, dupUnitCode(batch[be.Index]))
		}
		return err
	}
	ids := make([]string, len(batch))
	for i, u := range batch {
		ids[i] = u.ID
	}
	s.ok(ctx, a, action, ObjectUnit, "", map[string]any{"count": len(ids), "ids": ids})
	return nil
}

// ---- enterprises ----

// GetEnterprise returns an enterprise the actor may read, with its contacts.
func (s *Service) GetEnterprise(ctx context.Context, a *yingji.Actor, id string) (Enterprise, error) {
	const action = "enterprise.read"
	if err := s.require(ctx, a, yingji.PermEnterpriseRead, action, ObjectEnterprise, id); err != nil {
		return Enterprise{}, err
	}
	e, err := s.readableEnterprise(ctx, a, action, id)
	if err != nil {
		return Enterprise{}, err
	}
	if e.Contacts, err = s.Store.ListContacts(ctx, id); err != nil {
		return Enterprise{}, err
	}
	return e, nil
}

func (s *Service) readableEnterprise(ctx context.Context, a *yingji.Actor, action, id string) (Enterprise, error) {
	e, err := s.Store.GetEnterprise(ctx, id)
	if err != nil {
		return Enterprise{}, enterpriseNotFound(err)
	}
	if !a.CanReadEnterprise(e.ID, e.OrgPath) {
		return Enterprise{}, s.deny(ctx, a, action, ObjectEnterprise, id, yingji.Forbidden("企业"))
	}
	return e, nil
}

// ListEnterprises returns a page of the enterprises matching f that the actor may read.
// f.Scope is replaced by the actor's.
func (s *Service) ListEnterprises(ctx context.Context, a *yingji.Actor, f EnterpriseFilter, p yingji.ListParams) (yingji.Page[Enterprise], error) {
	if err := s.require(ctx, a, yingji.PermEnterpriseRead, "enterprise.list", ObjectEnterprise, ""); err != nil {
		return yingji.Page[Enterprise]{}, err
	}
	f.Scope = a.ReadScope()
	if f.Scope.EnterpriseID == "" && f.Scope.OrgPrefix == "" {
		return yingji.Page[Enterprise]{Items: []Enterprise{}}, nil // an empty scope reads nothing
	}
	return s.Store.ListEnterprises(ctx, f, p)
}

// unitGetter loads a unit by id.
type unitGetter func(ctx context.Context, id string) (Unit, error)

// place resolves the enterprise's township and grid and sets its OrgPath.
func place(ctx context.Context, get unitGetter, e *Enterprise) error {
	t, err := get(ctx, e.TownshipID)
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Invalid("enterprise.township_not_found", "township_id", "所属乡镇（街道）不存在")
	}
	if err != nil {
		return err
	}
	var g *Unit
	if e.GridID != "" {
		gu, err := get(ctx, e.GridID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("enterprise.grid_not_found", "grid_id", "所属网格不存在")
		}
		if err != nil {
			return err
		}
		g = &gu
	}
	return e.Place(t, g)
}

func dupCreditCode(code string) error {
	return yingji.Errorf(yingji.ECONFLICT, "enterprise.duplicate_credit_code", "统一社会信用代码“%s”已被其他企业使用", code)
}

// CreateEnterprise adds an enterprise in the actor's subtree.
func (s *Service) CreateEnterprise(ctx context.Context, a *yingji.Actor, e Enterprise) (Enterprise, error) {
	const action = "enterprise.create"
	if err := s.require(ctx, a, yingji.PermEnterpriseWrite, action, ObjectEnterprise, ""); err != nil {
		return Enterprise{}, err
	}
	e.Normalize()
	e.ID, e.Contacts = yingji.NewID(), nil
	if err := e.Validate(); err != nil {
		return Enterprise{}, err
	}
	if err := place(ctx, s.Store.GetUnit, &e); err != nil {
		return Enterprise{}, err
	}
	if !canWriteEnterprise(a, e.OrgPath) {
		return Enterprise{}, s.deny(ctx, a, action, ObjectEnterprise, "", yingji.Forbidden("企业"))
	}
	e.CreatedAt = s.now()
	e.UpdatedAt = e.CreatedAt
	if err := s.Store.CreateEnterprise(ctx, e); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Enterprise{}, dupCreditCode(e.CreditCode)
		}
		return Enterprise{}, err
	}
	s.ok(ctx, a, action, ObjectEnterprise, e.ID, map[string]any{"after": e.fields()})
	return e, nil
}

// UpdateEnterprise replaces an enterprise's fields (all but ID, the derived ones and the
// contacts) with in's. Both its old and its new place must lie in the actor's subtree.
func (s *Service) UpdateEnterprise(ctx context.Context, a *yingji.Actor, id string, in Enterprise) (Enterprise, error) {
	const action = "enterprise.update"
	if err := s.require(ctx, a, yingji.PermEnterpriseWrite, action, ObjectEnterprise, id); err != nil {
		return Enterprise{}, err
	}
	old, err := s.Store.GetEnterprise(ctx, id)
	if err != nil {
		return Enterprise{}, enterpriseNotFound(err)
	}
	if !canWriteEnterprise(a, old.OrgPath) {
		return Enterprise{}, s.deny(ctx, a, action, ObjectEnterprise, id, yingji.Forbidden("企业"))
	}
	e := in
	e.Normalize()
	e.ID, e.Contacts, e.CreatedAt = old.ID, nil, old.CreatedAt
	if err := e.Validate(); err != nil {
		return Enterprise{}, err
	}
	if err := place(ctx, s.Store.GetUnit, &e); err != nil {
		return Enterprise{}, err
	}
	if !canWriteEnterprise(a, e.OrgPath) {
		return Enterprise{}, s.deny(ctx, a, action, ObjectEnterprise, id, yingji.Forbidden("乡镇（街道）"))
	}
	e.UpdatedAt = s.now()
	if err := s.Store.UpdateEnterprise(ctx, e); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Enterprise{}, dupCreditCode(e.CreditCode)
		}
		return Enterprise{}, enterpriseNotFound(err)
	}
	s.ok(ctx, a, action, ObjectEnterprise, id, diff(old.fields(), e.fields()))
	return e, nil
}

// DeleteEnterprise removes an enterprise in the actor's subtree with its contacts, unless user
// accounts are still assigned to it.
func (s *Service) DeleteEnterprise(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "enterprise.delete"
	if err := s.require(ctx, a, yingji.PermEnterpriseWrite, action, ObjectEnterprise, id); err != nil {
		return err
	}
	e, err := s.Store.GetEnterprise(ctx, id)
	if err != nil {
		return enterpriseNotFound(err)
	}
	if !canWriteEnterprise(a, e.OrgPath) {
		return s.deny(ctx, a, action, ObjectEnterprise, id, yingji.Forbidden("企业"))
	}
	refs, err := s.Store.EnterpriseRefs(ctx, id)
	if err != nil {
		return err
	}
	if refs.Users > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "enterprise.in_use",
			"“%s”下还有 %d 个用户账号，请先删除或调整这些账号后再删除该企业", e.Name, refs.Users).WithData(refs)
	}
	if refs.Hazards > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "enterprise.in_use",
			"“%s”有 %d 条隐患记录，隐患是执法依据，不能随企业删除", e.Name, refs.Hazards).WithData(refs)
	}
	if refs.Resources > 0 {
		return yingji.Errorf(yingji.ECONFLICT, "enterprise.in_use",
			"“%s”还有 %d 个应急资源（队伍、物资等），请先删除或移交后再删除该企业", e.Name, refs.Resources).WithData(refs)
	}
	if err := s.Store.DeleteEnterprise(ctx, id); err != nil {
		return enterpriseNotFound(err)
	}
	s.ok(ctx, a, action, ObjectEnterprise, id, map[string]any{"before": e.fields()})
	return nil
}

// ImportEnterprises inserts enterprises all or none, in one transaction, each checked like
// CreateEnterprise; errors carry the row's index in Data["index"]. Enterprises without an ID
// get a new one; contacts are not imported here.
func (s *Service) ImportEnterprises(ctx context.Context, a *yingji.Actor, es []Enterprise) error {
	const action = "enterprise.import"
	if err := s.require(ctx, a, yingji.PermEnterpriseWrite, action, ObjectEnterprise, ""); err != nil {
		return err
	}
	units := map[string]Unit{}
	get := func(ctx context.Context, id string) (Unit, error) {
		if u, ok := units[id]; ok {
			return u, nil
		}
		u, err := s.Store.GetUnit(ctx, id)
		if err == nil {
			units[id] = u
		}
		return u, err
	}
	now := s.now()
	batch := make([]Enterprise, len(es))
	seen := make(map[string]int, len(es))
	for i, e := range es {
		e.Normalize()
		e.Contacts = nil
		if e.ID == "" {
			e.ID = yingji.NewID()
		} else if !yingji.ValidID(e.ID) {
			return yingji.AtIndex(i, yingji.Invalid("enterprise.bad_id", "id", "企业编号“%s”无效", e.ID))
		}
		if err := e.Validate(); err != nil {
			return yingji.AtIndex(i, err)
		}
		if j, dup := seen[e.CreditCode]; dup {
			return yingji.AtIndex(i, yingji.Errorf(yingji.ECONFLICT, "enterprise.duplicate_credit_code",
				"统一社会信用代码“%s”与第 %d 条重复", e.CreditCode, j+1))
		}
		seen[e.CreditCode] = i
		if err := place(ctx, get, &e); err != nil {
			return yingji.AtIndex(i, err)
		}
		if !canWriteEnterprise(a, e.OrgPath) {
			return s.deny(ctx, a, action, ObjectEnterprise, e.ID, yingji.AtIndex(i, yingji.Forbidden("企业")))
		}
		e.CreatedAt, e.UpdatedAt = now, now
		batch[i] = e
	}
	if len(batch) == 0 {
		return nil
	}
	if err := s.Store.CreateEnterprises(ctx, batch); err != nil {
		var be *BatchError
		if errors.As(err, &be) && errors.Is(err, yingji.ErrDuplicate) {
			return yingji.AtIndex(be.Index, dupCreditCode(batch[be.Index].CreditCode))
		}
		return err
	}
	ids := make([]string, len(batch))
	for i, e := range batch {
		ids[i] = e.ID
	}
	s.ok(ctx, a, action, ObjectEnterprise, "", map[string]any{"count": len(ids), "ids": ids})
	return nil
}

// ---- contacts ----

// ListContacts returns the contacts of an enterprise the actor may read.
func (s *Service) ListContacts(ctx context.Context, a *yingji.Actor, enterpriseID string) ([]Contact, error) {
	const action = "contact.list"
	if err := s.require(ctx, a, yingji.PermEnterpriseRead, action, ObjectEnterprise, enterpriseID); err != nil {
		return nil, err
	}
	if _, err := s.readableEnterprise(ctx, a, action, enterpriseID); err != nil {
		return nil, err
	}
	return s.Store.ListContacts(ctx, enterpriseID)
}

// contactsEnterprise loads the enterprise whose contacts the actor wants to change.
func (s *Service) contactsEnterprise(ctx context.Context, a *yingji.Actor, action, enterpriseID string) (Enterprise, error) {
	e, err := s.Store.GetEnterprise(ctx, enterpriseID)
	if err != nil {
		return Enterprise{}, enterpriseNotFound(err)
	}
	if !canWriteContacts(a, e) {
		return Enterprise{}, s.deny(ctx, a, action, ObjectEnterprise, enterpriseID, yingji.Forbidden("企业"))
	}
	return e, nil
}

// CreateContact adds a contact to an enterprise whose contacts the actor manages.
func (s *Service) CreateContact(ctx context.Context, a *yingji.Actor, c Contact) (Contact, error) {
	const action = "contact.create"
	if err := s.require(ctx, a, yingji.PermContactWrite, action, ObjectContact, ""); err != nil {
		return Contact{}, err
	}
	c.Normalize()
	if c.EnterpriseID == "" {
		return Contact{}, yingji.Invalid("contact.enterprise_required", "enterprise_id", "必须指定所属企业")
	}
	if _, err := s.contactsEnterprise(ctx, a, action, c.EnterpriseID); err != nil {
		return Contact{}, err
	}
	if err := c.Validate(); err != nil {
		return Contact{}, err
	}
	c.ID = yingji.NewID()
	c.CreatedAt = s.now()
	c.UpdatedAt = c.CreatedAt
	if err := s.Store.CreateContact(ctx, c); err != nil {
		return Contact{}, err
	}
	s.ok(ctx, a, action, ObjectContact, c.ID, map[string]any{"after": c.fields()})
	return c, nil
}

// UpdateContact changes a contact's Name, Title, Phone and IsPrimary; it stays with its
// enterprise (in.EnterpriseID must be empty or unchanged).
func (s *Service) UpdateContact(ctx context.Context, a *yingji.Actor, id string, in Contact) (Contact, error) {
	const action = "contact.update"
	if err := s.require(ctx, a, yingji.PermContactWrite, action, ObjectContact, id); err != nil {
		return Contact{}, err
	}
	old, err := s.Store.GetContact(ctx, id)
	if err != nil {
		return Contact{}, contactNotFound(err)
	}
	if _, err := s.contactsEnterprise(ctx, a, action, old.EnterpriseID); err != nil {
		return Contact{}, err
	}
	in.Normalize()
	if in.EnterpriseID != "" && in.EnterpriseID != old.EnterpriseID {
		return Contact{}, yingji.Invalid("contact.move", "enterprise_id", "不能把联系人转到其他企业")
	}
	c := old
	c.Name, c.Title, c.Phone, c.IsPrimary = in.Name, in.Title, in.Phone, in.IsPrimary
	if err := c.Validate(); err != nil {
		return Contact{}, err
	}
	c.UpdatedAt = s.now()
	if err := s.Store.UpdateContact(ctx, c); err != nil {
		return Contact{}, contactNotFound(err)
	}
	s.ok(ctx, a, action, ObjectContact, id, diff(old.fields(), c.fields()))
	return c, nil
}

// DeleteContact removes a contact of an enterprise whose contacts the actor manages.
func (s *Service) DeleteContact(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "contact.delete"
	if err := s.require(ctx, a, yingji.PermContactWrite, action, ObjectContact, id); err != nil {
		return err
	}
	c, err := s.Store.GetContact(ctx, id)
	if err != nil {
		return contactNotFound(err)
	}
	if _, err := s.contactsEnterprise(ctx, a, action, c.EnterpriseID); err != nil {
		return err
	}
	if err := s.Store.DeleteContact(ctx, id); err != nil {
		return contactNotFound(err)
	}
	s.ok(ctx, a, action, ObjectContact, id, map[string]any{"before": c.fields()})
	return nil
}

// ---- teams ----

// GetTeam returns a team attached to a unit the actor may read, or his own team.
func (s *Service) GetTeam(ctx context.Context, a *yingji.Actor, id string) (Team, error) {
	const action = "team.read"
	if err := s.require(ctx, a, yingji.PermOrgRead, action, ObjectTeam, id); err != nil {
		return Team{}, err
	}
	t, err := s.Store.GetTeam(ctx, id)
	if err != nil {
		return Team{}, teamNotFound(err)
	}
	if !canReadUnit(a, t.OrgPath) && (a.TeamID == "" || a.TeamID != t.ID) {
		return Team{}, s.deny(ctx, a, action, ObjectTeam, id, yingji.Forbidden("救援队伍"))
	}
	return t, nil
}

// ListTeams returns the teams matching f attached to units the actor may read. f.Scope is
// replaced by the actor's.
func (s *Service) ListTeams(ctx context.Context, a *yingji.Actor, f TeamFilter) ([]Team, error) {
	if err := s.require(ctx, a, yingji.PermOrgRead, "team.list", ObjectTeam, ""); err != nil {
		return nil, err
	}
	if a.OrgPath == "" {
		return []Team{}, nil
	}
	f.Scope = UnitScope{Subtree: a.OrgPath, Ancestors: a.OrgPath}
	return s.Store.ListTeams(ctx, f)
}

// CreateTeam adds a team to a unit in the actor's subtree.
func (s *Service) CreateTeam(ctx context.Context, a *yingji.Actor, t Team) (Team, error) {
	const action = "team.create"
	if err := s.require(ctx, a, yingji.PermOrgWrite, action, ObjectTeam, ""); err != nil {
		return Team{}, err
	}
	t.Normalize()
	if err := t.Validate(); err != nil {
		return Team{}, err
	}
	u, err := s.Store.GetUnit(ctx, t.OrgUnitID)
	if errors.Is(err, yingji.ErrNotFound) {
		return Team{}, yingji.Invalid("team.org_not_found", "org_unit_id", "所属单位不存在")
	}
	if err != nil {
		return Team{}, err
	}
	if a.Role.ScopeKind() != yingji.ScopeOrg || !a.InSubtree(u.Path) {
		return Team{}, s.deny(ctx, a, action, ObjectTeam, "", yingji.Forbidden("单位"))
	}
	t.ID, t.OrgPath = yingji.NewID(), u.Path
	t.CreatedAt = s.now()
	t.UpdatedAt = t.CreatedAt
	if err := s.Store.CreateTeam(ctx, t); err != nil {
		return Team{}, err
	}
	s.ok(ctx, a, action, ObjectTeam, t.ID, map[string]any{"after": t.fields()})
	return t, nil
}

// ---- for other services: no actor checks ----

// UnitPath returns a unit's path and level. A missing unit gives an error wrapping
// yingji.ErrNotFound.
func (s *Service) UnitPath(ctx context.Context, id string) (path, level string, err error) {
	u, err := s.Store.GetUnit(ctx, id)
	if err != nil {
		return "", "", err
	}
	return u.Path, string(u.Level), nil
}

// EnterprisePath returns the org path of an enterprise (its grid's or township's).
func (s *Service) EnterprisePath(ctx context.Context, id string) (string, error) {
	e, err := s.Store.GetEnterprise(ctx, id)
	if err != nil {
		return "", err
	}
	return e.OrgPath, nil
}

// TeamPath returns the path of a team's unit.
func (s *Service) TeamPath(ctx context.Context, id string) (string, error) {
	t, err := s.Store.GetTeam(ctx, id)
	if err != nil {
		return "", err
	}
	return t.OrgPath, nil
}

// GetUnitSystem returns a unit without actor checks.
func (s *Service) GetUnitSystem(ctx context.Context, id string) (Unit, error) {
	u, err := s.Store.GetUnit(ctx, id)
	if err != nil {
		return Unit{}, unitNotFound(err)
	}
	return u, nil
}

// GetEnterpriseSystem returns an enterprise (without contacts) without actor checks.
func (s *Service) GetEnterpriseSystem(ctx context.Context, id string) (Enterprise, error) {
	e, err := s.Store.GetEnterprise(ctx, id)
	if err != nil {
		return Enterprise{}, enterpriseNotFound(err)
	}
	return e, nil
}

// GetTeamSystem returns a team without actor checks.
func (s *Service) GetTeamSystem(ctx context.Context, id string) (Team, error) {
	t, err := s.Store.GetTeam(ctx, id)
	if err != nil {
		return Team{}, teamNotFound(err)
	}
	return t, nil
}

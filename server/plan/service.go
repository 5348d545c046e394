package plan

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/yingji/yingji/bigram"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

// Object type in the audit log.
const ObjectPlan = "plan"

// Service reads and changes plans on behalf of an actor, enforcing permissions, data scope
// and the two-person rule, and auditing every step and refusal.
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

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, ObjectPlan, id, detail)
}

func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, id string, err error) error {
	return audit.Deny(ctx, s.Audit, a, action, ObjectPlan, id, err)
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, id string) error {
	return audit.Require(ctx, s.Audit, a, perm, action, ObjectPlan, id)
}

func notFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "plan.not_found", Message: "预案不存在", Err: err}
	}
	return err
}

// ReadScope is the actor's read filter. Only those who may author or review plans read
// unpublished versions (drafts and versions under review); everyone else reads published and
// retired versions only, as his phone does.
func ReadScope(a *yingji.Actor) Scope {
	only := !readsDrafts(a)
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		return Scope{EnterpriseID: a.EnterpriseID, Ancestors: a.OrgPath, PublishedOnly: only}
	}
	return Scope{OrgPrefix: a.OrgPath, Ancestors: a.OrgPath, PublishedOnly: only}
}

// readsDrafts reports whether the actor's role may author or review plans (an administrator,
// an enterprise's safety officer or principal): only those read versions not yet published.
func readsDrafts(a *yingji.Actor) bool {
	return a.Can(yingji.PermPlanWrite) || a.Can(yingji.PermPlanReview)
}

// Unpublished reports whether the version is a draft or under review: readable only by those
// who may author or review it (CanWrite, CanReview). Retired versions are history and read
// like published ones.
func (p Plan) Unpublished() bool { return p.Status != StatusPublished && p.Status != StatusRetired }

// CanRead reports whether the actor may read the version. A published or retired version: his
// subtree's (or his enterprise's) plans and the government plans of the units above him — what
// his phone syncs. A draft or a version under review: only the members of the authoring unit
// or enterprise who may author plans and the reviewers above it (CanWrite or CanReview); grid
// workers, duty officers, responders, experts and auditors never see it.
func CanRead(a *yingji.Actor, p Plan) bool {
	if !a.Can(yingji.PermPlanRead) {
		return false
	}
	if p.Unpublished() {
		return CanWrite(a, p) || CanReview(a, p)
	}
	if p.EnterpriseID != "" && a.CanReadEnterprise(p.EnterpriseID, p.OrgPath) {
		return true
	}
	if p.EnterpriseID == "" && a.Role.ScopeKind() != yingji.ScopeEnterprise && a.InSubtree(p.OrgPath) {
		return true
	}
	return p.EnterpriseID == "" && a.IsAncestorOf(p.OrgPath)
}

// hidden is the refusal of a version the actor may not read: an unpublished one does not
// exist for him (404, so a draft's existence does not leak); a published one out of his
// scope is forbidden.
func hidden(p Plan) error {
	if p.Unpublished() {
		return notFound(yingji.ErrNotFound)
	}
	return yingji.Forbidden("预案")
}

// canManage: the owner's own staff (enterprise plans) or administrators over the owner.
func canManage(a *yingji.Actor, p Plan, perm string) bool {
	if !a.Can(perm) {
		return false
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return p.EnterpriseID != "" && a.EnterpriseID == p.EnterpriseID
	case yingji.ScopeOrg:
		return a.Role.AdminRank() > 0 && a.InSubtree(p.OrgPath)
	}
	return false
}

// CanWrite reports whether the actor may draft and edit the plan.
func CanWrite(a *yingji.Actor, p Plan) bool { return canManage(a, p, yingji.PermPlanWrite) }

// CanReview reports whether the actor may publish, send back or retire the plan (not
// counting the two-person rule, which Publish checks).
func CanReview(a *yingji.Actor, p Plan) bool { return canManage(a, p, yingji.PermPlanReview) }

// place checks the owner of a new plan and sets its org path.
func (s *Service) place(ctx context.Context, p *Plan) error {
	if p.Level == LevelEnterprise {
		e, err := s.Store.GetEnterprise(ctx, p.EnterpriseID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("plan.enterprise_not_found", "enterprise_id", "所属企业不存在")
		} else if err != nil {
			return err
		}
		p.OrgPath, p.OrgUnitID = e.OrgPath, ""
		return nil
	}
	u, err := s.Store.GetUnit(ctx, p.OrgUnitID)
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Invalid("plan.unit_not_found", "org_unit_id", "编制单位不存在")
	} else if err != nil {
		return err
	}
	if string(u.Level) != string(p.Level) {
		return yingji.Invalid("plan.level_mismatch", "level", "预案层级（%s）与编制单位“%s”的层级不符", p.Level.Name(), u.Name)
	}
	p.OrgPath = u.Path
	return nil
}

// Get returns a version the actor may read.
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Plan, error) {
	const action = "plan.read"
	if err := s.require(ctx, a, yingji.PermPlanRead, action, id); err != nil {
		return Plan{}, err
	}
	p, err := s.Store.GetPlan(ctx, id)
	if err != nil {
		return Plan{}, notFound(err)
	}
	if !CanRead(a, p) {
		return Plan{}, s.deny(ctx, a, action, id, hidden(p))
	}
	return p, nil
}

// List returns a page of the versions matching f that the actor may read.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Plan], error) {
	if err := s.require(ctx, a, yingji.PermPlanRead, "plan.list", ""); err != nil {
		return yingji.Page[Plan]{}, err
	}
	switch {
	case f.Status != "" && !f.Status.Valid():
		return yingji.Page[Plan]{}, yingji.Invalid("request.bad_query", "status", "查询参数 status 应为 draft、review、published 或 retired")
	case f.Kind != "" && !f.Kind.Valid():
		return yingji.Page[Plan]{}, yingji.Invalid("request.bad_query", "kind", "查询参数 kind 应为 comprehensive、special 或 onsite")
	case f.Level != "" && !f.Level.Valid():
		return yingji.Page[Plan]{}, yingji.Invalid("request.bad_query", "level", "查询参数 level 应为 city、district、township 或 enterprise")
	}
	f.Scope = ReadScope(a)
	return s.Store.ListPlans(ctx, f, p)
}

// Versions returns every version of the plan the version id belongs to, newest first.
func (s *Service) Versions(ctx context.Context, a *yingji.Actor, id string) ([]Plan, error) {
	p, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	page, err := s.List(ctx, a, Filter{PlanID: p.PlanID}, yingji.ListParams{PageSize: yingji.MaxPageSize, Sort: "-version"})
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}

// prepare normalizes, validates and places a new first draft for the actor.
func (s *Service) prepare(ctx context.Context, a *yingji.Actor, action string, p *Plan) error {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.place(ctx, p); err != nil {
		return err
	}
	if !CanWrite(a, *p) {
		return s.deny(ctx, a, action, "", yingji.Forbidden("预案编制单位"))
	}
	p.ID = yingji.NewID()
	p.PlanID = yingji.NewID()
	p.Version = 1
	p.Status = StatusDraft
	p.AuthorID, p.AuthorName, p.EditorID = a.UserID, a.Name, a.UserID
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	p.SubmittedAt, p.PublishedAt, p.RetiredAt = nil, nil, nil
	p.ReviewerID, p.ReviewerName, p.ReviewComment, p.RetiredReason = "", "", "", ""
	return nil
}

// Create starts a plan as a first draft.
func (s *Service) Create(ctx context.Context, a *yingji.Actor, p Plan) (Plan, error) {
	const action = "plan.create"
	if err := s.require(ctx, a, yingji.PermPlanWrite, action, ""); err != nil {
		return Plan{}, err
	}
	if err := s.prepare(ctx, a, action, &p); err != nil {
		return Plan{}, err
	}
	if err := s.Store.CreatePlans(ctx, []Plan{p}); err != nil {
		return Plan{}, err
	}
	s.ok(ctx, a, action, p.ID, map[string]any{"after": p.fields()})
	return p, nil
}

// Import adds first drafts of all plans or none; a refusal names the item (Data "index").
func (s *Service) Import(ctx context.Context, a *yingji.Actor, ps []Plan) error {
	const action = "plan.import"
	if err := s.require(ctx, a, yingji.PermPlanWrite, action, ""); err != nil {
		return err
	}
	for i := range ps {
		if err := s.prepare(ctx, a, action, &ps[i]); err != nil {
			return yingji.AtIndex(i, err)
		}
	}
	var be *org.BatchError
	if err := s.Store.CreatePlans(ctx, ps); err != nil {
		if errors.As(err, &be) {
			return yingji.AtIndex(be.Index, err)
		}
		return err
	}
	for _, p := range ps {
		s.ok(ctx, a, action, p.ID, map[string]any{"after": p.fields()})
	}
	return nil
}

// writable loads a version the actor may manage with perm.
func (s *Service) writable(ctx context.Context, a *yingji.Actor, perm, action, id string) (Plan, error) {
	if err := s.require(ctx, a, perm, action, id); err != nil {
		return Plan{}, err
	}
	p, err := s.Store.GetPlan(ctx, id)
	if err != nil {
		return Plan{}, notFound(err)
	}
	if !canManage(a, p, perm) {
		if !CanRead(a, p) {
			return Plan{}, s.deny(ctx, a, action, id, hidden(p))
		}
		return Plan{}, s.deny(ctx, a, action, id, yingji.Forbidden("预案"))
	}
	return p, nil
}

func wrongStatus(p Plan, want string) error {
	return yingji.Errorf(yingji.ECONFLICT, "plan.bad_status", "该版本当前为“%s”，%s", p.Status.Name(), want).
		WithData(map[string]any{"status": string(p.Status)})
}

// Update replaces a draft's title, code, kind and sections. A version under review, published
// or retired is immutable: Revise starts a new draft from it.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, in Plan) (Plan, error) {
	const action = "plan.update"
	old, err := s.writable(ctx, a, yingji.PermPlanWrite, action, id)
	if err != nil {
		return Plan{}, err
	}
	if old.Status != StatusDraft {
		return Plan{}, s.deny(ctx, a, action, id, yingji.Errorf(yingji.ECONFLICT, "plan.immutable",
			"%s的版本不能修改；请“修订”生成新的草稿版本", old.Status.Name()))
	}
	p := old
	p.Title, p.Code, p.Kind, p.Content = in.Title, in.Code, in.Kind, in.Content
	p.Normalize()
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	p.EditorID = a.UserID
	p.UpdatedAt = s.now()
	if err := s.Store.UpdateDraft(ctx, p); err != nil {
		return Plan{}, s.stale(err)
	}
	d := map[string]any{}
	before, after := old.fields(), p.fields()
	for k, b := range before {
		if after[k] != b {
			d[k] = map[string]any{"before": b, "after": after[k]}
		}
	}
	d["content_changed"] = true
	s.ok(ctx, a, action, id, d)
	return p, nil
}

// stale maps a guarded write that found the version moved on.
func (s *Service) stale(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Errorf(yingji.ECONFLICT, "plan.stale", "该版本的状态已被他人改变，请刷新后重试")
	}
	return err
}

func (s *Service) step(ctx context.Context, a *yingji.Actor, action string, t Transition, detail map[string]any) (Plan, error) {
	p, err := s.Store.TransitionPlan(ctx, t)
	if err != nil {
		return Plan{}, s.stale(err)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["status"] = map[string]any{"before": string(t.From), "after": string(t.To)}
	detail["plan_id"], detail["version"] = p.PlanID, p.Version
	s.ok(ctx, a, action, p.ID, detail)
	return p, nil
}

// Submit sends a draft for review.
func (s *Service) Submit(ctx context.Context, a *yingji.Actor, id string) (Plan, error) {
	const action = "plan.submit"
	p, err := s.writable(ctx, a, yingji.PermPlanWrite, action, id)
	if err != nil {
		return Plan{}, err
	}
	if p.Status != StatusDraft {
		return Plan{}, s.deny(ctx, a, action, id, wrongStatus(p, "只有草稿可以提交审核"))
	}
	if len(p.Content.Levels) == 0 {
		return Plan{}, yingji.Invalid("plan.incomplete", "content.levels", "提交审核前请至少填写一个响应级别及其启动条件")
	}
	return s.step(ctx, a, action, Transition{ID: id, From: StatusDraft, To: StatusReview, At: s.now()}, nil)
}

// twoPerson refuses the author and the last editor of a version as its reviewer.
func (s *Service) twoPerson(ctx context.Context, a *yingji.Actor, action string, p Plan) error {
	if a.UserID != "" && (a.UserID == p.AuthorID || a.UserID == p.EditorID) {
		return s.deny(ctx, a, action, p.ID, yingji.Errorf(yingji.EFORBIDDEN, "plan.two_person",
			"双人审核：预案的编制人或最后修改人不能审核发布自己编制的版本，请由其他有审核权限的人员审核"))
	}
	return nil
}

// Publish approves a version under review: it becomes the plan's published version (the one
// published before is retired), is indexed for search and reaches phones. The reviewer must
// not be the version's author or last editor.
func (s *Service) Publish(ctx context.Context, a *yingji.Actor, id, comment string) (Plan, error) {
	const action = "plan.publish"
	p, err := s.writable(ctx, a, yingji.PermPlanReview, action, id)
	if err != nil {
		return Plan{}, err
	}
	if p.Status != StatusReview {
		return Plan{}, s.deny(ctx, a, action, id, wrongStatus(p, "只有审核中的版本可以发布"))
	}
	if err := s.twoPerson(ctx, a, action, p); err != nil {
		return Plan{}, err
	}
	return s.step(ctx, a, action, Transition{ID: id, From: StatusReview, To: StatusPublished, At: s.now(),
		ReviewerID: a.UserID, ReviewerName: a.Name, ReviewComment: strings.TrimSpace(comment)}, nil)
}

// Reject sends a version under review back to draft with the reviewer's comment.
func (s *Service) Reject(ctx context.Context, a *yingji.Actor, id, comment string) (Plan, error) {
	const action = "plan.reject"
	p, err := s.writable(ctx, a, yingji.PermPlanReview, action, id)
	if err != nil {
		return Plan{}, err
	}
	if p.Status != StatusReview {
		return Plan{}, s.deny(ctx, a, action, id, wrongStatus(p, "只有审核中的版本可以退回"))
	}
	if err := s.twoPerson(ctx, a, action, p); err != nil {
		return Plan{}, err
	}
	comment = strings.TrimSpace(comment)
	if comment == "" || runes(comment) > 1000 {
		return Plan{}, yingji.Invalid("plan.comment_required", "comment", "退回时请填写修改意见（不超过 1000 个字）")
	}
	return s.step(ctx, a, action, Transition{ID: id, From: StatusReview, To: StatusDraft, At: s.now(),
		ReviewerID: a.UserID, ReviewerName: a.Name, ReviewComment: comment}, map[string]any{"comment": comment})
}

// Retire withdraws a published version: the plan has no published version any more.
func (s *Service) Retire(ctx context.Context, a *yingji.Actor, id, reason string) (Plan, error) {
	const action = "plan.retire"
	p, err := s.writable(ctx, a, yingji.PermPlanReview, action, id)
	if err != nil {
		return Plan{}, err
	}
	if p.Status != StatusPublished {
		return Plan{}, s.deny(ctx, a, action, id, wrongStatus(p, "只有已发布的版本可以废止"))
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || runes(reason) > 500 {
		return Plan{}, yingji.Invalid("plan.reason_required", "reason", "请填写废止原因（不超过 500 个字）")
	}
	return s.step(ctx, a, action, Transition{ID: id, From: StatusPublished, To: StatusRetired, At: s.now(), Reason: reason},
		map[string]any{"reason": reason})
}

// Revise starts a new draft version from a published or retired one (a published version is
// never changed in place). The plan may have only one open version at a time.
func (s *Service) Revise(ctx context.Context, a *yingji.Actor, id string) (Plan, error) {
	const action = "plan.revise"
	old, err := s.writable(ctx, a, yingji.PermPlanWrite, action, id)
	if err != nil {
		return Plan{}, err
	}
	if old.Status != StatusPublished && old.Status != StatusRetired {
		return Plan{}, s.deny(ctx, a, action, id, wrongStatus(old, "草稿或审核中的版本请直接修改"))
	}
	all, err := s.Store.ListPlans(ctx, Filter{PlanID: old.PlanID}, yingji.ListParams{PageSize: yingji.MaxPageSize, Sort: "-version"})
	if err != nil {
		return Plan{}, err
	}
	for _, v := range all.Items {
		if v.Status == StatusDraft || v.Status == StatusReview {
			return Plan{}, yingji.Errorf(yingji.ECONFLICT, "plan.open_version", "该预案已有%s的第 %d 版，请在该版本上修改", v.Status.Name(), v.Version).
				WithData(map[string]any{"id": v.ID})
		}
	}
	p := old
	p.ID = yingji.NewID()
	p.Version = all.Items[0].Version + 1
	p.Status = StatusDraft
	p.AuthorID, p.AuthorName, p.EditorID = a.UserID, a.Name, a.UserID
	p.SubmittedAt, p.PublishedAt, p.RetiredAt = nil, nil, nil
	p.ReviewerID, p.ReviewerName, p.ReviewComment, p.RetiredReason = "", "", "", ""
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	if err := s.Store.CreatePlans(ctx, []Plan{p}); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return Plan{}, yingji.Errorf(yingji.ECONFLICT, "plan.open_version", "该预案已有未发布的版本")
		}
		return Plan{}, err
	}
	s.ok(ctx, a, action, p.ID, map[string]any{"from": old.ID, "plan_id": p.PlanID, "version": p.Version})
	return p, nil
}

// Delete removes a draft version (never a published, retired or reviewed one).
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "plan.delete"
	p, err := s.writable(ctx, a, yingji.PermPlanWrite, action, id)
	if err != nil {
		return err
	}
	if p.Status != StatusDraft {
		return s.deny(ctx, a, action, id, wrongStatus(p, "只有草稿可以删除"))
	}
	if err := s.Store.DeleteDraft(ctx, id); err != nil {
		return s.stale(err)
	}
	s.ok(ctx, a, action, id, map[string]any{"before": p.fields()})
	return nil
}

// MatchPlan evaluates a version the actor may read against an event's figures.
func (s *Service) MatchPlan(ctx context.Context, a *yingji.Actor, id string, f Figures) (Result, error) {
	p, err := s.Get(ctx, a, id)
	if err != nil {
		return Result{}, err
	}
	return Match(p, f), nil
}

// Search finds published plans the actor may read by keywords and numbers, best first, with
// the matches marked in each hit's snippet.
func (s *Service) Search(ctx context.Context, a *yingji.Actor, q string, p yingji.ListParams) (yingji.Page[search.Hit], error) {
	if err := s.require(ctx, a, yingji.PermPlanRead, "plan.search", ""); err != nil {
		return yingji.Page[search.Hit]{}, err
	}
	query, err := ParseQuery(q)
	if err != nil {
		return yingji.Page[search.Hit]{}, err
	}
	sc := ReadScope(a)
	return s.Store.Search(ctx, search.Request{Kind: search.KindPlan, Query: query, Page: p,
		Scope: search.Scope{OrgPrefix: sc.OrgPrefix, EnterpriseID: sc.EnterpriseID, Ancestors: sc.Ancestors}})
}

// ParseQuery parses a search query, refusing one with nothing to search for.
func ParseQuery(q string) (bigram.Query, error) {
	if runes(q) > 100 {
		return bigram.Query{}, yingji.Invalid("search.bad_query", "q", "检索词不超过 100 个字")
	}
	query := bigram.Parse(q)
	if query.Empty() {
		return query, yingji.Invalid("search.bad_query", "q", "请输入检索词（汉字、字母或数字）")
	}
	if len(query.Terms) > 64 {
		return query, yingji.Invalid("search.bad_query", "q", "检索词过长，请精简")
	}
	return query, nil
}

// Doc is the search document of a published version.
func Doc(p Plan) search.Doc {
	return search.Doc{Kind: search.KindPlan, ID: p.PlanID, RefID: p.ID, Title: p.Title, Body: p.Text(), OrgPath: p.OrgPath,
		EnterpriseID: p.EnterpriseID}
}

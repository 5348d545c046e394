// Package knowledge is the knowledge base (应急知识库): laws and regulations, standards,
// accident cases and the MSDS sheets of hazardous chemicals, edited in the portal, searched
// by keywords and CAS or UN numbers, and read offline on phones.
package knowledge

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/yingji"
)

// Kind is the kind of an entry.
type Kind string

const (
	KindLaw      Kind = "law"      // 法律法规
	KindStandard Kind = "standard" // 标准规范
	KindCase     Kind = "case"     // 事故案例
	KindMSDS     Kind = "msds"     // 危险化学品安全技术说明书
)

// Kinds lists the kinds in display order.
var Kinds = []Kind{KindLaw, KindStandard, KindCase, KindMSDS}

var kindNames = map[Kind]string{KindLaw: "法律法规", KindStandard: "标准规范", KindCase: "事故案例", KindMSDS: "危化品安全技术说明书"}

func (k Kind) Valid() bool  { _, ok := kindNames[k]; return ok }
func (k Kind) Name() string { return kindNames[k] }

// MSDS are the sections of a hazardous chemical's safety data sheet a responder needs.
type MSDS struct {
	Name         string `json:"name"`          // 中文名
	Alias        string `json:"alias"`         // 别名、英文名
	Formula      string `json:"formula"`       // 分子式
	Hazards      string `json:"hazards"`       // 危险性概述
	FirstAid     string `json:"first_aid"`     // 急救措施
	FireFighting string `json:"fire_fighting"` // 消防措施
	LeakHandling string `json:"leak_handling"` // 泄漏应急处置
	Protection   string `json:"protection"`    // 个体防护
	Properties   string `json:"properties"`    // 理化特性
}

// Entry is one knowledge base entry.
type Entry struct {
	ID          string            `json:"id"`
	Kind        Kind              `json:"kind"`
	Title       string            `json:"title"`
	Code        string            `json:"code"`      // 文号、标准号
	Issuer      string            `json:"issuer"`    // 发布机关
	IssuedOn    string            `json:"issued_on"` // YYYY-MM-DD
	Body        string            `json:"body"`
	CAS         string            `json:"cas"` // MSDS: CAS number
	UN          string            `json:"un"`  // MSDS: UN number, four digits
	MSDS        *MSDS             `json:"msds"`
	Tags        []string          `json:"tags"`
	Attachments []plan.Attachment `json:"attachments"`
	OrgPath     string            `json:"org_path"`
	UpdatedBy   string            `json:"updated_by"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

var (
	casRe  = regexp.MustCompile(`^[0-9]{2,7}-[0-9]{2}-[0-9]$`)
	unRe   = regexp.MustCompile(`^[0-9]{4}$`)
	dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// ValidCAS checks a CAS registry number's form and its check digit.
func ValidCAS(s string) bool {
	if !casRe.MatchString(s) {
		return false
	}
	digits := strings.ReplaceAll(s, "-", "")
	check := int(digits[len(digits)-1] - '0')
	sum := 0
	for i, w := len(digits)-2, 1; i >= 0; i, w = i-1, w+1 {
		sum += int(digits[i]-'0') * w
	}
	return sum%10 == check
}

// NormalizeUN strips a "UN" prefix and spaces.
func NormalizeUN(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimSpace(strings.TrimPrefix(s, "UN"))
	return s
}

// Normalize trims the fields.
func (e *Entry) Normalize() {
	e.Title, e.Code, e.Issuer, e.IssuedOn = strings.TrimSpace(e.Title), strings.TrimSpace(e.Code), strings.TrimSpace(e.Issuer), strings.TrimSpace(e.IssuedOn)
	e.Body, e.CAS, e.UN = strings.TrimSpace(e.Body), strings.TrimSpace(e.CAS), NormalizeUN(e.UN)
	tags := []string{}
	for _, t := range e.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	e.Tags = tags
	if e.Attachments == nil {
		e.Attachments = []plan.Attachment{}
	}
	if m := e.MSDS; m != nil {
		for _, f := range []*string{&m.Name, &m.Alias, &m.Formula, &m.Hazards, &m.FirstAid, &m.FireFighting, &m.LeakHandling, &m.Protection, &m.Properties} {
			*f = strings.TrimSpace(*f)
		}
		if m.Name == "" {
			m.Name = e.Title
		}
	}
}

func runes(s string) int { return len([]rune(s)) }

// Validate checks the entry.
func (e *Entry) Validate() error {
	if !e.Kind.Valid() {
		return yingji.Invalid("knowledge.bad_kind", "kind", "类别应为法律法规（law）、标准规范（standard）、事故案例（case）或危化品安全技术说明书（msds）")
	}
	if e.Title == "" || runes(e.Title) > 200 {
		return yingji.Invalid("knowledge.bad_title", "title", "标题不能为空，且不超过 200 个字")
	}
	if runes(e.Code) > 100 || runes(e.Issuer) > 100 {
		return yingji.Invalid("knowledge.bad_code", "code", "文号（标准号）和发布机关不超过 100 个字")
	}
	if e.IssuedOn != "" && !dateRe.MatchString(e.IssuedOn) {
		return yingji.Invalid("knowledge.bad_issued_on", "issued_on", "发布日期格式应为 YYYY-MM-DD")
	}
	if runes(e.Body) > 100000 {
		return yingji.Invalid("knowledge.bad_body", "body", "正文不超过 100000 个字")
	}
	if len(e.Tags) > 20 {
		return yingji.Invalid("knowledge.bad_tags", "tags", "标签不超过 20 个")
	}
	if e.Kind == KindMSDS {
		if e.CAS == "" || !ValidCAS(e.CAS) {
			return yingji.Invalid("knowledge.bad_cas", "cas", "CAS 号“%s”无效（格式如 7782-50-5，末位为校验位）", e.CAS)
		}
		if e.UN != "" && !unRe.MatchString(e.UN) {
			return yingji.Invalid("knowledge.bad_un", "un", "UN 号应为 4 位数字（如 1017）")
		}
		if e.MSDS == nil || e.MSDS.Hazards == "" || e.MSDS.FirstAid == "" || e.MSDS.LeakHandling == "" {
			return yingji.Invalid("knowledge.msds_incomplete", "msds", "危化品安全技术说明书至少须填写危险性概述、急救措施和泄漏应急处置")
		}
		m := e.MSDS
		for _, f := range []string{m.Name, m.Alias, m.Formula} {
			if runes(f) > 200 {
				return yingji.Invalid("knowledge.bad_msds", "msds", "名称、别名、分子式不超过 200 个字")
			}
		}
		for _, f := range []string{m.Hazards, m.FirstAid, m.FireFighting, m.LeakHandling, m.Protection, m.Properties} {
			if runes(f) > 10000 {
				return yingji.Invalid("knowledge.bad_msds", "msds", "说明书每一部分不超过 10000 个字")
			}
		}
	} else if e.CAS != "" || e.UN != "" || e.MSDS != nil {
		return yingji.Invalid("knowledge.bad_cas", "cas", "只有危化品安全技术说明书填写 CAS 号、UN 号和说明书内容")
	}
	for i, a := range e.Attachments {
		if len(a.SHA256) != 64 || strings.Trim(strings.ToLower(a.SHA256), "0123456789abcdef") != "" {
			return yingji.Invalid("knowledge.bad_attachments", "attachments", "第 %d 个附件：sha256 应为 64 位十六进制", i+1)
		}
	}
	return nil
}

// Text is what a search finds in the entry.
func (e *Entry) Text() string {
	parts := []string{e.Kind.Name(), e.Code, e.Issuer, e.IssuedOn, strings.Join(e.Tags, " ")}
	if e.CAS != "" {
		parts = append(parts, "CAS "+e.CAS)
	}
	if e.UN != "" {
		parts = append(parts, "UN"+e.UN+" UN "+e.UN)
	}
	if m := e.MSDS; m != nil {
		parts = append(parts, m.Name, m.Alias, m.Formula, "危险性概述 "+m.Hazards, "急救措施 "+m.FirstAid, "消防措施 "+m.FireFighting,
			"泄漏应急处置 "+m.LeakHandling, "个体防护 "+m.Protection, "理化特性 "+m.Properties)
	}
	parts = append(parts, e.Body)
	for _, a := range e.Attachments {
		parts = append(parts, a.Name)
	}
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}

// Doc is the entry's search document.
func (e *Entry) Doc() search.Doc {
	return search.Doc{Kind: search.KindKnowledge, ID: e.ID, RefID: e.ID, Title: e.Title, Body: e.Text(), OrgPath: e.OrgPath}
}

func (e *Entry) fields() map[string]any {
	return map[string]any{"kind": string(e.Kind), "title": e.Title, "code": e.Code, "cas": e.CAS, "un": e.UN}
}

// Filter narrows a list. Lists sort by title, kind, code, issued_on or updated_at (default kind, title).
type Filter struct {
	Kind Kind
	Q    string // title, code or CAS contains
	CAS  string // exact CAS number
	UN   string // exact UN number
}

// Store keeps the knowledge base; every write indexes the entry for search and reaches phones
// through the synced collection "knowledge".
type Store interface {
	GetKnowledge(ctx context.Context, id string) (Entry, error)
	ListKnowledge(ctx context.Context, f Filter, p yingji.ListParams) (yingji.Page[Entry], error)
	CreateKnowledge(ctx context.Context, es []Entry) error
	UpdateKnowledge(ctx context.Context, e Entry) error
	DeleteKnowledge(ctx context.Context, id string) error
	// RootPath is the org path of the top unit (the city): where the knowledge base belongs.
	RootPath(ctx context.Context) (string, error)
	search.Store
}

// ObjectKnowledge is the audit object type.
const ObjectKnowledge = "knowledge"

// Service reads and edits the knowledge base for an actor.
type Service struct {
	Store Store
	Audit yingji.Auditor
	Now   yingji.Clock
}

// NewService returns a service; a nil audit records nothing.
func NewService(st Store, audit yingji.Auditor) *Service {
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	return &Service{Store: st, Audit: audit, Now: time.Now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, a *yingji.Actor, action, id, result string, detail any) {
	s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: ObjectKnowledge, ObjectID: id, Result: result, Detail: detail})
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, id string) error {
	if err := a.Require(perm); err != nil {
		s.record(ctx, a, action, id, "denied", map[string]any{"reason": yingji.ErrorCode(err)})
		return err
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "knowledge.not_found", Message: "知识库条目不存在", Err: err}
	}
	return err
}

// Get returns an entry (the knowledge base is readable by every role with plan:read).
func (s *Service) Get(ctx context.Context, a *yingji.Actor, id string) (Entry, error) {
	if err := s.require(ctx, a, yingji.PermPlanRead, "knowledge.read", id); err != nil {
		return Entry{}, err
	}
	e, err := s.Store.GetKnowledge(ctx, id)
	return e, notFound(err)
}

// List returns a page of entries.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Entry], error) {
	if err := s.require(ctx, a, yingji.PermPlanRead, "knowledge.list", ""); err != nil {
		return yingji.Page[Entry]{}, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return yingji.Page[Entry]{}, yingji.Invalid("request.bad_query", "kind", "查询参数 kind 应为 law、standard、case 或 msds")
	}
	f.UN = NormalizeUN(f.UN)
	return s.Store.ListKnowledge(ctx, f, p)
}

func (s *Service) prepare(ctx context.Context, a *yingji.Actor, e *Entry) error {
	e.Normalize()
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Kind == KindMSDS {
		page, err := s.Store.ListKnowledge(ctx, Filter{CAS: e.CAS}, yingji.ListParams{PageSize: 2})
		if err != nil {
			return err
		}
		for _, o := range page.Items {
			if o.ID != e.ID {
				return yingji.Errorf(yingji.ECONFLICT, "knowledge.duplicate_cas", "CAS 号 %s 已有说明书“%s”", e.CAS, o.Title).
					WithData(map[string]any{"field": "cas", "id": o.ID})
			}
		}
	}
	e.UpdatedBy = a.Name
	e.UpdatedAt = s.now()
	return nil
}

// Create adds entries (all or none; a refusal names the item).
func (s *Service) Create(ctx context.Context, a *yingji.Actor, es ...Entry) ([]Entry, error) {
	const action = "knowledge.create"
	if err := s.require(ctx, a, yingji.PermKnowledgeWrite, action, ""); err != nil {
		return nil, err
	}
	root, err := s.Store.RootPath(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i := range es {
		es[i].ID = yingji.NewID()
		if err := s.prepare(ctx, a, &es[i]); err != nil {
			if len(es) == 1 {
				return nil, err
			}
			return nil, yingji.AtIndex(i, err)
		}
		if j, dup := seen[es[i].CAS]; dup && es[i].CAS != "" {
			return nil, yingji.AtIndex(i, yingji.Errorf(yingji.ECONFLICT, "knowledge.duplicate_cas", "CAS 号 %s 与第 %d 条重复", es[i].CAS, j+1))
		}
		seen[es[i].CAS] = i
		es[i].OrgPath, es[i].CreatedAt = root, es[i].UpdatedAt
	}
	if err := s.Store.CreateKnowledge(ctx, es); err != nil {
		return nil, err
	}
	for _, e := range es {
		s.record(ctx, a, action, e.ID, "ok", map[string]any{"after": e.fields()})
	}
	return es, nil
}

// Update replaces an entry's fields.
func (s *Service) Update(ctx context.Context, a *yingji.Actor, id string, in Entry) (Entry, error) {
	const action = "knowledge.update"
	if err := s.require(ctx, a, yingji.PermKnowledgeWrite, action, id); err != nil {
		return Entry{}, err
	}
	old, err := s.Store.GetKnowledge(ctx, id)
	if err != nil {
		return Entry{}, notFound(err)
	}
	e := in
	e.ID, e.OrgPath, e.CreatedAt = old.ID, old.OrgPath, old.CreatedAt
	if err := s.prepare(ctx, a, &e); err != nil {
		return Entry{}, err
	}
	if err := s.Store.UpdateKnowledge(ctx, e); err != nil {
		return Entry{}, notFound(err)
	}
	s.record(ctx, a, action, id, "ok", map[string]any{"before": old.fields(), "after": e.fields()})
	return e, nil
}

// Delete removes an entry.
func (s *Service) Delete(ctx context.Context, a *yingji.Actor, id string) error {
	const action = "knowledge.delete"
	if err := s.require(ctx, a, yingji.PermKnowledgeWrite, action, id); err != nil {
		return err
	}
	old, err := s.Store.GetKnowledge(ctx, id)
	if err != nil {
		return notFound(err)
	}
	if err := s.Store.DeleteKnowledge(ctx, id); err != nil {
		return notFound(err)
	}
	s.record(ctx, a, action, id, "ok", map[string]any{"before": old.fields()})
	return nil
}

// Search finds entries by keywords, CAS or UN numbers, best first, with matches marked.
func (s *Service) Search(ctx context.Context, a *yingji.Actor, q string, p yingji.ListParams) (yingji.Page[search.Hit], error) {
	if err := s.require(ctx, a, yingji.PermPlanRead, "knowledge.search", ""); err != nil {
		return yingji.Page[search.Hit]{}, err
	}
	query, err := plan.ParseQuery(q)
	if err != nil {
		return yingji.Page[search.Hit]{}, err
	}
	return s.Store.Search(ctx, search.Request{Kind: search.KindKnowledge, Query: query, Page: p, Scope: search.Scope{All: true}})
}

// Package plan holds structured emergency plans (结构化预案) of the GB/T 29639-2020 kinds:
// their sections (organisation, events covered, response levels with quantified start
// conditions, measures, resources, risk points, contacts, attachments), their versions and
// the workflow draft → review → published → retired with the two-person rule.
package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Kind is a plan kind of GB/T 29639-2020.
type Kind string

const (
	KindComprehensive Kind = "comprehensive" // 综合应急预案
	KindSpecial       Kind = "special"       // 专项应急预案
	KindOnSite        Kind = "onsite"        // 现场处置方案
)

// Kinds lists the kinds in display order.
var Kinds = []Kind{KindComprehensive, KindSpecial, KindOnSite}

var kindNames = map[Kind]string{KindComprehensive: "综合应急预案", KindSpecial: "专项应急预案", KindOnSite: "现场处置方案"}

func (k Kind) Valid() bool  { _, ok := kindNames[k]; return ok }
func (k Kind) Name() string { return kindNames[k] }

// Level is the level of the body a plan belongs to.
type Level string

const (
	LevelCity       Level = "city"       // 市级
	LevelDistrict   Level = "district"   // 区县级
	LevelTownship   Level = "township"   // 乡镇（街道）级
	LevelEnterprise Level = "enterprise" // 企业
)

// Levels lists the levels from the top.
var Levels = []Level{LevelCity, LevelDistrict, LevelTownship, LevelEnterprise}

var levelNames = map[Level]string{LevelCity: "市级", LevelDistrict: "区县级", LevelTownship: "乡镇（街道）级", LevelEnterprise: "企业"}

func (l Level) Valid() bool  { _, ok := levelNames[l]; return ok }
func (l Level) Name() string { return levelNames[l] }

// Status is a version's place in the workflow.
type Status string

const (
	StatusDraft     Status = "draft"     // 草稿
	StatusReview    Status = "review"    // 审核中
	StatusPublished Status = "published" // 已发布
	StatusRetired   Status = "retired"   // 已废止
)

var statusNames = map[Status]string{StatusDraft: "草稿", StatusReview: "审核中", StatusPublished: "已发布", StatusRetired: "已废止"}

func (s Status) Valid() bool  { _, ok := statusNames[s]; return ok }
func (s Status) Name() string { return statusNames[s] }

// EventClass is a class of GB/T 35561 (突发事件分类与编码).
type EventClass string

const (
	ClassNatural  EventClass = "natural"  // 自然灾害
	ClassAccident EventClass = "accident" // 事故灾难
	ClassHealth   EventClass = "health"   // 公共卫生事件
	ClassSocial   EventClass = "social"   // 社会安全事件
)

// Classes lists the event classes with their Chinese names and usual sub-types.
var Classes = []ClassInfo{
	{ClassNatural, "自然灾害", []string{"水旱灾害", "气象灾害", "地震灾害", "地质灾害", "海洋灾害", "生物灾害", "森林草原火灾"}},
	{ClassAccident, "事故灾难", []string{"危险化学品事故", "工矿商贸企业安全事故", "火灾事故", "交通运输事故", "公共设施和设备事故", "核与辐射事故", "环境污染和生态破坏事件"}},
	{ClassHealth, "公共卫生事件", []string{"传染病疫情", "群体性不明原因疾病", "食品安全事件", "职业中毒", "动物疫情"}},
	{ClassSocial, "社会安全事件", []string{"恐怖袭击事件", "群体性事件", "刑事案件", "经济安全事件", "涉外突发事件"}},
}

// ClassInfo describes an event class.
type ClassInfo struct {
	Class    EventClass `json:"class"`
	Name     string     `json:"name"`
	SubTypes []string   `json:"sub_types"`
}

func (c EventClass) Valid() bool {
	return slices.ContainsFunc(Classes, func(i ClassInfo) bool { return i.Class == c })
}

func (c EventClass) Name() string {
	for _, i := range Classes {
		if i.Class == c {
			return i.Name
		}
	}
	return ""
}

// Event grades (事件分级): 特别重大 (Ⅰ), 重大 (Ⅱ), 较大 (Ⅲ), 一般 (Ⅳ).
var Grades = []string{"特别重大", "重大", "较大", "一般"}

// Event is an event type a plan covers.
type Event struct {
	Class   EventClass `json:"class"`
	SubType string     `json:"sub_type"` // e.g. 危险化学品事故; empty: the whole class
	Grades  []string   `json:"grades"`   // of Grades; empty: every grade
}

// Command groups of the organisation.
const (
	GroupHeadquarters = "headquarters" // 应急指挥部
	GroupOnSite       = "onsite"       // 现场指挥部
	GroupWorking      = "working"      // 工作组（综合协调、抢险救援、医疗救护……）
)

var groupNames = map[string]string{GroupHeadquarters: "应急指挥部", GroupOnSite: "现场指挥部", GroupWorking: "工作组"}

// Person fills a role.
type Person struct {
	Name  string `json:"name"`
	Title string `json:"title"` // 职务
	Phone string `json:"phone"`
}

// Role is one role of the organisation (总指挥, 副总指挥, 成员单位, 抢险救援组……) with the
// department that fills it, its people and its duties.
type Role struct {
	Group      string   `json:"group"` // headquarters, onsite or working
	Name       string   `json:"name"`
	Department string   `json:"department"`
	People     []Person `json:"people"`
	Duties     string   `json:"duties"`
}

// ResponseLevel is one of the response levels 一级 (1, the highest) to 四级 (4), with the
// conditions that start it and the measures taken at it.
type ResponseLevel struct {
	Level int `json:"level"`
	// Match is "any" (one condition suffices, the default and the usual wording 符合下列条件之一)
	// or "all".
	Match      string      `json:"match"`
	Conditions []Condition `json:"conditions"`
	Leader     string      `json:"leader"`   // who commands at this level (由……担任总指挥)
	Measures   []string    `json:"measures"` // 响应措施
}

// Resource is a resource or reserve the plan relies on.
type Resource struct {
	Kind     string  `json:"kind"` // 物资, 装备, 队伍, 专家, 避难场所 ...
	Name     string  `json:"name"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Location string  `json:"location"`
	Note     string  `json:"note"`
}

// Contact is a contact of the plan (成员单位联系方式).
type Contact struct {
	Name       string `json:"name"`
	Department string `json:"department"`
	Post       string `json:"post"`
	Phone      string `json:"phone"`
}

// Attachment is a file in the media store (the SHA-256 of its bytes).
type Attachment struct {
	SHA256 string `json:"sha256"`
	Name   string `json:"name"`
}

// Chapter is a free-text chapter (总则, 预防与预警, 后期处置, 保障措施 ...).
type Chapter struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Content is a plan version's structured sections.
type Content struct {
	Summary      string          `json:"summary"` // 适用范围与编制目的
	Events       []Event         `json:"events"`
	Organization []Role          `json:"organization"`
	Levels       []ResponseLevel `json:"levels"`
	Resources    []Resource      `json:"resources"`
	RiskPointIDs []string        `json:"risk_point_ids"`
	Contacts     []Contact       `json:"contacts"`
	Chapters     []Chapter       `json:"chapters"`
	Attachments  []Attachment    `json:"attachments"`
}

// Plan is one version of a plan. PlanID names the plan across its versions; ID the version.
type Plan struct {
	ID           string  `json:"id"`
	PlanID       string  `json:"plan_id"`
	Version      int     `json:"version"`
	Status       Status  `json:"status"`
	Code         string  `json:"code"` // 预案编号, unique per plan among its owner's plans
	Title        string  `json:"title"`
	Kind         Kind    `json:"kind"`
	Level        Level   `json:"level"`
	OrgUnitID    string  `json:"org_unit_id"`   // the owning unit (government plans)
	EnterpriseID string  `json:"enterprise_id"` // the owning enterprise (enterprise plans)
	OrgPath      string  `json:"org_path"`
	Content      Content `json:"content"`

	AuthorID      string     `json:"author_id"`
	AuthorName    string     `json:"author_name"`
	EditorID      string     `json:"editor_id"` // the last to change the draft
	SubmittedAt   *time.Time `json:"submitted_at"`
	ReviewerID    string     `json:"reviewer_id"` // who published (or sent back) the version
	ReviewerName  string     `json:"reviewer_name"`
	ReviewComment string     `json:"review_comment"`
	PublishedAt   *time.Time `json:"published_at"`
	RetiredAt     *time.Time `json:"retired_at"`
	RetiredReason string     `json:"retired_reason"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Bounds of the fields.
const (
	maxList = 200
	maxText = 20000
)

func trimList(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Normalize trims text, drops empty entries and fills defaults.
func (p *Plan) Normalize() {
	p.Code, p.Title = strings.TrimSpace(p.Code), strings.TrimSpace(p.Title)
	p.OrgUnitID, p.EnterpriseID = strings.TrimSpace(p.OrgUnitID), strings.TrimSpace(p.EnterpriseID)
	c := &p.Content
	c.Summary = strings.TrimSpace(c.Summary)
	c.RiskPointIDs = trimList(c.RiskPointIDs)
	for i := range c.Events {
		c.Events[i].SubType = strings.TrimSpace(c.Events[i].SubType)
		c.Events[i].Grades = trimList(c.Events[i].Grades)
	}
	for i := range c.Organization {
		r := &c.Organization[i]
		r.Group, r.Name, r.Department, r.Duties = strings.TrimSpace(r.Group), strings.TrimSpace(r.Name), strings.TrimSpace(r.Department), strings.TrimSpace(r.Duties)
		if r.Group == "" {
			r.Group = GroupHeadquarters
		}
		if r.People == nil {
			r.People = []Person{}
		}
		for j := range r.People {
			pp := &r.People[j]
			pp.Name, pp.Title, pp.Phone = strings.TrimSpace(pp.Name), strings.TrimSpace(pp.Title), strings.TrimSpace(pp.Phone)
		}
	}
	for i := range c.Levels {
		l := &c.Levels[i]
		l.Match, l.Leader = strings.TrimSpace(l.Match), strings.TrimSpace(l.Leader)
		if l.Match == "" {
			l.Match = "any"
		}
		l.Measures = trimList(l.Measures)
		if l.Conditions == nil {
			l.Conditions = []Condition{}
		}
		for j := range l.Conditions {
			l.Conditions[j].normalize()
		}
	}
	slices.SortStableFunc(c.Levels, func(a, b ResponseLevel) int { return a.Level - b.Level })
	for i := range c.Resources {
		r := &c.Resources[i]
		r.Kind, r.Name, r.Unit, r.Location, r.Note = strings.TrimSpace(r.Kind), strings.TrimSpace(r.Name), strings.TrimSpace(r.Unit), strings.TrimSpace(r.Location), strings.TrimSpace(r.Note)
	}
	for i := range c.Contacts {
		k := &c.Contacts[i]
		k.Name, k.Department, k.Post, k.Phone = strings.TrimSpace(k.Name), strings.TrimSpace(k.Department), strings.TrimSpace(k.Post), strings.TrimSpace(k.Phone)
	}
	for i := range c.Chapters {
		c.Chapters[i].Title, c.Chapters[i].Body = strings.TrimSpace(c.Chapters[i].Title), strings.TrimSpace(c.Chapters[i].Body)
	}
	for i := range c.Attachments {
		c.Attachments[i].SHA256 = strings.ToLower(strings.TrimSpace(c.Attachments[i].SHA256))
		c.Attachments[i].Name = strings.TrimSpace(c.Attachments[i].Name)
	}
	for _, l := range []*[]Event{&c.Events} {
		if *l == nil {
			*l = []Event{}
		}
	}
	if c.Organization == nil {
		c.Organization = []Role{}
	}
	if c.Levels == nil {
		c.Levels = []ResponseLevel{}
	}
	if c.Resources == nil {
		c.Resources = []Resource{}
	}
	if c.Contacts == nil {
		c.Contacts = []Contact{}
	}
	if c.Chapters == nil {
		c.Chapters = []Chapter{}
	}
	if c.Attachments == nil {
		c.Attachments = []Attachment{}
	}
}

func runes(s string) int { return len([]rune(s)) }

func bad(field, format string, args ...any) error {
	return yingji.Invalid("plan.bad_"+strings.SplitN(field, ".", 2)[0], field, format, args...)
}

// Validate checks the plan's own fields (not its owner, which the service looks up).
func (p *Plan) Validate() error {
	if p.Title == "" || runes(p.Title) > 200 {
		return bad("title", "预案名称不能为空，且不超过 200 个字")
	}
	if runes(p.Code) > 60 {
		return bad("code", "预案编号不超过 60 个字")
	}
	if !p.Kind.Valid() {
		return bad("kind", "预案类别应为综合应急预案（comprehensive）、专项应急预案（special）或现场处置方案（onsite）")
	}
	if !p.Level.Valid() {
		return bad("level", "预案层级应为市级（city）、区县级（district）、乡镇（街道）级（township）或企业（enterprise）")
	}
	if (p.Level == LevelEnterprise) != (p.EnterpriseID != "") {
		if p.Level == LevelEnterprise {
			return bad("enterprise_id", "企业预案必须指定所属企业")
		}
		return bad("enterprise_id", "政府预案不能指定所属企业，请指定所属单位")
	}
	if p.Level != LevelEnterprise && p.OrgUnitID == "" {
		return bad("org_unit_id", "请指定编制预案的单位")
	}
	c := p.Content
	if runes(c.Summary) > maxText {
		return bad("content.summary", "适用范围不超过 %d 个字", maxText)
	}
	for _, n := range []struct {
		name string
		n    int
	}{{"events", len(c.Events)}, {"organization", len(c.Organization)}, {"levels", len(c.Levels)}, {"resources", len(c.Resources)},
		{"risk_point_ids", len(c.RiskPointIDs)}, {"contacts", len(c.Contacts)}, {"chapters", len(c.Chapters)}, {"attachments", len(c.Attachments)}} {
		if n.n > maxList {
			return bad("content."+n.name, "每一部分不超过 %d 项", maxList)
		}
	}
	for i, e := range c.Events {
		if !e.Class.Valid() {
			return bad("content.events", "第 %d 个事件类型：类别应为自然灾害、事故灾难、公共卫生事件或社会安全事件", i+1)
		}
		if runes(e.SubType) > 50 {
			return bad("content.events", "第 %d 个事件类型：子类不超过 50 个字", i+1)
		}
		for _, g := range e.Grades {
			if !slices.Contains(Grades, g) {
				return bad("content.events", "第 %d 个事件类型：事件分级“%s”无效，应为特别重大、重大、较大或一般", i+1, g)
			}
		}
	}
	for i, r := range c.Organization {
		if _, ok := groupNames[r.Group]; !ok {
			return bad("content.organization", "第 %d 个组织机构：分组应为应急指挥部、现场指挥部或工作组", i+1)
		}
		if r.Name == "" || runes(r.Name) > 100 || runes(r.Department) > 200 || runes(r.Duties) > maxText {
			return bad("content.organization", "第 %d 个组织机构：名称不能为空且不超过 100 个字，部门不超过 200 个字", i+1)
		}
		for j, pp := range r.People {
			if pp.Name == "" || runes(pp.Name) > 50 || runes(pp.Title) > 50 || runes(pp.Phone) > 30 {
				return bad("content.organization", "第 %d 个组织机构的第 %d 人：姓名不能为空，姓名、职务不超过 50 个字", i+1, j+1)
			}
		}
	}
	seen := map[int]bool{}
	for _, l := range c.Levels {
		if l.Level < 1 || l.Level > 4 {
			return bad("content.levels", "响应级别应为一级至四级（1–4）")
		}
		if seen[l.Level] {
			return bad("content.levels", "%s响应重复", LevelName(l.Level))
		}
		seen[l.Level] = true
		if l.Match != "any" && l.Match != "all" {
			return bad("content.levels", "%s响应：启动条件的组合方式应为 any（满足其一）或 all（全部满足）", LevelName(l.Level))
		}
		if runes(l.Leader) > 100 || len(l.Measures) > maxList {
			return bad("content.levels", "%s响应：指挥不超过 100 个字，措施不超过 %d 条", LevelName(l.Level), maxList)
		}
		for j, cond := range l.Conditions {
			if err := cond.Validate(); err != nil {
				return bad("content.levels", "%s响应第 %d 个启动条件：%s", LevelName(l.Level), j+1, err.Error())
			}
		}
	}
	for i, r := range c.Resources {
		if r.Name == "" || runes(r.Name) > 100 || r.Quantity < 0 {
			return bad("content.resources", "第 %d 项资源：名称不能为空且不超过 100 个字，数量不能为负", i+1)
		}
	}
	for _, id := range c.RiskPointIDs {
		if !yingji.ValidID(id) {
			return bad("content.risk_point_ids", "风险点 id 应为 UUID")
		}
	}
	for i, k := range c.Contacts {
		if k.Name == "" || runes(k.Name) > 50 || runes(k.Phone) > 30 || runes(k.Department) > 100 || runes(k.Post) > 50 {
			return bad("content.contacts", "第 %d 个联系人：姓名不能为空且不超过 50 个字", i+1)
		}
	}
	for i, ch := range c.Chapters {
		if ch.Title == "" || runes(ch.Title) > 100 || runes(ch.Body) > maxText {
			return bad("content.chapters", "第 %d 章：标题不能为空且不超过 100 个字，正文不超过 %d 个字", i+1, maxText)
		}
	}
	for i, a := range c.Attachments {
		if len(a.SHA256) != 64 || strings.Trim(a.SHA256, "0123456789abcdef") != "" {
			return bad("content.attachments", "第 %d 个附件：sha256 应为 64 位十六进制", i+1)
		}
		if runes(a.Name) > 200 {
			return bad("content.attachments", "第 %d 个附件：文件名不超过 200 个字", i+1)
		}
	}
	return nil
}

// LevelName is the Chinese name of response level n (一级 … 四级).
func LevelName(n int) string {
	if n >= 1 && n <= 4 {
		return []string{"一级", "二级", "三级", "四级"}[n-1]
	}
	return fmt.Sprintf("%d级", n)
}

// GroupName is the Chinese name of an organisation group.
func GroupName(g string) string { return groupNames[g] }

// Text is everything of the version a search should find, one line per item.
func (p *Plan) Text() string {
	var b strings.Builder
	line := func(parts ...string) {
		n := 0
		for _, s := range parts {
			if s == "" {
				continue
			}
			if n > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
			n++
		}
		if n > 0 {
			b.WriteByte('\n')
		}
	}
	c := p.Content
	line(p.Code, p.Kind.Name(), p.Level.Name())
	line(c.Summary)
	for _, e := range c.Events {
		line(e.Class.Name(), e.SubType, strings.Join(e.Grades, "、"))
	}
	for _, r := range c.Organization {
		line(GroupName(r.Group), r.Name, r.Department, r.Duties)
		for _, pp := range r.People {
			line(pp.Name, pp.Title, pp.Phone)
		}
	}
	for _, l := range c.Levels {
		conds := make([]string, len(l.Conditions))
		for i, cond := range l.Conditions {
			conds[i] = cond.String()
		}
		line(LevelName(l.Level)+"响应", l.Leader, strings.Join(conds, "；"))
		for _, m := range l.Measures {
			line(m)
		}
	}
	for _, r := range c.Resources {
		line(r.Kind, r.Name, fmt.Sprintf("%g%s", r.Quantity, r.Unit), r.Location, r.Note)
	}
	for _, k := range c.Contacts {
		line(k.Name, k.Department, k.Post, k.Phone)
	}
	for _, ch := range c.Chapters {
		line(ch.Title)
		line(ch.Body)
	}
	for _, a := range c.Attachments {
		line(a.Name)
	}
	return b.String()
}

// fields are the audited values of a version.
func (p *Plan) fields() map[string]any {
	return map[string]any{"plan_id": p.PlanID, "version": p.Version, "status": string(p.Status), "code": p.Code, "title": p.Title,
		"kind": string(p.Kind), "level": string(p.Level), "org_unit_id": p.OrgUnitID, "enterprise_id": p.EnterpriseID,
		"levels": len(p.Content.Levels), "organization": len(p.Content.Organization), "chapters": len(p.Content.Chapters)}
}

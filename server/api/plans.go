package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/knowledge"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/plan/plandoc"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Emergency plans (结构化预案) and the knowledge base (应急知识库).

// PlanPage is a page of plan versions.
type PlanPage = yingji.Page[plan.Plan]

// SearchPage is a page of search hits.
type SearchPage = yingji.Page[search.Hit]

// KnowledgePage is a page of knowledge entries.
type KnowledgePage = yingji.Page[knowledge.Entry]

// PlanInput starts a plan (its first draft).
type PlanInput struct {
	Title        string       `json:"title"`
	Code         string       `json:"code"`
	Kind         plan.Kind    `json:"kind"`
	Level        plan.Level   `json:"level"`
	OrgUnitID    string       `json:"org_unit_id"`
	EnterpriseID string       `json:"enterprise_id"`
	Content      plan.Content `json:"content"`
}

// PlanPatch changes a draft; absent fields stay. Content replaces the sections as a whole.
// The owner and level do not change.
type PlanPatch struct {
	Title   *string       `json:"title"`
	Code    *string       `json:"code"`
	Kind    *plan.Kind    `json:"kind"`
	Content *plan.Content `json:"content"`
}

// PlanStep carries the comment of a review step or the reason of a retirement.
type PlanStep struct {
	Comment string `json:"comment"`
	Reason  string `json:"reason"`
}

// PlanVersions is the version history of a plan, newest first.
type PlanVersions struct {
	Items []plan.Plan `json:"items"`
}

// NameCode is a code with its Chinese name.
type NameCode struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// PlanDictionary lists the codes a plan editor offers.
type PlanDictionary struct {
	Kinds   []NameCode        `json:"kinds"`
	Levels  []NameCode        `json:"levels"`
	Classes []plan.ClassInfo  `json:"classes"`
	Grades  []string          `json:"grades"`
	Metrics []plan.MetricInfo `json:"metrics"`
	Groups  []NameCode        `json:"groups"`
	Status  []NameCode        `json:"status"`
	KBKinds []NameCode        `json:"knowledge_kinds"`
}

// DirectoryRefresh answers how many directory rows changed.
type DirectoryRefresh struct {
	Changed int `json:"changed"`
}

const maxPlanImportRows = 2000

const (
	colPlanCode    = "预案编号"
	colPlanTitle   = "预案名称"
	colPlanKind    = "预案类别"
	colPlanLevel   = "预案层级"
	colPlanUnit    = "编制单位代码"
	colPlanCredit  = "企业统一社会信用代码"
	colPlanSummary = "适用范围"
	colPlanEvents  = "事件类型"
)

var planSheet = sheet.Spec{
	Sheet: "预案",
	Notes: []string{
		"每行导入一个预案的基本信息，生成第 1 版草稿；组织机构、响应级别、处置措施等在管理平台的预案编辑页补充后提交审核。",
		"政府预案填写编制单位代码（行政区划代码），企业预案填写企业统一社会信用代码；只能为您管辖范围内的单位或本企业导入。",
		"全部行校验通过才导入；有错误时不导入任何一行，并列出每个出错的行和列。",
	},
	Columns: []sheet.Column{
		{Title: colPlanCode, Text: true, Width: 16, Note: "不超过 60 个字", Example: "LJYA-2026-01"},
		{Title: colPlanTitle, Required: true, Width: 36, Note: "不超过 200 个字", Example: "临江市危险化学品事故专项应急预案"},
		{Title: colPlanKind, Required: true, Options: []string{"综合应急预案", "专项应急预案", "现场处置方案"}, Width: 16, Example: "专项应急预案"},
		{Title: colPlanLevel, Required: true, Options: []string{"市级", "区县级", "乡镇（街道）级", "企业"}, Width: 14, Example: "市级"},
		{Title: colPlanUnit, Text: true, Width: 16, Note: "政府预案：编制单位的行政区划代码", Example: "339900"},
		{Title: colPlanCredit, Text: true, Width: 22, Note: "企业预案：企业的 18 位统一社会信用代码", Example: ""},
		{Title: colPlanSummary, Width: 40, Note: "编制目的与适用范围", Example: "适用于本市行政区域内危险化学品生产、储存、运输过程中发生的事故"},
		{Title: colPlanEvents, Width: 30, Note: "多个用顿号分隔，格式“类别/子类”，类别为自然灾害、事故灾难、公共卫生事件、社会安全事件", Example: "事故灾难/危险化学品事故"},
	},
}

var planColumns = map[string]string{"code": colPlanCode, "title": colPlanTitle, "kind": colPlanKind, "level": colPlanLevel,
	"org_unit_id": colPlanUnit, "enterprise_id": colPlanCredit, "content.summary": colPlanSummary, "content.events": colPlanEvents}

var planQuery = []Param{{"status", "string", "状态：draft、review、published、retired"}, {"kind", "string", "类别：comprehensive、special、onsite"},
	{"level", "string", "层级：city、district、township、enterprise"}, {"enterprise_id", "string", "所属企业"}, {"org_unit_id", "string", "编制单位"},
	{"q", "string", "名称或编号包含"}, {"all_versions", "boolean", "列出每个版本（默认只列每个预案的最新版本）"}}

type plansAPI struct {
	*Server
	svc *plan.Service
	kb  *knowledge.Service
	dir func(c echo.Context) (int, error)
	doc *plandoc.Printer
}

// MountPlans adds the routes of plans, the knowledge base and the emergency directory.
// refresh rebuilds the directory from users and contacts.
func (s *Server) MountPlans(svc *plan.Service, kb *knowledge.Service, refresh func(c echo.Context) (int, error)) {
	r := &plansAPI{Server: s, svc: svc, kb: kb, dir: refresh, doc: plandoc.NewPrinter()}
	if !r.doc.CJK() {
		s.log.Info("no CJK font found: plan PDFs cannot print Chinese; install fonts-droid-fallback")
	}
	const tag = "plans"
	s.route(Op{Method: http.MethodGet, Path: "/plans/dictionary", Tag: tag, Resp: PlanDictionary{},
		Summary: "预案编辑用的代码表：类别、层级、事件分类（GB/T 35561）、事件分级、启动条件指标、组织机构分组、状态"}, r.dictionary)
	s.route(Op{Method: http.MethodGet, Path: "/plans/search", Tag: tag, Resp: SearchPage{},
		Query:   append([]Param{{"q", "string", "检索词：汉字（不分词，任意两字即可检索）、字母或数字，空格分隔表示同时包含"}}, Paging[:2]...),
		Summary: "检索已发布的预案（全文，按相关度排序，摘要中以 <mark> 标出命中）"}, r.search)
	s.route(Op{Method: http.MethodGet, Path: "/plans/template.xlsx", Tag: tag, Summary: "下载预案基本信息导入模板（Excel）",
		Produces: sheet.ContentType}, s.xlsxTemplate(planSheet, "预案导入模板", "plans-template"))
	s.route(Op{Method: http.MethodPost, Path: "/plans/import", Tag: tag, Upload: true, Resp: ImportResult{},
		Summary: "从 Excel 导入预案基本信息（生成草稿）：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列"}, r.importPlans)
	s.route(Op{Method: http.MethodGet, Path: "/plans/export.xlsx", Tag: tag, Query: planQuery, Produces: sheet.ContentType,
		Summary: "导出预案基本信息（Excel，格式同导入模板）"}, r.exportPlans)
	s.route(Op{Method: http.MethodGet, Path: "/plans", Tag: tag, Query: append(append([]Param{}, planQuery...), Paging...), Resp: PlanPage{},
		Summary: "预案列表：管辖范围内的预案及上级单位已发布的预案"}, r.list)
	s.route(Op{Method: http.MethodPost, Path: "/plans", Tag: tag, Body: PlanInput{}, Resp: plan.Plan{}, Status: http.StatusCreated,
		Summary: "新建预案（第 1 版草稿）"}, r.create)
	s.route(Op{Method: http.MethodGet, Path: "/plans/:id", Tag: tag, Resp: plan.Plan{}, Summary: "预案某一版本的详情（含结构化内容）"}, r.get)
	s.route(Op{Method: http.MethodPatch, Path: "/plans/:id", Tag: tag, Body: PlanPatch{}, Resp: plan.Plan{},
		Summary: "修改草稿；审核中、已发布、已废止的版本不能修改（409 plan.immutable），请先“修订”"}, r.update)
	s.route(Op{Method: http.MethodDelete, Path: "/plans/:id", Tag: tag, Status: http.StatusNoContent, Summary: "删除草稿版本"}, r.delete)
	s.route(Op{Method: http.MethodGet, Path: "/plans/:id/versions", Tag: tag, Resp: PlanVersions{}, Summary: "预案的版本历史（新版本在前）"}, r.versions)
	for _, st := range []struct{ path, summary string }{
		{"submit", "提交审核（草稿 → 审核中）"},
		{"publish", "审核通过并发布（审核中 → 已发布；原发布版本自动废止）；编制人和最后修改人不能发布自己的版本（403 plan.two_person）"},
		{"reject", "退回修改（审核中 → 草稿），须填写意见 comment"},
		{"retire", "废止已发布的版本，须填写原因 reason"},
		{"revise", "修订：由已发布或已废止的版本生成新的草稿版本"},
	} {
		status := http.StatusOK
		if st.path == "revise" {
			status = http.StatusCreated
		}
		s.route(Op{Method: http.MethodPost, Path: "/plans/:id/" + st.path, Tag: tag, Body: PlanStep{}, Resp: plan.Plan{}, Status: status,
			Summary: st.summary}, r.step(st.path))
	}
	s.route(Op{Method: http.MethodPost, Path: "/plans/:id/match", Tag: tag, Body: plan.Figures{}, Resp: plan.Result{},
		Summary: "按事件的量化信息（死亡、受伤、受影响人数，经济损失，泄漏量，水位）判定该预案应启动的响应级别及依据"}, r.match)
	s.route(Op{Method: http.MethodGet, Path: "/plans/:id/export.docx", Tag: tag, Produces: plandoc.DocxContentType,
		Summary: "导出预案为 Word 文档（.docx）"}, r.exportDocx)
	s.route(Op{Method: http.MethodGet, Path: "/plans/:id/export.pdf", Tag: tag, Produces: "application/pdf",
		Summary: "导出预案为 PDF 以便打印（服务器须有中文字体 fonts-droid-fallback）"}, r.exportPDF)

	const ktag = "knowledge"
	s.route(Op{Method: http.MethodGet, Path: "/knowledge/search", Tag: ktag, Resp: SearchPage{},
		Query:   append([]Param{{"q", "string", "检索词：汉字、字母或数字（如 CAS 号 7782-50-5、UN1017）"}}, Paging[:2]...),
		Summary: "检索应急知识库（全文，按相关度排序，摘要中以 <mark> 标出命中）"}, r.kbSearch)
	s.route(Op{Method: http.MethodGet, Path: "/knowledge", Tag: ktag, Resp: KnowledgePage{},
		Query: append([]Param{{"kind", "string", "类别：law、standard、case、msds"}, {"q", "string", "标题、文号或 CAS 号包含"},
			{"cas", "string", "CAS 号（精确）"}, {"un", "string", "UN 号（精确，可带 UN 前缀）"}}, Paging...),
		Summary: "应急知识库列表：法律法规、标准规范、事故案例、危化品安全技术说明书"}, r.kbList)
	s.route(Op{Method: http.MethodPost, Path: "/knowledge", Tag: ktag, Body: knowledge.Entry{}, Resp: knowledge.Entry{}, Status: http.StatusCreated,
		Summary: "新增知识库条目"}, r.kbCreate)
	s.route(Op{Method: http.MethodGet, Path: "/knowledge/:id", Tag: ktag, Resp: knowledge.Entry{}, Summary: "知识库条目详情"}, r.kbGet)
	s.route(Op{Method: http.MethodPut, Path: "/knowledge/:id", Tag: ktag, Body: knowledge.Entry{}, Resp: knowledge.Entry{},
		Summary: "修改知识库条目（整体替换）"}, r.kbUpdate)
	s.route(Op{Method: http.MethodDelete, Path: "/knowledge/:id", Tag: ktag, Status: http.StatusNoContent, Summary: "删除知识库条目"}, r.kbDelete)
	s.route(Op{Method: http.MethodPost, Path: "/directory/refresh", Tag: ktag, Resp: DirectoryRefresh{},
		Summary: "立即按用户和企业联系人刷新应急通讯录（服务每 5 分钟自动刷新）"}, r.refreshDirectory)
}

func (r *plansAPI) dictionary(c echo.Context) error {
	d := PlanDictionary{Classes: plan.Classes, Grades: plan.Grades, Metrics: plan.Metrics}
	for _, k := range plan.Kinds {
		d.Kinds = append(d.Kinds, NameCode{string(k), k.Name()})
	}
	for _, l := range plan.Levels {
		d.Levels = append(d.Levels, NameCode{string(l), l.Name()})
	}
	for _, g := range []string{plan.GroupHeadquarters, plan.GroupOnSite, plan.GroupWorking} {
		d.Groups = append(d.Groups, NameCode{g, plan.GroupName(g)})
	}
	for _, st := range []plan.Status{plan.StatusDraft, plan.StatusReview, plan.StatusPublished, plan.StatusRetired} {
		d.Status = append(d.Status, NameCode{string(st), st.Name()})
	}
	for _, k := range knowledge.Kinds {
		d.KBKinds = append(d.KBKinds, NameCode{string(k), k.Name()})
	}
	return c.JSON(http.StatusOK, d)
}

func planFilter(c echo.Context) (plan.Filter, error) {
	f := plan.Filter{Status: plan.Status(c.QueryParam("status")), Kind: plan.Kind(c.QueryParam("kind")), Level: plan.Level(c.QueryParam("level")),
		EnterpriseID: c.QueryParam("enterprise_id"), OrgUnitID: c.QueryParam("org_unit_id"), Q: c.QueryParam("q"), Latest: true}
	all, err := boolQuery(c, "all_versions")
	if err != nil {
		return f, err
	}
	if all != nil && *all {
		f.Latest = false
	}
	return f, nil
}

func (r *plansAPI) list(c echo.Context) error {
	return listPage(c, planFilter, r.svc.List)
}

func (r *plansAPI) get(c echo.Context) error {
	p, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (r *plansAPI) create(c echo.Context) error {
	var in PlanInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	p, err := r.svc.Create(c.Request().Context(), actor(c), plan.Plan{Title: in.Title, Code: in.Code, Kind: in.Kind, Level: in.Level,
		OrgUnitID: in.OrgUnitID, EnterpriseID: in.EnterpriseID, Content: in.Content})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (r *plansAPI) update(c echo.Context) error {
	var in PlanPatch
	if err := r.bind(c, &in); err != nil {
		return err
	}
	ctx, a := c.Request().Context(), actor(c)
	p, err := r.svc.Get(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	patchField(&p.Title, in.Title)
	patchField(&p.Code, in.Code)
	patchField(&p.Kind, in.Kind)
	patchField(&p.Content, in.Content)
	out, err := r.svc.Update(ctx, a, p.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (r *plansAPI) delete(c echo.Context) error {
	if err := r.svc.Delete(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *plansAPI) versions(c echo.Context) error {
	vs, err := r.svc.Versions(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PlanVersions{Items: vs})
}

func (r *plansAPI) step(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in PlanStep
		if c.Request().ContentLength != 0 {
			if err := r.bind(c, &in); err != nil {
				return err
			}
		}
		ctx, a, id := c.Request().Context(), actor(c), c.Param("id")
		var p plan.Plan
		var err error
		status := http.StatusOK
		switch name {
		case "submit":
			p, err = r.svc.Submit(ctx, a, id)
		case "publish":
			p, err = r.svc.Publish(ctx, a, id, in.Comment)
		case "reject":
			p, err = r.svc.Reject(ctx, a, id, in.Comment)
		case "retire":
			p, err = r.svc.Retire(ctx, a, id, in.Reason)
		case "revise":
			p, err = r.svc.Revise(ctx, a, id)
			status = http.StatusCreated
		}
		if err != nil {
			return err
		}
		return c.JSON(status, p)
	}
}

func (r *plansAPI) match(c echo.Context) error {
	var f plan.Figures
	if err := r.bind(c, &f); err != nil {
		return err
	}
	res, err := r.svc.MatchPlan(c.Request().Context(), actor(c), c.Param("id"), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (r *plansAPI) search(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := r.svc.Search(c.Request().Context(), actor(c), c.QueryParam("q"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// ---- print ----

func (r *plansAPI) printable(c echo.Context, format string) (plan.Plan, error) {
	p, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return p, err
	}
	r.Audit.Record(c.Request().Context(), actor(c), yingji.Event{Action: "plan.export", ObjectType: plan.ObjectPlan, ObjectID: p.ID,
		Result: "ok", Detail: map[string]any{"format": format, "version": p.Version}})
	return p, nil
}

func printName(p plan.Plan, ext string) (string, string) {
	return fmt.Sprintf("%s_第%d版.%s", p.Title, p.Version, ext), fmt.Sprintf("plan-%s-v%d.%s", p.PlanID[:8], p.Version, ext)
}

func (r *plansAPI) exportDocx(c echo.Context) error {
	p, err := r.printable(c, "docx")
	if err != nil {
		return err
	}
	b, err := plandoc.Docx(p)
	if err != nil {
		return err
	}
	zh, ascii := printName(p, "docx")
	c.Response().Header().Set(echo.HeaderContentDisposition, attachmentDisposition(zh, ascii))
	return c.Blob(http.StatusOK, plandoc.DocxContentType, b)
}

func (r *plansAPI) exportPDF(c echo.Context) error {
	if !r.doc.CJK() {
		return yingji.Errorf(yingji.ECONFLICT, "plan.no_cjk_font", "服务器未安装中文字体，无法生成 PDF；请安装 fonts-droid-fallback，或导出 Word 文档后打印")
	}
	p, err := r.printable(c, "pdf")
	if err != nil {
		return err
	}
	b, err := r.doc.PDF(p)
	if err != nil {
		return err
	}
	zh, ascii := printName(p, "pdf")
	c.Response().Header().Set(echo.HeaderContentDisposition, attachmentDisposition(zh, ascii))
	return c.Blob(http.StatusOK, "application/pdf", b)
}

// ---- Excel ----

func planKindByName(s string) (plan.Kind, bool) {
	s = strings.TrimSpace(s)
	for _, k := range plan.Kinds {
		if s == string(k) || s == k.Name() || s+"应急预案" == k.Name() || s == strings.TrimSuffix(k.Name(), "应急预案") {
			return k, true
		}
	}
	return "", false
}

func planLevelByName(s string) (plan.Level, bool) {
	s = strings.TrimSpace(s)
	for _, l := range plan.Levels {
		if s == string(l) || s == l.Name() || (l == plan.LevelTownship && (s == "乡镇级" || s == "街道级")) {
			return l, true
		}
	}
	return "", false
}

// parseEvents reads "类别/子类、类别/子类".
func parseEvents(cell string) ([]plan.Event, []string) {
	var out []plan.Event
	var errs []string
	for _, part := range splitAccidentTypes(cell) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cls, sub, _ := strings.Cut(strings.ReplaceAll(part, "／", "/"), "/")
		var found plan.EventClass
		for _, ci := range plan.Classes {
			if strings.TrimSpace(cls) == ci.Name || strings.TrimSpace(cls) == string(ci.Class) || strings.TrimSpace(cls)+"事件" == ci.Name {
				found = ci.Class
			}
		}
		if found == "" {
			errs = append(errs, fmt.Sprintf("事件类别“%s”无效，应为自然灾害、事故灾难、公共卫生事件或社会安全事件", cls))
			continue
		}
		out = append(out, plan.Event{Class: found, SubType: strings.TrimSpace(sub)})
	}
	return out, errs
}

func (r *plansAPI) importPlans(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermPlanWrite); err != nil {
		return err
	}
	rows, err := r.importRows(c, planSheet, maxPlanImportRows)
	if err != nil {
		return err
	}
	units := map[string]org.Unit{}
	us, err := r.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Level != org.LevelGrid {
			units[u.Code] = u
		}
	}
	ents := map[string]org.Enterprise{}
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		ents[e.CreditCode] = e
		return nil
	}); err != nil {
		return err
	}
	batch := make([]plan.Plan, 0, len(rows))
	for _, row := range rows {
		p := plan.Plan{Code: row.Text(colPlanCode), Title: row.Text(colPlanTitle), Content: plan.Content{Summary: row.Text(colPlanSummary)}}
		kind, ok := planKindByName(row.Text(colPlanKind))
		if !ok {
			row.Fail(colPlanKind, "预案类别“%s”无效，应为综合应急预案、专项应急预案或现场处置方案", row.Text(colPlanKind))
			kind = plan.KindSpecial
		}
		p.Kind = kind
		lvl, ok := planLevelByName(row.Text(colPlanLevel))
		if !ok {
			row.Fail(colPlanLevel, "预案层级“%s”无效，应为市级、区县级、乡镇（街道）级或企业", row.Text(colPlanLevel))
			lvl = plan.LevelCity
		}
		p.Level = lvl
		if lvl == plan.LevelEnterprise {
			code := org.NormalizeCreditCode(row.Text(colPlanCredit))
			e, found := ents[code]
			switch {
			case code == "":
				row.Fail(colPlanCredit, "企业预案请填写企业统一社会信用代码")
			case !found:
				row.Fail(colPlanCredit, "统一社会信用代码为“%s”的企业不存在或不在您的管辖范围内", code)
			}
			p.EnterpriseID = e.ID
			if p.EnterpriseID == "" {
				p.EnterpriseID = "?"
			}
		} else {
			u, found := units[row.Text(colPlanUnit)]
			switch {
			case row.Blank(colPlanUnit):
				row.Fail(colPlanUnit, "政府预案请填写编制单位代码")
			case !found:
				row.Fail(colPlanUnit, "代码为“%s”的单位不存在或不在您的管辖范围内", row.Text(colPlanUnit))
			case string(u.Level) != string(lvl):
				row.Fail(colPlanLevel, "预案层级（%s）与编制单位“%s”的层级不符", lvl.Name(), u.Name)
			}
			p.OrgUnitID = u.ID
			if p.OrgUnitID == "" {
				p.OrgUnitID = "?"
			}
		}
		evs, errs := parseEvents(row.Text(colPlanEvents))
		for _, e := range errs {
			row.Fail(colPlanEvents, "%s", e)
		}
		p.Content.Events = evs
		p.Normalize()
		if err := p.Validate(); err != nil {
			if err := failImportCell(row, err, planColumns, colPlanTitle); err != nil {
				return err
			}
		}
		batch = append(batch, p)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	if err := r.svc.Import(ctx, a, batch); err != nil {
		return importBatchError(err, rows, planColumns, colPlanTitle)
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(batch)})
}

func (r *plansAPI) exportPlans(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f, err := planFilter(c)
	if err != nil {
		return err
	}
	units := map[string]string{}
	us, err := r.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	for _, u := range us {
		units[u.ID] = u.Code
	}
	credit := map[string]string{}
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		credit[e.ID] = e.CreditCode
		return nil
	}); err != nil {
		return err
	}
	w, err := sheet.NewWriter(planSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated, err := exportPages(w, func(p yingji.ListParams) (yingji.Page[plan.Plan], error) {
		return r.svc.List(ctx, a, f, p)
	}, func(pl plan.Plan) error {
		evs := make([]string, len(pl.Content.Events))
		for i, e := range pl.Content.Events {
			evs[i] = e.Class.Name()
			if e.SubType != "" {
				evs[i] += "/" + e.SubType
			}
		}
		if err := w.Add(pl.Code, pl.Title, pl.Kind.Name(), pl.Level.Name(), units[pl.OrgUnitID], credit[pl.EnterpriseID],
			pl.Content.Summary, strings.Join(evs, "、")); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.recordExport(c, "plan.export_list", plan.ObjectPlan, w.Rows(), truncated)
	zh, ascii := r.exportName("预案", "plans")
	return sendWorkbook(c, w, zh, ascii)
}

// ---- knowledge ----

func (r *plansAPI) kbSearch(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := r.kb.Search(c.Request().Context(), actor(c), c.QueryParam("q"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *plansAPI) kbList(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := knowledge.Filter{Kind: knowledge.Kind(c.QueryParam("kind")), Q: c.QueryParam("q"), CAS: c.QueryParam("cas"), UN: c.QueryParam("un")}
	page, err := r.kb.List(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *plansAPI) kbGet(c echo.Context) error {
	e, err := r.kb.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (r *plansAPI) kbCreate(c echo.Context) error {
	var in knowledge.Entry
	if err := r.bind(c, &in); err != nil {
		return err
	}
	es, err := r.kb.Create(c.Request().Context(), actor(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, es[0])
}

func (r *plansAPI) kbUpdate(c echo.Context) error {
	var in knowledge.Entry
	if err := r.bind(c, &in); err != nil {
		return err
	}
	e, err := r.kb.Update(c.Request().Context(), actor(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (r *plansAPI) kbDelete(c echo.Context) error {
	if err := r.kb.Delete(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *plansAPI) refreshDirectory(c echo.Context) error {
	a := actor(c)
	if err := a.Require(yingji.PermPlanReview); err != nil {
		return err
	}
	if a.Role.AdminRank() == 0 {
		return yingji.Errorf(yingji.EFORBIDDEN, "auth.forbidden", "只有管理员可以刷新应急通讯录")
	}
	n, err := r.dir(c)
	if err != nil {
		return err
	}
	r.Audit.Record(c.Request().Context(), a, yingji.Event{Action: "directory.refresh", ObjectType: "directory", Result: "ok",
		Detail: map[string]any{"changed": n}})
	return c.JSON(http.StatusOK, DirectoryRefresh{Changed: n})
}

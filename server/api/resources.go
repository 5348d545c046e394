package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Emergency resources (应急资源保障): every kind on one set of routes, their Excel sheets, the
// one-map's layers, the nearest query and the interface for outside systems.

// ResourcePage is a page of resources.
type ResourcePage = yingji.Page[resource.Resource]

// ResourceInput creates a resource, or replaces its fields (PUT; kind, id and created_at do
// not change). Fields of other kinds are ignored.
type ResourceInput struct {
	Kind          resource.Kind      `json:"kind"`
	Name          string             `json:"name"`
	Code          string             `json:"code"`
	Category      string             `json:"category"`
	Subtype       string             `json:"subtype"`
	Owner         resource.Owner     `json:"owner"`
	OrgUnitID     string             `json:"org_unit_id"`
	EnterpriseID  string             `json:"enterprise_id"`
	HolderID      string             `json:"holder_id"`
	Status        resource.Status    `json:"status"`
	Quantity      float64            `json:"quantity"`
	Unit          string             `json:"unit"`
	AccidentTypes []string           `json:"accident_types"`
	Contact       string             `json:"contact"`
	Phone         string             `json:"phone"`
	Address       string             `json:"address"`
	Location      *resource.Location `json:"location"`
	resource.Details
	Source     string `json:"source"`
	ExternalID string `json:"external_id"`
	Remark     string `json:"remark"`
}

func (in ResourceInput) resource() resource.Resource {
	return resource.Resource{Kind: in.Kind, Name: in.Name, Code: in.Code, Category: in.Category, Subtype: in.Subtype, Owner: in.Owner,
		OrgUnitID: in.OrgUnitID, EnterpriseID: in.EnterpriseID, HolderID: in.HolderID, Status: in.Status, Quantity: in.Quantity,
		Unit: in.Unit, AccidentTypes: in.AccidentTypes, Contact: in.Contact, Phone: in.Phone, Address: in.Address,
		Location: in.Location, Details: in.Details, Source: in.Source, ExternalID: in.ExternalID, Remark: in.Remark}
}

// ResourceKindInfo describes a kind for the portal: its categories (fixed or suggested) and
// the names of its statuses.
type ResourceKindInfo struct {
	Kind          resource.Kind     `json:"kind"`
	Name          string            `json:"name"`
	Categories    []string          `json:"categories"`
	FixedCategory bool              `json:"fixed_category"`
	Statuses      map[string]string `json:"statuses"`
}

// NearestResult answers a nearest query: the resources nearest first, each with its
// great-circle distance in metres.
type NearestResult struct {
	Lat   float64        `json:"lat"`
	Lng   float64        `json:"lng"`
	Items []resource.Hit `json:"items"`
}

// ResourceMap is what the one-map draws: located resources in scope.
type ResourceMap struct {
	Items     []*resource.Entry `json:"items"`
	Truncated bool              `json:"truncated"`
}

const maxResourceMapPoints = 20000

var resourceQuery = []Param{{"kind", "string", "资源种类：supply、depot、team、expert、shelter、medical、police、fire、target"},
	{"category", "string", "类别"}, {"subtype", "string", "类型"}, {"status", "string", "状态：available、busy、maintenance、retired"},
	{"owner", "string", "归属：government（政府）、enterprise（企业）"}, {"org_unit_id", "string", "所属单位（含下级）"},
	{"enterprise_id", "string", "所属企业"}, {"holder_id", "string", "存放于该储备库或队伍的物资"},
	{"accident_type", "string", "可处置的事故类型"}, {"q", "string", "名称、编号、负责人或地址包含"}}

var nearestQuery = []Param{{"lat", "string", "纬度（WGS84），必填"}, {"lng", "string", "经度（WGS84），必填"},
	{"n", "integer", "返回条数，1–200，默认 5"}, {"kinds", "string", "资源种类，逗号分隔，如 team,supply；不填为全部"},
	{"category", "string", "类别"}, {"subtype", "string", "类型"}, {"status", "string", "状态：available、busy、maintenance、retired"},
	{"accident_type", "string", "可处置的事故类型，如 火灾"},
	{"min_available", "string", "可用数量下限：物资数量、避难场所剩余容量、队伍人数、医院床位、警力/消防人数"},
	{"owner", "string", "归属：government、enterprise"}, {"max_distance_m", "string", "最大距离（米）"}}

// The examples of the OpenAPI document hold only the fields a caller would send.
var externalExample = map[string]any{"source": "浙江省应急物资管理系统", "items": []map[string]any{
	{"external_id": "ZJ-DEPOT-3399-01", "kind": "depot", "name": "临江市应急物资储备库", "category": "市级", "org_unit_code": "339900",
		"contact": "储备库值班室", "phone": "0571-86101234", "address": "临江市江南区仓储路 8 号",
		"location": map[string]float64{"lat": 30.2105, "lng": 120.2602}, "area": 3200},
	{"external_id": "ZJ-SUP-000123", "kind": "supply", "name": "救生衣", "code": "2", "category": "防汛抗旱", "org_unit_code": "339900",
		"holder_external_id": "ZJ-DEPOT-3399-01", "quantity": 500, "unit": "件", "status": "available", "spec": "成人 150N"},
}}

var resourceExample = map[string]any{"kind": "team", "name": "临港园区危化品救援队", "category": "专业", "subtype": "危化品救援",
	"owner": "government", "org_unit_id": "01a250c4-ec44-76cc-9cee-c23c5756b963", "status": "available",
	"accident_types": []string{"火灾", "爆炸", "中毒和窒息"}, "contact": "陈队长", "phone": "13957110010",
	"address": "临港化工园区消防路 1 号", "location": map[string]float64{"lat": 30.2201, "lng": 120.3466},
	"members": 36, "equipment": "重型防化服 20 套、泡沫消防车 2 辆"}

// resourceAPI serves the resource routes.
type resourceAPI struct {
	*Server
	svc *resource.Service
}

// MountResources adds the resource routes on svc.
func (s *Server) MountResources(svc *resource.Service) {
	r := &resourceAPI{Server: s, svc: svc}
	const tag = "resources"
	xlsx := sheet.ContentType
	s.route(Op{Method: http.MethodGet, Path: "/resources/kinds", Tag: tag, Resp: []ResourceKindInfo{},
		Summary: "资源种类及其类别、状态名称"}, r.kinds)
	s.route(Op{Method: http.MethodGet, Path: "/resources/nearest", Tag: tag, Query: nearestQuery, Resp: NearestResult{},
		Summary: "查询离某点最近的 N 个资源（按大圆距离精确排序，可按种类、类别、状态、事故类型、可用数量筛选，只含管辖范围内的资源）"}, r.nearest)
	s.route(Op{Method: http.MethodGet, Path: "/resources/map", Tag: tag, Resp: ResourceMap{},
		Query:   []Param{{"kinds", "string", "资源种类，逗号分隔；不填为全部"}},
		Summary: "一张图的资源与目标图层：管辖范围内有坐标的资源（最多 20000 个）"}, r.mapPoints)
	s.route(Op{Method: http.MethodPost, Path: "/resources/external", Tag: tag, Body: resource.ExternalPackage{}, Example: externalExample,
		Resp:    resource.ExternalSummary{},
		Summary: "外部系统（如省救援物资系统）推送资源数据包：按（来源系统, 外部编号）幂等新增或更新，逐条返回结果（created/updated/unchanged/rejected 及原因），出错的条目不影响其他条目"}, r.external)
	s.route(Op{Method: http.MethodPost, Path: "/resources/external/package", Tag: tag, Upload: true, Resp: resource.ExternalSummary{},
		Query:   []Param{{"source", "string", "来源系统（上传 Excel 时必填；JSON 文件中的 source 优先）"}, {"kind", "string", "Excel 数据包的资源种类，默认 supply"}},
		Summary: "上传外部系统的资源数据包文件：JSON（同 POST /resources/external 的请求体）或 Excel（该种类的导入模板，另加“外部编号”列），逐条返回结果"}, r.externalPackage)
	s.route(Op{Method: http.MethodGet, Path: "/resources/kinds/:kind/template.xlsx", Tag: tag, Produces: xlsx,
		Summary: "下载某种资源的导入模板（Excel）"}, r.template)
	s.route(Op{Method: http.MethodPost, Path: "/resources/kinds/:kind/import", Tag: tag, Upload: true, Resp: ImportResult{},
		Summary: "从 Excel 导入某种资源：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列"}, r.importSheet)
	s.route(Op{Method: http.MethodGet, Path: "/resources/kinds/:kind/export.xlsx", Tag: tag, Produces: xlsx, Query: resourceQuery[1:],
		Summary: "导出某种资源（Excel，格式同导入模板）"}, r.exportSheet)
	s.route(Op{Method: http.MethodGet, Path: "/resources", Tag: tag, Summary: "资源列表（管辖范围内，含上级单位的资源）",
		Query: append(append([]Param{}, resourceQuery...), Paging...), Resp: ResourcePage{}}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/resources/:id", Tag: tag, Summary: "资源详情", Resp: resource.Resource{}}, r.get)
	s.route(Op{Method: http.MethodPost, Path: "/resources", Tag: tag, Summary: "新建资源",
		Body: ResourceInput{}, Example: resourceExample, Resp: resource.Resource{}, Status: http.StatusCreated}, r.create)
	s.route(Op{Method: http.MethodPut, Path: "/resources/:id", Tag: tag, Summary: "修改资源（整体替换各字段；种类不能修改；储备库或队伍移动时其物资随之移动）",
		Body: ResourceInput{}, Resp: resource.Resource{}}, r.update)
	s.route(Op{Method: http.MethodDelete, Path: "/resources/:id", Tag: tag, Summary: "删除资源（仍存放物资的储备库、仍有队员账号的队伍不能删除）",
		Status: http.StatusNoContent}, r.delete)
}

func (r *resourceAPI) kinds(c echo.Context) error {
	out := make([]ResourceKindInfo, 0, len(resource.Kinds))
	for _, k := range resource.Kinds {
		cats, fixed := resource.Categories[k]
		if !fixed {
			cats = resource.Suggestions[k]
		}
		if cats == nil {
			cats = []string{}
		}
		st := map[string]string{}
		for _, s := range resource.Statuses {
			st[string(s)] = s.Name(k)
		}
		out = append(out, ResourceKindInfo{Kind: k, Name: k.Name(), Categories: cats, FixedCategory: fixed, Statuses: st})
	}
	return c.JSON(http.StatusOK, out)
}

func resourceFilter(c echo.Context) resource.Filter {
	return resource.Filter{Kind: resource.Kind(c.QueryParam("kind")), Category: c.QueryParam("category"), Subtype: c.QueryParam("subtype"),
		Status: resource.Status(c.QueryParam("status")), Owner: resource.Owner(c.QueryParam("owner")), OrgUnitID: c.QueryParam("org_unit_id"),
		EnterpriseID: c.QueryParam("enterprise_id"), HolderID: c.QueryParam("holder_id"), AccidentType: c.QueryParam("accident_type"),
		Q: c.QueryParam("q")}
}

func (r *resourceAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := r.svc.List(c.Request().Context(), actor(c), resourceFilter(c), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *resourceAPI) get(c echo.Context) error {
	x, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

func (r *resourceAPI) create(c echo.Context) error {
	var in ResourceInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	x, err := r.svc.Create(c.Request().Context(), actor(c), in.resource())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, x)
}

func (r *resourceAPI) update(c echo.Context) error {
	var in ResourceInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	x, err := r.svc.Update(c.Request().Context(), actor(c), c.Param("id"), in.resource())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

func (r *resourceAPI) delete(c echo.Context) error {
	if err := r.svc.Delete(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func floatQuery(c echo.Context, name string, required bool) (float64, error) {
	v := c.QueryParam(name)
	if v == "" {
		if required {
			return 0, yingji.Invalid("request.bad_query", name, "缺少查询参数 %s", name)
		}
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为数字", name)
	}
	return f, nil
}

func kindsQuery(c echo.Context) []resource.Kind {
	var out []resource.Kind
	for _, k := range strings.Split(c.QueryParam("kinds"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, resource.Kind(k))
		}
	}
	return out
}

func (r *resourceAPI) nearest(c echo.Context) error {
	var q resource.Query
	var err error
	if q.Lat, err = floatQuery(c, "lat", true); err != nil {
		return err
	}
	if q.Lng, err = floatQuery(c, "lng", true); err != nil {
		return err
	}
	if q.N, err = intQuery(c, "n"); err != nil {
		return err
	}
	if c.QueryParam("n") == "" {
		q.N = 5
	}
	if q.MinAvailable, err = floatQuery(c, "min_available", false); err != nil {
		return err
	}
	if q.MaxDistanceM, err = floatQuery(c, "max_distance_m", false); err != nil {
		return err
	}
	q.Kinds = kindsQuery(c)
	q.Category, q.Subtype, q.AccidentType = c.QueryParam("category"), c.QueryParam("subtype"), c.QueryParam("accident_type")
	q.Status, q.Owner = resource.Status(c.QueryParam("status")), resource.Owner(c.QueryParam("owner"))
	hits, err := r.svc.Nearest(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, NearestResult{Lat: q.Lat, Lng: q.Lng, Items: hits})
}

func (r *resourceAPI) mapPoints(c echo.Context) error {
	items, more, err := r.svc.MapPoints(c.Request().Context(), actor(c), kindsQuery(c), maxResourceMapPoints)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ResourceMap{Items: items, Truncated: more})
}

func (r *resourceAPI) external(c echo.Context) error {
	var pkg resource.ExternalPackage
	if err := r.bind(c, &pkg); err != nil {
		return err
	}
	sum, err := r.svc.ImportExternal(c.Request().Context(), actor(c), pkg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

// externalPackage reads an uploaded package: JSON (the body of POST /resources/external) or
// an Excel workbook of one kind's template with an 外部编号 column.
func (r *resourceAPI) externalPackage(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermResourceWrite); err != nil {
		return err
	}
	data, err := r.importUpload(c)
	if err != nil {
		return err
	}
	var pkg resource.ExternalPackage
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pkg); err != nil {
			return yingji.Errorf(yingji.EINVALID, "resource.bad_package", "数据包不是有效的 JSON：%s", jsonErrorText(err))
		}
		if pkg.Source == "" {
			pkg.Source = c.QueryParam("source")
		}
	} else {
		kind := resource.KindSupply
		if k := c.QueryParam("kind"); k != "" {
			kind = resource.Kind(k)
		}
		if !kind.Valid() {
			return yingji.Invalid("request.bad_query", "kind", "查询参数 kind 应为资源种类之一")
		}
		pkg.Source = c.QueryParam("source")
		if pkg.Source == "" {
			return yingji.Invalid("resource.bad_source", "source", "上传 Excel 数据包时须用查询参数 source 指明来源系统")
		}
		spec := resourceSheet(kind, true)
		rows, err := sheetRead(data, spec, resource.MaxExternalItems, r.cfg.MaxImportBytes)
		if err != nil {
			return err
		}
		for _, row := range rows {
			it := externalItemFromRow(kind, row)
			pkg.Items = append(pkg.Items, it)
		}
		if errs := sheet.Errors(rows); len(errs) > 0 {
			return sheet.Invalid(errs)
		}
	}
	sum, err := r.svc.ImportExternal(ctx, a, pkg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return "第 " + strconv.FormatInt(se.Offset, 10) + " 个字节处语法错误"
	case asErr(err, &te):
		return "字段 " + te.Field + " 的类型不对"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "未知字段 " + f
	}
	return "格式错误"
}

// ---- Excel ----

func kindParam(c echo.Context) (resource.Kind, error) {
	k := resource.Kind(c.Param("kind"))
	if !k.Valid() {
		return "", yingji.Errorf(yingji.ENOTFOUND, "resource.bad_kind", "资源种类“%s”不存在", c.Param("kind"))
	}
	return k, nil
}

func (r *resourceAPI) template(c echo.Context) error {
	k, err := kindParam(c)
	if err != nil {
		return err
	}
	return r.xlsxTemplate(resourceSheet(k, false), k.Name()+"导入模板", "resources-"+string(k)+"-template")(c)
}

// sheetLookups are the names an Excel row refers to: units by code, enterprises by credit
// code, depots and teams by name.
type sheetLookups struct {
	units       map[string]org.Unit
	unitCode    map[string]string // id → import code
	enterprises map[string]org.Enterprise
	credit      map[string]string // id → credit code
	holders     map[string][]resource.Resource
	holderName  map[string]string // id → name
}

func (r *resourceAPI) lookups(c echo.Context, withHolders bool) (*sheetLookups, error) {
	ctx, a := c.Request().Context(), actor(c)
	l := &sheetLookups{enterprises: map[string]org.Enterprise{}, credit: map[string]string{}, holders: map[string][]resource.Resource{},
		holderName: map[string]string{}, unitCode: map[string]string{}}
	units, err := r.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return nil, err
	}
	l.units = unitsByImportKey(units)
	for code, u := range l.units {
		l.unitCode[u.ID] = code
	}
	if a.Can(yingji.PermEnterpriseRead) {
		if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
			l.enterprises[e.CreditCode], l.credit[e.ID] = e, e.CreditCode
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if withHolders {
		for _, k := range []resource.Kind{resource.KindDepot, resource.KindTeam} {
			if err := r.eachResource(c, resource.Filter{Kind: k}, func(x resource.Resource) {
				l.holders[x.Name] = append(l.holders[x.Name], x)
				l.holderName[x.ID] = x.Name
			}); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func (r *resourceAPI) eachResource(c echo.Context, f resource.Filter, fn func(resource.Resource)) error {
	for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
		page, err := r.svc.List(c.Request().Context(), actor(c), f, p)
		if err != nil {
			return err
		}
		for _, x := range page.Items {
			fn(x)
		}
		if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
			return nil
		}
	}
}

const maxResourceImportRows = 10000

func (r *resourceAPI) importSheet(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	k, err := kindParam(c)
	if err != nil {
		return err
	}
	if err := a.Require(yingji.PermResourceWrite); err != nil {
		return err
	}
	spec := resourceSheet(k, false)
	rows, err := r.importRows(c, spec, maxResourceImportRows)
	if err != nil {
		return err
	}
	l, err := r.lookups(c, k == resource.KindSupply)
	if err != nil {
		return err
	}
	batch := make([]resource.Resource, 0, len(rows))
	for _, row := range rows {
		x := resourceFromRow(k, row, l)
		x.Normalize()
		probe := x
		if probe.Owner == resource.OwnerEnterprise && probe.EnterpriseID == "" {
			probe.EnterpriseID = "?" // lets Validate check the other fields
		}
		if probe.Owner == resource.OwnerGovernment && probe.OrgUnitID == "" && row.Failed() {
			probe.OrgUnitID = "?"
		}
		if err := probe.Validate(); err != nil {
			if err := failImportCell(row, err, resourceColumns, colResName); err != nil {
				return err
			}
		}
		batch = append(batch, x)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	if err := r.svc.Import(ctx, a, batch); err != nil {
		return importBatchError(err, rows, resourceColumns, colResName)
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(batch)})
}

func (r *resourceAPI) exportSheet(c echo.Context) error {
	k, err := kindParam(c)
	if err != nil {
		return err
	}
	f := resourceFilter(c)
	f.Kind = k
	l, err := r.lookups(c, k == resource.KindSupply)
	if err != nil {
		return err
	}
	w, err := sheet.NewWriter(resourceSheet(k, false))
	if err != nil {
		return err
	}
	defer w.Close()
	truncated := false
	var werr error
	err = r.eachResource(c, f, func(x resource.Resource) {
		if werr != nil || truncated {
			return
		}
		if w.Rows() >= maxExportRows {
			truncated = true
			return
		}
		werr = w.Add(resourceRow(k, x, l)...)
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if truncated {
		w.Note(exportTruncatedNote(maxExportRows))
	}
	r.recordExport(c, "resource.export", resource.ObjectResource, w.Rows(), truncated)
	zh, ascii := r.exportName(k.Name(), "resources-"+string(k))
	return sendWorkbook(c, w, zh, ascii)
}

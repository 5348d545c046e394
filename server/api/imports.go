package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Excel templates, all-or-nothing imports and exports of org units, enterprises and users, and
// the export of the audit log. An import reads every row first and stores nothing unless all
// are good; an export holds only what the caller may read and imports again as it is.

// ImportResult answers an import that stored every row.
type ImportResult struct {
	Imported int `json:"imported"`
}

// Import and export bounds.
const (
	maxUnitImportRows       = 5000
	maxEnterpriseImportRows = 10000
	maxUserImportRows       = 2000 // each row hashes a password
	maxExportRows           = 100000
	userPrepareWorkers      = 4
)

// Column titles.
const (
	colUnitLevel  = "层级"
	colUnitCode   = "代码"
	colUnitName   = "名称"
	colUnitParent = "上级单位代码"
	colUnitSort   = "排序"

	colEntName     = "企业名称"
	colEntCredit   = "统一社会信用代码"
	colEntIndustry = "行业"
	colEntTownship = "所属乡镇（街道）代码"
	colEntGrid     = "所属网格编号"
	colEntAddress  = "地址"
	colEntLat      = "纬度"
	colEntLng      = "经度"
	colEntHazchem  = "涉及危险化学品"
	colEntMajor    = "重大危险源"
	colEntLegal    = "法定代表人"
	colEntPhone    = "联系电话"

	colUserUsername   = "用户名"
	colUserName       = "姓名"
	colUserPhone      = "手机号"
	colUserRole       = "角色"
	colUserUnit       = "所属单位代码"
	colUserEnterprise = "所属企业统一社会信用代码"
	colUserTeam       = "所属救援队伍"
	colUserPassword   = "初始密码"
)

func importLevelNames() []string {
	out := make([]string, len(org.Levels))
	for i, l := range org.Levels {
		out[i] = l.Name()
	}
	return out
}

func importRoleNames() []string {
	out := make([]string, len(yingji.Roles))
	for i, r := range yingji.Roles {
		out[i] = r.Name()
	}
	return out
}

var unitSheet = sheet.Spec{
	Sheet: "组织机构",
	Notes: []string{
		"上级单位可以是系统中已有的单位，也可以是本文件中排在前面的新单位。",
		"网格编号只需在所属乡镇（街道）内唯一；网格的上级单位代码填所属乡镇（街道）的 9 位代码。",
		"只能在您管辖的单位之下新增单位；市级单位不能导入。",
	},
	Columns: []sheet.Column{
		{Title: colUnitLevel, Required: true, Options: importLevelNames(), Note: "从下拉列表中选择：区县、乡镇（街道）或网格", Example: "网格"},
		{Title: colUnitCode, Required: true, Text: true, Width: 14,
			Note: "区县为 6 位行政区划代码（前 4 位同所属市）；乡镇（街道）为 9 位代码（前 6 位为所属区县代码）；网格为 1–20 位字母、数字或短横线", Example: "G04"},
		{Title: colUnitName, Required: true, Width: 24, Note: "不超过 100 个字", Example: "第四网格"},
		{Title: colUnitParent, Required: true, Text: true, Width: 16, Note: "上级单位的代码：区县填市代码，乡镇（街道）填区县代码，网格填乡镇（街道）代码", Example: "339901002"},
		{Title: colUnitSort, Note: "同级单位的显示顺序，整数，可留空", Example: "4"},
	},
}

var enterpriseSheet = sheet.Spec{
	Sheet: "企业",
	Notes: []string{
		"经纬度使用 WGS84 坐标（GPS 坐标），须同时填写或同时留空。",
		"只能为您管辖的乡镇（街道）导入企业；统一社会信用代码不能与已有企业或本文件中其他行重复。",
	},
	Columns: []sheet.Column{
		{Title: colEntName, Required: true, Width: 30, Note: "不超过 200 个字", Example: "临江港务危险品仓储有限公司"},
		{Title: colEntCredit, Required: true, Text: true, Width: 22, Note: "18 位统一社会信用代码（GB 32100），系统校验第 18 位校验码", Example: "91339901MA2100000X"},
		{Title: colEntIndustry, Width: 18, Note: "行业名称，不超过 100 个字", Example: "危险化学品仓储"},
		{Title: colEntTownship, Required: true, Text: true, Width: 20, Note: "所属乡镇（街道）的 9 位代码", Example: "339901002"},
		{Title: colEntGrid, Text: true, Width: 14, Note: "所属网格在该乡镇（街道）内的编号，可留空", Example: "G01"},
		{Title: colEntAddress, Width: 30, Note: "不超过 200 个字", Example: "临港化工园区海港路 2 号"},
		{Title: colEntLat, Width: 12, Note: "WGS84 纬度，如 30.2231", Example: "30.2231"},
		{Title: colEntLng, Width: 12, Note: "WGS84 经度，如 120.3512", Example: "120.3512"},
		{Title: colEntHazchem, Options: sheet.YesNo, Note: "是否生产、储存、使用或经营危险化学品，留空为否", Example: sheet.Yes},
		{Title: colEntMajor, Options: sheet.YesNo, Note: "是否构成重大危险源，留空为否", Example: sheet.No},
		{Title: colEntLegal, Width: 12, Note: "不超过 50 个字", Example: "王建国"},
		{Title: colEntPhone, Text: true, Width: 16, Note: "11 位手机号，或带区号的固定电话（如 0571-88888888）", Example: "0571-86100000"},
	},
}

var userSheet = sheet.Spec{
	Sheet: "用户",
	Notes: []string{
		"按角色填写所属：企业安全员、企业负责人填所属企业统一社会信用代码；救援队员填所属救援队伍名称；其他角色填所属单位代码。",
		"网格的单位代码写作“乡镇（街道）代码/网格编号”，如 339901002/G01。",
		"用户首次登录时须修改初始密码。导出的文件不含密码，再次导入前请填写初始密码；密码首尾的空格会被忽略。",
		"只能在您管辖范围内创建用户，且不能授予比自己更高的管理角色。",
	},
	Columns: []sheet.Column{
		{Title: colUserUsername, Required: true, Width: 16, Note: "3–32 位小写字母、数字或 _ . -，以字母开头，全系统唯一", Example: "grid04"},
		{Title: colUserName, Required: true, Width: 12, Note: "不超过 50 个字", Example: "李网格"},
		{Title: colUserPhone, Text: true, Width: 16, Note: "11 位手机号，可留空", Example: "13957110099"},
		{Title: colUserRole, Required: true, Width: 20, Options: importRoleNames(), Note: "从下拉列表中选择；也可填角色代码，如 grid_worker", Example: yingji.RoleGridWorker.Name()},
		{Title: colUserUnit, Text: true, Width: 18, Note: "所属单位代码；网格写作“乡镇（街道）代码/网格编号”", Example: "339901002/G01"},
		{Title: colUserEnterprise, Text: true, Width: 24, Note: "仅企业安全员、企业负责人填写", Example: ""},
		{Title: colUserTeam, Width: 24, Note: "仅救援队员填写：救援队伍名称", Example: ""},
		{Title: colUserPassword, Width: 16, Note: "初始密码：至少 8 位，须同时包含字母和数字，不能与用户名相同", Example: "Linjiang2026"},
	},
}

var auditSheet = sheet.Spec{
	Sheet: "审计日志",
	Columns: []sheet.Column{
		{Title: "时间", Width: 20, Note: "北京时间"},
		{Title: "用户名", Width: 14},
		{Title: "用户ID", Width: 38},
		{Title: "IP 地址", Width: 16},
		{Title: "操作", Width: 24},
		{Title: "对象类型", Width: 12},
		{Title: "对象ID", Width: 38},
		{Title: "结果", Width: 8},
		{Title: "请求编号", Width: 38},
		{Title: "详情", Width: 60},
	},
}

// Fields of domain errors → the columns they are read from.
var (
	unitColumns = map[string]string{"level": colUnitLevel, "code": colUnitCode, "name": colUnitName, "parent_id": colUnitParent, "sort": colUnitSort}
	entColumns  = map[string]string{"name": colEntName, "credit_code": colEntCredit, "industry": colEntIndustry,
		"township_id": colEntTownship, "grid_id": colEntGrid, "address": colEntAddress, "lat": colEntLat, "lng": colEntLng,
		"legal_person": colEntLegal, "phone": colEntPhone}
	userColumns = map[string]string{"username": colUserUsername, "name": colUserName, "phone": colUserPhone, "role": colUserRole,
		"org_unit_id": colUserUnit, "enterprise_id": colUserEnterprise, "team_id": colUserTeam, "password": colUserPassword}
)

var (
	unitExportQuery = []Param{{"parent_id", "string", "上级单位"}, {"level", "string", "层级：city、district、township、grid"},
		{"code", "string", "代码（精确）"}, {"q", "string", "名称包含"}, {"subtree", "string", "单位 ID：只导出该单位及其下级"}}
	enterpriseExportQuery = []Param{{"q", "string", "名称或统一社会信用代码包含"}, {"township_id", "string", "所属乡镇（街道）ID"},
		{"grid_id", "string", "所属网格 ID"}, {"industry", "string", "行业"}, {"hazardous_chemicals", "boolean", "是否涉及危险化学品"},
		{"major_hazard", "boolean", "是否重大危险源"}, {"sort", "string", "排序字段，前缀 - 表示倒序"}}
	userExportQuery = []Param{{"q", "string", "用户名或姓名包含"}, {"role", "string", "角色代码"},
		{"org_unit_id", "string", "所属单位"}, {"enterprise_id", "string", "所属企业"}, {"disabled", "boolean", "是否停用"},
		{"sort", "string", "排序字段，前缀 - 表示倒序"}}
)

func (s *Server) importRoutes() {
	xlsx := sheet.ContentType
	s.route(Op{Method: http.MethodGet, Path: "/org-units/template.xlsx", Tag: "org", Summary: "下载组织机构导入模板（Excel）",
		Produces: xlsx}, s.xlsxTemplate(unitSheet, "组织机构导入模板", "org-units-template"))
	s.route(Op{Method: http.MethodPost, Path: "/org-units/import", Tag: "org",
		Summary: "从 Excel 导入组织机构：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列",
		Upload:  true, Resp: ImportResult{}}, s.importUnits)
	s.route(Op{Method: http.MethodGet, Path: "/org-units/export.xlsx", Tag: "org", Summary: "导出组织机构（Excel，格式同导入模板）",
		Query: unitExportQuery, Produces: xlsx}, s.exportUnits)

	s.route(Op{Method: http.MethodGet, Path: "/enterprises/template.xlsx", Tag: "enterprises", Summary: "下载企业导入模板（Excel）",
		Produces: xlsx}, s.xlsxTemplate(enterpriseSheet, "企业导入模板", "enterprises-template"))
	s.route(Op{Method: http.MethodPost, Path: "/enterprises/import", Tag: "enterprises",
		Summary: "从 Excel 导入企业：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列",
		Upload:  true, Resp: ImportResult{}}, s.importEnterprises)
	s.route(Op{Method: http.MethodGet, Path: "/enterprises/export.xlsx", Tag: "enterprises", Summary: "导出企业（Excel，格式同导入模板）",
		Query: enterpriseExportQuery, Produces: xlsx}, s.exportEnterprises)

	s.route(Op{Method: http.MethodGet, Path: "/users/template.xlsx", Tag: "users", Summary: "下载用户导入模板（Excel）",
		Produces: xlsx}, s.xlsxTemplate(userSheet, "用户导入模板", "users-template"))
	s.route(Op{Method: http.MethodPost, Path: "/users/import", Tag: "users",
		Summary: "从 Excel 导入用户：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列",
		Upload:  true, Resp: ImportResult{}}, s.importUsers)
	s.route(Op{Method: http.MethodGet, Path: "/users/export.xlsx", Tag: "users", Summary: "导出用户（Excel，格式同导入模板，不含密码）",
		Query: userExportQuery, Produces: xlsx}, s.exportUsers)

	s.route(Op{Method: http.MethodGet, Path: "/audit/export.xlsx", Tag: "audit", Summary: "导出审计日志（Excel，最多 100000 条）",
		Query: append(append([]Param{}, auditQuery...), Param{"sort", "string", "排序字段，前缀 - 表示倒序"}), Produces: xlsx}, s.exportAudit)
}

// ---- upload ----

// importUpload reads the multipart "file" field, at most MaxImportBytes of it.
func (s *Server) importUpload(c echo.Context) ([]byte, error) {
	limit := s.cfg.MaxImportBytes
	tooLarge := yingji.Errorf(yingji.ETOOLARGE, "import.too_large", "导入文件超过上限 %s，请分批导入", humanBytes(limit)).
		WithData(map[string]any{"limit_bytes": limit})
	noFile := yingji.Errorf(yingji.EINVALID, "import.no_file", "请以 multipart/form-data 格式上传 Excel 文件，表单字段名为 file")
	const overhead = 64 << 10 // boundaries, part headers, other fields
	req := c.Request()
	if req.ContentLength > limit+overhead {
		return nil, tooLarge
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit+overhead)
	mr, err := req.MultipartReader()
	if err != nil {
		return nil, noFile
	}
	var mbe *http.MaxBytesError
	for {
		part, err := mr.NextPart()
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		if err != nil {
			return nil, noFile
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		part.Close()
		switch {
		case errors.As(err, &mbe) || int64(len(data)) > limit:
			return nil, tooLarge
		case err != nil:
			return nil, noFile
		}
		return data, nil
	}
}

// importRows reads the uploaded workbook's rows.
func (s *Server) importRows(c echo.Context, spec sheet.Spec, maxRows int) ([]*sheet.Row, error) {
	data, err := s.importUpload(c)
	if err != nil {
		return nil, err
	}
	return sheet.Read(bytes.NewReader(data), spec, sheet.Limits{MaxRows: maxRows, MaxUnzipped: max(sheet.DefaultMaxUnzipped, 10*s.cfg.MaxImportBytes)})
}

// failImportCell records a coded domain error on the row, in the column its field is read from
// (fallback when it names none). Other errors are returned.
func failImportCell(r *sheet.Row, err error, columns map[string]string, fallback string) error {
	var e *yingji.Error
	if !errors.As(err, &e) || e.Kind == yingji.EINTERNAL {
		return err
	}
	r.Fail(importErrColumn(e, columns, fallback), "%s", e.Message)
	return nil
}

func importErrColumn(e *yingji.Error, columns map[string]string, fallback string) string {
	if m, ok := e.Data.(map[string]any); ok {
		if f, ok := m["field"].(string); ok && columns[f] != "" {
			return columns[f]
		}
	}
	return fallback
}

// importBatchError turns a service's refusal of batch item i into the error of row i.
func importBatchError(err error, rows []*sheet.Row, columns map[string]string, fallback string) error {
	var e *yingji.Error
	if !errors.As(err, &e) || e.Kind == yingji.EINTERNAL {
		return err
	}
	m, _ := e.Data.(map[string]any)
	i, ok := m["index"].(int)
	if !ok || i < 0 || i >= len(rows) {
		return err
	}
	r := rows[i]
	r.Fail(importErrColumn(e, columns, fallback), "%s", strings.TrimPrefix(e.Message, fmt.Sprintf("第 %d 条：", i+1)))
	return sheet.Invalid(r.Errors())
}

// ---- org units ----

func importLevel(s string) (org.Level, bool) {
	for _, l := range org.Levels {
		if strings.EqualFold(s, string(l)) || s == l.Name() {
			return l, true
		}
	}
	switch s {
	case "市级":
		return org.LevelCity, true
	case "区", "县", "区/县", "区县级":
		return org.LevelDistrict, true
	case "乡镇", "街道", "乡镇/街道", "乡镇(街道)":
		return org.LevelTownship, true
	}
	return "", false
}

// unitsByImportKey indexes units by code; a grid, whose code is local to its township, by
// "township code/grid code".
func unitsByImportKey(units []org.Unit) map[string]org.Unit {
	byID := make(map[string]org.Unit, len(units))
	for _, u := range units {
		byID[u.ID] = u
	}
	out := make(map[string]org.Unit, len(units))
	for _, u := range units {
		out[importKey(u, byID)] = u
	}
	return out
}

func importKey(u org.Unit, byID map[string]org.Unit) string {
	if u.Level == org.LevelGrid {
		return byID[u.ParentID].Code + "/" + u.Code
	}
	return u.Code
}

func (s *Server) importUnits(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermOrgWrite); err != nil {
		return err
	}
	rows, err := s.importRows(c, unitSheet, maxUnitImportRows)
	if err != nil {
		return err
	}
	existing, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	known := unitsByImportKey(existing) // grows with the file's units
	inFile := map[string]int{}          // key → row number
	orphan := map[string]bool{}         // ids of file units under an unknown parent: no scope to check
	units := make([]org.Unit, 0, len(rows))
	for _, r := range rows {
		u := org.Unit{ID: yingji.NewID(), Code: r.Text(colUnitCode), Name: r.Text(colUnitName), Sort: r.Int(colUnitSort)}
		u.Normalize()
		level, levelOK := importLevel(r.Text(colUnitLevel))
		switch {
		case r.Blank(colUnitLevel):
			r.Fail(colUnitLevel, "请填写层级（%s）", strings.Join(importLevelNames()[1:], "、"))
		case !levelOK:
			r.Fail(colUnitLevel, "层级“%s”无效，应为%s", r.Text(colUnitLevel), strings.Join(importLevelNames()[1:], "、"))
		}
		u.Level = level
		var parent *org.Unit
		parentOK := true
		if code := r.Text(colUnitParent); code != "" {
			if p, ok := known[code]; ok {
				parent = &p
				u.ParentID = p.ID
			} else {
				parentOK = false
				r.Fail(colUnitParent, "上级单位代码“%s”不存在或不在您的管辖范围内；本文件中新增的上级单位须排在本行之前", code)
			}
		}
		if levelOK && parentOK {
			if err := u.Validate(parent); err != nil {
				if err := failImportCell(r, err, unitColumns, colUnitCode); err != nil {
					return err
				}
			} else if parent == nil {
				r.Fail(colUnitLevel, "不能导入市级单位")
			} else if !a.InSubtree(parent.Path) && !orphan[parent.ID] {
				r.Fail(colUnitParent, "无权在“%s”下新增单位：不在您的管辖范围内", parent.Name)
			}
		}
		if !levelOK || u.Code == "" || (level == org.LevelGrid && parent == nil) {
			units = append(units, u)
			continue
		}
		key := u.Code
		if level == org.LevelGrid {
			key = parent.Code + "/" + u.Code
		}
		if n, dup := inFile[key]; dup {
			r.Fail(colUnitCode, "代码“%s”与第 %d 行重复", u.Code, n)
		} else if _, exists := known[key]; exists {
			if level == org.LevelGrid {
				r.Fail(colUnitCode, "网格编号“%s”在“%s”内已存在", u.Code, parent.Name)
			} else {
				r.Fail(colUnitCode, "代码“%s”已存在", u.Code)
			}
		} else {
			parentPath := ""
			if parent != nil {
				parentPath = parent.Path
			}
			u.Path = org.ChildPath(parentPath, u.ID)
			known[key], inFile[key] = u, r.Num
			orphan[u.ID] = !parentOK || (parent != nil && orphan[parent.ID])
		}
		units = append(units, u)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	for i := range units {
		units[i].Path = "" // the service derives it
	}
	if err := s.Org.ImportUnits(ctx, a, units); err != nil {
		return importBatchError(err, rows, unitColumns, colUnitCode)
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(units)})
}

// ---- enterprises ----

func (s *Server) importEnterprises(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermEnterpriseWrite); err != nil {
		return err
	}
	rows, err := s.importRows(c, enterpriseSheet, maxEnterpriseImportRows)
	if err != nil {
		return err
	}
	units, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	known := unitsByImportKey(units)
	taken := map[string]string{} // credit code → name of the enterprise holding it
	if err := s.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		taken[e.CreditCode] = e.Name
		return nil
	}); err != nil {
		return err
	}
	inFile := map[string]int{}
	batch := make([]org.Enterprise, 0, len(rows))
	for _, r := range rows {
		e := org.Enterprise{Name: r.Text(colEntName), CreditCode: r.Text(colEntCredit), Industry: r.Text(colEntIndustry),
			Address: r.Text(colEntAddress), Lat: r.Float(colEntLat), Lng: r.Float(colEntLng),
			HazardousChemicals: r.Bool(colEntHazchem), MajorHazard: r.Bool(colEntMajor),
			LegalPerson: r.Text(colEntLegal), Phone: r.Text(colEntPhone)}
		var town, grid *org.Unit
		tcode, gcode := r.Text(colEntTownship), r.Text(colEntGrid)
		switch t, ok := known[tcode]; {
		case tcode == "":
			r.Fail(colEntTownship, "请填写所属乡镇（街道）代码")
		case !ok:
			r.Fail(colEntTownship, "乡镇（街道）代码“%s”不存在或不在您的管辖范围内", tcode)
		default:
			town = &t
		}
		if town != nil && gcode != "" {
			if g, ok := known[town.Code+"/"+gcode]; ok {
				grid = &g
			} else {
				r.Fail(colEntGrid, "“%s”下没有编号为“%s”的网格", town.Name, gcode)
			}
		}
		e.TownshipID = "?" // resolved below; lets Validate check the other fields
		e.Normalize()
		if err := e.Validate(); err != nil {
			if err := failImportCell(r, err, entColumns, colEntName); err != nil {
				return err
			}
		}
		if code := e.CreditCode; code != "" && org.ValidateCreditCode(code) == nil {
			if n, dup := inFile[code]; dup {
				r.Fail(colEntCredit, "统一社会信用代码“%s”与第 %d 行重复", code, n)
			} else if name, ok := taken[code]; ok {
				r.Fail(colEntCredit, "统一社会信用代码“%s”已被企业“%s”使用", code, name)
			} else {
				inFile[code] = r.Num
			}
		}
		if town != nil && (grid != nil || gcode == "") {
			if err := e.Place(*town, grid); err != nil {
				if err := failImportCell(r, err, entColumns, colEntTownship); err != nil {
					return err
				}
			} else if !a.InSubtree(e.OrgPath) {
				r.Fail(colEntTownship, "无权为“%s”导入企业：不在您的管辖范围内", town.Name)
			}
			e.TownshipID = town.ID
			if grid != nil {
				e.GridID = grid.ID
			}
		}
		batch = append(batch, e)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	if err := s.Org.ImportEnterprises(ctx, a, batch); err != nil {
		return importBatchError(err, rows, entColumns, colEntName)
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(batch)})
}

// eachEnterprise pages through the enterprises the actor may read.
func (s *Server) eachEnterprise(ctx context.Context, a *yingji.Actor, f org.EnterpriseFilter, p yingji.ListParams, fn func(org.Enterprise) error) error {
	p.PageSize = yingji.MaxPageSize
	for p.Page = 1; ; p.Page++ {
		page, err := s.Org.ListEnterprises(ctx, a, f, p)
		if err != nil {
			return err
		}
		for _, e := range page.Items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
			return nil
		}
	}
}

// ---- users ----

// userAssignmentColumn is the column naming what a user of the role is assigned to.
func userAssignmentColumn(r yingji.Role) string {
	switch r.ScopeKind() {
	case yingji.ScopeEnterprise:
		return colUserEnterprise
	case yingji.ScopeTeam:
		return colUserTeam
	}
	return colUserUnit
}

func (s *Server) importUsers(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermUserWrite); err != nil {
		return err
	}
	rows, err := s.importRows(c, userSheet, maxUserImportRows)
	if err != nil {
		return err
	}
	units, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	unitsByKey := unitsByImportKey(units)
	teams, err := s.Org.ListTeams(ctx, a, org.TeamFilter{})
	if err != nil {
		return err
	}
	teamsByName := map[string][]org.Team{}
	for _, t := range teams {
		teamsByName[t.Name] = append(teamsByName[t.Name], t)
	}
	enterprises := map[string]*org.Enterprise{} // by credit code; nil when not found
	findEnterprise := func(code string) (*org.Enterprise, error) {
		if e, ok := enterprises[code]; ok {
			return e, nil
		}
		enterprises[code] = nil
		err := s.eachEnterprise(ctx, a, org.EnterpriseFilter{Q: code}, yingji.ListParams{}, func(e org.Enterprise) error {
			if e.CreditCode == code {
				enterprises[code] = &e
			}
			return nil
		})
		return enterprises[code], err
	}
	taken := map[string]bool{}
	for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
		page, err := s.Accounts.ListUsers(ctx, a, account.UserFilter{}, p)
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			taken[u.Username] = true
		}
		if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
			break
		}
	}

	type job struct {
		in      account.NewUser
		prepare bool
		user    account.User
		err     error
	}
	jobs := make([]job, len(rows))
	inFile := map[string]int{}
	for i, r := range rows {
		in := account.NewUser{Username: r.Text(colUserUsername), Name: r.Text(colUserName), Phone: r.Text(colUserPhone),
			Password: r.Text(colUserPassword)}
		role, roleOK := yingji.RoleByName(r.Text(colUserRole))
		switch {
		case r.Blank(colUserRole):
			r.Fail(colUserRole, "请填写角色")
		case !roleOK:
			r.Fail(colUserRole, "角色“%s”无效，请从下拉列表中选择", r.Text(colUserRole))
		}
		in.Role = role
		resolved := roleOK
		if roleOK {
			col := userAssignmentColumn(role)
			ref := r.Text(col)
			switch kind := role.ScopeKind(); {
			case ref == "":
				r.Fail(col, "%s须填写%s", role.Name(), col)
				resolved = false
			case kind == yingji.ScopeEnterprise:
				e, err := findEnterprise(org.NormalizeCreditCode(ref))
				if err != nil {
					return err
				}
				if e == nil {
					r.Fail(col, "统一社会信用代码为“%s”的企业不存在或不在您的管辖范围内", ref)
					resolved = false
				} else {
					in.EnterpriseID = e.ID
				}
			case kind == yingji.ScopeTeam:
				switch ts := teamsByName[ref]; len(ts) {
				case 0:
					r.Fail(col, "救援队伍“%s”不存在或不在您的管辖范围内", ref)
					resolved = false
				case 1:
					in.TeamID = ts[0].ID
				default:
					r.Fail(col, "有 %d 支救援队伍名为“%s”，无法确定是哪一支", len(ts), ref)
					resolved = false
				}
			default:
				if u, ok := unitsByKey[ref]; ok {
					in.OrgUnitID = u.ID
				} else {
					r.Fail(col, "单位代码“%s”不存在或不在您的管辖范围内（网格写作“乡镇（街道）代码/网格编号”）", ref)
					resolved = false
				}
			}
		}
		if name := strings.ToLower(in.Username); name != "" {
			if n, dup := inFile[name]; dup {
				r.Fail(colUserUsername, "用户名“%s”与第 %d 行重复", name, n)
			} else if taken[name] {
				r.Fail(colUserUsername, "用户名“%s”已存在", name)
			} else {
				inFile[name] = r.Num
			}
		}
		if in.Password == "" {
			r.Fail(colUserPassword, "请填写初始密码")
			resolved = false
		}
		jobs[i] = job{in: in, prepare: resolved}
		if !resolved {
			// Check what does not depend on the assignment, so the row's other errors show too.
			u := account.User{Username: in.Username, Name: in.Name, Phone: in.Phone, Role: yingji.RoleGridWorker,
				OrgUnitID: "?", EnterpriseID: "?", TeamID: "?"}
			u.Normalize()
			if err := u.Validate(); err != nil {
				if err := failImportCell(r, err, userColumns, colUserUsername); err != nil {
					return err
				}
			}
			if in.Password != "" {
				if err := s.Accounts.Config.Policy.Check(u.Username, in.Password); err != nil {
					if err := failImportCell(r, err, userColumns, colUserPassword); err != nil {
						return err
					}
				}
			}
		}
	}

	// Preparing hashes each password, so rows are prepared a few at a time in parallel.
	var wg sync.WaitGroup
	sem := make(chan struct{}, userPrepareWorkers)
	for i := range jobs {
		if !jobs[i].prepare {
			continue
		}
		wg.Add(1)
		go func(j *job) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			j.user, j.err = s.Accounts.PrepareUser(ctx, a, j.in)
		}(&jobs[i])
	}
	wg.Wait()
	users := make([]account.User, 0, len(jobs))
	for i, j := range jobs {
		if j.err != nil {
			fallback := userAssignmentColumn(j.in.Role)
			if yingji.ErrorCode(j.err) == "user.role_too_high" {
				fallback = colUserRole
			}
			if err := failImportCell(rows[i], j.err, userColumns, fallback); err != nil {
				return err
			}
		}
		users = append(users, j.user)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	if err := s.Accounts.CreateUsers(ctx, a, users); err != nil {
		if yingji.ErrorKind(err) == yingji.ECONFLICT {
			return yingji.Errorf(yingji.ECONFLICT, "import.duplicate_username",
				"有用户名已被您管辖范围以外的账号使用，未导入任何数据；请更换用户名后重试")
		}
		return err
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(users)})
}

// ---- exports ----

// xlsxTemplate serves an empty workbook of the spec.
func (s *Server) xlsxTemplate(spec sheet.Spec, name, ascii string) echo.HandlerFunc {
	return func(c echo.Context) error {
		w, err := sheet.NewWriter(spec)
		if err != nil {
			return err
		}
		defer w.Close()
		return sendWorkbook(c, w, name+".xlsx", ascii+".xlsx")
	}
}

// sendWorkbook answers with the workbook as a download.
func sendWorkbook(c echo.Context, w *sheet.Writer, filename, ascii string) error {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, attachmentDisposition(filename, ascii))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, sheet.ContentType, buf.Bytes())
}

// attachmentDisposition names a download: an ASCII fallback, and the UTF-8 name (RFC 6266, 5987).
func attachmentDisposition(name, ascii string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, b.String())
}

// exportName is a dated download name.
func (s *Server) exportName(zh, ascii string) (string, string) {
	now := time.Now
	if s.Audit != nil && s.Audit.Now != nil {
		now = s.Audit.Now
	}
	d := now().In(shanghai).Format("20060102-150405")
	return zh + "_" + d + ".xlsx", ascii + "_" + d + ".xlsx"
}

// recordExport audits an export with its filters.
func (s *Server) recordExport(c echo.Context, action, objType string, n int, truncated bool) {
	s.Audit.Record(c.Request().Context(), actor(c), yingji.Event{Action: action, ObjectType: objType, Result: "ok",
		Detail: map[string]any{"count": n, "truncated": truncated, "query": c.QueryParams()}})
}

func exportTruncatedNote(total int) string {
	return fmt.Sprintf("共 %d 条记录，超过单次导出上限 %d 条，只导出了前 %d 条；请缩小筛选范围后分批导出。", total, maxExportRows, maxExportRows)
}

func (s *Server) exportUnits(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f := org.UnitFilter{Q: c.QueryParam("q"), Level: org.Level(c.QueryParam("level")), ParentID: c.QueryParam("parent_id"),
		Code: c.QueryParam("code")}
	if f.Level != "" && !f.Level.Valid() {
		return yingji.Invalid("request.bad_query", "level", "查询参数 level 应为 city、district、township 或 grid")
	}
	if id := c.QueryParam("subtree"); id != "" {
		root, err := s.Org.GetUnit(ctx, a, id)
		if err != nil {
			return err
		}
		f.Subtree = root.Path
	}
	all, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	units := all
	if f != (org.UnitFilter{}) {
		if units, err = s.Org.ListUnits(ctx, a, f); err != nil {
			return err
		}
	}
	byID := make(map[string]org.Unit, len(all))
	for _, u := range all {
		byID[u.ID] = u
	}
	// Parents before children, so the file imports again.
	sort.SliceStable(units, func(i, j int) bool {
		return strings.Count(units[i].Path, "/") < strings.Count(units[j].Path, "/")
	})
	w, err := sheet.NewWriter(unitSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated := len(units) > maxExportRows
	if truncated {
		w.Note(exportTruncatedNote(len(units)))
		units = units[:maxExportRows]
	}
	for _, u := range units {
		if err := w.Add(u.Level.Name(), u.Code, u.Name, byID[u.ParentID].Code, u.Sort); err != nil {
			return err
		}
	}
	s.recordExport(c, "org_unit.export", org.ObjectUnit, w.Rows(), truncated)
	zh, ascii := s.exportName("组织机构", "org-units")
	return sendWorkbook(c, w, zh, ascii)
}

func (s *Server) exportEnterprises(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f := org.EnterpriseFilter{Q: c.QueryParam("q"), TownshipID: c.QueryParam("township_id"), GridID: c.QueryParam("grid_id"),
		Industry: c.QueryParam("industry")}
	var err error
	if f.HazardousChemicals, err = boolQuery(c, "hazardous_chemicals"); err != nil {
		return err
	}
	if f.MajorHazard, err = boolQuery(c, "major_hazard"); err != nil {
		return err
	}
	units, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	byID := make(map[string]org.Unit, len(units))
	for _, u := range units {
		byID[u.ID] = u
	}
	w, err := sheet.NewWriter(enterpriseSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	errFull := errors.New("full")
	err = s.eachEnterprise(ctx, a, f, yingji.ListParams{Sort: c.QueryParam("sort")}, func(e org.Enterprise) error {
		if w.Rows() >= maxExportRows {
			return errFull
		}
		grid := ""
		if e.GridID != "" {
			grid = byID[e.GridID].Code
		}
		return w.Add(e.Name, e.CreditCode, e.Industry, byID[e.TownshipID].Code, grid, e.Address, e.Lat, e.Lng,
			e.HazardousChemicals, e.MajorHazard, e.LegalPerson, e.Phone)
	})
	truncated := errors.Is(err, errFull)
	if err != nil && !truncated {
		return err
	}
	if truncated {
		w.Note(fmt.Sprintf("超过单次导出上限 %d 条，只导出了前 %d 条；请缩小筛选范围后分批导出。", maxExportRows, maxExportRows))
	}
	s.recordExport(c, "enterprise.export", org.ObjectEnterprise, w.Rows(), truncated)
	zh, ascii := s.exportName("企业名单", "enterprises")
	return sendWorkbook(c, w, zh, ascii)
}

func (s *Server) exportUsers(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	dis, err := boolQuery(c, "disabled")
	if err != nil {
		return err
	}
	f := account.UserFilter{Q: c.QueryParam("q"), Role: yingji.Role(c.QueryParam("role")), OrgUnitID: c.QueryParam("org_unit_id"),
		EnterpriseID: c.QueryParam("enterprise_id"), Disabled: dis}
	p := yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize, Sort: c.QueryParam("sort")}
	first, err := s.Accounts.ListUsers(ctx, a, f, p)
	if err != nil {
		return err
	}
	units, err := s.Org.ListUnits(ctx, a, org.UnitFilter{})
	if err != nil {
		return err
	}
	unitByID := make(map[string]org.Unit, len(units))
	for _, u := range units {
		unitByID[u.ID] = u
	}
	teams, err := s.Org.ListTeams(ctx, a, org.TeamFilter{})
	if err != nil {
		return err
	}
	teamName := map[string]string{}
	for _, t := range teams {
		teamName[t.ID] = t.Name
	}
	creditCode := map[string]string{}
	creditCodeOf := func(id string) (string, error) {
		if code, ok := creditCode[id]; ok {
			return code, nil
		}
		e, err := s.Org.GetEnterprise(ctx, a, id)
		if k := yingji.ErrorKind(err); err != nil && k != yingji.ENOTFOUND && k != yingji.EFORBIDDEN {
			return "", err
		}
		creditCode[id] = e.CreditCode
		return e.CreditCode, nil
	}
	w, err := sheet.NewWriter(userSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated := first.Total > maxExportRows
	if truncated {
		w.Note(exportTruncatedNote(first.Total))
	}
	for page := first; ; {
		for _, u := range page.Items {
			if w.Rows() >= maxExportRows {
				break
			}
			unit := ""
			if uu, ok := unitByID[u.OrgUnitID]; ok {
				unit = importKey(uu, unitByID)
			}
			code := ""
			if u.EnterpriseID != "" {
				if code, err = creditCodeOf(u.EnterpriseID); err != nil {
					return err
				}
			}
			if err := w.Add(u.Username, u.Name, u.Phone, u.Role.Name(), unit, code, teamName[u.TeamID], ""); err != nil {
				return err
			}
		}
		if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total || w.Rows() >= maxExportRows {
			break
		}
		p.Page++
		if page, err = s.Accounts.ListUsers(ctx, a, f, p); err != nil {
			return err
		}
	}
	s.recordExport(c, "user.export", "user", w.Rows(), truncated)
	zh, ascii := s.exportName("用户", "users")
	return sendWorkbook(c, w, zh, ascii)
}

func (s *Server) exportAudit(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	if f.To == nil {
		// Entries written while paging (this export's own, say) would shift the pages.
		now := s.Audit.Now()
		f.To = &now
	}
	w, err := sheet.NewWriter(auditSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	p := yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize, Sort: c.QueryParam("sort")}
	truncated := false
	for {
		page, err := s.Audit.List(ctx, a, f, p)
		if err != nil {
			return err
		}
		if p.Page == 1 && page.Total > maxExportRows {
			truncated = true
			w.Note(exportTruncatedNote(page.Total))
		}
		for _, e := range page.Items {
			if w.Rows() >= maxExportRows {
				break
			}
			if err := w.Add(e.At.In(shanghai).Format("2006-01-02 15:04:05"), e.Username, e.UserID, e.IP, e.Action,
				e.ObjectType, e.ObjectID, auditResultName(e.Result), e.RequestID, auditDetail(e.Detail)); err != nil {
				return err
			}
		}
		if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total || w.Rows() >= maxExportRows {
			break
		}
		p.Page++
	}
	s.recordExport(c, "audit.export", "audit", w.Rows(), truncated)
	zh, ascii := s.exportName("审计日志", "audit-log")
	return sendWorkbook(c, w, zh, ascii)
}

func auditResultName(r string) string {
	if n, ok := audit.ResultNames[r]; ok {
		return n
	}
	return r
}

// auditDetail is the detail as compact JSON, cut to what a cell holds.
func auditDetail(d json.RawMessage) string {
	if len(d) == 0 || string(d) == "{}" || string(d) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, d) != nil {
		buf.Reset()
		buf.Write(d)
	}
	s := buf.String()
	if r := []rune(s); len(r) > 32000 {
		s = string(r[:32000]) + "…"
	}
	return s
}

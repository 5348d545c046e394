package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Risk points (风险点): CRUD, Excel template/import/export, QR codes and label sheets.

// RiskPointPage is a page of risk points.
type RiskPointPage = yingji.Page[risk.RiskPoint]

// RiskPointInput creates a risk point.
type RiskPointInput struct {
	EnterpriseID  string         `json:"enterprise_id"`
	Code          string         `json:"code"`
	Name          string         `json:"name"`
	Level         risk.Level     `json:"level"`
	AccidentTypes []string       `json:"accident_types"`
	Responsible   string         `json:"responsible"`
	Location      *risk.Location `json:"location"`
	Measures      []risk.Measure `json:"measures"`
}

// RiskPointPatch changes a risk point; absent fields stay unchanged. Measures replace the list
// as a whole: send the ids of the measures that stay, none for new ones. clear_location
// removes the location. The enterprise does not change.
type RiskPointPatch struct {
	Code          *string         `json:"code"`
	Name          *string         `json:"name"`
	Level         *risk.Level     `json:"level"`
	AccidentTypes *[]string       `json:"accident_types"`
	Responsible   *string         `json:"responsible"`
	Location      *risk.Location  `json:"location"`
	ClearLocation bool            `json:"clear_location"`
	Measures      *[]risk.Measure `json:"measures"`
}

// QRKey is the public key phones verify QR tokens with (Ed25519, base64 standard encoding).
type QRKey struct {
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id"`
	Format    string `json:"format"`
}

// QRToken is the text a risk point's current QR code carries.
type QRToken struct {
	RiskPointID string `json:"risk_point_id"`
	QRVersion   int    `json:"qr_version"`
	Token       string `json:"token"`
}

// QRVerifyRequest asks the server to check a scanned token (phones check offline themselves).
type QRVerifyRequest struct {
	Token string `json:"token"`
}

const maxRiskImportRows = 10000

const (
	colRiskCredit      = "企业统一社会信用代码"
	colRiskCode        = "风险点编号"
	colRiskName        = "名称"
	colRiskLevel       = "风险等级"
	colRiskAccidents   = "事故类型"
	colRiskResponsible = "责任人"
	colRiskLat         = "纬度"
	colRiskLng         = "经度"
	colRiskMeasures    = "管控措施"
)

var riskSheet = sheet.Spec{
	Sheet: "风险点",
	Notes: []string{
		"风险点编号在同一企业内不能重复；只能为您管辖范围内的企业（企业用户为本企业）导入风险点。",
		"管控措施每行一条，格式为“类别|措施内容|隐患模板标题|隐患等级”，后两项可留空；类别为工程技术、管理、培训教育、个体防护或应急处置，隐患等级为一般或重大（留空为一般）。",
		"经纬度使用 WGS84 坐标（GPS 坐标），须同时填写或同时留空。",
	},
	Columns: []sheet.Column{
		{Title: colRiskCredit, Required: true, Text: true, Width: 22, Note: "风险点所属企业的 18 位统一社会信用代码", Example: "91339901MA2100000X"},
		{Title: colRiskCode, Required: true, Text: true, Width: 14, Note: "1–40 位字母、数字或 - _ . /，企业内唯一", Example: "FX-001"},
		{Title: colRiskName, Required: true, Width: 24, Note: "不超过 100 个字", Example: "液氨储罐区"},
		{Title: colRiskLevel, Required: true, Options: []string{"红", "橙", "黄", "蓝"}, Note: "红（重大风险）、橙（较大风险）、黄（一般风险）、蓝（低风险）", Example: "红"},
		{Title: colRiskAccidents, Width: 24, Note: "多个事故类型用顿号“、”分隔", Example: "火灾、爆炸、中毒和窒息"},
		{Title: colRiskResponsible, Width: 12, Note: "不超过 50 个字", Example: "张三"},
		{Title: colRiskLat, Width: 12, Note: "WGS84 纬度", Example: "30.2231"},
		{Title: colRiskLng, Width: 12, Note: "WGS84 经度", Example: "120.3512"},
		{Title: colRiskMeasures, Width: 60, Note: "每行一条：类别|措施内容|隐患模板标题(可空)|隐患等级(可空)",
			Example: "工程技术|储罐区设置可燃气体报警器|可燃气体报警器失效|重大\n管理|每班巡检一次||"},
	},
}

var riskColumns = map[string]string{"enterprise_id": colRiskCredit, "code": colRiskCode, "name": colRiskName, "level": colRiskLevel,
	"accident_types": colRiskAccidents, "responsible": colRiskResponsible, "lat": colRiskLat, "lng": colRiskLng, "measures": colRiskMeasures}

var riskQuery = []Param{{"enterprise_id", "string", "所属企业"}, {"level", "string", "风险等级：red、orange、yellow、blue"},
	{"q", "string", "编号或名称包含"}}

// riskAPI serves the risk point routes.
type riskAPI struct {
	*Server
	svc   *risk.Service
	fonts *risk.LabelFonts
}

// MountRisk adds the risk point routes on svc.
func (s *Server) MountRisk(svc *risk.Service) error {
	fonts, err := risk.LoadLabelFonts()
	if err != nil {
		return err
	}
	if !fonts.CJK {
		s.log.Info("no CJK font found: QR labels show the code and level in ASCII only")
	}
	r := &riskAPI{Server: s, svc: svc, fonts: fonts}
	const tag = "risk"
	xlsx := sheet.ContentType
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/qr-key", Tag: tag, Resp: QRKey{},
		Summary: "风险点二维码验签公钥（Ed25519）：移动端离线校验二维码是否真实、是否属于该风险点、是否已被重新生成作废"}, r.qrKey)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/template.xlsx", Tag: tag, Summary: "下载风险点导入模板（Excel）",
		Produces: xlsx}, s.xlsxTemplate(riskSheet, "风险点导入模板", "risk-points-template"))
	s.route(Op{Method: http.MethodPost, Path: "/risk-points/import", Tag: tag,
		Summary: "从 Excel 导入风险点：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列",
		Upload:  true, Resp: ImportResult{}}, r.importRisk)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/export.xlsx", Tag: tag, Summary: "导出风险点（Excel，格式同导入模板）",
		Query: riskQuery, Produces: xlsx}, r.exportRisk)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/labels.png", Tag: tag, Produces: "image/png",
		Query: []Param{{"enterprise_id", "string", "所属企业：打印该企业的风险点"}, {"ids", "string", "风险点 ID，逗号分隔"},
			{"page", "integer", "第几张（每张 A4 纸 12 个标签），从 1 开始"}},
		Summary: "打印风险点二维码标签：A4（300 dpi，2480×3508 像素）PNG，每张 12 个标签，含二维码、编号、名称和风险等级颜色"}, r.labels)
	s.route(Op{Method: http.MethodPost, Path: "/risk-points/qr/verify", Tag: tag, Body: QRVerifyRequest{}, Resp: risk.RiskPoint{},
		Summary: "在线校验扫描到的二维码文本，返回其风险点（离线时移动端用公钥自行校验）"}, r.verify)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points", Tag: tag, Summary: "风险点列表（管辖范围内）",
		Query: append(append([]Param{}, riskQuery...), Paging...), Resp: RiskPointPage{}}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/:id", Tag: tag, Summary: "风险点详情", Resp: risk.RiskPoint{}}, r.get)
	s.route(Op{Method: http.MethodPost, Path: "/risk-points", Tag: tag, Summary: "新建风险点",
		Body: RiskPointInput{}, Resp: risk.RiskPoint{}, Status: http.StatusCreated}, r.create)
	s.route(Op{Method: http.MethodPatch, Path: "/risk-points/:id", Tag: tag, Summary: "修改风险点",
		Body: RiskPointPatch{}, Resp: risk.RiskPoint{}}, r.update)
	s.route(Op{Method: http.MethodDelete, Path: "/risk-points/:id", Tag: tag, Summary: "删除风险点",
		Status: http.StatusNoContent}, r.delete)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/:id/qr", Tag: tag, Resp: QRToken{},
		Summary: "风险点当前二维码承载的签名文本"}, r.qrToken)
	s.route(Op{Method: http.MethodGet, Path: "/risk-points/:id/qr.png", Tag: tag, Produces: "image/png",
		Query:   []Param{{"size", "integer", "边长像素，128–2048，默认 512"}},
		Summary: "风险点二维码图片（PNG）"}, r.qrPNG)
	s.route(Op{Method: http.MethodPost, Path: "/risk-points/:id/qr/reissue", Tag: tag, Resp: QRToken{},
		Summary: "重新生成风险点二维码：版本号加一，此前打印的二维码全部作废（记入审计日志）"}, r.reissue)
	return nil
}

func (r *riskAPI) qrKey(c echo.Context) error {
	pub, kid := r.svc.PublicKey()
	return c.JSON(http.StatusOK, QRKey{Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), KeyID: kid,
		Format: "YJRP1.<base64url(payload JSON {rp,e,v,k,iat})>.<base64url(Ed25519 签名，签名对象为 payload 的 base64url 文本)>"})
}

func riskFilter(c echo.Context) risk.Filter {
	f := risk.Filter{EnterpriseID: c.QueryParam("enterprise_id"), Level: risk.Level(c.QueryParam("level")), Q: c.QueryParam("q")}
	if ids := c.QueryParam("ids"); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				f.IDs = append(f.IDs, id)
			}
		}
	}
	return f
}

func (r *riskAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := r.svc.List(c.Request().Context(), actor(c), riskFilter(c), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *riskAPI) get(c echo.Context) error {
	p, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (r *riskAPI) create(c echo.Context) error {
	var in RiskPointInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	p, err := r.svc.Create(c.Request().Context(), actor(c), risk.RiskPoint{EnterpriseID: in.EnterpriseID, Code: in.Code, Name: in.Name,
		Level: in.Level, AccidentTypes: in.AccidentTypes, Responsible: in.Responsible, Location: in.Location, Measures: in.Measures})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (r *riskAPI) update(c echo.Context) error {
	var in RiskPointPatch
	if err := r.bind(c, &in); err != nil {
		return err
	}
	ctx, a := c.Request().Context(), actor(c)
	p, err := r.svc.Get(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	patchField(&p.Code, in.Code)
	patchField(&p.Name, in.Name)
	patchField(&p.Level, in.Level)
	patchField(&p.AccidentTypes, in.AccidentTypes)
	patchField(&p.Responsible, in.Responsible)
	patchField(&p.Measures, in.Measures)
	if in.Location != nil {
		p.Location = in.Location
	}
	if in.ClearLocation {
		p.Location = nil
	}
	out, err := r.svc.Update(ctx, a, p.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (r *riskAPI) delete(c echo.Context) error {
	if err := r.svc.Delete(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *riskAPI) qrToken(c echo.Context) error {
	p, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, QRToken{RiskPointID: p.ID, QRVersion: p.QRVersion, Token: r.svc.Token(p)})
}

func (r *riskAPI) qrPNG(c echo.Context) error {
	size, err := intQuery(c, "size")
	if err != nil {
		return err
	}
	if size == 0 {
		size = 512
	}
	if size < 128 || size > 2048 {
		return yingji.Invalid("request.bad_query", "size", "查询参数 size 应在 128 到 2048 之间")
	}
	p, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	b, err := risk.QRPNG(r.svc.Token(p), size)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", b)
}

func (r *riskAPI) reissue(c echo.Context) error {
	p, tok, err := r.svc.ReissueQR(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, QRToken{RiskPointID: p.ID, QRVersion: p.QRVersion, Token: tok})
}

func (r *riskAPI) verify(c echo.Context) error {
	var in QRVerifyRequest
	if err := r.bind(c, &in); err != nil {
		return err
	}
	p, err := r.svc.Verify(c.Request().Context(), actor(c), in.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (r *riskAPI) labels(c echo.Context) error {
	f := riskFilter(c)
	f.Level, f.Q = "", ""
	if f.EnterpriseID == "" && len(f.IDs) == 0 {
		return yingji.Invalid("request.bad_query", "enterprise_id", "请指定 enterprise_id 或 ids")
	}
	page, err := intQuery(c, "page")
	if err != nil {
		return err
	}
	if page == 0 {
		page = 1
	}
	ctx, a := c.Request().Context(), actor(c)
	pts, err := r.svc.List(ctx, a, f, yingji.ListParams{Page: page, PageSize: risk.PerSheet, Sort: "code"})
	if err != nil {
		return err
	}
	if len(pts.Items) == 0 {
		return yingji.Errorf(yingji.ENOTFOUND, "risk.no_labels", "没有可打印的风险点")
	}
	labels := make([]risk.Label, len(pts.Items))
	for i, p := range pts.Items {
		labels[i] = risk.Label{Point: p, Token: r.svc.Token(p)}
	}
	b, err := r.fonts.LabelSheet(labels)
	if err != nil {
		return err
	}
	sheets := (pts.Total + risk.PerSheet - 1) / risk.PerSheet
	h := c.Response().Header()
	h.Set("X-Total-Pages", fmt.Sprint(sheets))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", b)
}

// ---- Excel ----

// parseMeasures reads the 管控措施 cell: one measure a line, "类别|措施内容|隐患模板标题|隐患等级".
func parseMeasures(cell string) ([]risk.Measure, []string) {
	var out []risk.Measure
	var errs []string
	for i, line := range strings.Split(strings.ReplaceAll(cell, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(strings.ReplaceAll(line, "｜", "|"), "|")
		for len(parts) < 4 {
			parts = append(parts, "")
		}
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		if len(parts) > 4 {
			errs = append(errs, fmt.Sprintf("第 %d 行多于 4 项（措施内容中不能含“|”）", i+1))
			continue
		}
		kind, ok := risk.KindByName(parts[0])
		if !ok {
			errs = append(errs, fmt.Sprintf("第 %d 行类别“%s”无效，应为工程技术、管理、培训教育、个体防护或应急处置", i+1, parts[0]))
			continue
		}
		if parts[1] == "" {
			errs = append(errs, fmt.Sprintf("第 %d 行缺少措施内容", i+1))
			continue
		}
		m := risk.Measure{Kind: kind, Text: parts[1]}
		if parts[2] != "" || parts[3] != "" {
			lvl := risk.HazardGeneral
			switch parts[3] {
			case "", "一般", "一般隐患", "general":
			case "重大", "重大隐患", "major":
				lvl = risk.HazardMajor
			default:
				errs = append(errs, fmt.Sprintf("第 %d 行隐患等级“%s”无效，应为一般或重大", i+1, parts[3]))
				continue
			}
			if parts[2] == "" {
				errs = append(errs, fmt.Sprintf("第 %d 行填写了隐患等级但缺少隐患模板标题", i+1))
				continue
			}
			m.HazardTemplate = &risk.HazardTemplate{Title: parts[2], Level: lvl}
		}
		out = append(out, m)
	}
	return out, errs
}

func measuresCell(ms []risk.Measure) string {
	lines := make([]string, len(ms))
	for i, m := range ms {
		title, lvl := "", ""
		if t := m.HazardTemplate; t != nil {
			title, lvl = t.Title, "一般"
			if t.Level == risk.HazardMajor {
				lvl = "重大"
			}
		}
		lines[i] = m.Kind.Name() + "|" + m.Text + "|" + title + "|" + lvl
	}
	return strings.Join(lines, "\n")
}

func splitAccidentTypes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '、' || r == ',' || r == '，' || r == ';' || r == '；' })
}

func (r *riskAPI) importRisk(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermRiskWrite); err != nil {
		return err
	}
	rows, err := r.importRows(c, riskSheet, maxRiskImportRows)
	if err != nil {
		return err
	}
	ents := map[string]org.Enterprise{} // by credit code: those the actor may read
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		ents[e.CreditCode] = e
		return nil
	}); err != nil {
		return err
	}
	taken := map[string]bool{} // enterprise id + "\x00" + code
	for _, e := range ents {
		for p := (yingji.ListParams{Page: 1, PageSize: yingji.MaxPageSize}); ; p.Page++ {
			page, err := r.svc.List(ctx, a, risk.Filter{EnterpriseID: e.ID}, p)
			if err != nil {
				return err
			}
			for _, pt := range page.Items {
				taken[pt.EnterpriseID+"\x00"+pt.Code] = true
			}
			if len(page.Items) < p.PageSize || p.Page*p.PageSize >= page.Total {
				break
			}
		}
	}
	inFile := map[string]int{}
	batch := make([]risk.RiskPoint, 0, len(rows))
	for _, row := range rows {
		p := risk.RiskPoint{Code: row.Text(colRiskCode), Name: row.Text(colRiskName), AccidentTypes: splitAccidentTypes(row.Text(colRiskAccidents)),
			Responsible: row.Text(colRiskResponsible)}
		code := org.NormalizeCreditCode(row.Text(colRiskCredit))
		e, entOK := ents[code]
		switch {
		case code == "":
			row.Fail(colRiskCredit, "请填写企业统一社会信用代码")
		case !entOK:
			row.Fail(colRiskCredit, "统一社会信用代码为“%s”的企业不存在或不在您的管辖范围内", code)
		case !risk.CanWrite(a, e):
			row.Fail(colRiskCredit, "无权为企业“%s”导入风险点", e.Name)
		}
		p.EnterpriseID = e.ID
		if p.EnterpriseID == "" {
			p.EnterpriseID = "?" // lets Validate check the other fields
		}
		lvl, lvlOK := risk.LevelByName(row.Text(colRiskLevel))
		if !lvlOK {
			if row.Blank(colRiskLevel) {
				row.Fail(colRiskLevel, "请填写风险等级（红、橙、黄、蓝）")
			} else {
				row.Fail(colRiskLevel, "风险等级“%s”无效，应为红、橙、黄或蓝", row.Text(colRiskLevel))
			}
			lvl = risk.LevelBlue
		}
		p.Level = lvl
		lat, lng := row.Float(colRiskLat), row.Float(colRiskLng)
		switch {
		case (lat == nil) != (lng == nil):
			row.Fail(colRiskLat, "经度和纬度须同时填写或同时留空")
		case lat != nil:
			p.Location = &risk.Location{Lat: *lat, Lng: *lng}
		}
		ms, merrs := parseMeasures(row.Text(colRiskMeasures))
		for _, m := range merrs {
			row.Fail(colRiskMeasures, "%s", m)
		}
		p.Measures = ms
		p.Normalize()
		if err := p.Validate(); err != nil {
			if err := failImportCell(row, err, riskColumns, colRiskCode); err != nil {
				return err
			}
		}
		if entOK && p.Code != "" {
			key := e.ID + "\x00" + p.Code
			if n, dup := inFile[key]; dup {
				row.Fail(colRiskCode, "风险点编号“%s”与第 %d 行重复", p.Code, n)
			} else if taken[key] {
				row.Fail(colRiskCode, "风险点编号“%s”在企业“%s”内已存在", p.Code, e.Name)
			} else {
				inFile[key] = row.Num
			}
		}
		batch = append(batch, p)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	if err := r.svc.Import(ctx, a, batch); err != nil {
		return importBatchError(err, rows, riskColumns, colRiskCode)
	}
	return c.JSON(http.StatusOK, ImportResult{Imported: len(batch)})
}

func (r *riskAPI) exportRisk(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f := riskFilter(c)
	credit := map[string]string{}
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		credit[e.ID] = e.CreditCode
		return nil
	}); err != nil {
		return err
	}
	w, err := sheet.NewWriter(riskSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated, err := exportPages(w, func(p yingji.ListParams) (yingji.Page[risk.RiskPoint], error) {
		return r.svc.List(ctx, a, f, p)
	}, func(pt risk.RiskPoint) error {
		var lat, lng *float64
		if pt.Location != nil {
			lat, lng = &pt.Location.Lat, &pt.Location.Lng
		}
		if err := w.Add(credit[pt.EnterpriseID], pt.Code, pt.Name, pt.Level.Name(), strings.Join(pt.AccidentTypes, "、"),
			pt.Responsible, lat, lng, measuresCell(pt.Measures)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.recordExport(c, "risk_point.export", risk.ObjectRiskPoint, w.Rows(), truncated)
	zh, ascii := r.exportName("风险点", "risk-points")
	return sendWorkbook(c, w, zh, ascii)
}

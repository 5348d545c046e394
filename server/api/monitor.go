package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/yingji"
)

// Monitoring devices and points (监测设备与监测点): CRUD, thresholds, Excel template/import/export,
// readings and rollups, device health, anomalies, ingest rejects, and the HTTP ingest endpoint
// devices call with their code and secret.

// DevicePage is a page of devices.
type DevicePage = yingji.Page[monitor.Device]

// MonitorPointPage is a page of monitoring points.
type MonitorPointPage = yingji.Page[monitor.Point]

// DeviceInput creates a device.
type DeviceInput struct {
	EnterpriseID      string             `json:"enterprise_id"`
	Code              string             `json:"code"`
	Name              string             `json:"name"`
	Category          monitor.Category   `json:"category"`
	Kind              monitor.DeviceKind `json:"kind"`
	Lat               *float64           `json:"lat"`
	Lng               *float64           `json:"lng"`
	HeartbeatTimeoutS int                `json:"heartbeat_timeout_s"`
	Disabled          bool               `json:"disabled"`
}

// DevicePatch changes a device; absent fields stay. clear_location removes the location.
type DevicePatch struct {
	Code              *string             `json:"code"`
	Name              *string             `json:"name"`
	Category          *monitor.Category   `json:"category"`
	Kind              *monitor.DeviceKind `json:"kind"`
	Lat               *float64            `json:"lat"`
	Lng               *float64            `json:"lng"`
	ClearLocation     bool                `json:"clear_location"`
	HeartbeatTimeoutS *int                `json:"heartbeat_timeout_s"`
	Disabled          *bool               `json:"disabled"`
}

// DeviceCreated answers a new device with its secret, shown this once.
type DeviceCreated struct {
	Device monitor.Device `json:"device"`
	Secret string         `json:"secret"`
}

// DeviceSecret is a device's new secret, shown this once.
type DeviceSecret struct {
	Secret string `json:"secret"`
}

// MonitorPointInput creates a point. Without thresholds the kind's defaults apply (an empty
// list means none); without quality the default checks apply.
type MonitorPointInput struct {
	DeviceID        string                  `json:"device_id"`
	Code            string                  `json:"code"`
	Name            string                  `json:"name"`
	Kind            monitor.PointKind       `json:"kind"`
	Unit            string                  `json:"unit"`
	RangeMin        *float64                `json:"range_min"`
	RangeMax        *float64                `json:"range_max"`
	SamplingPeriodS int                     `json:"sampling_period_s"`
	Thresholds      []monitor.ThresholdRule `json:"thresholds"`
	Quality         *monitor.QualityConfig  `json:"quality"`
	Disabled        bool                    `json:"disabled"`
}

// MonitorPointPatch changes a point; absent fields stay. clear_range removes the range.
type MonitorPointPatch struct {
	Code            *string                  `json:"code"`
	Name            *string                  `json:"name"`
	Kind            *monitor.PointKind       `json:"kind"`
	Unit            *string                  `json:"unit"`
	RangeMin        *float64                 `json:"range_min"`
	RangeMax        *float64                 `json:"range_max"`
	ClearRange      bool                     `json:"clear_range"`
	SamplingPeriodS *int                     `json:"sampling_period_s"`
	Thresholds      *[]monitor.ThresholdRule `json:"thresholds"`
	Quality         *monitor.QualityConfig   `json:"quality"`
	Disabled        *bool                    `json:"disabled"`
}

// ThresholdsInput replaces a point's threshold rules (null: the kind's defaults).
type ThresholdsInput struct {
	Thresholds []monitor.ThresholdRule `json:"thresholds"`
}

// MonitorKinds lists the codes the monitoring module accepts.
type MonitorKinds struct {
	Categories    map[string]string  `json:"categories"`
	DeviceKinds   map[string]string  `json:"device_kinds"`
	PointKinds    []monitor.KindInfo `json:"point_kinds"`
	RejectReasons map[string]string  `json:"reject_reasons"`
}

// PointImportResult answers an import: rows stored and the devices created with their secrets.
type PointImportResult struct {
	Imported int                      `json:"imported"`
	Devices  []monitor.ImportedDevice `json:"devices"`
}

// IngestBody is what a device posts: one message, or several under "messages".
type IngestBody struct {
	TS       any              `json:"ts"`
	Readings []IngestReading  `json:"readings"`
	Messages []IngestMessageT `json:"messages"`
}

// IngestMessageT is one message of a batch.
type IngestMessageT struct {
	TS       any             `json:"ts"`
	Readings []IngestReading `json:"readings"`
}

// IngestReading is one reading: the point's code, the value, optionally its unit and time
// (RFC 3339 or unix milliseconds).
type IngestReading struct {
	Point string  `json:"point"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	TS    any     `json:"ts"`
}

const maxPointImportRows = 20000

const (
	colMonDevCode   = "设备编码"
	colMonDevName   = "设备名称"
	colMonCredit    = "企业统一社会信用代码"
	colMonCategory  = "设备类别"
	colMonDevKind   = "设备类型"
	colMonCode      = "监测点编码"
	colMonName      = "监测点名称"
	colMonKind      = "监测类型"
	colMonUnit      = "单位"
	colMonRangeMin  = "量程下限"
	colMonRangeMax  = "量程上限"
	colMonPeriod    = "采样周期（秒）"
	colMonDirection = "报警方向"
	colMonLevel1    = "一级阈值"
	colMonLevel2    = "二级阈值"
	colMonDuration  = "报警持续时间（秒）"
)

func monitorKindNames() []string {
	out := make([]string, len(monitor.PointKinds))
	for i, k := range monitor.PointKinds {
		out[i] = k.Name
	}
	return out
}

func deviceKindNames() []string {
	out := make([]string, len(monitor.DeviceKinds))
	for i, k := range monitor.DeviceKinds {
		out[i] = k.Name()
	}
	return out
}

var pointSheet = sheet.Spec{
	Sheet: "监测点",
	Notes: []string{
		"每行一个监测点及其所属设备；同一设备的多个监测点各占一行，设备编码相同，设备名称、企业、类别和类型以第一行为准。",
		"设备编码已存在时监测点加入该设备（须属于同一企业）；不存在时新建设备，导入结果中返回新设备的密钥（只显示一次，请妥善保存）。",
		"单位须与监测类型相符：温度 ℃；压力 MPa 或 kPa；液位 m 或 %；流量 m³/h；可燃气体 %LEL；有毒气体 mg/m³ 或 ppm；氧气 %VOL；水位 m；雨量 mm；风速 m/s。",
		"一级、二级阈值都留空时采用该监测类型的默认阈值（如可燃气体一级 25 %LEL、二级 50 %LEL）；报警方向“高”为超上限报警（二级阈值应高于一级），“低”为低于下限报警（二级阈值应低于一级）。",
		"全部行校验通过才导入；只能为您管辖范围内的企业（企业用户为本企业）导入。",
	},
	Columns: []sheet.Column{
		{Title: colMonDevCode, Required: true, Text: true, Width: 16, Note: "1–64 位字母、数字或 _ . -，全平台唯一（MQTT 用户名）", Example: "GW-330102-001"},
		{Title: colMonDevName, Required: true, Width: 20, Note: "不超过 100 个字", Example: "1号罐区数据采集网关"},
		{Title: colMonCredit, Required: true, Text: true, Width: 22, Note: "设备所属企业的 18 位统一社会信用代码", Example: "91339901MA2100000X"},
		{Title: colMonCategory, Required: true, Options: []string{"危化品", "防汛防台"}, Example: "危化品"},
		{Title: colMonDevKind, Required: true, Options: deviceKindNames(), Example: "数据采集网关"},
		{Title: colMonCode, Required: true, Text: true, Width: 14, Note: "设备内唯一，设备上报数据时使用", Example: "GT-101"},
		{Title: colMonName, Required: true, Width: 20, Note: "不超过 100 个字", Example: "1号储罐可燃气体"},
		{Title: colMonKind, Required: true, Options: monitorKindNames(), Example: "可燃气体浓度"},
		{Title: colMonUnit, Width: 10, Note: "留空时取该类型的默认单位", Example: "%LEL"},
		{Title: colMonRangeMin, Width: 10, Note: "仪表量程下限", Example: "0"},
		{Title: colMonRangeMax, Width: 10, Note: "仪表量程上限，应大于下限", Example: "100"},
		{Title: colMonPeriod, Width: 12, Note: "留空为 60 秒", Example: "60"},
		{Title: colMonDirection, Options: []string{"高", "低"}, Note: "留空为“高”", Example: "高"},
		{Title: colMonLevel1, Width: 10, Note: "一级报警阈值（高报 H / 低报 L）", Example: "25"},
		{Title: colMonLevel2, Width: 10, Note: "二级报警阈值（高高报 HH / 低低报 LL），可留空", Example: "50"},
		{Title: colMonDuration, Width: 14, Note: "超过阈值持续多久才报警，留空为 0", Example: "0"},
	},
}

var pointColumns = map[string]string{"code": colMonCode, "name": colMonName, "kind": colMonKind, "unit": colMonUnit,
	"range_min": colMonRangeMin, "range_max": colMonRangeMax, "sampling_period_s": colMonPeriod, "thresholds": colMonLevel1,
	"quality": colMonCode, "enterprise_id": colMonCredit, "category": colMonCategory, "device_id": colMonDevCode}

var deviceColumns = map[string]string{"code": colMonDevCode, "name": colMonDevName, "enterprise_id": colMonCredit,
	"category": colMonCategory, "kind": colMonDevKind, "heartbeat_timeout_s": colMonDevCode, "lat": colMonDevCode}

var deviceQuery = []Param{{"enterprise_id", "string", "所属企业"}, {"category", "string", "设备类别：hazchem、flood"},
	{"kind", "string", "设备类型"}, {"online", "boolean", "是否在线"}, {"disabled", "boolean", "是否停用"}, {"q", "string", "编码或名称包含"}}

var pointQuery = []Param{{"enterprise_id", "string", "所属企业"}, {"device_id", "string", "所属设备"},
	{"category", "string", "设备类别：hazchem、flood"}, {"kind", "string", "监测类型"}, {"online", "boolean", "设备是否在线"},
	{"q", "string", "编码或名称包含"}}

// monitorAPI serves the monitoring routes.
type monitorAPI struct {
	*Server
	svc *monitor.Service
}

// MountMonitor adds the monitoring routes on m.
func (s *Server) MountMonitor(m *monitor.Service) {
	r := &monitorAPI{Server: s, svc: m}
	const tag = "监测设备"
	xlsx := sheet.ContentType
	s.route(Op{Method: http.MethodPost, Path: "/ingest/readings", Tag: tag, Public: true, Auth: AuthBasic, Body: IngestBody{}, Resp: monitor.IngestResult{},
		Summary: "设备上报监测数据（HTTP Basic 认证：用户名为设备编码，密码为设备密钥）：一条消息或 {\"messages\": [...]}；返回接收与拒收的读数及原因"}, r.ingest)
	s.route(Op{Method: http.MethodGet, Path: "/monitor/kinds", Tag: tag, Resp: MonitorKinds{},
		Summary: "监测设备类别、设备类型、监测类型（单位与默认阈值）及数据拒收原因"}, r.kinds)
	s.route(Op{Method: http.MethodGet, Path: "/monitor/anomalies", Tag: tag, Resp: yingji.Page[monitor.Anomaly]{},
		Query: append([]Param{{"enterprise_id", "string", "所属企业"}, {"device_id", "string", "设备"}, {"point_id", "string", "监测点"},
			{"kind", "string", "异常类型：range、stuck、jump、fluctuation"}, {"from", "string", "开始时间"}, {"to", "string", "结束时间"}}, Paging...),
		Summary: "数据质量异常记录（超量程、数据僵直、跳变、波动），按时间倒序"}, r.anomalies)
	s.route(Op{Method: http.MethodGet, Path: "/monitor/rejects", Tag: tag, Resp: yingji.Page[monitor.RejectCount]{},
		Query:   append([]Param{{"device_id", "string", "设备"}}, Paging...),
		Summary: "设备上报数据被拒收的次数（按设备和原因统计）"}, r.rejects)

	s.route(Op{Method: http.MethodGet, Path: "/devices", Tag: tag, Summary: "监测设备列表（管辖范围内）",
		Query: append(append([]Param{}, deviceQuery...), Paging...), Resp: DevicePage{}}, r.listDevices)
	s.route(Op{Method: http.MethodPost, Path: "/devices", Tag: tag, Summary: "新建监测设备（返回设备密钥，只显示一次）",
		Body: DeviceInput{}, Resp: DeviceCreated{}, Status: http.StatusCreated}, r.createDevice)
	s.route(Op{Method: http.MethodGet, Path: "/devices/:id", Tag: tag, Summary: "监测设备详情", Resp: monitor.Device{}}, r.getDevice)
	s.route(Op{Method: http.MethodPatch, Path: "/devices/:id", Tag: tag, Summary: "修改监测设备",
		Body: DevicePatch{}, Resp: monitor.Device{}}, r.updateDevice)
	s.route(Op{Method: http.MethodDelete, Path: "/devices/:id", Tag: tag, Summary: "删除监测设备及其监测点",
		Status: http.StatusNoContent}, r.deleteDevice)
	s.route(Op{Method: http.MethodPost, Path: "/devices/:id/reset-secret", Tag: tag, Resp: DeviceSecret{},
		Summary: "重置设备密钥：返回新密钥（只显示一次），旧密钥立即失效"}, r.resetSecret)
	s.route(Op{Method: http.MethodGet, Path: "/devices/:id/health", Tag: tag, Resp: monitor.DeviceHealth{},
		Query:   []Param{{"from", "string", "开始时间，默认 7 天前"}, {"to", "string", "结束时间，默认现在"}},
		Summary: "设备在线/离线记录与在线率（在线时长 / 总时长）"}, r.health)

	s.route(Op{Method: http.MethodGet, Path: "/monitor-points/template.xlsx", Tag: tag, Summary: "下载监测点导入模板（Excel）",
		Produces: xlsx}, s.xlsxTemplate(pointSheet, "监测点导入模板", "monitor-points-template"))
	s.route(Op{Method: http.MethodPost, Path: "/monitor-points/import", Tag: tag,
		Summary: "从 Excel 导入监测点及其设备：全部行校验通过才导入，否则返回 import.invalid_rows 及每个出错的行和列",
		Upload:  true, Resp: PointImportResult{}}, r.importPoints)
	s.route(Op{Method: http.MethodGet, Path: "/monitor-points/export.xlsx", Tag: tag, Summary: "导出监测点及其设备（Excel，格式同导入模板）",
		Query: pointQuery, Produces: xlsx}, r.exportPoints)
	s.route(Op{Method: http.MethodGet, Path: "/monitor-points", Tag: tag, Summary: "监测点列表及最新读数（管辖范围内）",
		Query: append(append([]Param{}, pointQuery...), Paging...), Resp: MonitorPointPage{}}, r.listPoints)
	s.route(Op{Method: http.MethodPost, Path: "/monitor-points", Tag: tag, Summary: "新建监测点（未给阈值时采用该监测类型的默认阈值）",
		Body: MonitorPointInput{}, Resp: monitor.Point{}, Status: http.StatusCreated}, r.createPoint)
	s.route(Op{Method: http.MethodGet, Path: "/monitor-points/:id", Tag: tag, Summary: "监测点详情及最新读数", Resp: monitor.Point{}}, r.getPoint)
	s.route(Op{Method: http.MethodPatch, Path: "/monitor-points/:id", Tag: tag, Summary: "修改监测点（阈值修改 1 秒内生效）",
		Body: MonitorPointPatch{}, Resp: monitor.Point{}}, r.updatePoint)
	s.route(Op{Method: http.MethodPut, Path: "/monitor-points/:id/thresholds", Tag: tag, Summary: "设置监测点的阈值规则（1 秒内生效）",
		Body: ThresholdsInput{}, Resp: monitor.Point{}}, r.setThresholds)
	s.route(Op{Method: http.MethodDelete, Path: "/monitor-points/:id", Tag: tag, Summary: "删除监测点",
		Status: http.StatusNoContent}, r.deletePoint)
	s.route(Op{Method: http.MethodGet, Path: "/monitor-points/:id/readings", Tag: tag, Resp: monitor.Series{},
		Query: []Param{{"from", "string", "开始时间，默认 24 小时前"}, {"to", "string", "结束时间，默认现在"},
			{"resolution", "string", "auto（默认，按点数自动选择）、raw、minute、hour"}, {"max_points", "integer", "最多点数，默认 1000，最大 10000"}},
		Summary: "监测点历史数据：原始读数或按分钟/小时汇总（平均、最小、最大、末值）"}, r.readings)
}

// ---- ingest ----

func (r *monitorAPI) ingest(c echo.Context) error {
	code, secret, ok := c.Request().BasicAuth()
	if !ok {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="yingji-devices", charset="UTF-8"`)
		return yingji.Errorf(yingji.EUNAUTHORIZED, "monitor.device_auth_missing", "请使用 HTTP Basic 认证：用户名为设备编码，密码为设备密钥")
	}
	limit := r.cfg.MaxBodyBytes
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return yingji.Errorf(yingji.ETOOLARGE, "request.too_large", "请求体超过上限 %s", humanBytes(limit)).WithData(map[string]any{"limit_bytes": limit})
	}
	if err != nil {
		return yingji.Errorf(yingji.EINVALID, "request.bad_body", "请求体读取失败")
	}
	res, err := r.svc.IngestHTTP(c.Request().Context(), code, secret, body)
	if err != nil {
		if yingji.ErrorKind(err) == yingji.EUNAUTHORIZED {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="yingji-devices", charset="UTF-8"`)
		}
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (r *monitorAPI) kinds(c echo.Context) error {
	k := MonitorKinds{Categories: map[string]string{}, DeviceKinds: map[string]string{}, PointKinds: monitor.PointKinds,
		RejectReasons: monitor.RejectReasons()}
	for _, cat := range []monitor.Category{monitor.CategoryHazchem, monitor.CategoryFlood} {
		k.Categories[string(cat)] = cat.Name()
	}
	for _, d := range monitor.DeviceKinds {
		k.DeviceKinds[string(d)] = d.Name()
	}
	return c.JSON(http.StatusOK, k)
}

// ---- devices ----

func deviceFilter(c echo.Context) (monitor.DeviceFilter, error) {
	f := monitor.DeviceFilter{EnterpriseID: c.QueryParam("enterprise_id"), Category: monitor.Category(c.QueryParam("category")),
		Kind: monitor.DeviceKind(c.QueryParam("kind")), Q: c.QueryParam("q")}
	var err error
	if f.Online, err = boolQuery(c, "online"); err != nil {
		return f, err
	}
	f.Disabled, err = boolQuery(c, "disabled")
	return f, err
}

func (r *monitorAPI) listDevices(c echo.Context) error {
	return listPage(c, deviceFilter, r.svc.ListDevices)
}

func (r *monitorAPI) createDevice(c echo.Context) error {
	var in DeviceInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	d, secret, err := r.svc.CreateDevice(c.Request().Context(), actor(c), monitor.Device{EnterpriseID: in.EnterpriseID, Code: in.Code,
		Name: in.Name, Category: in.Category, Kind: in.Kind, Lat: in.Lat, Lng: in.Lng, HeartbeatTimeoutS: in.HeartbeatTimeoutS, Disabled: in.Disabled})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, DeviceCreated{Device: d, Secret: secret})
}

func (r *monitorAPI) getDevice(c echo.Context) error {
	d, err := r.svc.GetDevice(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (r *monitorAPI) updateDevice(c echo.Context) error {
	var in DevicePatch
	if err := r.bind(c, &in); err != nil {
		return err
	}
	ctx, a := c.Request().Context(), actor(c)
	d, err := r.svc.GetDevice(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	patchField(&d.Code, in.Code)
	patchField(&d.Name, in.Name)
	patchField(&d.Category, in.Category)
	patchField(&d.Kind, in.Kind)
	patchField(&d.HeartbeatTimeoutS, in.HeartbeatTimeoutS)
	patchField(&d.Disabled, in.Disabled)
	if in.Lat != nil || in.Lng != nil {
		d.Lat, d.Lng = in.Lat, in.Lng
	}
	if in.ClearLocation {
		d.Lat, d.Lng = nil, nil
	}
	out, err := r.svc.UpdateDevice(ctx, a, d.ID, d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (r *monitorAPI) deleteDevice(c echo.Context) error {
	if err := r.svc.DeleteDevice(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *monitorAPI) resetSecret(c echo.Context) error {
	secret, err := r.svc.ResetSecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, DeviceSecret{Secret: secret})
}

// timeRange reads from and to, defaulting to the span before now.
func (r *monitorAPI) timeRange(c echo.Context, span time.Duration) (time.Time, time.Time, error) {
	to, err := timeQuery(c, "to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, err := timeQuery(c, "from")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	end := r.svc.Now()
	if to != nil {
		end = *to
	}
	start := end.Add(-span)
	if from != nil {
		start = *from
	}
	return start, end, nil
}

func (r *monitorAPI) health(c echo.Context) error {
	from, to, err := r.timeRange(c, 7*24*time.Hour)
	if err != nil {
		return err
	}
	h, err := r.svc.DeviceHealth(c.Request().Context(), actor(c), c.Param("id"), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

func (r *monitorAPI) anomalies(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := monitor.AnomalyFilter{EnterpriseID: c.QueryParam("enterprise_id"), DeviceID: c.QueryParam("device_id"),
		PointID: c.QueryParam("point_id"), Kind: c.QueryParam("kind")}
	if f.From, err = timeQuery(c, "from"); err != nil {
		return err
	}
	if f.To, err = timeQuery(c, "to"); err != nil {
		return err
	}
	page, err := r.svc.Anomalies(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *monitorAPI) rejects(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := r.svc.Rejects(c.Request().Context(), actor(c), c.QueryParam("device_id"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// ---- points ----

func pointFilter(c echo.Context) (monitor.PointFilter, error) {
	f := monitor.PointFilter{EnterpriseID: c.QueryParam("enterprise_id"), DeviceID: c.QueryParam("device_id"),
		Category: monitor.Category(c.QueryParam("category")), Kind: monitor.PointKind(c.QueryParam("kind")), Q: c.QueryParam("q")}
	var err error
	f.Online, err = boolQuery(c, "online")
	return f, err
}

func (r *monitorAPI) listPoints(c echo.Context) error {
	return listPage(c, pointFilter, r.svc.ListPoints)
}

func (r *monitorAPI) createPoint(c echo.Context) error {
	var in MonitorPointInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	q := monitor.DefaultQuality()
	if in.Quality != nil {
		q = *in.Quality
	}
	p, err := r.svc.CreatePoint(c.Request().Context(), actor(c), monitor.Point{DeviceID: in.DeviceID, Code: in.Code, Name: in.Name,
		Kind: in.Kind, Unit: in.Unit, RangeMin: in.RangeMin, RangeMax: in.RangeMax, SamplingPeriodS: in.SamplingPeriodS,
		Thresholds: in.Thresholds, Quality: q, Disabled: in.Disabled})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (r *monitorAPI) getPoint(c echo.Context) error {
	p, err := r.svc.GetPoint(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (r *monitorAPI) updatePoint(c echo.Context) error {
	var in MonitorPointPatch
	if err := r.bind(c, &in); err != nil {
		return err
	}
	ctx, a := c.Request().Context(), actor(c)
	p, err := r.svc.GetPoint(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	patchField(&p.Code, in.Code)
	patchField(&p.Name, in.Name)
	patchField(&p.Kind, in.Kind)
	patchField(&p.Unit, in.Unit)
	patchField(&p.SamplingPeriodS, in.SamplingPeriodS)
	patchField(&p.Thresholds, in.Thresholds)
	patchField(&p.Quality, in.Quality)
	patchField(&p.Disabled, in.Disabled)
	if in.RangeMin != nil {
		p.RangeMin = in.RangeMin
	}
	if in.RangeMax != nil {
		p.RangeMax = in.RangeMax
	}
	if in.ClearRange {
		p.RangeMin, p.RangeMax = nil, nil
	}
	out, err := r.svc.UpdatePoint(ctx, a, p.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (r *monitorAPI) setThresholds(c echo.Context) error {
	var in ThresholdsInput
	if err := r.bind(c, &in); err != nil {
		return err
	}
	p, err := r.svc.SetThresholds(c.Request().Context(), actor(c), c.Param("id"), in.Thresholds)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (r *monitorAPI) deletePoint(c echo.Context) error {
	if err := r.svc.DeletePoint(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *monitorAPI) readings(c echo.Context) error {
	from, to, err := r.timeRange(c, 24*time.Hour)
	if err != nil {
		return err
	}
	n, err := intQuery(c, "max_points")
	if err != nil {
		return err
	}
	ser, err := r.svc.Readings(c.Request().Context(), actor(c), c.Param("id"), from, to, c.QueryParam("resolution"), n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ser)
}

// ---- Excel ----

func (r *monitorAPI) importPoints(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	if err := a.Require(yingji.PermMonitorWrite); err != nil {
		return err
	}
	rows, err := r.importRows(c, pointSheet, maxPointImportRows)
	if err != nil {
		return err
	}
	ents := map[string]org.Enterprise{}
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		ents[e.CreditCode] = e
		return nil
	}); err != nil {
		return err
	}
	inFile := map[string]int{} // device code + "\x00" + point code → row
	items := make([]monitor.ImportItem, 0, len(rows))
	for _, row := range rows {
		var it monitor.ImportItem
		d := &it.Device
		d.Code, d.Name = row.Text(colMonDevCode), row.Text(colMonDevName)
		credit := org.NormalizeCreditCode(row.Text(colMonCredit))
		e, ok := ents[credit]
		switch {
		case credit == "":
			row.Fail(colMonCredit, "请填写企业统一社会信用代码")
		case !ok:
			row.Fail(colMonCredit, "统一社会信用代码为“%s”的企业不存在或不在您的管辖范围内", credit)
		case !monitor.CanWriteEnterprise(a, e):
			row.Fail(colMonCredit, "无权为企业“%s”导入监测设备", e.Name)
		}
		d.EnterpriseID = e.ID
		if d.EnterpriseID == "" {
			d.EnterpriseID = "?"
		}
		if cat, ok := monitor.CategoryByName(row.Text(colMonCategory)); ok {
			d.Category = cat
		} else {
			row.Fail(colMonCategory, "设备类别应为危化品或防汛防台")
			d.Category = monitor.CategoryHazchem
		}
		if k, ok := monitor.DeviceKindByName(row.Text(colMonDevKind)); ok {
			d.Kind = k
		} else {
			row.Fail(colMonDevKind, "设备类型“%s”无效", row.Text(colMonDevKind))
			d.Kind = monitor.DeviceKinds[0]
		}
		d.Normalize()
		if err := d.Validate(); err != nil {
			if err := failImportCell(row, err, deviceColumns, colMonDevCode); err != nil {
				return err
			}
		}
		p := &it.Point
		p.Code, p.Name, p.Unit = row.Text(colMonCode), row.Text(colMonName), row.Text(colMonUnit)
		if k, ok := monitor.PointKindByName(row.Text(colMonKind)); ok {
			p.Kind = k
		} else {
			row.Fail(colMonKind, "监测类型“%s”无效，应为 %s 之一", row.Text(colMonKind), joinNames(monitorKindNames()))
		}
		p.RangeMin, p.RangeMax = row.Float(colMonRangeMin), row.Float(colMonRangeMax)
		p.SamplingPeriodS = row.Int(colMonPeriod)
		p.Quality = monitor.DefaultQuality()
		l1, l2 := row.Float(colMonLevel1), row.Float(colMonLevel2)
		dir := "high"
		switch row.Text(colMonDirection) {
		case "", "高", "high", "高报":
		case "低", "low", "低报":
			dir = "low"
		default:
			row.Fail(colMonDirection, "报警方向应为“高”或“低”")
		}
		switch {
		case l1 == nil && l2 != nil:
			row.Fail(colMonLevel1, "填写二级阈值时须填写一级阈值")
		case l1 != nil:
			t := monitor.ThresholdRule{ID: dir, Direction: dir, MinDurationS: row.Int(colMonDuration), Levels: []monitor.ThresholdLevel{{Level: 1, Value: *l1}}}
			if l2 != nil {
				t.Levels = append(t.Levels, monitor.ThresholdLevel{Level: 2, Value: *l2})
			}
			p.Thresholds = []monitor.ThresholdRule{t}
		}
		if p.Kind != "" {
			p.DeviceID = "?"
			p.Normalize()
			if err := p.Validate(); err != nil {
				if err := failImportCell(row, err, pointColumns, colMonCode); err != nil {
					return err
				}
			}
			p.DeviceID = ""
		}
		key := d.Code + "\x00" + p.Code
		if n, dup := inFile[key]; dup && p.Code != "" {
			row.Fail(colMonCode, "监测点编码“%s”与第 %d 行重复（同一设备）", p.Code, n)
		} else {
			inFile[key] = row.Num
		}
		items = append(items, it)
	}
	if errs := sheet.Errors(rows); len(errs) > 0 {
		return sheet.Invalid(errs)
	}
	devs, err := r.svc.ImportPoints(ctx, a, items)
	if err != nil {
		return importBatchError(err, rows, pointColumns, colMonCode)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, PointImportResult{Imported: len(items), Devices: devs})
}

func joinNames(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "、"
		}
		out += s
	}
	return out
}

func (r *monitorAPI) exportPoints(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	f, err := pointFilter(c)
	if err != nil {
		return err
	}
	credit := map[string]string{}
	if err := r.eachEnterprise(ctx, a, org.EnterpriseFilter{}, yingji.ListParams{}, func(e org.Enterprise) error {
		credit[e.ID] = e.CreditCode
		return nil
	}); err != nil {
		return err
	}
	devs := map[string]monitor.Device{}
	device := func(id string) (monitor.Device, error) {
		if d, ok := devs[id]; ok {
			return d, nil
		}
		d, err := r.svc.GetDevice(ctx, a, id)
		devs[id] = d
		return d, err
	}
	w, err := sheet.NewWriter(pointSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	truncated, err := exportPages(w, func(p yingji.ListParams) (yingji.Page[monitor.Point], error) {
		return r.svc.ListPoints(ctx, a, f, p)
	}, func(pt monitor.Point) error {
		d, err := device(pt.DeviceID)
		if err != nil {
			return err
		}
		dir, dur := "", ""
		var l1, l2 *float64
		if len(pt.Thresholds) > 0 {
			t := pt.Thresholds[0]
			dir, dur = "高", strconv.Itoa(t.MinDurationS)
			if t.Direction == "low" {
				dir = "低"
			}
			l1 = &t.Levels[0].Value
			if len(t.Levels) > 1 {
				l2 = &t.Levels[1].Value
			}
		}
		if err := w.Add(d.Code, d.Name, credit[d.EnterpriseID], d.Category.Name(), d.Kind.Name(), pt.Code, pt.Name, pt.Kind.Name(),
			pt.Unit, pt.RangeMin, pt.RangeMax, pt.SamplingPeriodS, dir, l1, l2, dur); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.Note("每个监测点只导出第一条阈值规则的一级、二级阈值；其他阈值规则请在系统中查看。")
	r.recordExport(c, "monitor_point.export", monitor.ObjectPoint, w.Rows(), truncated)
	zh, ascii := r.exportName("监测点", "monitor-points")
	return sendWorkbook(c, w, zh, ascii)
}

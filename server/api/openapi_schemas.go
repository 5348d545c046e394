package api

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/risk"
)

// What the generator cannot read from Go types: which fields a response always carries
// (required, from the json tags), the closed sets of values (enum, from the packages' own
// lists), Chinese descriptions and examples. A table entry naming a property that no longer
// exists fails the build of the document; one naming a schema absent from it (a module not
// mounted) is listed in docBuilder.unresolved, which a test of the whole app keeps empty.

// schemaDoc documents one component schema.
type schemaDoc struct {
	desc     string
	props    map[string]string // property → description
	required []string          // request bodies only: the fields a client must send
	example  any
}

func strs[T ~string](v []T) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

// schemaEnums are the closed sets of values, by "Component.property".
var schemaEnums = map[string][]any{
	"Alert.status":             strs(alert.Machine.States),
	"Alert.tier":               strs(alert.Tiers),
	"Alert.kind":               {"threshold", "offline", "quality"},
	"DeviceInput.category":     {"hazchem", "flood"},
	"Hazard.status":            strs(hazard.Machine.States),
	"Hazard.level":             strs(hazard.Levels),
	"HazardReport.level":       strs(hazard.Levels),
	"RiskPoint.level":          strs(risk.Levels),
	"RiskPointInput.level":     strs(risk.Levels),
	"Measure.kind":             strs(risk.Kinds),
	"LoginInput.client":        {"web", "mobile"},
	"SignRequest.variant":      {"original", "thumb320", "thumb1280"},
	"syncproto.Result.status":  {"applied", "merged", "rejected"},
	"Mutation.op":              {"create", "update", "delete"},
	"ActionInfo.kind":          strs(hazard.ActionKinds),
	"hazard.StatusChange.step": {hazard.StepReport, hazard.StepAssign, hazard.StepRectify, hazard.StepSubmit, hazard.StepAccept, hazard.StepSendBack},
	"AlertActionInput.kind":    {"comment", "feedback"},
}

// queryEnums are the closed sets of query parameter values, by "path name".
var queryEnums = map[string][]any{
	"/alerts status":  strs(alert.Machine.States),
	"/alerts tier":    strs(alert.Tiers),
	"/alerts kind":    {"threshold", "offline", "quality"},
	"/hazards status": append(strs(hazard.Machine.States), "open"),
	"/hazards level":  strs(hazard.Levels),
}

const exampleEnterprise = "01938f2e-7c1a-7b3e-9d2a-5b6c7d8e9f01"

var schemaDocs = map[string]schemaDoc{
	"ErrorBody": {desc: "错误响应", example: map[string]any{"code": "sync.forbidden", "message": "您的角色（网格员）不能对隐患执行“验收通过”：只有乡镇（街道）、区县或市级管理员可以验收或退回",
		"request_id": "01938f2e-8a00-7000-8000-000000000001"}},
	"LoginInput": {desc: "登录请求", required: []string{"username", "password"},
		props: map[string]string{"username": "用户名", "password": "密码", "client": "客户端类型：web（门户，默认）或 mobile（手机）；同一账号每类客户端只保留一个会话",
			"device_id": "设备标识（手机填写，用于推送与会话顶替）"},
		example: map[string]any{"username": "admin", "password": "Demo-Pass-2026", "client": "web"}},
	"LoginResponse": {desc: "登录结果", props: map[string]string{"token": "会话令牌，放在请求头 Authorization: Bearer TOKEN 中", "expires_at": "会话过期时间"}},
	"Alert": {desc: "预警：同一原因只保留一条未关闭的预警，持续时更新而不重复产生",
		props: map[string]string{"id": "预警 ID", "status": "状态：new 待确认、acknowledged 已确认、disposing 处置中、closed 已关闭、false_alarm 误报",
			"kind": "类型：threshold 超限、offline 离线、quality 数据异常", "level": "预警级别（1 一级，数字越大越严重）", "level_name": "级别名称",
			"tier": "当前通知层级：enterprise 企业、township 乡镇（街道）、county 区县", "title": "标题", "message": "内容",
			"enterprise_id": "所属企业", "point_id": "监测点", "device_id": "设备", "value": "触发时的读数", "threshold": "触发的阈值", "unit": "单位",
			"started_at": "开始时间", "last_at": "最近一次触发时间", "enterprise_name": "企业名称", "org_path": "所属组织机构路径",
			"rule_id": "触发的规则", "cause": "原因标识（设备 + 规则；同一原因只有一条未关闭的预警）", "cleared_at": "恢复正常的时间（未恢复时为空）",
			"escalated_at": "最近一次升级的时间", "disposal_reason": "处置（关闭、误报）原因", "disposal_measures": "采取的措施",
			"photos": "处置照片（SHA-256）", "acknowledged_by": "确认人（用户 ID）", "acknowledged_at": "确认时间（手机离线操作时为手机时间）",
			"disposed_by": "处置人（用户 ID）", "disposed_at": "处置时间", "closed_at": "关闭时间",
			"acknowledged_received_at": "服务器收到确认的时间", "disposed_received_at": "服务器收到处置的时间", "closed_received_at": "服务器收到关闭的时间",
			"incident_id": "预警转成的事件（未转为事件时为空）"}},
	"Hazard": {desc: "隐患",
		props: map[string]string{"id": "隐患 ID", "enterprise_id": "所属企业", "enterprise_name": "企业名称", "org_path": "所属组织机构路径",
			"title": "标题", "description": "描述", "level": "等级：general 一般隐患、major 重大隐患",
			"status": "状态：reported 已上报、assigned 已交办、rectifying 整改中、submitted 待验收、accepted 已验收",
			"photos": "照片（SHA-256）", "reported_by": "上报人", "reported_at": "上报时间", "deadline": "整改期限（RFC 3339，未交办时为空）",
			"rectifier_id": "整改责任人", "location": "位置 {lat, lng}（WGS84），可为 null",
			"received_at": "服务器收到上报的时间（手机离线上报时晚于上报时间）", "rectifier_name": "整改责任人姓名（未交办时为空）"}},
	"HazardReport": {desc: "上报隐患", required: []string{"enterprise_id", "title"},
		props: map[string]string{"id": "隐患 ID（可选，客户端生成的 UUID；重试时带同一 id 不会产生重复隐患）", "enterprise_id": "所属企业",
			"title": "标题（不超过 200 字）", "description": "描述（不超过 5000 字）", "level": "等级，默认 general", "photos": "照片（先上传，再以 SHA-256 引用）"},
		example: map[string]any{"enterprise_id": exampleEnterprise, "title": "储罐区静电接地断开", "description": "2号储罐静电接地线脱落", "level": "general",
			"location": map[string]any{"lat": 30.2231, "lng": 120.3512}}},
	"HazardLocation": {desc: "位置（WGS84）", props: map[string]string{"lat": "纬度", "lng": "经度"}},
	"HazardAssign": {desc: "交办隐患", required: []string{"deadline", "rectifier_id"},
		props:   map[string]string{"deadline": "整改期限（RFC 3339）", "rectifier_id": "整改责任人（用户 ID）", "note": "交办意见（记入时间线）"},
		example: map[string]any{"deadline": "2026-12-31T18:00:00+08:00", "rectifier_id": "01938f2e-7c1a-7b3e-9d2a-5b6c7d8e9f02", "note": "请三日内整改"}},
	"HazardSubmit": {desc: "提交验收", required: []string{"photos"},
		props:   map[string]string{"photos": "整改后的照片（SHA-256，至少一张；已有照片可不重复提交）", "note": "整改说明（记入时间线）"},
		example: map[string]any{"photos": []string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}, "note": "已恢复接地并检测合格"}},
	"HazardNote": {desc: "整改步骤的备注", props: map[string]string{"note": "备注（记入时间线），退回整改时写明原因"},
		example: map[string]any{"note": "接地电阻未测，请补测后再提交"}},
	"RiskPoint": {desc: "风险点",
		props: map[string]string{"id": "风险点 ID", "enterprise_id": "所属企业", "code": "编码（企业内唯一）", "name": "名称",
			"level": "风险等级：red 重大风险、orange 较大风险、yellow 一般风险、blue 低风险", "accident_types": "可能导致的事故类型",
			"responsible": "责任人", "measures": "管控措施", "qr_version": "二维码版本（重新生成后旧码失效）",
			"org_path": "所属组织机构路径", "created_at": "创建时间", "updated_at": "更新时间"}},
	"RiskPointInput": {desc: "新建风险点", required: []string{"enterprise_id", "code", "name", "level"},
		props: map[string]string{"enterprise_id": "所属企业", "code": "编码（企业内唯一）", "name": "名称", "level": "风险等级",
			"accident_types": "可能导致的事故类型", "responsible": "责任人", "measures": "管控措施"},
		example: map[string]any{"enterprise_id": exampleEnterprise, "code": "FX-001", "name": "1号储罐区", "level": "orange",
			"accident_types": []string{"火灾", "爆炸"}, "responsible": "吴安全",
			"measures": []map[string]any{{"kind": "engineering", "text": "储罐静电接地完好"}}}},
	"IngestBody": {desc: "设备上报：一条消息（ts + readings），或多条消息 {\"messages\": [...]}",
		props:   map[string]string{"ts": "采集时间（RFC 3339 或 Unix 毫秒），读数未给时间时采用", "readings": "读数", "messages": "多条消息"},
		example: map[string]any{"ts": "2026-12-07T08:00:00+08:00", "readings": []map[string]any{{"point": "GT-101", "value": 12.5, "unit": "%LEL"}}}},
	"DeviceInput": {desc: "新建监测设备", required: []string{"enterprise_id", "code", "name", "category", "kind"},
		props: map[string]string{"enterprise_id": "所属企业", "code": "设备编码（1–64 位字母、数字或 _ . -，即 HTTP Basic 与 MQTT 的用户名）",
			"name": "设备名称", "category": "设备类别：hazchem 危化品、flood 防汛防台", "kind": "设备类型（见 GET /api/v1/monitor/kinds）",
			"heartbeat_timeout_s": "离线判定时间（秒），0 用默认值", "lat": "纬度（WGS84，须与经度同时填写）", "lng": "经度（WGS84）",
			"disabled": "是否停用"}},
	"MonitorPointInput": {desc: "新建监测点；不给 thresholds 时采用该监测类型的默认阈值（空列表表示不设阈值）", required: []string{"device_id", "code", "name", "kind"},
		props: map[string]string{"device_id": "所属设备", "code": "监测点编码（设备上报时的 point）", "name": "监测点名称",
			"kind": "监测类型（见 GET /api/v1/monitor/kinds）", "unit": "单位，默认该监测类型的单位", "range_min": "量程下限",
			"range_max": "量程上限", "sampling_period_s": "采样周期（秒），0 用默认值", "thresholds": "阈值规则", "disabled": "是否停用"}},
	"IngestReading": {desc: "一个读数", required: []string{"point", "value"}, props: map[string]string{"point": "监测点编码", "value": "读数", "unit": "单位（可选，须与监测点一致）",
		"ts": "采集时间（RFC 3339 或 Unix 毫秒，可选）"}},
	"IngestResult": {desc: "上报结果", props: map[string]string{"accepted": "接收的读数", "rejected": "拒收的读数", "rejects": "拒收原因"}},
	"Page_Alert":   {desc: "预警分页", props: map[string]string{"items": "本页预警", "total": "符合条件的总数"}},
	"Page_Hazard":  {desc: "隐患分页", props: map[string]string{"items": "本页隐患", "total": "符合条件的总数"}},
}

// markRequestTypes marks t and the struct types it holds as sent by clients: the json tags of
// such a type say what the server answers, not what a client must send.
func markRequestTypes(seen map[reflect.Type]bool, t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() {
			markRequestTypes(seen, f.Type)
		}
	}
}

// refineSchemas applies required, enum, descriptions and examples to the built document.
func (b *docBuilder) refineSchemas(doc *openapi3.T) error {
	for name, t := range b.types {
		ref := b.schemas[name]
		if ref == nil || ref.Value == nil || b.requestTypes[t] {
			continue
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			continue
		}
		// A response always carries a field its Go type has without omitempty; a pointer or
		// interface may hold null, so it is left optional for clients that type null apart.
		for _, f := range reflect.VisibleFields(t) {
			if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct ||
				f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Interface {
				continue
			}
			tag := f.Tag.Get("json")
			jname, opts, _ := strings.Cut(tag, ",")
			if jname == "-" || strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
				continue
			}
			if jname == "" {
				jname = f.Name
			}
			if ref.Value.Properties[jname] != nil && !slices.Contains(ref.Value.Required, jname) {
				ref.Value.Required = append(ref.Value.Required, jname)
			}
		}
		slices.Sort(ref.Value.Required)
	}
	for key, values := range schemaEnums {
		name := key[:max(strings.LastIndex(key, "."), 0)]
		if b.schemas[name] == nil {
			b.unresolved = append(b.unresolved, key)
			continue
		}
		p, err := b.property(key)
		if err != nil {
			return err
		}
		p.Enum = values
	}
	for name, d := range schemaDocs {
		ref := b.schemas[name]
		if ref == nil || ref.Value == nil {
			b.unresolved = append(b.unresolved, name)
			continue
		}
		s := ref.Value
		s.Description = d.desc
		if d.example != nil {
			s.Example = d.example
		}
		if d.required != nil {
			s.Required = d.required
		}
		for prop, desc := range d.props {
			p, err := b.property(name + "." + prop)
			if err != nil {
				return err
			}
			p.Description = desc
		}
	}
	for path, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, pr := range op.Parameters {
				if v, ok := queryEnums[strings.TrimPrefix(path, apiPrefix)+" "+pr.Value.Name]; ok && pr.Value.In == "query" {
					pr.Value.Schema.Value.Enum = v
				}
			}
		}
	}
	return nil
}

// property returns the schema of "Component.property" to change, unshared: the generator
// reuses one schema value between properties of the same type. A property that refers to a
// component is described by that component (siblings of $ref are ignored in OpenAPI 3.0).
func (b *docBuilder) property(key string) (*openapi3.Schema, error) {
	// A component's name may hold a dot (patrol.Location); a property's never does.
	i := strings.LastIndex(key, ".")
	name, prop := key[:max(i, 0)], key[i+1:]
	ref := b.schemas[name]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openapi: no schema %s (for %s)", name, key)
	}
	p := ref.Value.Properties[prop]
	if p == nil {
		return nil, fmt.Errorf("openapi: schema %s has no property %s", name, prop)
	}
	if p.Ref != "" {
		return nil, fmt.Errorf("openapi: %s refers to %s: describe that schema instead", key, p.Ref)
	}
	cp := *p.Value
	ref.Value.Properties[prop] = cp.NewRef()
	return &cp, nil
}

package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/labstack/echo/v4"
)

// openAPI serves the OpenAPI 3 document built from the declared routes (s.ops). The document
// is built once, on first request, when every route has been registered.
func (s *Server) openAPI(c echo.Context) error {
	body, err := s.openAPIDocument()
	if err != nil {
		return fmt.Errorf("api: openapi document: %w", err)
	}
	return c.JSONBlob(http.StatusOK, body)
}

// openAPIDoc is the document, built once on first request, when every route is registered.
type openAPIDoc struct {
	once sync.Once
	body []byte
	err  error
}

func (s *Server) openAPIDocument() ([]byte, error) {
	d := &s.doc
	d.once.Do(func() {
		var doc *openapi3.T
		if doc, d.err = buildOpenAPI(s.ops, s.cfg.Version); d.err == nil {
			d.body, d.err = json.Marshal(doc)
		}
	})
	return d.body, d.err
}

const (
	apiPrefix       = "/api/v1"
	bearerScheme    = "bearerAuth"
	basicScheme     = "deviceBasic"
	signedScheme    = "signedURL"
	errorBodyName   = "ErrorBody"
	schemaRefBase   = "#/components/schemas/"
	responseRefBase = "#/components/responses/"
)

const apiDescription = `应急管理平台服务端接口。

- **认证**：除另有说明的接口外，请求须带请求头 ` + "`Authorization: Bearer TOKEN`" + `（bearerAuth），TOKEN 由 ` + "`POST /api/v1/auth/login`" + ` 取得。会话结束（退出、被其他设备顶替、密码修改、账号停用、过期）后返回 401，` + "`code`" + ` 说明原因。设备上报 ` + "`POST /api/v1/ingest/readings`" + ` 用 HTTP Basic（deviceBasic：设备编码与设备密钥）；签名链接 ` + "`GET /api/v1/media/{sha256}/signed/{variant}`" + ` 凭查询参数 u、exp、sig（signedURL）；` + "`security: []`" + ` 的接口无需认证。
- **错误**：所有错误响应均为 JSON 对象 ErrorBody：` + "`code`" + ` 为稳定的机器码（如 ` + "`auth.locked`" + `），` + "`message`" + ` 为可直接展示给用户的中文提示，` + "`request_id`" + ` 与响应头 X-Request-ID 相同，` + "`data`" + ` 给出出错字段、上限等细节。
- **请求体**：JSON，严格解析：未知字段、类型错误、多余内容均返回 400。
- **时间**：RFC 3339 格式。列表接口接受 ` + "`page`、`page_size`、`sort`" + ` 参数并返回 ` + "`{items, total}`" + `。`

// tagDescriptions describes the known tags; a tag without one is listed without description.
var tagDescriptions = map[string]string{
	"auth":        "登录、会话与本人密码",
	"users":       "用户与角色管理",
	"audit":       "审计日志",
	"org":         "组织机构（市、区县、乡镇街道、网格）与救援队伍",
	"enterprises": "企业档案、联系人与监管概况",
	"sync":        "离线同步（syncproto）：推送变更、拉取变更、WebSocket 实时通知",
	"patrol":      "巡查清单（日、周、月）与巡查记录",
	"hazards":     "隐患：列表、详情、时间线，以及不使用同步协议的系统所用的整改闭环接口（上报、交办、整改、提交、验收、退回）",
	"stats":       "统计分析与导出",
	"media":       "照片与文件：tus 断点续传上传、下载、缩略图、签名链接",
	"risk":        "风险点：档案、二维码（签名令牌）与标签打印",
	"reminders":   "提醒：巡查到期、隐患整改期限等",
	"portal":      "门户首页与设置",
	"监测设备":        "监测设备与监测点：设备接入（MQTT、HTTP 批量上报）、阈值规则、实时与历史数据、在线状态、数据质量",
	"预警":          "预警：列表、时间线、通知记录、处置、接收人配置、统计",
	"消息":          "站内消息：列表、未读数、标为已读",
	"plans":       "结构化应急预案：编制、审核发布、版本、响应级别判定、导入导出",
	"knowledge":   "应急知识库（法律法规、标准规范、事故案例、危化品安全技术说明书）与应急通讯录",
	"incidents":   "突发事件（灾情定位）：接报、预警转事件、预案匹配、响应启动/变更/终止与领导审批、指挥组与群组消息、统计",
	"dispatch":    "救援资源调度：附近资源与行程时间、调度指令与物资预留、现场资源需求、路径规划、一键短信/浙政钉/传真",
	"tasks":       "应急任务、队伍报到与现场反馈",
	"timeline":    "灾后复盘：由各模块数据推导的事件时间线、回放位置与防篡改校验",
	"assessments": "应急评估报告：按时间线预填、编辑定稿、导出 Word 与 PDF",
	"video":       "单兵/手机视频回传：WHIP 推流、WHEP 观看、视频流记录与定位轨迹",
	"resources":   "应急资源保障：物资装备、储备库、救援队伍、专家、避难场所、医疗机构、警力、消防力量与防护目标、脆弱目标、重要目标、卸载点；Excel 导入导出、一张图图层、最近资源查询、外部系统数据包接口",
}

// errorResponses are the standard error responses, by status: component name and description.
var errorResponses = map[int][2]string{
	http.StatusBadRequest:            {"BadRequest", "请求无效：JSON 格式错误、字段校验失败或查询参数错误（data 中给出出错字段）"},
	http.StatusUnauthorized:          {"Unauthorized", "未登录、登录凭证无效或会话已结束（code 说明原因）；登录接口中表示用户名或密码错误"},
	http.StatusForbidden:             {"Forbidden", "无权执行该操作或超出数据范围；账号已停用"},
	http.StatusNotFound:              {"NotFound", "记录不存在"},
	http.StatusConflict:              {"Conflict", "冲突：唯一值重复或记录状态已变化"},
	http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "请求体超过上限（data.limit_bytes 给出上限字节数）"},
	http.StatusLocked:                {"Locked", "账号已锁定（data.retry_after_minutes 给出剩余分钟数）"},
	http.StatusInternalServerError:   {"InternalError", "服务器内部错误；message 中含请求编号，请凭此联系管理员"},
	http.StatusServiceUnavailable:    {"ServiceUnavailable", "服务已满（如视频并发路数已达上限）；Retry-After 头给出建议重试的秒数"},
}

// errorStatuses are the error responses an op documents, by how it authenticates.
func errorStatuses(o Op, hasPathParams bool) []int {
	var out []int
	hasBody := o.Body != nil || o.Upload || o.Consumes != ""
	if !o.Public || hasBody || hasPathParams || len(o.Query) > 0 {
		out = append(out, http.StatusBadRequest)
	}
	switch {
	case !o.Public:
		out = append(out, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound)
	case o.Auth == AuthBasic:
		// A device: no, unknown or wrong credentials; a disabled device.
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	case o.Auth == AuthSigned:
		// A tampered or expired link; a file that is gone.
		out = append(out, http.StatusForbidden, http.StatusNotFound)
	case hasBody:
		// A public op taking a body checks credentials (login): wrong credentials, disabled.
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	case hasPathParams:
		out = append(out, http.StatusNotFound)
	}
	if !o.Public && o.Method != http.MethodGet && o.Method != http.MethodHead {
		out = append(out, http.StatusConflict)
	}
	if hasBody {
		out = append(out, http.StatusRequestEntityTooLarge)
	}
	if o.Public && o.Auth == "" && hasBody {
		out = append(out, http.StatusLocked) // login of a locked account
	}
	out = append(out, http.StatusInternalServerError)
	if o.Unavailable {
		out = append(out, http.StatusServiceUnavailable)
	}
	return out
}

// securitySchemes are the ways of authenticating that the routes use.
var securitySchemes = openapi3.SecuritySchemes{
	bearerScheme: {Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer",
		Description: "登录接口返回的 token，放在请求头 Authorization: Bearer TOKEN 中（WebSocket 客户端可用查询参数 token）",
	}},
	basicScheme: {Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "basic",
		Description: "设备认证：用户名为设备编码，密码为设备密钥（新建设备或重置密钥时显示一次）",
	}},
	signedScheme: {Value: &openapi3.SecurityScheme{
		Type: "apiKey", In: "query", Name: "sig",
		Description: "签名链接：POST /api/v1/media/{sha256}/signed-url 返回的 url 已含 u、exp、sig 三个查询参数，原样请求即可，无需 Authorization",
	}},
}

// security is the security requirement of an op; an empty list means none.
func security(o Op) *openapi3.SecurityRequirements {
	req := openapi3.NewSecurityRequirements()
	switch {
	case !o.Public:
		req.With(openapi3.NewSecurityRequirement().Authenticate(bearerScheme))
	case o.Auth == AuthBasic:
		req.With(openapi3.NewSecurityRequirement().Authenticate(basicScheme))
	case o.Auth == AuthSigned:
		req.With(openapi3.NewSecurityRequirement().Authenticate(signedScheme))
	}
	return req
}

// buildOpenAPI describes ops as an OpenAPI 3.0 document.
func buildOpenAPI(ops []Op, version string) (*openapi3.T, error) {
	doc, _, err := buildOpenAPIDoc(ops, version)
	return doc, err
}

// buildOpenAPIDoc is buildOpenAPI, also returning the unresolved table entries.
func buildOpenAPIDoc(ops []Op, version string) (*openapi3.T, *docBuilder, error) {
	if version == "" {
		version = "dev"
	}
	fixed, err := stableNames(ops)
	if err != nil {
		return nil, nil, err
	}
	b := &docBuilder{
		fixed:   fixed,
		schemas: openapi3.Schemas{},
		names:   map[reflect.Type]string{},
		types:   map[string]reflect.Type{},
		opIDs:   map[string]bool{},

		requestTypes: map[reflect.Type]bool{},
	}
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       "Yingji 应急管理平台 API",
			Version:     version,
			Description: apiDescription,
		},
		Servers: openapi3.Servers{{URL: "/", Description: "本服务器（路径均以 /api/v1 开头；默认监听 127.0.0.1:8080）"}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:         b.schemas,
			SecuritySchemes: securitySchemes,
			Responses:       openapi3.ResponseBodies{},
		},
	}

	// ErrorBody, and the standard error responses referring to it.
	errRef, err := b.schema(ErrorBody{})
	if err != nil {
		return nil, nil, err
	}
	if eb := b.schemas[errorBodyName]; eb == nil || eb.Value == nil || errRef.Ref != schemaRefBase+errorBodyName {
		return nil, nil, fmt.Errorf("component schema %s not generated", errorBodyName)
	} else {
		eb.Value.Description = "错误响应"
		eb.Value.Required = []string{"code", "message", "request_id"}
		describe(eb.Value, "code", "稳定的机器码，形如 area.reason，如 auth.locked")
		describe(eb.Value, "message", "可直接展示给用户的中文提示")
		describe(eb.Value, "request_id", "请求编号，与响应头 X-Request-ID 相同")
		describe(eb.Value, "data", "细节，如出错字段、上限、剩余次数；可省略")
	}
	for _, r := range errorResponses {
		resp := openapi3.NewResponse().WithDescription(r[1]).
			WithContent(openapi3.NewContentWithJSONSchemaRef(openapi3.NewSchemaRef(schemaRefBase+errorBodyName, nil)))
		resp.Headers = openapi3.Headers{"X-Request-ID": requestIDHeader()}
		doc.Components.Responses[r[0]] = &openapi3.ResponseRef{Value: resp}
	}

	tagSeen := map[string]bool{}
	for _, o := range ops {
		path, params := openAPIPath(o.Path)
		op, err := b.operation(o, params)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", o.Method, o.Path, err)
		}
		full := apiPrefix + path
		item := doc.Paths.Value(full)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(full, item)
		}
		if item.GetOperation(o.Method) != nil {
			return nil, nil, fmt.Errorf("%s %s: declared twice", o.Method, o.Path)
		}
		item.SetOperation(o.Method, op)
		if o.Tag != "" && !tagSeen[o.Tag] {
			tagSeen[o.Tag] = true
			doc.Tags = append(doc.Tags, &openapi3.Tag{Name: o.Tag, Description: tagDescriptions[o.Tag]})
		}
	}
	if err := b.refineSchemas(doc); err != nil {
		return nil, nil, err
	}
	return doc, b, nil
}

type docBuilder struct {
	schemas openapi3.Schemas
	names   map[reflect.Type]string // component name of each named type
	fixed   map[reflect.Type]string // the names decided before building (stableNames)
	types   map[string]reflect.Type // and back, to keep names unique
	opIDs   map[string]bool

	requestTypes map[reflect.Type]bool // types in request bodies: their required fields are declared (schemaDocs)
	unresolved   []string              // schemaDocs and schemaEnums entries naming schemas not in the document
}

func (b *docBuilder) operation(o Op, pathParams []string) (*openapi3.Operation, error) {
	op := &openapi3.Operation{Summary: o.Summary, OperationID: b.operationID(o), Responses: openapi3.NewResponses()}
	if o.Tag != "" {
		op.Tags = []string{o.Tag}
	}
	op.Security = security(o)
	switch {
	case o.Auth == AuthBasic:
		op.Description = "设备以 HTTP Basic 认证，无需登录。"
	case o.Auth == AuthSigned:
		op.Description = "凭签名链接访问，无需登录。"
	case o.Public:
		op.Description = "无需登录。"
	}
	if o.Description != "" {
		op.Description = strings.TrimSpace(op.Description + "\n\n" + o.Description)
	}

	for _, name := range pathParams {
		desc := "路径参数 " + name
		if name == "id" {
			desc = "记录 ID"
		}
		op.AddParameter(openapi3.NewPathParameter(name).WithDescription(desc).WithSchema(openapi3.NewStringSchema()))
	}
	for _, q := range o.Query {
		var sch *openapi3.Schema
		switch q.Type {
		case "string", "":
			sch = openapi3.NewStringSchema()
		case "integer":
			sch = openapi3.NewIntegerSchema()
		case "boolean":
			sch = openapi3.NewBoolSchema()
		default:
			return nil, fmt.Errorf("query parameter %s: unknown type %q", q.Name, q.Type)
		}
		op.AddParameter(openapi3.NewQueryParameter(q.Name).WithDescription(q.Desc).WithSchema(sch))
	}

	switch {
	case o.Consumes != "":
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
			WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{o.Consumes}))}
	case o.Upload:
		file := openapi3.NewObjectSchema().
			WithProperty("file", openapi3.NewStringSchema().WithFormat("binary"))
		file.Required = []string{"file"}
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
			WithDescription("上传的文件，表单字段 file").WithFormDataSchema(file)}
	case o.Body != nil:
		markRequestTypes(b.requestTypes, reflect.TypeOf(o.Body))
		ref, err := b.schema(o.Body)
		if err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(ref)}
		if o.Example != nil {
			op.RequestBody.Value.Content.Get("application/json").Example = o.Example
		}
	}

	status := o.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := openapi3.NewResponse().WithDescription(successDescription(status))
	switch {
	case status == http.StatusNoContent:
	case o.Produces == "application/sdp" || o.Produces == "application/trickle-ice-sdpfrag":
		resp.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{o.Produces})
		resp.Headers = openapi3.Headers{}
		for _, h := range []string{"Location", "ETag", "Link"} {
			resp.Headers[h] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: sdpHeaderDocs[h], Schema: openapi3.NewStringSchema().NewRef()}}}
		}
	case o.Produces != "":
		resp.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{o.Produces})
		resp.Headers = openapi3.Headers{"Content-Disposition": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "attachment，含下载文件名", Schema: openapi3.NewStringSchema().NewRef()}}}}
	case o.Resp != nil:
		ref, err := b.schema(o.Resp)
		if err != nil {
			return nil, fmt.Errorf("response: %w", err)
		}
		resp.Content = openapi3.NewContentWithJSONSchemaRef(ref)
	}
	op.AddResponse(status, resp)

	for _, st := range errorStatuses(o, len(pathParams) > 0) {
		op.Responses.Set(fmt.Sprint(st), &openapi3.ResponseRef{Ref: responseRefBase + errorResponses[st][0]})
	}
	return op, nil
}

func successDescription(status int) string {
	switch status {
	case http.StatusOK:
		return "成功"
	case http.StatusCreated:
		return "已创建"
	case http.StatusAccepted:
		return "已接受"
	case http.StatusNoContent:
		return "成功，无响应内容"
	}
	return http.StatusText(status)
}

func requestIDHeader() *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: "请求编号", Schema: openapi3.NewStringSchema().NewRef()}}}
}

// describe sets the description of an inline property, on a copy: the generator shares one
// schema between the properties of a type.
func describe(s *openapi3.Schema, prop, desc string) {
	if p := s.Properties[prop]; p != nil && p.Value != nil && p.Ref == "" {
		cp := *p.Value
		cp.Description = desc
		s.Properties[prop] = cp.NewRef()
	}
}

// schema generates the schema of v's type; named struct types become component schemas
// (added to b.schemas) and are referred to by $ref.
func (b *docBuilder) schema(v any) (*openapi3.SchemaRef, error) {
	g := openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
			ExportComponentSchemas: true, ExportTopLevelSchema: true, ExportGenerics: true,
		}),
		openapi3gen.CreateTypeNameGenerator(b.typeName),
	)
	ref, err := g.NewSchemaRefForValue(v, b.schemas)
	if err != nil {
		return nil, err
	}
	// The generator registers only components with properties; give the others (structs
	// without JSON fields) an empty object so that no $ref dangles.
	for r := range g.SchemaRefs {
		if name, ok := strings.CutPrefix(r.Ref, schemaRefBase); ok && b.schemas[name] == nil {
			b.schemas[name] = openapi3.NewObjectSchema().NewRef()
		}
	}
	return ref, nil
}

// typeName names the component schema of t: its Go name, with the type arguments of a generic
// type reduced to their names (yingji.Page[account.User] → Page_User). The names are fixed
// before the document is built (stableNames), so that they do not depend on the order in
// which routes are mounted; a type met only now is named first come, first served.
func (b *docBuilder) typeName(t reflect.Type) string {
	if n, ok := b.names[t]; ok {
		return n
	}
	if n, ok := b.fixed[t]; ok {
		b.names[t], b.types[n] = n, t
		return n
	}
	name := componentName(t.Name())
	if name == "" {
		return "" // anonymous: inlined
	}
	if other, taken := b.types[name]; taken && other != t {
		base := qualifiedName(t, name)
		name = base
		for i := 2; b.types[name] != nil; i++ {
			name = fmt.Sprintf("%s%d", base, i)
		}
	}
	b.names[t], b.types[name] = name, t
	return name
}

// qualifiedName is name qualified by the last element of t's package path (video.Position);
// a generic type's arguments are qualified instead (Page_audit.Entry).
func qualifiedName(t reflect.Type, name string) string {
	if strings.Contains(t.Name(), "[") {
		if q := componentName(qualifiedArg.ReplaceAllString(t.Name(), "${1}__${2}")); q != name {
			return strings.ReplaceAll(q, "__", ".")
		}
	}
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	return sanitizeName(pkg) + "." + name
}

// stableNames names the component schemas of every struct type that the bodies and responses
// of ops (and ErrorBody) reach. A name that more than one type would take is qualified with
// the package for every one of those types (timeline.Position and video.Position, never a bare
// Position for whichever came first); types that still collide (same package name) are
// numbered in the order of their full Go names. The result is independent of the order of ops.
func stableNames(ops []Op) (map[reflect.Type]string, error) {
	// A first pass through the generator finds the types; each is named by its full Go name
	// meanwhile, so that the generator walks every type apart.
	seen := map[reflect.Type]bool{}
	full := func(t reflect.Type) string { return t.PkgPath() + "." + t.Name() }
	c := &docBuilder{schemas: openapi3.Schemas{}}
	g := func(v any) error {
		gen := openapi3gen.NewGenerator(
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
				ExportComponentSchemas: true, ExportTopLevelSchema: true, ExportGenerics: true,
			}),
			openapi3gen.CreateTypeNameGenerator(func(t reflect.Type) string {
				if t.Name() == "" {
					return ""
				}
				seen[t] = true
				return full(t)
			}),
		)
		_, err := gen.NewSchemaRefForValue(v, c.schemas)
		return err
	}
	if err := g(ErrorBody{}); err != nil {
		return nil, err
	}
	for _, o := range ops {
		for _, v := range []any{o.Body, o.Resp} {
			if v == nil {
				continue
			}
			if err := g(v); err != nil {
				return nil, fmt.Errorf("%s %s: %w", o.Method, o.Path, err)
			}
		}
	}

	byName := map[string][]reflect.Type{}
	for t := range seen {
		if n := componentName(t.Name()); n != "" {
			byName[n] = append(byName[n], t)
		}
	}
	out := map[reflect.Type]string{}
	taken := map[string][]reflect.Type{}
	for n, ts := range byName {
		for _, t := range ts {
			q := n
			if len(ts) > 1 {
				q = qualifiedName(t, n)
			}
			taken[q] = append(taken[q], t)
		}
	}
	for q, ts := range taken {
		slices.SortFunc(ts, func(a, b reflect.Type) int { return strings.Compare(full(a), full(b)) })
		for i, t := range ts {
			out[t] = q
			if i > 0 {
				out[t] = fmt.Sprintf("%s%d", q, i+1)
			}
		}
	}
	return out, nil
}

var (
	qualifiedIdent = regexp.MustCompile(`(?:[\w.~-]+/)*[\w~-]+\.(\w+)`)
	qualifiedArg   = regexp.MustCompile(`(?:[\w.~-]+/)*([\w~-]+)\.(\w+)`)
	invalidName    = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// componentName turns a Go type name such as Page[github.com/x/account.User] into Page_User.
func componentName(goName string) string {
	n := qualifiedIdent.ReplaceAllString(goName, "$1")
	n = strings.NewReplacer("[]", "List", "*", "", "[", "_", "]", "", ",", "_", " ", "").Replace(n)
	return strings.Trim(sanitizeName(n), "_")
}

func sanitizeName(s string) string { return invalidName.ReplaceAllString(s, "_") }

// openAPIPath converts an echo path (/users/:id) to OpenAPI (/users/{id}) and lists its
// parameters; a trailing * becomes {path}.
func openAPIPath(p string) (string, []string) {
	segs := strings.Split(p, "/")
	var params []string
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			params = append(params, s[1:])
			segs[i] = "{" + s[1:] + "}"
		case s == "*":
			params = append(params, "path")
			segs[i] = "{path}"
		}
	}
	return strings.Join(segs, "/"), params
}

// operationID is the method and path camel-cased (GET /users/:id → getUsersById), made unique.
func (b *docBuilder) operationID(o Op) string {
	var sb strings.Builder
	sb.WriteString(strings.ToLower(o.Method))
	for _, seg := range strings.Split(o.Path, "/") {
		switch {
		case seg == "":
			continue
		case strings.HasPrefix(seg, ":"):
			sb.WriteString("By")
			seg = seg[1:]
		case seg == "*":
			seg = "path"
		}
		for _, w := range strings.FieldsFunc(seg, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			sb.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	id := sb.String()
	for i := 2; b.opIDs[id]; i++ {
		id = fmt.Sprintf("%s%d", sb.String(), i)
	}
	b.opIDs[id] = true
	return id
}

// sdpHeaderDocs describe the headers of a WHIP/WHEP answer (RFC 9725).
var sdpHeaderDocs = map[string]string{
	"Location": "会话资源 URL：PATCH（trickle ICE、ICE 重启）与 DELETE（结束）都发往此处",
	"ETag":     "会话的实体标签；PATCH 时放在 If-Match 中",
	"Link":     "rel=\"ice-server\"：服务器配置的 STUN/TURN 服务器（可多条）",
}

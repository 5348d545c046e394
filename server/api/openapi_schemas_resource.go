package api

// Entries of schemaDocs for the emergency resources (server/resource, resources.go); merged at
// init like moreSchemaDocs.

const resourceKinds = "种类：supply 物资装备、depot 储备库、team 救援队伍、expert 专家、shelter 避难场所、medical 医疗机构、" +
	"police 警力（公安）、fire 消防力量、target 目标（防护目标、脆弱目标、重要目标、卸载点）"

const resourceStatuses = "状态：available 可用（队伍：待命；避难场所：待启用）、busy 使用中（队伍：出动；避难场所：已启用）、" +
	"maintenance 维护中（队伍：休整）、retired 停用；新建时默认 available"

// resourceCommonProps are the properties of every resource shape (record, input, index entry).
var resourceCommonProps = map[string]string{
	"kind": resourceKinds, "name": "名称（不超过 100 个字）",
	"code":      "编号（不超过 40 个字符）；物资为 GB/T 38565 应急物资编码：1、3、5 或 7 位数字，首位 1–3 为大类，其后每两位 01–99",
	"category":  "类别：储备库为市级、区县级、乡镇（街道）级、企业；队伍为综合、专业、社会；专家为专业领域（水利、危化等）；避难场所为室内、室外；医疗机构为医院等级；目标为防护目标、脆弱目标、重要目标、卸载点；物资、警力、消防力量为自由填写（不超过 50 个字，见 /resources/kinds 的建议）",
	"subtype":   "类型（不超过 50 个字），如队伍的危化品救援、目标的学校",
	"holder_id": "存放该物资的储备库或救援队伍（资源 ID，仅物资）；物资的坐标随之取该储备库或队伍的坐标",
	"status":    resourceStatuses,
	"quantity":  "数量（仅物资，不小于 0）", "unit": "计量单位（仅物资，必填，如 件、台、吨，不超过 10 个字）",
	"accident_types": "可处置的事故类型（如 火灾、爆炸，最多 20 种，每种不超过 50 个字）",
	"contact":        "负责人或联系人（不超过 50 个字）", "phone": "联系电话：11 位手机号或带区号的固定电话（如 0571-88888888）",
	"address": "地址（不超过 200 个字）",
}

// resourceDetailProps are the kind-specific details; the fields of other kinds are ignored.
var resourceDetailProps = map[string]string{
	"members": "队员人数（仅救援队伍）", "equipment": "主要装备（仅救援队伍，不超过 500 个字）",
	"sex": "性别：男 或 女（仅专家）", "birth_month": "出生年月，格式 YYYY-MM（仅专家）", "employer": "工作单位（仅专家，不超过 100 个字）",
	"title": "职称或职务（仅专家，不超过 50 个字）", "specialty": "专业特长（仅专家，不超过 200 个字）",
	"area": "面积（平方米，仅储备库、避难场所）", "capacity": "可容纳人数（仅避难场所）", "occupancy": "当前安置人数（仅避难场所）",
	"ambulances": "救护车数（仅医疗机构）", "beds": "床位数（仅医疗机构）", "doctors": "医生数（仅医疗机构）", "nurses": "护士数（仅医疗机构）",
	"people": "人数（仅警力、消防力量）", "vehicles": "车辆数（仅警力、消防力量）", "spec": "规格型号（仅物资，不超过 100 个字）",
	"remark": "备注（不超过 500 个字）",
}

var resourceOwnerProps = map[string]string{
	"owner":         "归属：government 政府、enterprise 企业；不填时有所属企业即为企业，否则为政府",
	"org_unit_id":   "所属单位（组织机构 ID）；政府资源必填，企业资源取企业所在的乡镇（街道）或网格",
	"enterprise_id": "所属企业（企业资源必填，政府资源须为空）",
}

var resourceEntryProps = map[string]string{
	"id": "资源 ID", "org_path": "所属单位（或所属企业）的组织机构路径，决定谁能看到",
	"available": "可用数量：物资为数量，避难场所为剩余容量（可容纳人数减当前安置人数），队伍为队员人数，医疗机构为床位数，警力、消防力量为人数，专家为 1，目标为 0",
	"lat":       "纬度（WGS84）", "lng": "经度（WGS84）",
}

func mergeProps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out = withProps(out, m)
	}
	return out
}

// without returns m without the keys.
func without(m map[string]string, keys ...string) map[string]string {
	out := withProps(m, nil)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

var resourceSchemaDocs = map[string]schemaDoc{
	"resource.Location": {desc: "坐标点（WGS84，须在中国境内）", props: map[string]string{"lat": "纬度（WGS84，-90 到 90）", "lng": "经度（WGS84，-180 到 180）"}},
	"resource.Resource": {desc: "一项应急资源：物资装备、储备库、救援队伍、专家、避难场所、医疗机构、警力、消防力量或目标（防护目标、脆弱目标、重要目标、卸载点）",
		props: mergeProps(resourceCommonProps, resourceDetailProps, resourceOwnerProps, map[string]string{
			"id": "资源 ID", "org_path": "所属单位（或所属企业）的组织机构路径，决定谁能看到",
			"cell":   "所在网格单元（由坐标算出，没有坐标时省略）",
			"source": "来源系统（外部系统导入时，如 浙江省应急物资管理系统）", "external_id": "在来源系统中的编号（与来源系统一起唯一）",
			"created_at": "创建时间", "updated_at": "更新时间"})},
	"ResourceInput": {desc: "新建资源，或整体替换资源的各字段（修改时种类不能改变）；与种类无关的详情字段被忽略",
		props: mergeProps(resourceCommonProps, resourceDetailProps, resourceOwnerProps, map[string]string{
			"kind":   resourceKinds + "；新建时必填，修改时可省略",
			"source": "来源系统（不超过 50 个字；与外部编号同时填写或同时留空）", "external_id": "在来源系统中的编号（不超过 100 个字符）"}),
		example: resourceExample},
	"Page_Resource": {desc: "资源分页", props: map[string]string{"items": "本页资源", "total": "符合条件的总数"}},
	"ResourceKindInfo": {desc: "资源种类说明：类别与各状态的名称",
		props: map[string]string{"kind": resourceKinds, "name": "种类名称", "categories": "类别：固定类别时为可选值，否则为建议值",
			"fixed_category": "类别是否只能取 categories 中的值", "statuses": "状态代码 → 该种类下的状态名称（如队伍的 available 为 待命）"}},
	"resource.Entry": {desc: "一张图上的一个资源（有坐标的资源）",
		props: mergeProps(resourceCommonProps, resourceEntryProps, map[string]string{
			"owner": "归属：government 政府、enterprise 企业", "enterprise_id": "所属企业（政府资源为空）"})},
	"resource.Hit": {desc: "最近资源查询的一条结果：资源及其离查询点的距离",
		props: mergeProps(resourceCommonProps, resourceEntryProps, map[string]string{
			"owner": "归属：government 政府、enterprise 企业", "enterprise_id": "所属企业（政府资源为空）",
			"distance_m": "离查询点的大圆距离（米）"}),
		example: map[string]any{"id": "01938f2e-8a10-7c3e-9d2a-5b6c7d8e9f10", "kind": "team", "name": "临港园区危化品救援队",
			"code": "", "category": "专业", "subtype": "危化品救援", "owner": "government", "org_path": "/01a250c4-e8f0-7a11-8c3e-1f2a3b4c5d6e/01a250c4-ec44-76cc-9cee-c23c5756b963/",
			"enterprise_id": "", "holder_id": "", "status": "available", "quantity": 0, "unit": "", "available": 36,
			"accident_types": []string{"火灾", "爆炸", "中毒和窒息"}, "contact": "陈队长", "phone": "13957110010",
			"address": "临港化工园区消防路 1 号", "lat": 30.2201, "lng": 120.3466, "distance_m": 1284.6}},
	"NearestResult": {desc: "最近资源查询的结果：按距离由近到远",
		props: map[string]string{"lat": "查询点纬度（WGS84）", "lng": "查询点经度（WGS84）", "items": "资源，由近到远"}},
	"ResourceMap": {desc: "一张图的资源与目标图层：管辖范围内有坐标的资源",
		props: map[string]string{"items": "有坐标的资源", "truncated": "超过 20000 个而未全部返回"}},
	"ExternalPackage": {desc: "外部系统推送的资源数据包（最多 5000 条）；按（来源系统, 外部编号）幂等：重复推送不产生变化",
		props:   map[string]string{"source": "来源系统名称（必填，不超过 50 个字），如 浙江省应急物资管理系统", "items": "资源，1 到 5000 条"},
		example: externalExample},
	"ExternalItem": {desc: "数据包中的一条资源：所属单位用区划代码、所属企业用统一社会信用代码、物资的储备库或队伍用同一来源系统中的外部编号",
		props: mergeProps(without(resourceCommonProps, "holder_id"), resourceDetailProps, map[string]string{
			"external_id":            "在来源系统中的编号（必填，不超过 100 个字符，数据包内不能重复）",
			"org_unit_code":          "所属单位代码（区划代码；网格写作“乡镇代码/网格编号”）；与 enterprise_credit_code 二选一",
			"enterprise_credit_code": "所属企业的统一社会信用代码（填写时资源归属企业，优先于 org_unit_code）",
			"holder_external_id":     "存放该物资的储备库或队伍在同一来源系统中的外部编号（须在本数据包中排在前面或已导入）"})},
	"ExternalResult": {desc: "数据包中一条资源的处理结果",
		props: map[string]string{"index": "在数据包 items 中的序号（从 0 开始）", "external_id": "外部编号", "id": "资源 ID（未被拒绝时）",
			"result": "结果：created 新增、updated 更新、unchanged 无变化、rejected 拒绝", "code": "拒绝原因的错误码（如 resource.bad_phone）",
			"message": "拒绝原因（中文）", "field": "出错的字段"}},
	"ExternalSummary": {desc: "数据包的处理结果：出错的条目不影响其他条目",
		props: map[string]string{"source": "来源系统", "created": "新增条数", "updated": "更新条数", "unchanged": "无变化条数",
			"rejected": "拒绝条数", "results": "逐条结果，按数据包中的顺序"}},
}

func init() {
	for name, d := range resourceSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

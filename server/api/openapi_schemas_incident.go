package api

// Entries of schemaDocs for incidents and the response (server/incident, incidents.go); merged
// at init like moreSchemaDocs.

var incidentProps = map[string]string{
	"id": "事件 ID（UUIDv7，可由手机生成）", "code": "事件编号（服务器生成，如 YJ-2026-0001）", "title": "事件标题（不超过 200 个字）",
	"class":    "事件类别（GB/T 35561）：natural 自然灾害、accident 事故灾难、health 公共卫生事件、social 社会安全事件",
	"sub_type": "事件类型，如 危险化学品事故（不超过 100 个字）", "grade": "事件分级：特别重大、重大、较大、一般，空为未定级",
	"status":         "状态：reported 已接报、responding 响应中、terminated 已终止（随审批通过的响应步骤变化）",
	"response_level": "响应级别：0 未响应，1–4 为一级至四级", "plan_id": "启动的预案（plans.plan_id），未启动时为空",
	"lat": "纬度（WGS84）", "lng": "经度（WGS84）", "cell": "所在网格单元（18 级四叉树编码，服务器计算）",
	"area": "影响范围（GeoJSON 几何对象文本），可为空", "address": "地址（不超过 300 个字）",
	"org_path": "事发单位的组织路径", "org_unit_id": "事发单位（组织机构 ID）", "enterprise_id": "涉事企业（可为空）",
	"occurred_at": "发生时间（RFC 3339）", "reported_at": "报告时间（手机上报时为手机操作时间）", "received_at": "服务器接收时间",
	"reporter_id": "报告人（用户 ID）", "reporter_name": "报告人姓名", "reporter_phone": "报告人电话",
	"source": "来源：phone 电话接报、alert 预警转事件、field 现场上报（手机）、portal 门户录入", "alert_id": "由其转来的预警 ID",
	"dead": "死亡人数", "injured": "受伤人数", "missing": "失踪人数", "trapped": "被困人数", "affected": "受影响（需转移安置）人数",
	"economic_loss": "直接经济损失（万元）", "materials": "涉及的危险化学品", "exercise": "是否演练（演练不计入任何统计）",
	"description": "事件描述（不超过 10000 个字）", "created_by": "录入人（用户 ID）", "created_at": "记录创建时间", "updated_at": "最后修改时间",
	"terminated_at": "响应终止时间（审批通过的时间）",
}

var actionProps = map[string]string{
	"id": "响应步骤 ID", "incident_id": "事件 ID", "kind": "步骤：start 启动响应、raise 提升级别、lower 降低级别、terminate 终止响应",
	"level": "响应级别 1–4（终止为 0）", "plan_id": "预案（plans.plan_id）", "matched_plan_id": "提出时预案匹配推荐的预案",
	"matched_level": "提出时预案匹配推荐的级别", "reason": "理由（与匹配结果不同或终止时必填）",
	"state": "状态：proposed 待审批、approved 已批准、rejected 已驳回", "proposed_by": "提议人（用户 ID）", "proposed_at": "提出时间",
	"proposed_received_at": "服务器收到提议的时间", "approver_id": "审批领导（预案指定的总指挥，或配置的领导角色）",
	"approver_role": "审批人身份：总指挥 或 领导角色名称", "decided_by": "审批人（用户 ID）", "decided_at": "审批时间（手机离线审批时为点击时间）",
	"decided_received_at": "服务器收到审批的时间", "comment": "审批意见", "org_path": "事件的组织路径", "created_at": "记录创建时间",
	"updated_at": "最后修改时间", "proposer_name": "提议人姓名", "approver_name": "审批领导姓名",
}

var incidentSchemaDocs = map[string]schemaDoc{
	"Incident":      {desc: "突发事件（灾情）", props: incidentProps},
	"Page_Incident": {desc: "事件分页", props: map[string]string{"items": "本页事件", "total": "总数"}},
	"Material":      {desc: "涉及的危险化学品，按 CAS 号关联知识库的安全技术说明书（MSDS）", props: map[string]string{"name": "名称", "cas": "CAS 号，如 7782-50-5", "knowledge_id": "知识库 MSDS 条目 ID（服务器按 CAS 号关联，无则为空）", "amount": "数量", "unit": "单位（t、kg 计入泄漏量匹配）"}},
	"Patch": {desc: "续报：只修改给出的字段", props: map[string]string{"title": incidentProps["title"], "sub_type": incidentProps["sub_type"], "grade": incidentProps["grade"],
		"lat": "纬度", "lng": "经度", "area": incidentProps["area"], "address": incidentProps["address"], "occurred_at": incidentProps["occurred_at"],
		"reporter_name": "报告人姓名", "reporter_phone": "报告人电话", "dead": "死亡人数", "injured": "受伤人数", "missing": "失踪人数", "trapped": "被困人数",
		"affected": incidentProps["affected"], "economic_loss": incidentProps["economic_loss"], "materials": incidentProps["materials"],
		"exercise": incidentProps["exercise"], "description": incidentProps["description"]}},
	"Commander": {desc: "预案组织机构中指挥部或现场指挥部的人员", props: map[string]string{"group": "分组：hq 应急指挥部、onsite 现场指挥部",
		"role": "职位，如 总指挥", "department": "单位", "name": "姓名", "title": "职务", "phone": "电话", "user_id": "对应的系统账号（按电话或唯一姓名查到，无则为空）"}},
	"Expert": {desc: "与事件类型相关的应急专家", props: map[string]string{"id": "资源 ID", "name": "姓名", "category": "专业领域", "subtype": "类型", "phone": "电话", "contact": "联系人"}},
	"PlanMatch": {desc: "一个适用的已发布预案及其对事件的判定", props: map[string]string{"plan_id": "预案（跨版本）ID", "version_id": "匹配的已发布版本 ID",
		"title": "预案名称", "kind": "预案类别", "level": "预案层级", "commanders": "指挥部与现场指挥部人员"}},
	"Match": {desc: "事件的预案匹配：适用预案、推荐的预案与级别及依据", props: map[string]string{"incident_id": "事件 ID", "plans": "适用的预案，推荐的在前",
		"plan_id": "推荐的预案（无匹配为空）", "level": "推荐的响应级别（0 无）", "explanation": "说明（中文）", "experts": "相关专家"}},
	"Member": {desc: "事件指挥群组成员", props: map[string]string{"incident_id": "事件 ID", "user_id": "用户 ID", "grp": "分组：hq 应急指挥部、onsite 现场指挥部、team 救援队伍、member 群组成员",
		"role_title": "职位，如 总指挥", "team_id": "所属救援队伍（分组 team）", "added_by": "加入操作人", "added_at": "加入时间", "removed_by": "移出操作人",
		"removed_at": "移出时间（空为在群组中）", "name": "姓名", "phone": "电话", "username": "账号"}},
	"IncidentMembers":   {desc: "事件指挥群组成员列表", props: map[string]string{"items": "成员，按分组和加入时间"}},
	"incident.Action":   {desc: "响应步骤（启动、提升、降低、终止）及其审批", props: actionProps},
	"ResponseActions":   {desc: "响应步骤列表", props: map[string]string{"items": "响应步骤，按提出时间"}},
	"Proposal":          {desc: "值班员提出的响应建议", props: map[string]string{"kind": actionProps["kind"], "level": "响应级别 1–4（终止不填）", "plan_id": "启动时选择的预案（plans.plan_id）", "reason": actionProps["reason"]}},
	"Decision":          {desc: "审批意见", props: map[string]string{"comment": "意见（不超过 2000 个字）"}},
	"incident.Location": {desc: "位置（WGS84）", props: map[string]string{"lat": "纬度", "lng": "经度"}},
	"Message": {desc: "事件群组消息", props: map[string]string{"id": "消息 ID", "incident_id": "事件 ID", "kind": "类型：text 文字、photo 图片、location 位置",
		"text": "文字（不超过 2000 个字）", "photos": "照片（SHA-256）", "sender_id": "发送人", "sender_name": "发送人姓名",
		"sent_at": "发送时间（手机时间，排序依据）", "received_at": "服务器收到时间", "org_path": "事件的组织路径"}},
	"IncidentMessages": {desc: "事件群组消息列表", props: map[string]string{"items": "消息，按发送时间"}},
	"MessageInput":     {desc: "发送群组消息", props: map[string]string{"kind": "类型：text、photo、location", "text": "文字", "photos": "照片（SHA-256，1–9 张）"}},
	"Count":            {desc: "统计的一组", props: map[string]string{"key": "分组代码", "name": "分组名称", "incidents": "事件起数", "dead": "死亡人数", "injured": "受伤人数", "economic_loss": "直接经济损失（万元）"}},
	"incident.Stats": {desc: "事件统计（演练不计入）", props: map[string]string{"from": "起（含）", "to": "止（不含）", "by_class": "按类别",
		"by_grade": "按分级", "by_month": "按月（北京时间）"}},
}

func init() {
	for name, d := range incidentSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

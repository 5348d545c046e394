package api

// Entries of schemaDocs for tasks, check-ins, feedback, the timeline and assessments
// (tasks.go, assessments.go); merged at init like resourceSchemaDocs.

func docProps(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var taskSchemaDocs = map[string]schemaDoc{
	"Task": {desc: "任务（本岗位应急任务）", props: docProps("id", "任务 ID", "incident_id", "突发事件 ID", "title", "任务内容", "detail", "任务说明",
		"source", "来源：hq 指挥部、plan 预案措施", "plan_id", "预案（来源为预案措施时）", "level", "响应级别 1–4（来源为预案措施时）",
		"team_id", "承担队伍", "team_name", "队伍名称", "assignee_id", "承担人（下达给个人时）", "assignee_name", "承担人姓名",
		"due_at", "完成期限", "status", "状态：assigned 已下达、accepted 已接受、en_route 赶赴现场、on_scene 到达现场、done 已完成、refused 已拒绝、cancelled 已撤销",
		"status_name", "状态名称", "reason", "拒绝或撤销的原因", "assigned_by", "下达人", "assigned_at", "下达时间", "steps", "每一步的记录")},
	"Step":          {desc: "任务的一步", props: docProps("status", "变更后的状态", "by", "操作人", "at", "操作时间（现场操作的时间）", "received_at", "服务器接收时间", "reason", "原因")},
	"task.Location": {desc: "位置（WGS84）", props: docProps("lat", "纬度", "lng", "经度")},
	"Checkin": {desc: "队伍报到", props: docProps("id", "报到 ID", "incident_id", "突发事件 ID", "team_id", "队伍", "team_name", "队伍名称", "user_id", "报到人",
		"user_name", "报到人姓名", "note", "备注", "at", "报到时间（现场操作的时间）", "received_at", "服务器接收时间")},
	"FeedbackItem": {desc: "现场反馈", props: docProps("id", "反馈 ID", "incident_id", "突发事件 ID", "task_id", "所反馈的任务", "team_id", "队伍", "team_name", "队伍名称",
		"user_id", "反馈人", "user_name", "反馈人姓名", "text", "文字", "photos", "照片（SHA-256）", "videos", "视频（SHA-256）", "at", "反馈时间（现场操作的时间）", "received_at", "服务器接收时间")},
	"Page_Task":         {desc: "任务分页", props: docProps("items", "本页任务", "total", "总数")},
	"Page_Checkin":      {desc: "报到分页", props: docProps("items", "本页报到", "total", "总数")},
	"Page_FeedbackItem": {desc: "现场反馈分页", props: docProps("items", "本页反馈", "total", "总数")},
	"Page_Assessment":   {desc: "评估报告分页", props: docProps("items", "本页报告", "total", "总数")},
	"TaskInput": {desc: "下达任务：指定队伍或人员", props: docProps("id", "可选：客户端生成的 UUID，重试时不会重复下达", "title", "任务内容（不超过 200 个字）",
		"detail", "任务说明", "team_id", "承担队伍", "assignee_id", "承担人（下达给个人）", "due_at", "完成期限（RFC 3339）")},
	"TasksFromPlan": {desc: "按预案规定的响应措施下达任务", props: docProps("plan_id", "预案", "level", "响应级别 1–4",
		"team_id", "承担队伍", "assignee_id", "承担人", "due_at", "完成期限（RFC 3339）")},
	"TaskList":   {desc: "任务列表", props: docProps("items", "任务")},
	"TaskCancel": {desc: "撤销任务", props: docProps("reason", "撤销原因")},
	"Replay": {desc: "灾后复盘：时间线的一页与回放位置", props: docProps("incident_id", "突发事件 ID", "items", "本页事件（按时间）", "total", "筛选后的事件总数",
		"kinds", "各类事件的数量", "start", "最早事件时间", "end", "最晚事件时间", "positions", "回放用的位置序列（按时间）")},
	"timeline.Event": {desc: "时间线上的一个事件（由各模块已有数据推导）", props: docProps("key", "事件键（来源与记录，事件内唯一）", "kind", "事件类型", "at", "发生时间",
		"actor", "操作人", "actor_name", "操作人姓名", "team_id", "队伍", "title", "事件说明", "lat", "纬度", "lng", "经度", "ref", "来源记录（数据集/ID）",
		"media", "照片与视频（SHA-256）", "hash", "事件内容的 SHA-256（防篡改）")},
	"timeline.Position": {desc: "回放位置", props: docProps("at", "时间", "lat", "纬度", "lng", "经度", "kind", "事件类型", "actor", "人员", "team_id", "队伍", "key", "事件键")},
	"Verification": {desc: "时间线防篡改校验结果", props: docProps("incident_id", "突发事件 ID", "ok", "是否完好", "events", "现在推导出的事件数", "anchored", "防篡改链上登记的事件数",
		"unanchored", "尚未登记的新事件数", "head", "链尾哈希", "findings", "发现的问题", "checked_at", "校验时间")},
	"Finding": {desc: "校验发现的问题", props: docProps("key", "事件键", "kind", "事件类型", "at", "事件时间", "title", "登记时的事件说明",
		"problem", "问题：altered 被修改、deleted 被删除、anchor_altered 登记记录被改动", "message", "说明")},
	"Assessment": {desc: "应急评估报告", props: docProps("id", "报告 ID", "incident_id", "突发事件 ID", "incident_code", "事件编号", "incident_title", "事件名称",
		"title", "报告标题", "status", "状态：draft 草稿、final 定稿", "created_by", "编写人", "finalized_by", "定稿人", "finalized_at", "定稿时间", "created_at", "创建时间", "updated_at", "更新时间")},
	"AssessmentPatch": {desc: "修改评估报告草稿（未给出的字段不变）", props: docProps("title", "标题")},
	"assess.Content": {desc: "评估报告的四个部分", props: docProps("before", "事发前状况", "causes", "事件原因与发展过程", "response", "应急处置与救援评价",
		"losses", "损失评估", "suggestions", "整改建议")},
	"assess.Figures": {desc: "按事件与时间线统计的指标（时长单位为分钟，-1 表示未发生）", props: docProps("events", "时间线事件数", "patrols_before", "事发前 30 天巡查次数",
		"hazards_before", "事发前 30 天上报隐患数", "to_response_min", "接报至启动响应", "to_arrival_min", "接报至到场报到", "to_control_min", "接报至响应终止",
		"tasks", "任务数", "tasks_done", "完成任务数", "tasks_on_time", "按期完成任务数", "tasks_refused", "拒绝任务数", "tasks_cancelled", "撤销任务数",
		"checkins", "报到次数", "feedback", "现场反馈条数", "messages", "群组消息条数", "dead", "死亡人数", "injured", "受伤人数", "missing", "失踪人数",
		"affected", "受影响人数", "direct_loss_wan", "直接经济损失（万元）", "timeline_verified", "统计前时间线已登记防篡改链")},
}

func init() {
	for name, d := range taskSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

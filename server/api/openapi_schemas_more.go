package api

// More entries of schemaDocs, by module; merged at init so each module's table stays short.
var moreSchemaDocs = map[string]schemaDoc{
	// Alerts.
	"Action": {desc: "对预警的一次操作（确认、处置、评论、反馈）",
		props: map[string]string{"id": "操作 ID", "kind": "类型：comment 评论、acknowledge 确认、dispose 处置、feedback 反馈", "text": "内容",
			"photos": "照片（SHA-256）", "tier": "操作人所在层级", "by_user": "操作人（用户 ID）", "at": "操作时间（手机上操作时为手机时间）",
			"received_at": "服务器收到的时间（早期数据为空）"}},
	"AlertActionCreated": {desc: "已记录的操作", props: map[string]string{"id": "操作 ID"}},
	"AlertActionInput": {desc: "评论或反馈预警", required: []string{"kind", "text"},
		props:   map[string]string{"kind": "类型：comment 评论、feedback 本层级的处置反馈", "text": "内容"},
		example: map[string]any{"kind": "comment", "text": "已通知企业现场核查"}},
	"AlertHandleInput": {desc: "处置、关闭或标记误报",
		props:   map[string]string{"reason": "原因", "measures": "采取的措施", "photos": "照片（SHA-256）"},
		example: map[string]any{"reason": "传感器受潮", "measures": "更换探头并复测正常"}},
	"AlertDeliveries": {desc: "预警的通知发送记录", props: map[string]string{"items": "发送记录"}},
	"Delivery": {desc: "一次通知发送",
		props: map[string]string{"id": "发送记录 ID", "alert_id": "预警 ID", "tier": "通知层级", "level": "发送时的预警级别",
			"channel": "渠道：app 应用内、fcm 手机推送、sms 短信、zzd 浙政钉、dingtalk 钉钉群机器人", "receiver_key": "接收人标识",
			"receiver_name": "接收人名称", "user_id": "接收用户（系统用户时）", "address": "发送地址（手机号、账号等）", "attempt": "第几次尝试",
			"status": "结果：sent 已发送、failed 失败、skipped 跳过", "provider_id": "服务商返回的消息 ID", "error_code": "错误码",
			"error_message": "错误信息", "at": "发送时间", "notification_id": "应用内通知写入的站内消息 ID（其他渠道为空）"}},
	"AlertReceiverList": {desc: "预警接收人列表", props: map[string]string{"items": "接收人"}},
	"Receiver": {desc: "预警接收人：某层级、某企业或组织机构收到预警通知的人或群",
		props: map[string]string{"id": "接收人 ID", "tier": "层级：enterprise 企业、township 乡镇（街道）、county 区县", "enterprise_id": "企业（企业层级）",
			"org_unit_id": "组织机构（乡镇、区县层级）", "org_path": "所属组织机构路径", "user_id": "系统用户（应用内通知与手机推送必填）", "name": "名称",
			"phone": "手机号（短信）", "zzd_account_id": "浙政钉账号 ID", "dingtalk_webhook": "钉钉群机器人 Webhook 地址",
			"dingtalk_secret": "钉钉加签密钥（从不返回原文，已设置时为 ******）", "channels": "通知渠道：app、fcm、sms、zzd、dingtalk",
			"min_level": "接收的最低预警级别", "enabled": "是否启用", "created_at": "创建时间", "updated_at": "更新时间"}},
	"AlertReceiverInput": {desc: "新建或修改预警接收人", required: []string{"tier", "name", "channels"},
		props: map[string]string{"tier": "层级：enterprise、township 或 county", "enterprise_id": "企业（企业层级）", "org_unit_id": "组织机构（乡镇、区县层级）",
			"user_id": "系统用户（应用内通知与手机推送必填）", "name": "名称", "phone": "手机号（短信）", "zzd_account_id": "浙政钉账号 ID",
			"dingtalk_webhook": "钉钉群机器人 Webhook 地址", "dingtalk_secret": "钉钉加签密钥", "channels": "通知渠道：app、fcm、sms、zzd、dingtalk",
			"min_level": "接收的最低预警级别", "enabled": "是否启用，默认启用"},
		example: map[string]any{"tier": "enterprise", "enterprise_id": exampleEnterprise, "name": "吴安全", "phone": "13800000000",
			"channels": []string{"sms"}, "min_level": 1}},
	"AlertTimeline": {desc: "预警时间线", props: map[string]string{"items": "时间线条目，按时间先后"}},
	"TimelineItem": {desc: "预警时间线上的一条",
		props: map[string]string{"at": "发生时间（手机上操作时为手机时间）", "received_at": "服务器收到的时间（晚于发生时间，即手机离线时才有）",
			"kind": "类型：raised 产生、level 级别变化、cleared 恢复、recurred 再次触发、escalated 升级、status 状态变化、action 操作、delivery 通知发送",
			"text": "说明", "by": "操作人（用户 ID）", "by_name": "操作人姓名", "tier": "层级"}},
	"Stats": {desc: "预警统计", props: map[string]string{"group_by": "分组：period、enterprise、township、industry、kind 或 level",
		"period": "按时段分组时的时段粒度", "rows": "各组"}},
	"StatsRow": {desc: "预警统计的一组",
		props: map[string]string{"key": "分组键", "label": "分组名称", "count": "预警数", "open": "未关闭（且非误报）", "false_alarms": "误报数",
			"escalated": "升级到企业以上层级的数量", "handled_in_time": "在处置期限前关闭或标记误报的数量", "in_time_rate": "按时处置率（handled_in_time ÷ count）",
			"acknowledged_in_time": "在确认期限前确认的数量（按操作时间判断）"}},
	"alert.Home": {desc: "首页的预警概况",
		props: map[string]string{"open": "权限范围内未关闭的预警", "by_level": "未关闭的预警按级别计数", "unconfirmed": "待确认（尚未确认）的预警",
			"mine": "本人所在层级可处置的未关闭预警", "today_raised": "今天（北京时间）产生的预警"}},
	"PushToken": {desc: "手机推送令牌", required: []string{"device_id", "token", "platform"},
		props:   map[string]string{"device_id": "设备标识", "token": "推送令牌（FCM）", "platform": "平台：android 或 ios"},
		example: map[string]any{"device_id": "a1b2c3d4e5f6", "token": "fcm-registration-token", "platform": "android"}},

	// Hazards.
	"ActionInfo": {desc: "隐患时间线上的一次操作",
		props: map[string]string{"id": "操作 ID", "kind": "类型", "text": "内容", "assignee": "被交办人", "at": "操作时间（手机时间）"}},
	"Event": {desc: "隐患时间线上的一条",
		props: map[string]string{"at": "发生时间（手机上修改时为手机时间）", "received_at": "服务器收到的时间（晚于发生时间一秒以上才有，即手机离线时）",
			"user_id": "操作人（用户 ID）", "user_name": "操作人姓名",
			"kind": "类型：created 上报、updated 同步修改、action 操作、edit 门户修改", "source": "来源：sync 手机同步、office 门户",
			"device_id": "修改来自的手机", "changes": "修改的字段（字段名 → 新值）", "photos_added": "新增的照片（SHA-256）", "summary": "说明"}},
	"StatusChange": {desc: "隐患状态变化",
		props: map[string]string{"from": "原状态", "to": "新状态", "step": "步骤", "step_name": "步骤名称"}},
	"Page_Event": {desc: "隐患时间线分页", props: map[string]string{"items": "本页条目", "total": "总数"}},

	// Risk points.
	"Measure": {desc: "管控措施",
		props: map[string]string{"id": "措施 ID", "kind": "类别：engineering 工程技术、management 管理、training 培训教育、ppe 个体防护、emergency 应急处置",
			"text": "措施内容"}},
	"HazardTemplate": {desc: "巡查发现该措施未落实时上报的隐患模板",
		props: map[string]string{"title": "隐患标题", "level": "隐患等级：general 一般、major 重大"}},
	"Location": {desc: "位置（WGS84）", props: map[string]string{"lat": "纬度", "lng": "经度"}, example: map[string]any{"lat": 30.2231, "lng": 120.3512}},
	"RiskPointPatch": {desc: "修改风险点（只改给出的字段）",
		props: map[string]string{"code": "编码（企业内唯一）", "name": "名称", "level": "风险等级", "accident_types": "可能导致的事故类型",
			"responsible": "责任人", "clear_location": "为 true 时清除位置", "measures": "管控措施（整体替换）"},
		example: map[string]any{"level": "red", "responsible": "吴安全"}},
	"Page_RiskPoint": {desc: "风险点分页", props: map[string]string{"items": "本页风险点", "total": "符合条件的总数"}},

	// Checklists and patrols.
	"Checklist": {desc: "巡查清单：按频次巡查的风险点及措施",
		props: map[string]string{"id": "清单 ID", "enterprise_id": "所属企业", "org_path": "所属组织机构路径", "name": "名称",
			"frequency": "频次：daily 每日、weekly 每周（周一起）、monthly 每月、shift 每班", "shifts": "各班开始时间（HH:MM，北京时间；频次为 shift 时）",
			"risk_point_ids": "巡查的风险点", "measure_ids": "巡查的措施（为空表示所绑风险点的全部措施）", "assignee": "巡查责任人（用户 ID）",
			"active": "是否启用", "created_at": "创建时间", "updated_at": "更新时间"}},
	"ChecklistInput": {desc: "新建巡查清单", required: []string{"enterprise_id", "name", "frequency", "risk_point_ids"},
		props: map[string]string{"enterprise_id": "所属企业", "name": "名称", "frequency": "频次：daily、weekly、monthly 或 shift",
			"shifts": "各班开始时间（HH:MM，北京时间；频次为 shift 时必填）", "risk_point_ids": "巡查的风险点",
			"measure_ids": "巡查的措施（为空表示全部措施）", "assignee": "巡查责任人（用户 ID）", "active": "是否启用，默认启用"},
		example: map[string]any{"enterprise_id": exampleEnterprise, "name": "储罐区每班巡查", "frequency": "shift",
			"shifts": []string{"08:00", "20:00"}, "risk_point_ids": []string{"01938f2e-7c1a-7b3e-9d2a-5b6c7d8e9f10"}}},
	"ChecklistPatch": {desc: "修改巡查清单（只改给出的字段）",
		props: map[string]string{"name": "名称", "frequency": "频次", "shifts": "各班开始时间（HH:MM）", "risk_point_ids": "巡查的风险点",
			"measure_ids": "巡查的措施", "assignee": "巡查责任人（用户 ID）", "active": "是否启用"},
		example: map[string]any{"active": false}},
	"Page_Checklist": {desc: "巡查清单分页", props: map[string]string{"items": "本页清单", "total": "符合条件的总数"}},
	"CalendarPeriod": {desc: "巡查日历的一个周期",
		props: map[string]string{"start": "周期开始", "end": "周期结束", "status": "状态：done 已完成、due 进行中、overdue 已逾期",
			"missing": "本周期未巡查的风险点"}},
	"Page_CalendarPeriod": {desc: "巡查日历分页", props: map[string]string{"items": "本页周期", "total": "总数"}},
	"OverduePeriod": {desc: "逾期未完成的巡查周期",
		props: map[string]string{"checklist_id": "清单 ID", "checklist_name": "清单名称", "enterprise_id": "所属企业", "assignee": "巡查责任人",
			"start": "周期开始", "end": "周期结束", "status": "状态", "missing": "未巡查的风险点"}},
	"Page_OverduePeriod": {desc: "逾期巡查分页", props: map[string]string{"items": "本页周期", "total": "总数"}},
	"PatrolRecord": {desc: "一次巡查记录",
		props: patrolProps},
	"PatrolDetail": {desc: "巡查记录及逐项结果",
		props: withProps(patrolProps, map[string]string{"items": "逐项结果"})},
	"Page_PatrolRecord": {desc: "巡查记录分页", props: map[string]string{"items": "本页记录", "total": "符合条件的总数"}},
	"PatrolFlag": {desc: "巡查可疑标记",
		props: map[string]string{"code": "代码：far_from_point 离风险点过远、too_fast 用时过短、qr_forged 二维码伪造、qr_stale 二维码已作废",
			"reason": "说明"}},
	"PatrolItem": {desc: "巡查的一项措施的结果",
		props: map[string]string{"measure_id": "措施 ID", "kind": "措施类别", "text": "措施内容", "controlled": "是否落实",
			"note": "备注", "photos": "照片（SHA-256）", "hazard_id": "因此上报的隐患（如有）"}},
	"patrol.Location": {desc: "巡查时的位置（WGS84）", props: map[string]string{"lat": "纬度", "lng": "经度"}},
	"Reason": {desc: "信用分的一次扣分",
		props: map[string]string{"at": "时间", "patrol_id": "巡查记录 ID", "risk_point_id": "风险点 ID", "flag": "可疑标记代码",
			"delta": "分数变化（负数为扣分）", "text": "说明"}},
	"Supervision": {desc: "企业的信用分与监管等级",
		props: map[string]string{"enterprise_id": "企业 ID", "credit_score": "信用分（满分 100）",
			"supervision_level": "监管等级：normal 一般监管、attention 重点关注、key 重点监管", "reasons": "扣分记录", "updated_at": "更新时间"}},
}

var patrolProps = map[string]string{"id": "巡查记录 ID", "enterprise_id": "所属企业", "enterprise_name": "企业名称", "org_path": "所属组织机构路径",
	"risk_point_id": "风险点 ID", "risk_point_code": "风险点编码", "risk_point_name": "风险点名称", "risk_level": "风险等级",
	"checklist_id": "巡查清单 ID", "checklist_name": "清单名称", "started_at": "开始时间（手机时间，RFC 3339 含时区）",
	"finished_at": "结束时间（手机时间）", "received_at": "服务器收到的时间", "patrolled_by": "巡查人（用户 ID）", "patroller_name": "巡查人姓名",
	"distance_m": "离风险点的距离（米；缺少任一位置时为 null）", "flags": "可疑标记", "item_count": "巡查项数",
	"uncontrolled": "未落实的措施数", "photo_count": "照片数"}

func withProps(base, more map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(more))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func init() {
	for name, d := range moreSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

package api

// Entries of schemaDocs for dispatch, routes and one-click contact (server/dispatch,
// server/route, dispatch.go); merged at init like resourceSchemaDocs.

const orderStatuses = "状态：ordered 已下达、departed 已出发、arrived 已到达、returned 已返回、cancelled 已取消"

const requestStatuses = "状态：open 待处理、accepted 已受理、fulfilled 已满足、rejected 已驳回、cancelled 已撤回"

var routeProps = map[string]string{"distance_m": "沿道路的距离（米；估算时为直线距离）", "duration_s": "行程时间（秒）",
	"path":   "路径上的点，从起点到终点（估算时只有起点和终点）",
	"source": "来源：osrm 外部路径规划服务、graph 城市路网、estimate 直线估算", "estimate": "是否为直线估算（路网与外部服务均未在时限内应答）"}

var requestProps = map[string]string{"kind": "需求种类：supply 物资、team 队伍、expert 专家、medical 医疗、police 警力、fire 消防、shelter 避难场所、other 其他",
	"item": "需要什么（不超过 100 个字），如 沙袋", "quantity": "数量（不小于 0）", "unit": "计量单位", "location": "送达位置 {lat, lng}（可空）",
	"address": "送达地址", "urgency": "紧急程度：normal 一般、urgent 紧急", "note": "说明", "photos": "现场照片（SHA-256）"}

var dispatchSchemaDocs = map[string]schemaDoc{
	"LatLng": {desc: "坐标点（WGS84）", props: map[string]string{"lat": "纬度", "lng": "经度"}},
	"Route":  {desc: "规划的路径：距离、行程时间与路线", props: routeProps},
	"Nearby": {desc: "事件周边资源：每种资源最近的几个",
		props: map[string]string{"incident_id": "事件 ID", "lat": "事发地纬度", "lng": "事发地经度", "groups": "按种类分组，顺序同请求"}},
	"NearbyGroup": {desc: "一种资源中离事发地最近的几个", props: map[string]string{"kind": resourceKinds, "name": "种类名称", "items": "资源，由近到远"}},
	"NearbyHit": {desc: "事发地附近的一个资源：大圆距离，前几个附路径与行程时间",
		props: mergeProps(resourceCommonProps, resourceEntryProps, map[string]string{
			"owner": "归属：government 政府、enterprise 企业", "enterprise_id": "所属企业（政府资源为空）",
			"distance_m": "离事发地的大圆距离（米）", "free": "可调拨数量（物资：数量减去未结束调度预留的数量）",
		})},
	"Order": {desc: "调度指令：调派一支队伍或调拨一批物资到事件",
		props: map[string]string{"id": "调度指令 ID", "incident_id": "事件 ID", "code": "编号（事件编号-序号）", "request_id": "所答复的现场资源需求",
			"kind": "种类：team 救援队伍、supply 物资", "resource_id": "队伍或物资（资源 ID）", "resource_name": "队伍或物资名称",
			"quantity": "调拨数量（物资）", "unit": "计量单位", "from_id": "出发地：队伍本身，或存放物资的储备库", "from_name": "出发地名称",
			"to_address": "目的地地址",
			"note":       "说明", "status": orderStatuses, "status_name": "状态名称", "cancel_reason": "取消原因",
			"ordered_by": "下达人（用户 ID）", "ordered_at": "下达时间", "departed_at": "出发时间（手机上报时为手机时间）",
			"arrived_at": "到达时间（手机上报时为手机时间）", "returned_at": "返回时间", "cancelled_at": "取消时间",
			"status_by": "最近一次改变状态的人", "status_received_at": "服务器收到最近一次状态变化的时间", "eta": "预计到达时间（下达或出发时间加行程时间；到达后为空）"}},
	"Page_Order": {desc: "调度指令分页", props: map[string]string{"items": "本页调度指令", "total": "符合条件的总数"}},
	"OrderInput": {desc: "下达调度指令", required: []string{"kind", "resource_id"},
		props: map[string]string{"kind": "种类：team 救援队伍、supply 物资", "resource_id": "队伍或物资（资源 ID）", "quantity": "调拨数量（物资必填，大于 0）",
			"to_address": "目的地地址（不填为事发地址）", "request_id": "所答复的现场资源需求（可空）", "note": "说明"},
		example: orderExample},
	"StatusInput": {desc: "更新调度状态", required: []string{"status"},
		props: map[string]string{"status": orderStatuses, "reason": "取消原因（取消时必填）"}},
	"Request": {desc: "现场资源需求",
		props: mergeProps(requestProps, map[string]string{"id": "需求 ID", "incident_id": "事件 ID", "status": requestStatuses, "status_name": "状态名称",
			"requested_by": "提出人（用户 ID）", "requested_at": "提出时间（手机上提出时为手机时间）", "received_at": "服务器收到的时间",
			"handled_by": "受理人", "handled_at": "受理时间", "reply": "答复"})},
	"RequestInput": {desc: "登记现场资源需求", required: []string{"item"}, props: requestProps},
	"HandleInput": {desc: "受理、驳回资源需求或标记已满足", required: []string{"status"},
		props: map[string]string{"status": "accepted 受理、rejected 驳回、fulfilled 已满足", "reply": "答复（不超过 500 个字）"}},
	"dispatch.ContactInput": {desc: "一键发送（短信、浙政钉工作通知、传真）", required: []string{"text"},
		props: map[string]string{"target_kind": "对象：resource 资源（其联系电话）、user 用户（其手机号或浙政钉账号）、address 直接给出号码",
			"target_id": "资源或用户 ID", "name": "对象名称（address 时）", "address": "号码：手机号、浙政钉账号或传真号码；填写时优先于对象登记的号码",
			"incident_id": "所涉事件（可空）", "subject": "标题（传真首页、浙政钉标题）", "text": "内容（短信不超过 300 字，浙政钉 2000 字，传真 5000 字）"}},
	"ContactMessage": {desc: "一键发送的记录",
		props: map[string]string{"id": "记录 ID", "channel": "渠道：sms 短信、zzd 浙政钉、fax 传真", "target_kind": "对象种类", "target_id": "对象 ID",
			"target_name": "对象名称", "address": "发送号码或账号", "incident_id": "所涉事件", "subject": "标题", "body": "内容",
			"status": "结果：sent 已发送、failed 失败", "provider_id": "服务商返回的消息 ID", "error_code": "失败时渠道返回的错误码",
			"error_message": "失败原因", "sent_by": "发送人（用户 ID）", "sent_by_name": "发送人姓名", "at": "发送时间"}},
}

func init() {
	for name, d := range dispatchSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

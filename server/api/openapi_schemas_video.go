package api

// Entries of schemaDocs for live video (media/video, video.go); merged at init so the shared
// tables stay as the other modules left them.
var videoSchemaDocs = map[string]schemaDoc{
	"ICEServer": {desc: "STUN/TURN 服务器", props: map[string]string{"urls": "地址（stun:、turn: 或 turns:）",
		"username": "TURN 用户名", "credential": "TURN 密码"}},
	"VideoICEServers": {desc: "原生客户端推流前需要的信息", props: map[string]string{"ice_servers": "服务器配置的 STUN/TURN 服务器",
		"whip_url": "WHIP 推流地址（POST SDP offer）"}},
	"video.Position": {desc: "推流端经数据通道发来的一个定位（WGS84）", props: map[string]string{"time": "定位时间",
		"lat": "纬度", "lng": "经度", "heading": "方向（度，正北为 0，顺时针）", "speed": "速度（米/秒）"}},
	"Stream": {desc: "一路现场视频（直播或已结束）", props: map[string]string{"id": "视频流 ID（断线恢复时以 stream_id 重新推流）",
		"publisher_id": "发布人 ID", "publisher_name": "发布人姓名", "incident_id": "关联的事件 ID（可为空）",
		"org_path": "发布人所属单位的组织机构路径，决定谁能观看", "title": "标题",
		"state":  "状态：connecting 连接中、live 直播中、interrupted 断线等待恢复、ended 已结束",
		"codecs": "编码，如 video/H264、audio/opus", "started_at": "开始时间", "ended_at": "结束时间（直播中为空）",
		"gaps": "断线次数（录像中的间断）", "viewers": "当前观看人数"}},
	"Page_Stream": {desc: "视频流分页", props: map[string]string{"items": "本页视频流", "total": "符合条件的总数"}},
}

func init() {
	for name, d := range videoSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
	schemaEnums["Stream.state"] = []any{"connecting", "live", "interrupted", "ended"}
}

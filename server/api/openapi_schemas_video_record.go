package api

// Entries of schemaDocs for video recordings (media/video/record, recordings.go); merged at
// init like resourceSchemaDocs.
var recordingSchemaDocs = map[string]schemaDoc{
	"Recording": {desc: "视频录像：一路现场视频从开始发布到结束的录像；发布人断线后重连继续同一录像，中间的中断时段单独列出（不拉长时长）",
		props: map[string]string{"id": "录像 ID", "stream_id": "视频流 ID", "incident_id": "所属事件 ID（无则为空）",
			"publisher": "发布人用户 ID", "publisher_name": "发布人姓名", "started": "录像开始时间（第一个关键帧）",
			"ended": "录像结束时间；正在录制时为空", "duration_ms": "已保存的录像总时长（毫秒，不含中断）", "size": "已保存的分段总字节数",
			"codecs": "编码（RFC 6381，如 avc1.42c01e,opus）", "live": "是否正在录制",
			"segments": "分段（仅详情返回）", "gaps": "中断时段（仅详情返回）"}},
	"Segment": {desc: "录像分段：自成一体的分片 MP4 文件（从关键帧开始，默认约 10 秒），存于媒体库，以 SHA-256 校验",
		props: map[string]string{"index": "分段序号（从 0 起）", "sha256": "文件的 SHA-256", "started": "分段开始时间", "ended": "分段结束时间",
			"offset_ms": "相对录像开始的偏移（毫秒，含此前的中断）", "duration_ms": "时长（毫秒）", "bytes": "文件字节数",
			"codecs": "本分段的编码（RFC 6381）；分段之间可能不同（如重连后才有声音），每个分段自带完整的初始化信息，可单独播放", "recovered": "服务器崩溃后修复的分段（截在最后一个完整片段处，最多丢失 1 秒）"}},
	"Gap": {desc: "录像中断：发布人断线到重连之间没有画面的时段",
		props: map[string]string{"started": "中断开始（上一分段结束）", "ended": "中断结束（重连后第一个关键帧）",
			"offset_ms": "相对录像开始的偏移（毫秒）", "duration_ms": "中断时长（毫秒）"}},
	"RecordingPage": {desc: "录像列表的一页", props: map[string]string{"items": "本页录像（不含分段与中断）", "total": "符合条件的录像总数"}},
}

func init() {
	for name, d := range recordingSchemaDocs {
		if _, dup := schemaDocs[name]; dup {
			panic("openapi: schema " + name + " documented twice")
		}
		schemaDocs[name] = d
	}
}

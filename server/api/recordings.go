package api

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/server/yingji"
)

// RecordingPage is a page of recordings.
type RecordingPage struct {
	Items []record.Recording `json:"items"`
	Total int                `json:"total"`
}

type recordingAPI struct {
	*Server
	rec *record.Recorder
}

var recordingQuery = []Param{
	{"incident_id", "string", "事件编号"},
	{"publisher", "string", "发布人用户 ID"},
	{"from", "string", "时间范围起点（RFC 3339），返回与该范围有重叠的录像"},
	{"to", "string", "时间范围终点（RFC 3339）"},
	{"sort", "string", "排序：started、duration、size，前加 - 为倒序；默认按开始时间倒序"},
}

// MountRecordings adds the video recording routes: list, detail with segments and gaps,
// segment playback (Range) and the evidence export.
func (s *Server) MountRecordings(rec *record.Recorder) {
	r := &recordingAPI{Server: s, rec: rec}
	const tag = "video"
	s.route(Op{Method: http.MethodGet, Path: "/video/recordings", Tag: tag, Query: append(append([]Param{}, recordingQuery...), Paging[:2]...),
		Resp: RecordingPage{}, Summary: "视频录像列表（本人发布的，或有看视频权限且发布人在管辖范围内的），可按事件、发布人、时间筛选"}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/video/recordings/:id", Tag: tag, Resp: record.Recording{},
		Summary: "录像详情：各分段（自成一体的 fMP4 文件，含相对录像开始的偏移）与中断时段（发布人断线到重连）"}, r.get)
	s.route(Op{Method: http.MethodGet, Path: "/video/recordings/:id/segments/:index", Tag: tag, Produces: "video/mp4",
		Summary: "播放录像分段（video/mp4，分片 MP4，支持 Range），ETag 为其 SHA-256；每次播放记入审计日志（video.recording.play）"}, r.segment)
	s.route(Op{Method: http.MethodGet, Path: "/video/recordings/:id/export.zip", Tag: tag, Produces: "application/zip",
		Summary: "导出证据包（zip）：全部分段原件、metadata.json（发布人、事件、起止时间、分段、中断、位置）、segments.csv 与 SHA256SUMS 校验清单；记入审计日志"}, r.export)
}

func (r *recordingAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := record.Filter{IncidentID: c.QueryParam("incident_id"), Publisher: c.QueryParam("publisher"), ListParams: p}
	if f.From, err = timeQuery(c, "from"); err != nil {
		return err
	}
	if f.To, err = timeQuery(c, "to"); err != nil {
		return err
	}
	page, err := r.rec.List(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, RecordingPage{Items: page.Items, Total: page.Total})
}

func (r *recordingAPI) get(c echo.Context) error {
	rec, err := r.rec.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rec)
}

func (r *recordingAPI) segment(c echo.Context) error {
	idx, err := strconv.Atoi(c.Param("index"))
	if err != nil || idx < 0 {
		return yingji.Invalid("video.bad_segment", "index", "分段序号应为非负整数")
	}
	req := c.Request()
	f, err := r.rec.OpenSegment(req.Context(), actor(c), c.Param("id"), idx, req.Header.Get("Range"))
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "video/mp4")
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Segment-Codecs", f.Codecs)
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("inline", map[string]string{"filename": fmt.Sprintf("%s-%03d.mp4", c.Param("id"), idx)}))
	http.ServeContent(c.Response(), req, "", f.Started, f)
	return nil
}

func (r *recordingAPI) export(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	// Refusals answer as JSON before the first byte of the zip.
	rec, err := r.rec.Get(ctx, actor(c), id)
	if err != nil {
		return err
	}
	if rec.Live {
		return yingji.Errorf(yingji.ECONFLICT, "video.recording_live", "录像尚未结束，结束后才能导出证据包")
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/zip")
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "录像证据-" + id + ".zip"}))
	c.Response().WriteHeader(http.StatusOK)
	if err := r.rec.Export(ctx, actor(c), id, c.Response()); err != nil {
		r.log.Error("录像证据包导出中断 (export)", "recording", id, "err", err)
	}
	return nil
}

package api

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/server/yingji"
)

type videoAPI struct {
	*Server
	svc *video.Service
}

// maxSDPBytes bounds an SDP offer or sdpfrag body.
const maxSDPBytes = 64 << 10

// VideoStreamPage is a page of video streams.
type VideoStreamPage = yingji.Page[video.Stream]

// VideoICEServers is what a native client needs before it makes its offer.
type VideoICEServers struct {
	ICEServers []video.ICEServer `json:"ice_servers"`
	// WHIPURL is the path to POST a publisher's offer to.
	WHIPURL string `json:"whip_url"`
}

const whipDoc = "WHIP（RFC 9725）：请求体为 SDP offer（application/sdp），携带登录会话的 Bearer 令牌；" +
	"成功返回 201、SDP answer、Location（会话资源，PATCH/DELETE 用）与 ETag，Link 头给出 STUN/TURN 服务器。" +
	"查询参数 stream_id 用于断线后恢复同一路视频（仅限原发布人）；incident_id 关联事件。" +
	"视频仅支持 H.264、VP8，音频仅支持 Opus；并发路数已满时返回 503 与 Retry-After。" +
	"发布端可经名为 position 的数据通道发送 JSON 定位：{\"lat\":30.27,\"lng\":120.15,\"heading\":90,\"speed\":1.2,\"time\":\"RFC3339\"}。"

const whepDoc = "WHEP：请求体为仅接收（recvonly）的 SDP offer；成功返回 201、SDP answer、Location 与 ETag。" +
	"加入时服务器向发布端请求关键帧，首帧即时可见。"

const patchDoc = "trickle ICE 与 ICE 重启（RFC 8840 application/trickle-ice-sdpfrag），须带 If-Match（ETag 或 *）。" +
	"仅含候选地址时返回 204；含新的 ice-ufrag/ice-pwd（ICE 重启）时返回 200 与服务器的新 sdpfrag、新 ETag。"

// MountVideo mounts live video: WHIP publish, WHEP watch, stream metadata and positions.
func (s *Server) MountVideo(svc *video.Service) {
	r := &videoAPI{Server: s, svc: svc}
	s.route(Op{Method: http.MethodGet, Path: "/video/ice-servers", Summary: "视频 ICE 服务器与 WHIP 地址", Tag: "video",
		Resp: VideoICEServers{}}, r.iceServers)
	s.route(Op{Method: http.MethodPost, Path: "/video/whip", Summary: "发布现场视频（WHIP）", Tag: "video",
		Consumes: "application/sdp", Produces: "application/sdp", Status: http.StatusCreated, Unavailable: true, Description: whipDoc,
		Query: []Param{{"stream_id", "string", "恢复断线的视频流 ID"}, {"incident_id", "string", "关联的事件 ID"}, {"title", "string", "标题"}}},
		r.publish)
	s.route(Op{Method: http.MethodPatch, Path: "/video/whip/:session", Summary: "发布会话 trickle ICE / ICE 重启", Tag: "video",
		Consumes: "application/trickle-ice-sdpfrag", Produces: "application/trickle-ice-sdpfrag", Description: patchDoc}, r.patch)
	s.route(Op{Method: http.MethodDelete, Path: "/video/whip/:session", Summary: "结束发布", Tag: "video", Status: http.StatusNoContent}, r.delete)
	s.route(Op{Method: http.MethodPost, Path: "/video/streams/:id/whep", Summary: "观看视频（WHEP）", Tag: "video",
		Consumes: "application/sdp", Produces: "application/sdp", Status: http.StatusCreated, Unavailable: true, Description: whepDoc}, r.view)
	s.route(Op{Method: http.MethodPatch, Path: "/video/whep/:session", Summary: "观看会话 trickle ICE / ICE 重启", Tag: "video",
		Consumes: "application/trickle-ice-sdpfrag", Produces: "application/trickle-ice-sdpfrag", Description: patchDoc}, r.patch)
	s.route(Op{Method: http.MethodDelete, Path: "/video/whep/:session", Summary: "结束观看", Tag: "video", Status: http.StatusNoContent}, r.delete)
	s.route(Op{Method: http.MethodGet, Path: "/video/streams", Summary: "视频流列表（直播与历史）", Tag: "video",
		Query: append([]Param{{"live", "boolean", "仅列出直播中（含等待重连）的视频流"}, {"state", "string", "状态：connecting、live、interrupted、ended，逗号分隔"},
			{"incident_id", "string", "事件 ID"}, {"since", "string", "开始时间不早于（RFC 3339）"}, {"until", "string", "开始时间早于（RFC 3339）"}}, Paging...),
		Resp: VideoStreamPage{}}, r.list)
	s.route(Op{Method: http.MethodGet, Path: "/video/streams/:id", Summary: "视频流详情", Tag: "video", Resp: video.Stream{}}, r.get)
	s.route(Op{Method: http.MethodGet, Path: "/video/streams/:id/positions", Summary: "视频流的定位轨迹", Tag: "video",
		Query: []Param{{"since", "string", "只返回此时间之后的定位（RFC 3339），用于轮询"}, {"limit", "integer", "最多条数，默认 5000"}},
		Resp:  []video.Position{}}, r.positions)
}

func (r *videoAPI) iceServers(c echo.Context) error {
	servers := r.svc.SFU.Config().ICEServers
	if servers == nil {
		servers = []video.ICEServer{}
	}
	return c.JSON(http.StatusOK, VideoICEServers{ICEServers: servers, WHIPURL: apiPrefix + "/video/whip"})
}

// readSDP reads a body of the given content type.
func readSDP(c echo.Context, contentType string) (string, error) {
	ct := strings.TrimSpace(strings.Split(c.Request().Header.Get(echo.HeaderContentType), ";")[0])
	if !strings.EqualFold(ct, contentType) {
		return "", yingji.Errorf(yingji.EINVALID, "video.content_type", "请求体类型应为 %s", contentType)
	}
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxSDPBytes+1))
	if err != nil {
		return "", yingji.Errorf(yingji.EINVALID, "video.bad_body", "无法读取请求体")
	}
	if len(b) > maxSDPBytes {
		return "", yingji.Errorf(yingji.ETOOLARGE, "video.sdp_too_large", "SDP 超过 64 KiB")
	}
	return string(b), nil
}

// answered writes a WHIP/WHEP answer.
func (r *videoAPI) answered(c echo.Context, location string, a video.Answer) error {
	h := c.Response().Header()
	h.Set("Location", location)
	h.Set("ETag", a.ETag)
	h.Set("X-Stream-ID", a.StreamID)
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, X-Stream-ID")
	for _, l := range r.svc.SFU.Config().LinkHeaders() {
		h.Add("Link", l)
	}
	return c.Blob(http.StatusCreated, "application/sdp", []byte(a.SDP))
}

// refuse adds Retry-After to a capacity refusal.
func (r *videoAPI) refuse(c echo.Context, err error) error {
	if d, ok := r.svc.SFU.RetryAfter(err); ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	return err
}

func (r *videoAPI) publish(c echo.Context) error {
	offer, err := readSDP(c, "application/sdp")
	if err != nil {
		return err
	}
	a, err := r.svc.Publish(c.Request().Context(), actor(c), video.PublishInput{StreamID: c.QueryParam("stream_id"),
		IncidentID: c.QueryParam("incident_id"), Title: c.QueryParam("title"), Offer: offer})
	if err != nil {
		return r.refuse(c, err)
	}
	return r.answered(c, apiPrefix+"/video/whip/"+a.SessionID, a)
}

func (r *videoAPI) view(c echo.Context) error {
	offer, err := readSDP(c, "application/sdp")
	if err != nil {
		return err
	}
	a, err := r.svc.View(c.Request().Context(), actor(c), c.Param("id"), offer)
	if err != nil {
		return r.refuse(c, err)
	}
	return r.answered(c, apiPrefix+"/video/whep/"+a.SessionID, a)
}

func (r *videoAPI) patch(c echo.Context) error {
	frag, err := readSDP(c, "application/trickle-ice-sdpfrag")
	if err != nil {
		return err
	}
	ifMatch := c.Request().Header.Get("If-Match")
	if ifMatch == "" {
		return yingji.Errorf(yingji.EINVALID, "video.if_match_required", "PATCH 须带 If-Match 头")
	}
	answer, tag, err := r.svc.Patch(c.Request().Context(), actor(c), c.Param("session"), ifMatch, frag)
	if err != nil {
		if yingji.ErrorCode(err) == "video.etag_mismatch" {
			return c.JSON(http.StatusPreconditionFailed, ErrorBody{Code: "video.etag_mismatch", Message: "会话已变化（If-Match 不符），请重新协商",
				RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
		}
		return err
	}
	c.Response().Header().Set("ETag", tag)
	if answer == "" {
		return c.NoContent(http.StatusNoContent)
	}
	return c.Blob(http.StatusOK, "application/trickle-ice-sdpfrag", []byte(answer))
}

func (r *videoAPI) delete(c echo.Context) error {
	if err := r.svc.Delete(c.Request().Context(), actor(c), c.Param("session")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func videoTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, yingji.Errorf(yingji.EINVALID, "request.bad_query", "参数 %s 应为 RFC 3339 时间", name).
			WithData(yingji.FieldError{Field: name, Message: "应为 RFC 3339 时间"})
	}
	return &t, nil
}

func (r *videoAPI) list(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := video.StreamFilter{IncidentID: c.QueryParam("incident_id")}
	if v := c.QueryParam("live"); v != "" {
		if f.Live, err = strconv.ParseBool(v); err != nil {
			return yingji.Errorf(yingji.EINVALID, "request.bad_query", "参数 live 应为 true 或 false")
		}
	}
	if v := c.QueryParam("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			switch st := video.State(strings.TrimSpace(s)); st {
			case video.StateConnecting, video.StateLive, video.StateInterrupted, video.StateEnded:
				f.States = append(f.States, st)
			default:
				return yingji.Errorf(yingji.EINVALID, "request.bad_query", "未知的视频流状态：%s", s)
			}
		}
	}
	if f.Since, err = videoTime(c, "since"); err != nil {
		return err
	}
	if f.Until, err = videoTime(c, "until"); err != nil {
		return err
	}
	page, err := r.svc.List(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (r *videoAPI) get(c echo.Context) error {
	st, err := r.svc.Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (r *videoAPI) positions(c echo.Context) error {
	since, err := videoTime(c, "since")
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit")
	if err != nil {
		return err
	}
	var t time.Time
	if since != nil {
		t = *since
	}
	ps, err := r.svc.Positions(c.Request().Context(), actor(c), c.Param("id"), t, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ps)
}

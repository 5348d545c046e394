package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/yingji"
)

// mediaUploads is the URL path of the tus upload collection; the Location of a new upload is
// uploadItems + id. The items live outside /media/ so that no documented path is ambiguous
// (/media/uploads/{id} against /media/{sha256}/info). Clients follow Location and never build
// an item URL; the items' old path stays routed (legacyUploadItems) for uploads begun before.
const (
	mediaUploads      = apiPrefix + "/media/uploads"
	uploadItems       = apiPrefix + "/uploads"
	legacyUploadItems = "/media/uploads/:id"
)

// SignRequest asks for a signed URL.
type SignRequest struct {
	Variant    string `json:"variant"`     // original, thumb320, thumb1280
	TTLSeconds int    `json:"ttl_seconds"` // 1–600; 0: 300
}

// SignedURL is a URL that works without the bearer token until it expires.
type SignedURL struct {
	URL       string    `json:"url"` // path and query, under this server
	ExpiresAt time.Time `json:"expires_at"`
}

// mediaAPI serves the media routes.
type mediaAPI struct {
	*Server
	svc *mediasvc.Service
}

// MountMedia adds the media routes on svc: tus uploads, downloads, information, thumbnails
// and signed URLs. Like every route they are declared with their OpenAPI description.
func (s *Server) MountMedia(svc *mediasvc.Service) error {
	m := &mediaAPI{Server: s, svc: svc}
	up, err := svc.Uploads(uploadItems, s.writeMediaError)
	if err != nil {
		return err
	}
	tus := func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		if a := actor(c); a != nil {
			ctx = mediasvc.WithActor(ctx, a)
		}
		r2 := r.Clone(ctx)
		r2.URL.Path = "/" + c.Param("id")
		up.ServeHTTP(c.Response(), r2)
		return nil
	}
	const proto = "tus 1.0 断点续传（扩展 creation、creation-with-upload、termination、checksum）。"
	s.route(Op{Method: http.MethodOptions, Path: "/media/uploads", Tag: "media", Public: true, Status: http.StatusNoContent,
		Summary: proto + "能力查询：响应头 Tus-Version、Tus-Extension、Tus-Max-Size、Tus-Checksum-Algorithm"}, tus)
	s.route(Op{Method: http.MethodPost, Path: "/media/uploads", Tag: "media", Status: http.StatusCreated,
		Summary: proto + "创建上传：请求头 Tus-Resumable: 1.0.0、Upload-Length（字节数）、Upload-Metadata（sha256 必填，filename、content_type 可选，值为 base64）；" +
			"响应头 Location 为上传地址（/api/v1/uploads/{id}）。服务器已有该文件时直接完成：Upload-Offset 等于 Upload-Length，Media-Status: ready"}, tus)
	s.route(Op{Method: http.MethodHead, Path: "/uploads/:id", Tag: "media",
		Summary: proto + "查询上传进度：响应头 Upload-Offset 为服务器已收到的字节数，从该处续传；404 表示上传已过期或已丢弃"}, tus)
	s.route(Op{Method: http.MethodPatch, Path: "/uploads/:id", Tag: "media", Status: http.StatusNoContent,
		Summary: proto + "续传数据：Content-Type: application/offset+octet-stream，Upload-Offset 须等于服务器偏移量，可带 Upload-Checksum 校验本段；" +
			"最后一段到达后核对 SHA-256 并入库（Media-Status: ready），不符返回 460（media.hash_mismatch）并丢弃"}, tus)
	s.route(Op{Method: http.MethodDelete, Path: "/uploads/:id", Tag: "media", Status: http.StatusNoContent,
		Summary: proto + "取消上传并删除已收到的数据"}, tus)
	for _, method := range []string{http.MethodHead, http.MethodPatch, http.MethodDelete} {
		s.legacyRoute(method, legacyUploadItems, tus)
	}

	s.route(Op{Method: http.MethodHead, Path: "/media/:sha256", Tag: "media",
		Summary: "查询服务器是否已有本人可查看的该文件（200 已有，404 没有或无权查看，与下载的权限相同）"}, m.exists)
	s.route(Op{Method: http.MethodGet, Path: "/media/:sha256", Tag: "media", Produces: "application/octet-stream",
		Summary: "下载原件：支持 Range 断点下载，ETag 为 SHA-256；每次下载记入审计日志（media.download）"}, m.original)
	s.route(Op{Method: http.MethodGet, Path: "/media/:sha256/info", Tag: "media", Resp: mediasvc.Info{},
		Summary: "文件信息：类型、大小、拍摄时间与位置（EXIF）、到达服务器的时间；尚未上传完成时状态为 uploading 或 missing（显示“上传中”）"}, m.info)
	s.route(Op{Method: http.MethodGet, Path: "/media/:sha256/thumb/:width", Tag: "media", Produces: "image/jpeg",
		Summary: "照片缩略图（JPEG，宽 320 或 1280 像素，按 EXIF 方向摆正），首次请求时生成并缓存"}, m.thumb)
	s.route(Op{Method: http.MethodPost, Path: "/media/:sha256/signed-url", Tag: "media", Body: SignRequest{}, Resp: SignedURL{},
		Summary: "生成短时有效的签名链接（最长 600 秒），无需登录凭证即可加载，供网页 <img> 使用"}, m.sign)
	s.route(Op{Method: http.MethodGet, Path: "/media/:sha256/signed/:variant", Tag: "media", Public: true, Auth: AuthSigned,
		Produces: "application/octet-stream",
		Query:    []Param{{"u", "string", "签发链接的用户"}, {"exp", "integer", "过期时间（Unix 秒）"}},
		Summary:  "按签名链接加载原件（original）或缩略图（thumb320、thumb1280）；链接被篡改或已过期返回 403"}, m.signed)
	return nil
}

// writeMediaError answers an error of the upload handler the way handleError answers the
// others, with the statuses of the tus protocol where it needs its own (412, 415, 423, 460).
func (s *Server) writeMediaError(w http.ResponseWriter, r *http.Request, err error) {
	rid := w.Header().Get(echo.HeaderXRequestID)
	body := ErrorBody{RequestID: rid}
	status := mediasvc.HTTPStatus(err)
	var ye *yingji.Error
	if errors.As(err, &ye) && ye.Kind != yingji.EINTERNAL {
		if status == 0 {
			status = kindStatus[ye.Kind]
		}
		body.Code, body.Message, body.Data = ye.Code, ye.Message, ye.Data
	} else {
		s.log.Error("internal error", "err", err, "request_id", rid, "method", r.Method, "path", r.URL.Path)
		status = http.StatusInternalServerError
		body.Code, body.Message = "internal", "服务器内部错误，请稍后再试；如持续出现请联系管理员并提供请求编号 "+rid
	}
	s.auditAnswer(r.Context(), status, body.Code)
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(body)
	}
}

// mediaError answers an error of the media routes, with the statuses of this package.
func (s *Server) mediaError(c echo.Context, err error) error {
	if mediasvc.HTTPStatus(err) != 0 {
		s.writeMediaError(c.Response(), c.Request(), err)
		return nil
	}
	return err
}

func (m *mediaAPI) exists(c echo.Context) error {
	info, ok, err := m.svc.Exists(c.Request().Context(), actor(c), c.Param("sha256"))
	if err != nil {
		return err
	}
	if !ok {
		return c.NoContent(http.StatusNotFound)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	h.Set(echo.HeaderContentType, info.ContentType)
	h.Set("ETag", `"`+info.SHA256+`"`)
	h.Set(mediasvc.HeaderMediaStatus, mediasvc.StatusReady)
	c.Response().WriteHeader(http.StatusOK)
	return nil
}

func (m *mediaAPI) info(c echo.Context) error {
	info, err := m.svc.Info(c.Request().Context(), actor(c), c.Param("sha256"))
	if err != nil {
		return m.mediaError(c, err)
	}
	return c.JSON(http.StatusOK, info)
}

func (m *mediaAPI) original(c echo.Context) error {
	return m.serveOriginal(c, actor(c), "token")
}

// serveOriginal streams an original with Range, conditional requests and a long cache: the
// content of a hash never changes.
func (m *mediaAPI) serveOriginal(c echo.Context, a *yingji.Actor, via string) error {
	r := c.Request()
	o, err := m.svc.OpenOriginal(r.Context(), a, c.Param("sha256"), via, r.Header.Get("Range"))
	if err != nil {
		return m.mediaError(c, err)
	}
	defer o.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, o.ContentType)
	h.Set("ETag", `"`+o.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	name := o.Filename
	if name == "" {
		name = o.SHA256
	}
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("inline", map[string]string{"filename": name}))
	var mod time.Time
	if o.ReceivedAt != nil {
		mod = *o.ReceivedAt
	}
	http.ServeContent(c.Response(), r, "", mod, o)
	return nil
}

func (m *mediaAPI) thumb(c echo.Context) error {
	w, err := strconv.Atoi(c.Param("width"))
	if err != nil {
		return yingji.Invalid("media.bad_width", "width", "缩略图宽度只能是 320 或 1280")
	}
	return m.serveThumb(c, actor(c), w)
}

func (m *mediaAPI) serveThumb(c echo.Context, a *yingji.Actor, width int) error {
	sha := c.Param("sha256")
	etag := `"` + sha + "-" + strconv.Itoa(width) + `"`
	rc, info, err := m.svc.Thumb(c.Request().Context(), a, sha, width)
	if err != nil {
		return m.mediaError(c, err)
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	h.Set(echo.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	return c.Stream(http.StatusOK, "image/jpeg", rc)
}

func (m *mediaAPI) sign(c echo.Context) error {
	var req SignRequest
	if err := m.bind(c, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int(mediasvc.MaxSignedTTL/time.Second) {
		return yingji.Invalid("media.bad_ttl", "ttl_seconds", "有效期应为 1 到 600 秒")
	}
	sha := c.Param("sha256")
	sig, err := m.svc.Sign(c.Request().Context(), actor(c), sha, req.Variant, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return m.mediaError(c, err)
	}
	u := apiPrefix + "/media/" + sha + "/signed/" + req.Variant + "?" + sig.Query().Encode()
	return c.JSON(http.StatusOK, SignedURL{URL: u, ExpiresAt: sig.Expires.UTC()})
}

// mediaSigned serves a signed URL as the user it was made for: his access is checked again and
// a download of an original is audited as his.
func (m *mediaAPI) signed(c echo.Context) error {
	sha, variant := c.Param("sha256"), c.Param("variant")
	uid, err := m.svc.Verify(sha, variant, c.QueryParams())
	if err != nil {
		return err
	}
	u, err := m.Accounts.Store.GetUser(c.Request().Context(), uid)
	if errors.Is(err, yingji.ErrNotFound) || err == nil && u.Disabled {
		return yingji.Errorf(yingji.EFORBIDDEN, "media.url_invalid", "链接无效，请刷新页面后重试")
	} else if err != nil {
		return err
	}
	a := &yingji.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, OrgPath: u.OrgPath,
		OrgUnitID: u.OrgUnitID, EnterpriseID: u.EnterpriseID, TeamID: u.TeamID,
		IP: c.RealIP(), RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	if variant == mediasvc.VariantOriginal {
		return m.serveOriginal(c, a, "signed_url")
	}
	return m.serveThumb(c, a, mediasvc.VariantWidth(variant))
}

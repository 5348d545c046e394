package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/yingji"
)

// ErrorBody is every error response: a stable machine code, a Chinese message, the request id
// (also in the X-Request-ID header) and, where useful, details such as the bad field or rows.
type ErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Data      any    `json:"data,omitempty"`
}

var kindStatus = map[string]int{
	yingji.EINVALID:      http.StatusBadRequest,
	yingji.EUNAUTHORIZED: http.StatusUnauthorized,
	yingji.EFORBIDDEN:    http.StatusForbidden,
	yingji.ENOTFOUND:     http.StatusNotFound,
	yingji.ECONFLICT:     http.StatusConflict,
	yingji.ELOCKED:       http.StatusLocked,
	yingji.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	yingji.EUNAVAILABLE:  http.StatusServiceUnavailable,
	yingji.EINTERNAL:     http.StatusInternalServerError,
}

// handleError is echo's HTTPErrorHandler: the one place where errors become responses.
// Internal errors are logged with the request id and answered with a generic message.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	body := ErrorBody{RequestID: rid}
	status := http.StatusInternalServerError
	var ye *yingji.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ye) && ye.Kind != yingji.EINTERNAL:
		status, body.Code, body.Message, body.Data = kindStatus[ye.Kind], ye.Code, ye.Message, ye.Data
		if ye.Kind == yingji.ENOTFOUND && ye.Code == yingji.ErrNotFound.Code {
			body.Message = "请求的记录不存在"
		}
	case errors.As(err, &he):
		status = he.Code
		body.Code, body.Message = httpCode(he.Code)
		if status == http.StatusRequestEntityTooLarge {
			body.Message = fmt.Sprintf("请求体超过上限 %s", humanBytes(s.cfg.MaxBodyBytes))
			body.Data = map[string]any{"limit_bytes": s.cfg.MaxBodyBytes}
		}
		if status >= 500 {
			s.log.Error("http error", "err", err, "request_id", rid, "path", c.Path())
		}
	default:
		s.log.Error("internal error", "err", err, "request_id", rid, "method", c.Request().Method, "path", c.Request().URL.Path)
		body.Code, body.Message = "internal", "服务器内部错误，请稍后再试；如持续出现请联系管理员并提供请求编号 "+rid
	}
	s.auditAnswer(c.Request().Context(), status, body.Code)
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	c.JSON(status, body)
}

func httpCode(status int) (string, string) {
	switch status {
	case http.StatusNotFound:
		return "request.no_route", "接口不存在"
	case http.StatusMethodNotAllowed:
		return "request.method_not_allowed", "不支持该请求方法"
	case http.StatusRequestEntityTooLarge:
		return "request.too_large", "请求体过大"
	case http.StatusUnsupportedMediaType:
		return "request.bad_content_type", "不支持的内容类型，请使用 application/json"
	case http.StatusUnauthorized:
		return "auth.no_token", "请先登录"
	case http.StatusTooManyRequests:
		return "request.too_many", "请求过于频繁，请稍后再试"
	case http.StatusBadRequest:
		return "request.bad", "请求格式错误"
	}
	if status >= 500 {
		return "internal", "服务器内部错误，请稍后再试"
	}
	return "request.failed", http.StatusText(status)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d 字节", n)
}

// bind decodes a JSON body strictly into v: unknown fields, wrong types, trailing data and
// bodies over the limit are refused with a clear Chinese message.
func (s *Server) bind(c echo.Context, v any) error {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return yingji.Errorf(yingji.EINVALID, "request.bad_content_type", "请求体须为 JSON（Content-Type: application/json）")
	}
	limit := s.cfg.MaxBodyBytes
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), req.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return yingji.Errorf(yingji.EINVALID, "request.bad_json", "请求体只能包含一个 JSON 对象")
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		e := yingji.Errorf(yingji.ETOOLARGE, "request.too_large", "请求体超过上限 %s", humanBytes(limit))
		return e.WithData(map[string]any{"limit_bytes": limit})
	case errors.Is(err, io.EOF):
		return yingji.Errorf(yingji.EINVALID, "request.empty_body", "请求体不能为空")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return yingji.Errorf(yingji.EINVALID, "request.bad_json", "请求体不是合法的 JSON")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return yingji.Errorf(yingji.EINVALID, "request.bad_type", "请求体应为 JSON 对象")
		}
		return yingji.Invalid("request.bad_type", field, "字段“%s”的类型错误，应为%s", field, typeName(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return yingji.Invalid("request.unknown_field", field, "未知字段“%s”", field)
	}
	return yingji.Errorf(yingji.EINVALID, "request.bad_json", "请求体无法解析")
}

func typeName(kind string) string {
	switch kind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "数字"
	case "slice", "array":
		return "数组"
	case "map", "struct":
		return "对象"
	case "ptr":
		return "对象或值"
	}
	return kind
}

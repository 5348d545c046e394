package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

func (s *Server) syncRoutes() {
	if s.Sync == nil {
		return
	}
	s.route(Op{Method: http.MethodPost, Path: "/sync/push", Tag: "sync",
		Summary: "提交离线修改：每条修改单独应答（applied/merged/rejected），重放同一修改编号得到同一应答；支持 gzip",
		Body:    syncproto.PushRequest{}, Resp: syncproto.PushResponse{}}, s.syncPush)
	s.route(Op{Method: http.MethodPost, Path: "/sync/pull", Tag: "sync",
		Summary: "按范围拉取检查点之后的最新数据（分页、可续传、带校验和）；支持 gzip",
		Body:    syncproto.PullRequest{}, Resp: syncproto.PullResponse{}}, s.syncPull)
	s.route(Op{Method: http.MethodGet, Path: "/sync/live", Tag: "sync",
		Summary: "WebSocket：所订阅范围有变化时推送 poke 消息；会话被顶替或过期时先发 closed 消息再关闭",
		Query:   []Param{{"token", "string", "会话令牌（无法设置请求头的客户端使用）"}}}, s.syncLive)
}

// decodeSync reads a sync body, gunzipping it when the client compressed it, bounded by the
// sync body limit both before and after decompression.
func (s *Server) decodeSync(c echo.Context, v any) error {
	limit := s.cfg.MaxSyncBytes
	body := io.Reader(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if strings.EqualFold(c.Request().Header.Get(echo.HeaderContentEncoding), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return yingji.Errorf(yingji.EINVALID, "request.bad_gzip", "请求体不是合法的 gzip 数据")
		}
		defer zr.Close()
		body = &limitReader{r: zr, n: limit}
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe), errors.Is(err, errTooLarge):
		e := yingji.Errorf(yingji.ETOOLARGE, "request.too_large", "同步数据超过上限 %s，请分批提交", humanBytes(limit))
		return e.WithData(map[string]any{"limit_bytes": limit})
	case errors.Is(err, io.EOF):
		return yingji.Errorf(yingji.EINVALID, "request.empty_body", "请求体不能为空")
	}
	return yingji.Errorf(yingji.EINVALID, "sync.bad_batch", "同步数据格式错误：%s", jsonReason(err))
}

var errTooLarge = errors.New("too large")

type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return "不是合法的 JSON"
	case errors.As(err, &te):
		return "字段“" + te.Field + "”类型错误"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "未知字段 " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "无法解析"
}

// writeSync answers JSON, gzipped when the client accepts it.
func writeSync(c echo.Context, v any) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	// The server's clock, for the device to correct its own (see syncproto.HeaderServerTime).
	res.Header().Set(syncproto.HeaderServerTime, strconv.FormatInt(time.Now().UnixMilli(), 10))
	res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	var body []byte
	var err error
	if a, ok := v.(jsonAppender); ok {
		// A pull page: encoded by hand into a reused buffer (see syncproto.AppendJSON).
		buf := syncBufs.Get().(*[]byte)
		defer func() {
			if cap(body) <= 16<<20 {
				*buf = body[:0]
				syncBufs.Put(buf)
			}
		}()
		body, err = a.AppendJSON((*buf)[:0])
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	// Only a large answer is worth compressing (a pull page, a big push answer), and at the
	// fastest level: on a phone's link the size matters, but the server's CPU is shared with
	// every other device and the gain of higher levels on JSON is small.
	if len(body) < gzipOver || !strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		res.WriteHeader(http.StatusOK)
		_, err := res.Write(body)
		return err
	}
	res.Header().Set(echo.HeaderContentEncoding, "gzip")
	res.WriteHeader(http.StatusOK)
	// A gzip writer holds about a megabyte of tables: reuse them.
	zw := syncGzip.Get().(*gzip.Writer)
	defer syncGzip.Put(zw)
	zw.Reset(res)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
}

// jsonAppender is an answer that encodes itself without reflection.
type jsonAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

var (
	syncBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
	syncGzip = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }}
)

// gzipOver is the answer size from which sync answers are compressed for a client that
// accepts gzip.
const gzipOver = 4096

func (s *Server) syncPush(c echo.Context) error {
	var req syncproto.PushRequest
	if err := s.decodeSync(c, &req); err != nil {
		return err
	}
	resp, err := s.Sync.Push(c.Request().Context(), actor(c), req)
	if err != nil {
		return err
	}
	return writeSync(c, resp)
}

func (s *Server) syncPull(c echo.Context) error {
	var req syncproto.PullRequest
	if err := s.decodeSync(c, &req); err != nil {
		return err
	}
	resp, err := s.Sync.Pull(c.Request().Context(), actor(c), req)
	if err != nil {
		return err
	}
	return writeSync(c, &resp)
}

// syncLive holds a WebSocket: pokes for the actor's scopes go out as they come; every 30 s the
// session is checked again, and an ended session is told why before the socket closes.
func (s *Server) syncLive(c echo.Context) error {
	a := actor(c)
	sub, err := s.Sync.Subscribe(c.Request().Context(), a)
	if err != nil {
		return err
	}
	defer s.Sync.Hub.Unsubscribe(sub)
	conn, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return nil // Accept has answered the request
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(c.Request().Context())
	token := bearer(c)
	check := time.NewTicker(30 * time.Second)
	defer check.Stop()
	send := func(p syncproto.Poke) error {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		b, _ := json.Marshal(p)
		return conn.Write(wctx, websocket.MessageText, b)
	}
	if err := send(syncproto.Poke{Type: "hello", Seq: 0}); err != nil {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-sub.C:
			if err := send(p); err != nil {
				return nil
			}
			if p.Type == "closed" {
				conn.Close(4001, p.Code)
				return nil
			}
		case <-check.C:
			if _, err := s.Accounts.Authenticate(ctx, token, c.RealIP(), ""); err != nil {
				var ye *yingji.Error
				if errors.As(err, &ye) && ye.Kind == yingji.EUNAUTHORIZED {
					send(syncproto.Poke{Type: "closed", Code: ye.Code, Message: ye.Message})
					conn.Close(4001, ye.Code)
					return nil
				}
			}
		}
	}
}

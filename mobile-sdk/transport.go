package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/yingji/yingji/syncproto"
)

// gzipOver is the request size from which bodies are sent gzip-compressed.
const gzipOver = 4096

// errTooLarge is a 413: split the batch.
var errTooLarge = errors.New("sdk: request too large")

// retryable marks an error worth retrying (the network, a busy or restarting server).
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// call sends a JSON request to the server and decodes the JSON answer into out.
func (c *Client) call(ctx context.Context, server, token, method, path string, in, out any) error {
	var body io.Reader
	gz := false
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if len(raw) > gzipOver {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(raw)
			w.Close()
			raw, gz = b.Bytes(), true
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(server, "/")+path, body)
	if err != nil {
		return errorf(KindInvalid, CodeBadInput, "服务器地址无效：%s", server)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.Protocol))
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	sent := c.opts.Now()
	resp, err := c.opts.HTTPClient.Do(req)
	if err == nil {
		if h := resp.Header.Get(syncproto.HeaderServerTime); h != "" {
			c.learnOffset(h, sent, c.opts.Now())
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "操作已取消或超时，未完成的修改仍保存在本机", Err: err}
		}
		return retryable{&Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "无法连接服务器，本机数据和待同步的修改都已保留，联网后再试", Err: err}}
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return retryable{&Error{Kind: KindUnreachable, Code: CodeBadAnswer, Message: "服务器的应答无法解压", Err: err}}
		}
		defer zr.Close()
		rd = zr
	}
	raw, err := io.ReadAll(io.LimitReader(rd, 512<<20))
	if err != nil {
		return retryable{&Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "读取服务器应答时连接中断", Err: err}}
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		var err error
		if page, ok := out.(*syncproto.PullResponse); ok {
			// A pull page: decoded without reflection, its values left as slices of raw.
			err = syncproto.DecodePull(raw, page)
		} else {
			err = json.Unmarshal(raw, out)
		}
		if err != nil {
			return &Error{Kind: KindUnreachable, Code: CodeBadAnswer, Message: "服务器的应答格式错误", Err: err}
		}
		return nil
	}
	return httpError(resp.StatusCode, raw)
}

// httpError classifies a failed answer.
func httpError(status int, raw []byte) error {
	var e syncproto.Error
	json.Unmarshal(raw, &e)
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("服务器返回错误（HTTP %d）", status)
	}
	code := e.Code
	mk := func(kind Kind, def string) *Error {
		if code == "" {
			code = def
		}
		return &Error{Kind: kind, Code: code, Message: msg}
	}
	switch {
	case code == syncproto.CodeUpgrade || status == http.StatusUpgradeRequired:
		return mk(KindInvalid, CodeUpgradeRequired)
	case status == http.StatusUnauthorized:
		return mk(KindAuth, "auth.unauthorized")
	case status == http.StatusForbidden:
		return mk(KindAuth, "auth.forbidden")
	case status == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %s", errTooLarge, msg)
	case status == http.StatusTooManyRequests || status == http.StatusBadGateway ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return retryable{mk(KindUnreachable, CodeServerError)}
	case status >= 500:
		return retryable{mk(KindUnreachable, CodeServerError)}
	case status == http.StatusNotFound:
		return mk(KindUnreachable, "net.not_supported")
	case status == http.StatusLocked:
		return mk(KindAuth, "auth.locked")
	}
	return mk(KindInvalid, "input.invalid")
}

// retrier retries retryable errors with exponential backoff and full jitter, within a budget
// shared by every request of one exchange. The budget is spent by failed attempts and the waits
// after them only: time spent on requests that succeed does not count, so a long exchange (a
// large outbox or a first sync over a slow network) still retries a failure late in it.
type retrier struct {
	c       *Client
	left    time.Duration // budget left for failed attempts and waits
	attempt int
}

func (c *Client) newRetrier() *retrier {
	return &retrier{c: c, left: c.opts.RetryBudget}
}

func (r *retrier) do(ctx context.Context, fn func() error) error {
	for {
		start := time.Now()
		err := fn()
		took := time.Since(start)
		var rt retryable
		if err == nil || !errors.As(err, &rt) {
			r.attempt = 0
			return err
		}
		r.left -= took
		d := 200 * time.Millisecond << min(r.attempt, 5)
		d = min(d, 2*time.Second)
		d = d/2 + r.c.jitter(d/2)
		// Give up unless another attempt as slow as this one fits in the budget.
		if d+took > r.left || ctx.Err() != nil {
			return rt.err
		}
		r.left -= d
		r.attempt++
		r.c.log.Debug("retry", "attempt", r.attempt, "delay", d, "err", rt.err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return rt.err
		case <-t.C:
		}
	}
}

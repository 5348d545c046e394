package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout bounds one request to an outside service when the configuration gives none.
const DefaultTimeout = 10 * time.Second

// maxAnswer bounds how much of an answer is read: the services answer with small JSON.
const maxAnswer = 1 << 20

// httpClient returns hc, or a client bounded by timeout (DefaultTimeout when zero).
func httpClient(hc *http.Client, timeout time.Duration) *http.Client {
	if hc != nil {
		return hc
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Timeout: timeout}
}

// do sends req and reads its answer. A transport failure (refused connection, timeout) is a
// retryable *Error of channel, unless ctx itself ended, whose error is returned as it is.
func do(ctx context.Context, hc *http.Client, channel string, req *http.Request) (int, []byte, error) {
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("notify %s: %w", channel, ctx.Err())
		}
		return 0, nil, &Error{Channel: channel, Code: "transport", Message: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, &Error{Channel: channel, Code: "transport", Message: err.Error()}
	}
	return resp.StatusCode, body, nil
}

// retryableStatus reports whether an HTTP status is worth a retry (server trouble, throttling).
func retryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// statusError is the *Error for an answer whose HTTP status is not a success and whose body
// says nothing more useful.
func statusError(channel string, status int, body []byte) *Error {
	msg := string(body)
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return &Error{Channel: channel, Code: fmt.Sprintf("http_%d", status), Message: msg, Permanent: !retryableStatus(status)}
}

// asError returns err as an *Error when it is one.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

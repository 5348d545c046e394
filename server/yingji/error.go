// Package yingji holds the domain types shared by every module of the server: the coded error,
// the acting user with his role and data scope, and list parameters. It imports no adapter.
package yingji

import (
	"errors"
	"fmt"
)

// Error kinds. Each maps to one HTTP status in the API's error handler.
const (
	EINVALID      = "invalid"      // 400 / 422: the input is wrong
	EUNAUTHORIZED = "unauthorized" // 401: no, expired or ended session; wrong credentials
	EFORBIDDEN    = "forbidden"    // 403: outside the caller's role or data scope
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409: duplicate unique value or stale state
	ELOCKED       = "locked"       // 423: account locked
	ETOOLARGE     = "too_large"    // 413
	EUNAVAILABLE  = "unavailable"  // 503: a capacity limit; the answer says when to retry
	EINTERNAL     = "internal"     // 500: never shown to the user
)

// Error is the one error type the API turns into a response. Code is a stable machine code of
// the form "area.reason"; Message is the Chinese text shown to the user; Data carries details
// such as the bad field or the bad rows of an import.
type Error struct {
	Kind    string
	Code    string
	Message string
	Data    any
	Err     error // the cause, logged, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a coded error with a Chinese message.
func Errorf(kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithData returns a copy of e carrying data.
func (e *Error) WithData(data any) *Error {
	c := *e
	c.Data = data
	return &c
}

// ErrorKind returns the kind of a coded error in err's chain, or EINTERNAL.
func ErrorKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}

// ErrorCode returns the code of a coded error in err's chain, or "internal".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// Sentinels that stores return; services turn them into errors with a domain message.
var (
	ErrNotFound  = &Error{Kind: ENOTFOUND, Code: "store.not_found", Message: "记录不存在"}
	ErrDuplicate = &Error{Kind: ECONFLICT, Code: "store.duplicate", Message: "记录已存在"}
)

// FieldError names one bad field of an input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Invalid returns an EINVALID error for one field.
func Invalid(code, field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: EINVALID, Code: code, Message: msg, Data: map[string]any{"field": field}}
}

// AtIndex marks a coded error with the index of the batch item it is about: the message
// starts with "第 N 条：" and Data gains "index". Other errors are wrapped with the index.
func AtIndex(i int, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("item %d: %w", i, err)
	}
	c := *e
	data := map[string]any{"index": i}
	if m, ok := e.Data.(map[string]any); ok {
		for k, v := range m {
			data[k] = v
		}
	}
	c.Data = data
	c.Message = fmt.Sprintf("第 %d 条：%s", i+1, e.Message)
	return &c
}

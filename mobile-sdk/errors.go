package sdk

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the caller (the CLI maps it to an exit code, the app to a
// screen).
type Kind int

// Error kinds.
const (
	KindNone        Kind = iota - 1 // no error
	KindInternal                    // a bug or a broken local database
	KindInvalid                     // bad input or a change the rules refuse locally
	KindUnreachable                 // the server did not answer (the outbox keeps everything)
	KindNotFound                    // no such record
	KindAuth                        // not logged in, session expired or replaced
)

// ExitCode is the yingji-field exit code of the kind.
func (k Kind) ExitCode() int {
	switch k {
	case KindInvalid:
		return 2
	case KindUnreachable:
		return 3
	case KindNotFound:
		return 4
	case KindAuth:
		return 5
	case KindNone:
		return 0
	}
	return 1
}

// Error codes made by the SDK itself (server and syncproto codes pass through unchanged).
const (
	CodeBadJSON         = "input.bad_json"
	CodeBadInput        = "input.invalid"
	CodeUnknownColl     = "input.unknown_collection"
	CodeUnknownField    = "input.unknown_field"
	CodeNotFound        = "record.not_found"
	CodeNotLoggedIn     = "auth.not_logged_in"
	CodeUnreachable     = "net.unreachable"
	CodeServerError     = "net.server_error"
	CodeBadAnswer       = "net.bad_answer"
	CodeInternal        = "internal"
	CodeUpgradeRequired = "sync.upgrade_required"
)

// Error is the SDK's error: a stable code, a Chinese message for the user and a kind.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error // the cause, for logs; never shown as the message
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error; anything else becomes an internal error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "内部错误", Err: err}
}

// KindOf is the kind of err: KindNone for nil, KindInternal for foreign errors.
func KindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	return AsError(err).Kind
}

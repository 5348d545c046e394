package audit

import (
	"context"

	"github.com/yingji/yingji/server/yingji"
)

// The helpers below are the one way the domain services record their writes and refusals:
// a write that succeeded is "ok" with its detail, a refusal is "denied" with the error's code
// as {"reason": code}. A nil Auditor records nothing.

// OK records a write of action on the object (objType, id) that succeeded.
func OK(ctx context.Context, rec yingji.Auditor, a *yingji.Actor, action, objType, id string, detail any) {
	if rec == nil {
		return
	}
	rec.Record(ctx, a, yingji.Event{Action: action, ObjectType: objType, ObjectID: id, Result: "ok", Detail: detail})
}

// Deny records a refusal of action on the object (objType, id) and returns err.
func Deny(ctx context.Context, rec yingji.Auditor, a *yingji.Actor, action, objType, id string, err error) error {
	if rec != nil {
		rec.Record(ctx, a, yingji.Event{Action: action, ObjectType: objType, ObjectID: id, Result: "denied",
			Detail: map[string]any{"reason": yingji.ErrorCode(err)}})
	}
	return err
}

// Refused records err as a refusal (Deny) when it is one — the actor may not (EFORBIDDEN) or
// the object's state does not allow it (ECONFLICT) — and returns err. Other errors (invalid
// input, not found, a failure of the store) are returned as they are, unrecorded: the caller
// of a transaction that may fail either way passes its error through Refused.
func Refused(ctx context.Context, rec yingji.Auditor, a *yingji.Actor, action, objType, id string, err error) error {
	switch yingji.ErrorKind(err) {
	case yingji.EFORBIDDEN, yingji.ECONFLICT:
		return Deny(ctx, rec, a, action, objType, id, err)
	}
	return err
}

// Require returns nil when the actor holds perm; otherwise it records the refusal (Deny) and
// returns the permission error.
func Require(ctx context.Context, rec yingji.Auditor, a *yingji.Actor, perm, action, objType, id string) error {
	if err := a.Require(perm); err != nil {
		return Deny(ctx, rec, a, action, objType, id, err)
	}
	return nil
}

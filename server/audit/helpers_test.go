package audit_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
)

// TestHelpers: a write is recorded "ok" with its detail, a refusal "denied" with the error's
// code as the reason and the error returned as is; a nil Auditor records nothing.
func TestHelpers(t *testing.T) {
	var got []yingji.Event
	rec := yingji.AuditFunc(func(_ context.Context, _ *yingji.Actor, e yingji.Event) { got = append(got, e) })
	ctx := context.Background()
	admin := &yingji.Actor{UserID: "u1", Role: yingji.RoleCityAdmin}
	auditor := &yingji.Actor{UserID: "u2", Role: yingji.RoleAuditor}

	audit.OK(ctx, rec, admin, "plan.create", "plan", "p1", map[string]any{"title": "防汛"})
	if err := audit.Require(ctx, rec, admin, yingji.PermRiskWrite, "risk.create", "risk_point", "r1"); err != nil {
		t.Fatalf("Require of a held permission: %v", err)
	}
	err := audit.Require(ctx, rec, auditor, yingji.PermRiskWrite, "risk.create", "risk_point", "r2")
	if yingji.ErrorKind(err) != yingji.EFORBIDDEN {
		t.Fatalf("Require of a missing permission: %v", err)
	}
	sentinel := errors.New("x")
	if e := audit.Deny(ctx, rec, admin, "org.update", "unit", "o1", sentinel); e != sentinel {
		t.Fatalf("Deny returned %v", e)
	}
	want := []yingji.Event{
		{Action: "plan.create", ObjectType: "plan", ObjectID: "p1", Result: "ok", Detail: map[string]any{"title": "防汛"}},
		{Action: "risk.create", ObjectType: "risk_point", ObjectID: "r2", Result: "denied", Detail: map[string]any{"reason": "auth.forbidden"}},
		{Action: "org.update", ObjectType: "unit", ObjectID: "o1", Result: "denied", Detail: map[string]any{"reason": yingji.ErrorCode(sentinel)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recorded\n%#v\nwant\n%#v", got, want)
	}

	audit.OK(ctx, nil, admin, "plan.create", "plan", "p1", nil)
	if err := audit.Require(ctx, nil, auditor, yingji.PermRiskWrite, "risk.create", "risk_point", "r3"); err == nil {
		t.Error("Require without an Auditor let a missing permission through")
	}
}

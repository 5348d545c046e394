// Package audit keeps the audit log: logins, failures, lockouts, refusals and every write,
// with who, when, from which address and what changed. Administrators and auditors query and
// export it within their org subtree.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Entry is one audit log row.
type Entry struct {
	ID           string          `json:"id"`
	At           time.Time       `json:"at"`
	UserID       string          `json:"user_id"`
	Username     string          `json:"username"`
	ActorOrgPath string          `json:"-"`
	IP           string          `json:"ip"`
	RequestID    string          `json:"request_id"`
	Action       string          `json:"action"`
	ObjectType   string          `json:"object_type"`
	ObjectID     string          `json:"object_id"`
	Result       string          `json:"result"`
	Detail       json.RawMessage `json:"detail"`
}

// Filter narrows a query.
type Filter struct {
	OrgPrefix  string // set by the service from the caller's scope
	UserID     string
	Username   string
	Action     string // exact, or a prefix ending in "." such as "auth."
	ObjectType string
	ObjectID   string
	Result     string
	From, To   *time.Time
}

// Store keeps entries.
type Store interface {
	InsertAudit(ctx context.Context, e Entry) error
	ListAudit(ctx context.Context, f Filter, p yingji.ListParams) (yingji.Page[Entry], error)
}

// Service records and queries the log. It implements yingji.Auditor.
type Service struct {
	Store Store
	Now   yingji.Clock
	Log   *slog.Logger
}

// NewService returns a service on store.
func NewService(store Store, log *slog.Logger) *Service {
	return &Service{Store: store, Now: time.Now, Log: log.With("component", "audit")}
}

// Record writes one entry. A failure is logged: the audited action has already happened.
// Within an API request (WithPending) a refusal or failure is held for the API to write when
// it answers.
func (s *Service) Record(ctx context.Context, a *yingji.Actor, ev yingji.Event) {
	if a == nil {
		a = yingji.System
	}
	if p := pendingOf(ctx); p != nil && ev.Result != "" && ev.Result != "ok" && p.hold(a, ev) {
		return
	}
	detail := []byte("{}")
	if ev.Detail != nil {
		if b, err := json.Marshal(ev.Detail); err == nil {
			detail = b
		}
	}
	if ev.Result == "" {
		ev.Result = "ok"
	}
	e := Entry{ID: yingji.NewID(), At: s.Now().UTC(), UserID: a.UserID, Username: a.Username, ActorOrgPath: a.OrgPath,
		IP: a.IP, RequestID: a.RequestID, Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID,
		Result: ev.Result, Detail: detail}
	// The entry must be written even when the request that caused it was cancelled.
	if err := s.Store.InsertAudit(context.WithoutCancel(ctx), e); err != nil {
		s.Log.Error("audit record lost", "err", err, "action", ev.Action, "object_id", ev.ObjectID, "user", a.Username)
	}
}

// List answers a query within the caller's subtree.
func (s *Service) List(ctx context.Context, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Entry], error) {
	if err := a.Require(yingji.PermAuditRead); err != nil {
		return yingji.Page[Entry]{}, err
	}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		return yingji.Page[Entry]{}, yingji.Invalid("audit.bad_range", "to", "结束时间不能早于开始时间")
	}
	// A caller anchored on the root unit sees everything, including failed logins of unknown
	// names, which belong to no unit.
	f.OrgPrefix = a.OrgPath
	if strings.Count(a.OrgPath, "/") <= 2 {
		f.OrgPrefix = ""
	}
	p.Normalize()
	page, err := s.Store.ListAudit(ctx, f, p)
	if err != nil {
		return page, fmt.Errorf("audit: list: %w", err)
	}
	return page, nil
}

// ResultNames are the Chinese names of results, for exports.
var ResultNames = map[string]string{"ok": "成功", "failed": "失败", "denied": "拒绝"}

// Package syncsvc is the server's sync service: collections register with it, every accepted
// change writes a change-log entry in the same transaction, devices push batches of mutations
// and pull the latest state of their scopes, and live WebSockets are poked when a scope changes.
// The rules that merge concurrent changes are syncproto's, the same the devices run.
package syncsvc

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Fields are a record's values under their API names.
type Fields = map[string]json.RawMessage

// Place is where a record belongs: the org path of its unit or enterprise, its enterprise,
// and the one user it belongs to (a notification, a task given to a person). Its scopes follow
// from it (see Scopes).
type Place struct {
	OrgPath      string
	EnterpriseID string
	UserID       string
}

// Collection is one synced collection. Its records live in its domain table; the collection
// reads and writes them and says who may change what. Adding a collection is one
// implementation of this interface, one migration per engine and its tests.
type Collection interface {
	Spec() *syncproto.CollectionSpec
	// Load returns the current fields of the records with these ids (missing ids are absent).
	Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]Fields, error)
	// Place computes where a record with these fields belongs.
	Place(ctx context.Context, q sqldb.Querier, id string, f Fields) (Place, error)
	// Authorize checks that the actor may make the change; cur is nil for a new record.
	// It returns a *syncproto.Rejection (or a yingji.Error) to refuse.
	Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur Fields) error
	// Prepare fills server-owned fields and defaults of a record about to be saved and
	// validates it as a whole; created says it is new.
	Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, next Fields, created bool) error
	// Save writes the record to the domain table: insert when created, else update; deleted
	// removes it (or marks it) in the domain.
	Save(ctx context.Context, q sqldb.Querier, id string, f Fields, created, deleted bool) error
}

// ChangeChecker is implemented by collections that check a change as a whole once merged and
// prepared: prev is the record before (nil for a new one), next after. A refusal is returned
// like Authorize's.
type ChangeChecker interface {
	CheckChange(ctx context.Context, q sqldb.Querier, a *yingji.Actor, prev, next Fields) error
}

// Observer is told of each change a push saved, in the pushing transaction: prev is the record
// before (nil when new), next after (nil when deleted). Modules that act on a change of
// another module's records (a notification when a hazard is assigned) observe it. An error
// fails the mutation like a failed save.
type Observer func(ctx context.Context, q sqldb.Querier, a *yingji.Actor, id string, prev, next Fields) error

// Scopes returns the scopes a record at p belongs to: "org:ID" for each unit on its path,
// "ent:ID" for its enterprise and "user:ID" for its user.
func (p Place) Scopes() []string {
	var out []string
	for _, id := range strings.Split(strings.Trim(p.OrgPath, "/"), "/") {
		if id != "" {
			out = append(out, "org:"+id)
		}
	}
	if p.EnterpriseID != "" {
		out = append(out, "ent:"+p.EnterpriseID)
	}
	if p.UserID != "" {
		out = append(out, UserScope(p.UserID))
	}
	return out
}

// UserScope is the scope of the records that belong to one user.
func UserScope(userID string) string { return "user:" + userID }

// ActorScopes are the scopes a user may hold, computed from his role and assignment, and his
// own user scope (his notifications), always last.
func ActorScopes(a *yingji.Actor) []string {
	out := placeScopes(a)
	if a.UserID != "" {
		out = append(out, UserScope(a.UserID))
	}
	return out
}

// placeScopes are the org or enterprise scopes of the actor's role and assignment.
func placeScopes(a *yingji.Actor) []string {
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		if a.EnterpriseID != "" {
			return []string{"ent:" + a.EnterpriseID}
		}
	case yingji.ScopeTeam:
		// Rescue members' records (incidents, tasks) arrive with the response issue; until
		// then they hold the org scope of their team's unit read-only.
		fallthrough
	default:
		ids := strings.Split(strings.Trim(a.OrgPath, "/"), "/")
		if len(ids) > 0 && ids[len(ids)-1] != "" {
			return []string{"org:" + ids[len(ids)-1]}
		}
	}
	return nil
}

// Rejected builds a rejection.
func Rejected(code, message string) *syncproto.Rejection {
	return &syncproto.Rejection{Code: code, Message: message}
}

// Str reads a string field ("" when absent or not a string).
func Str(f Fields, name string) string {
	var s string
	if v, ok := f[name]; ok {
		json.Unmarshal(v, &s)
	}
	return s
}

// JSON encodes v as a field value.
func JSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// ActorScopes are the scopes the actor holds.
func (s *Service) ActorScopes(a *yingji.Actor) []string { return ActorScopes(a) }

type cacheKey struct{}

// WithCache returns a context carrying a cache for the lookups of one push batch.
func WithCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, map[string]any{})
}

// Cached returns the value cached under key in ctx's batch cache, loading it the first time.
// Without a cache in ctx it just loads. Only errors are not cached.
func Cached[T any](ctx context.Context, key string, load func() (T, error)) (T, error) {
	m, _ := ctx.Value(cacheKey{}).(map[string]any)
	if v, ok := m[key]; ok {
		return v.(T), nil
	}
	v, err := load()
	if err == nil && m != nil {
		m[key] = v
	}
	return v, err
}

// Package syncsvc is the server's sync service: collections register with it, every accepted
// change writes a change-log entry in the same transaction, devices push batches of mutations
// and pull the latest state of their scopes, and live WebSockets are poked when a scope changes.
// The rules that merge concurrent changes are syncproto's, the same the devices run.
package syncsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Fields are a record's values under their API names.
type Fields = map[string]json.RawMessage

// Place is where a record belongs: the org path of its unit or enterprise, its enterprise,
// the one user it belongs to (a notification, a task given to a person), whether its unit
// publishes it to everyone below (Shared) and the incident it belongs to. Its scopes follow
// from it (see Scopes).
type Place struct {
	OrgPath      string
	EnterpriseID string
	UserID       string
	// Shared publishes a read-only reference record (a published plan, the knowledge base,
	// the directory, government resources) to every unit below its org path and the
	// enterprises and teams in them: its scopes include "down:ID" of the last unit on the path.
	Shared bool
	// IncidentID puts the record in the incident's scope "inc:ID", held by whoever the scope
	// sources say works on the incident (the teams dispatched to it).
	IncidentID string
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
// "down:ID" for the last unit on it when shared, "ent:ID" for its enterprise, "user:ID" for
// its user and "inc:ID" for its incident.
func (p Place) Scopes() []string {
	var out []string
	last := ""
	for _, id := range strings.Split(strings.Trim(p.OrgPath, "/"), "/") {
		if id != "" {
			out = append(out, "org:"+id)
			last = id
		}
	}
	if p.Shared && last != "" {
		out = append(out, DownScope(last))
	}
	if p.EnterpriseID != "" {
		out = append(out, "ent:"+p.EnterpriseID)
	}
	if p.UserID != "" {
		out = append(out, UserScope(p.UserID))
	}
	if p.IncidentID != "" {
		out = append(out, IncidentScope(p.IncidentID))
	}
	return out
}

// UserScope is the scope of the records that belong to one user.
func UserScope(userID string) string { return "user:" + userID }

// DownScope is the scope of the records a unit shares with everyone below it.
func DownScope(unitID string) string { return "down:" + unitID }

// IncidentScope is the scope of the records of one incident.
func IncidentScope(incidentID string) string { return "inc:" + incidentID }

// RoleScopes are the scopes a user holds by his role and assignment alone: the org or
// enterprise scope of his role, then "down:ID" of every unit above him (see downScopes). The
// scopes he holds in all are the service's ActorScopes, which add the scope sources' and his
// own user scope.
func RoleScopes(a *yingji.Actor) []string {
	return append(placeScopes(a), downScopes(a)...)
}

// placeScopes are the org or enterprise scopes of the actor's role and assignment.
func placeScopes(a *yingji.Actor) []string {
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		if a.EnterpriseID != "" {
			return []string{"ent:" + a.EnterpriseID}
		}
	case yingji.ScopeTeam:
		// Rescue members hold the org scope of their team's unit read-only; the records of
		// the incidents their team works on come from a scope source ("inc:ID").
		fallthrough
	default:
		ids := strings.Split(strings.Trim(a.OrgPath, "/"), "/")
		if len(ids) > 0 && ids[len(ids)-1] != "" {
			return []string{"org:" + ids[len(ids)-1]}
		}
	}
	return nil
}

// downScopes are the "down:ID" scopes of the units whose shared records the actor reads: every
// unit above his own (his own unit's records he reads through its org scope already); for an
// enterprise's staff and a rescue team's members, whose anchor path is the unit the enterprise
// or team sits in, that unit as well.
func downScopes(a *yingji.Actor) []string {
	var ids []string
	for _, id := range strings.Split(strings.Trim(a.OrgPath, "/"), "/") {
		if id != "" {
			ids = append(ids, id)
		}
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		if a.EnterpriseID == "" {
			return nil
		}
	case yingji.ScopeTeam:
	default:
		if len(ids) > 0 {
			ids = ids[:len(ids)-1]
		}
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = DownScope(id)
	}
	return out
}

// ScopeSource gives scopes an actor holds because of data rather than his role (the incidents
// his team is dispatched to). It reads with q, the transaction of the pull or connection it
// answers for.
type ScopeSource func(ctx context.Context, q sqldb.Querier, a *yingji.Actor) ([]string, error)

// AddScopeSource adds a source of actors' scopes. When the data it reads changes, call
// ScopesChanged with the users concerned (after the change commits) so their live devices
// pull at once.
func (s *Service) AddScopeSource(src ScopeSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = append(s.sources, src)
}

// ActorScopes are the scopes the actor holds: his role's (RoleScopes), every scope source's,
// and his own user scope (his notifications), always last. Pull, the live WebSocket and the
// FCM wake all use it.
func (s *Service) ActorScopes(ctx context.Context, a *yingji.Actor) ([]string, error) {
	return s.actorScopes(ctx, s.DB, a)
}

func (s *Service) actorScopes(ctx context.Context, q sqldb.Querier, a *yingji.Actor) ([]string, error) {
	out := RoleScopes(a)
	s.mu.RLock()
	sources := s.sources
	s.mu.RUnlock()
	for _, src := range sources {
		more, err := src(ctx, q, a)
		if err != nil {
			return nil, fmt.Errorf("sync: scopes of %s: %w", a.UserID, err)
		}
		for _, sc := range more {
			if sc != "" && !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	if a.UserID != "" {
		out = append(out, UserScope(a.UserID))
	}
	return out, nil
}

// Rejected builds a rejection.
func Rejected(code, message string) *syncproto.Rejection {
	return &syncproto.Rejection{Code: code, Message: message}
}

// Str reads a string field ("" when absent or not a string).
func Str(f Fields, name string) string {
	if v, ok := f[name]; ok {
		return stringOf(v)
	}
	return ""
}

// JSON encodes v as a field value.
func JSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

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

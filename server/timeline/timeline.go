// Package timeline is the replay of an incident (灾后复盘): one query that derives its events
// from the rows every module already keeps — the incident, its alert with the readings around
// it, the enterprise's patrols and hazards before it, the alert's actions and deliveries, the
// tasks and their steps, check-ins and scene feedback, the response steps, dispatch orders,
// chat and the recordings of live video with their gaps — ordered, filtered and paged, with
// the positions of teams and feedback over time for the map's playback. Nobody writes a second log.
//
// Tamper evidence: each event carries a hash of what it says. Anchor appends the hashes of
// events not yet anchored to a per-incident hash chain (table timeline_anchors); Verify
// re-derives the events and compares them with the chain, so a row altered or deleted after it
// was anchored, or an anchor edited, is reported.
package timeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/yingji"
)

// Event kinds.
const (
	KindIncidentReported   = "incident.reported"
	KindIncidentTerminated = "incident.terminated"
	KindAlert              = "alert.event"
	KindAlertAction        = "alert.action"
	KindDelivery           = "alert.delivery"
	KindReading            = "reading"
	KindPatrol             = "patrol"
	KindHazard             = "hazard"
	KindTaskAssigned       = "task.assigned"
	KindTaskStep           = "task.step"
	KindCheckin            = "checkin"
	KindFeedback           = "feedback"
	KindResponseProposed   = "response.proposed"
	KindResponseDecided    = "response.decided"
	KindMessage            = "message"
)

// KindNames are the kinds' Chinese names (the portal's filter).
var KindNames = map[string]string{
	KindIncidentReported: "事件接报", KindIncidentTerminated: "响应终止", KindAlert: "预警", KindAlertAction: "预警处置",
	KindDelivery: "预警通知", KindReading: "监测数据", KindPatrol: "巡查", KindHazard: "隐患", KindTaskAssigned: "任务下达",
	KindTaskStep: "任务进展", KindCheckin: "队伍报到", KindFeedback: "现场反馈", KindResponseProposed: "响应提请",
	KindResponseDecided: "领导审批", KindMessage: "群组消息", KindOrder: "调度指令", KindOrderStep: "调度进展", KindVideo: "视频回传",
	KindVideoGap: "视频中断",
}

// Event is one thing that happened. What it says (Key, Kind, At, Actor, Title, the position
// and Ref) is hashed; names are looked up for display and not hashed.
type Event struct {
	Key       string   `json:"key"` // source and row, unique in the incident
	Kind      string   `json:"kind"`
	At        string   `json:"at"` // UTC RFC 3339, when it happened (the person's action time)
	Actor     string   `json:"actor"`
	ActorName string   `json:"actor_name"`
	TeamID    string   `json:"team_id,omitempty"`
	Title     string   `json:"title"`
	Lat       *float64 `json:"lat,omitempty"`
	Lng       *float64 `json:"lng,omitempty"`
	Ref       string   `json:"ref,omitempty"` // the record it comes from, "collection/id"
	Media     []string `json:"media,omitempty"`
	Hash      string   `json:"hash"`
}

// Source derives the events one module's rows say about an incident.
type Source func(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error)

// Incident is what the sources need of the incident.
type Incident struct {
	ID, Code, Title, OrgPath, AlertID, EnterpriseID string
	OccurredAt, ReportedAt, TerminatedAt            string
	Lat, Lng                                        *float64 // nil: no position
	Exercise                                        bool     // 演练
}

// Sources are the derivations, in no particular order.
var Sources = map[string]Source{
	"incident": incidentEvents,
	"alert":    alertEvents,
	"readings": readingEvents,
	"prior":    priorEvents,
	"response": responseEvents,
	"chat":     chatEvents,
	"tasks":    taskEvents,
	"checkins": checkinEvents,
	"feedback": feedbackEvents,
	"orders":   orderEvents,
	"video":    videoEvents,
}

// loadIncident reads the incident through the incident module's store (incident.Load).
func loadIncident(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	x, err := incident.Load(ctx, q, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return Incident{ID: id}, yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	} else if err != nil {
		return Incident{ID: id}, err
	}
	return Incident{ID: x.ID, Code: x.Code, Title: x.Title, OrgPath: x.OrgPath, AlertID: x.AlertID, EnterpriseID: x.EnterpriseID,
		OccurredAt: norm(x.OccurredAt), ReportedAt: norm(x.ReportedAt), TerminatedAt: norm(x.TerminatedAt), Lat: x.Lat, Lng: x.Lng,
		Exercise: x.Exercise}, nil
}

const timeLayout = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// norm rewrites a stored time to the fixed layout so events sort as text.
func norm(s string) string {
	// The common cases without parsing: already fixed ("…:05.000Z"), or whole seconds ("…:05Z").
	if len(s) == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' && digits(s[20:23]) && validDate(s[:19]) {
		return s
	}
	if len(s) == 20 && s[10] == 'T' && s[19] == 'Z' && validDate(s[:19]) {
		return s[:19] + ".000Z"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return fmtTime(t)
	}
	return s
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validDate reports whether s is a valid "2006-01-02T15:04:05" (what time.Parse would accept).
func validDate(s string) bool {
	_, err := time.Parse("2006-01-02T15:04:05", s)
	return err == nil
}

// Derive returns every event of the incident, ordered by time (then key), hashed and with the
// actors' names.
func Derive(ctx context.Context, q sqldb.Querier, incidentID string) (Incident, []Event, error) {
	inc, all, err := derive(ctx, q, incidentID)
	if err != nil {
		return inc, nil, err
	}
	for i := range all {
		all[i].Hash = all[i].hash()
	}
	if err := fillNames(ctx, q, all); err != nil {
		return inc, nil, err
	}
	return inc, all, nil
}

// derive returns the incident's events ordered by time (then key), without hashes and names:
// the caller adds them where it needs them (a replay page, not all 10,000 events).
func derive(ctx context.Context, q sqldb.Querier, incidentID string) (Incident, []Event, error) {
	inc, err := loadIncident(ctx, q, incidentID)
	if err != nil {
		return inc, nil, err
	}
	names := make([]string, 0, len(Sources))
	for n := range Sources {
		names = append(names, n)
	}
	slices.Sort(names)
	var all []Event
	for _, n := range names {
		evs, err := Sources[n](ctx, q, inc)
		if err != nil {
			return inc, nil, fmt.Errorf("timeline: %s: %w", n, err)
		}
		if all == nil {
			all = make([]Event, 0, len(evs)+64)
		}
		all = append(all, evs...)
	}
	for i := range all {
		all[i].At = norm(all[i].At)
	}
	// Sort compact keys, not the events: an Event is large and swapping it costs, and the keys
	// side by side compare without chasing each event.
	type sortKey struct {
		at, key string
		i       int32
	}
	keys := make([]sortKey, len(all))
	for i := range all {
		keys[i] = sortKey{all[i].At, all[i].Key, int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := strings.Compare(a.at, b.at); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	sorted := make([]Event, len(all))
	for i, k := range keys {
		sorted[i] = all[k.i]
	}
	return inc, sorted, nil
}

func fillNames(ctx context.Context, q sqldb.Querier, evs []Event) error {
	seen := map[string]bool{}
	var ids []string
	for _, e := range evs {
		if e.Actor != "" && !seen[e.Actor] {
			seen[e.Actor] = true
			ids = append(ids, e.Actor)
		}
	}
	names := map[string]string{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, "SELECT id, name FROM users WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, n string
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			names[id] = n
		}
		return rows.Err()
	})
	for i := range evs {
		evs[i].ActorName = names[evs[i].Actor]
		if evs[i].ActorName == "" && evs[i].Actor == "" {
			evs[i].ActorName = "系统"
		}
	}
	return err
}

// Filter narrows a replay.
type Filter struct {
	Kinds    []string
	From, To string // RFC 3339, inclusive
	Actor    string // user id
}

func (f Filter) match(e Event) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind) {
		return false
	}
	if f.From != "" && e.At < norm(f.From) {
		return false
	}
	if f.To != "" && e.At > norm(f.To) {
		return false
	}
	return f.Actor == "" || e.Actor == f.Actor
}

// Position is where someone (a team member, a feedback) was at a time: the map's playback.
type Position struct {
	At     string  `json:"at"`
	Lat    float64 `json:"lat"`
	Lng    float64 `json:"lng"`
	Kind   string  `json:"kind"`
	Actor  string  `json:"actor"`
	TeamID string  `json:"team_id"`
	Key    string  `json:"key"`
}

// Replay is a page of an incident's timeline with the positions over the whole filtered
// span.
type Replay struct {
	IncidentID string         `json:"incident_id"`
	Items      []Event        `json:"items"`
	Total      int            `json:"total"`
	Kinds      map[string]int `json:"kinds"` // count per kind over the filtered events
	Start      string         `json:"start"`
	End        string         `json:"end"`
	Positions  []Position     `json:"positions"`
}

// Get returns a page of the incident's replay for an actor who may read the incident. It
// only reads: the periodic job anchors (Anchorer). Only the page's events are hashed and
// named.
func Get(ctx context.Context, db sqldb.DB, a *yingji.Actor, incidentID string, f Filter, p yingji.ListParams) (Replay, error) {
	out := Replay{IncidentID: incidentID, Items: []Event{}, Kinds: map[string]int{}, Positions: []Position{}}
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		if err := readable(ctx, q, a, incidentID); err != nil {
			return err
		}
		_, evs, err := derive(ctx, q, incidentID)
		if err != nil {
			return err
		}
		kept := evs[:0]
		for _, e := range evs {
			if f.match(e) {
				kept = append(kept, e)
				out.Kinds[e.Kind]++
				if e.Lat != nil && e.Lng != nil {
					out.Positions = append(out.Positions, Position{At: e.At, Lat: *e.Lat, Lng: *e.Lng, Kind: e.Kind, Actor: e.Actor, TeamID: e.TeamID, Key: e.Key})
				}
			}
		}
		out.Total = len(kept)
		if len(kept) > 0 {
			out.Start, out.End = kept[0].At, kept[len(kept)-1].At
		}
		lo := min(p.Offset(), len(kept))
		hi := min(lo+p.PageSize, len(kept))
		out.Items = append(out.Items, kept[lo:hi]...)
		for i := range out.Items {
			out.Items[i].Hash = out.Items[i].hash()
		}
		return fillNames(ctx, q, out.Items)
	})
	return out, err
}

func readable(ctx context.Context, q sqldb.Querier, a *yingji.Actor, incidentID string) error {
	inc, err := task.LoadIncident(ctx, q, incidentID)
	if err != nil {
		return yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	}
	ok, err := task.CanRead(ctx, q, a, inc)
	if err != nil {
		return err
	}
	if !ok {
		return yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	}
	return nil
}

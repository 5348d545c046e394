package hazard

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// Hazard is a hazard as the portal shows it.
type Hazard struct {
	ID             string   `json:"id"`
	EnterpriseID   string   `json:"enterprise_id"`
	EnterpriseName string   `json:"enterprise_name"`
	OrgPath        string   `json:"org_path"`
	Title          string   `json:"title"`
	Description    string   `json:"description"`
	Level          string   `json:"level"`
	Status         string   `json:"status"`
	Photos         []string `json:"photos"`
	ReportedBy     string   `json:"reported_by"`
	// ReportedAt is when the hazard was reported: on a phone offline, the device's time
	// (bounded by what the server trusts); ReceivedAt is when the server received the report.
	ReportedAt  string `json:"reported_at"`
	ReceivedAt  string `json:"received_at"`
	Deadline    string `json:"deadline"`
	RectifierID string `json:"rectifier_id"`
	// RectifierName is the name of the person responsible for the rectification ('' when none).
	RectifierName string          `json:"rectifier_name"`
	Location      json.RawMessage `json:"location"`
}

// Filter selects hazards; TownshipPath is the org path of a township (or any unit).
type Filter struct {
	EnterpriseID, Status, Level, TownshipPath, Q string
	Open                                         bool // not yet accepted (the loop is not closed)
	// Overdue selects the hazards whose rectification deadline passed while the rectification
	// is not finished (IsOverdue); Now is the time to judge at (zero: the wall clock).
	Overdue bool
	Now     time.Time
}

const cols = `h.id, h.enterprise_id, COALESCE(e.name, ''), h.org_path, h.title, h.description, h.level, h.status, h.photos,
	h.reported_by, h.reported_at, h.deadline, h.rectifier_id, h.location, h.created_at, COALESCE(ru.name, '')`

// fromJoins is the FROM clause of cols: the hazard with its enterprise and its rectifier.
const fromJoins = ` FROM hazards h LEFT JOIN enterprises e ON e.id = h.enterprise_id LEFT JOIN users ru ON ru.id = h.rectifier_id`

func scanHazard(r sqldb.Rows) (Hazard, error) {
	var h Hazard
	var photos, loc string
	var received time.Time
	err := r.Scan(&h.ID, &h.EnterpriseID, &h.EnterpriseName, &h.OrgPath, &h.Title, &h.Description, &h.Level, &h.Status, &photos,
		&h.ReportedBy, &h.ReportedAt, &h.Deadline, &h.RectifierID, &loc, &received, &h.RectifierName)
	h.ReceivedAt = received.UTC().Format(time.RFC3339)
	json.Unmarshal([]byte(photos), &h.Photos)
	if h.Photos == nil {
		h.Photos = []string{}
	}
	h.Location = json.RawMessage(loc)
	if loc == "" {
		h.Location = json.RawMessage("null")
	}
	return h, err
}

// List returns a page of the hazards in the actor's scope, newest report first.
func List(ctx context.Context, db sqldb.Querier, a *yingji.Actor, f Filter, p yingji.ListParams) (yingji.Page[Hazard], error) {
	page := yingji.Page[Hazard]{Items: []Hazard{}}
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("h.enterprise_id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("h.org_path", sc.OrgPrefix)
	}
	if f.EnterpriseID != "" {
		w.Add("h.enterprise_id = ?", f.EnterpriseID)
	}
	if f.Open {
		w.Add("h.status <> ?", "accepted")
	}
	if f.Status != "" {
		w.Add("h.status = ?", f.Status)
	}
	if f.Level != "" {
		w.Add("h.level = ?", f.Level)
	}
	w.Prefix("h.org_path", f.TownshipPath)
	if f.Overdue {
		now := f.Now
		if now.IsZero() {
			now = time.Now()
		}
		ids, err := overdueIDs(ctx, db, w, now)
		if err != nil {
			return page, err
		}
		if len(ids) == 0 {
			return page, nil
		}
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		w.Add("h.id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")", args...)
	}
	if f.Q != "" {
		w.Add(`(h.title LIKE ? ESCAPE '\' OR h.description LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	order, err := p.OrderBy(map[string]string{"reported_at": "h.reported_at", "deadline": "h.deadline", "status": "h.status",
		"level": "h.level", "title": "h.title", "updated_at": "h.updated_at"}, "h.reported_at DESC, h.id DESC")
	if err != nil {
		return page, err
	}
	order = qualifyID(order)
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM hazards h"+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := db.Query(ctx, "SELECT "+cols+fromJoins+w.SQL()+
		" ORDER BY "+order+" LIMIT "+w.Next(p.PageSize)+" OFFSET "+w.Next(p.Offset()), w.Args...)
	items, err := sqldb.CollectRows(rows, err, scanHazard)
	if err != nil {
		return page, err
	}
	page.Items = items
	return page, nil
}

// qualifyID prefixes the id tie-breaker of an ORDER BY with the hazards' alias.
func qualifyID(order string) string {
	for _, dir := range []string{"ASC", "DESC"} {
		if s := ", id " + dir; len(order) > len(s) && order[len(order)-len(s):] == s {
			return order[:len(order)-len(s)] + ", h.id " + dir
		}
	}
	return order
}

// Get returns a hazard in the actor's scope.
func Get(ctx context.Context, db sqldb.Querier, a *yingji.Actor, id string) (Hazard, error) {
	rows, err := db.Query(ctx, "SELECT "+cols+fromJoins+" WHERE h.id = $1", id)
	items, err := sqldb.CollectRows(rows, err, scanHazard)
	if err != nil {
		return Hazard{}, err
	}
	if len(items) == 0 {
		return Hazard{}, yingji.Errorf(yingji.ENOTFOUND, "hazard.not_found", "隐患不存在")
	}
	if !a.CanReadEnterprise(items[0].EnterpriseID, items[0].OrgPath) {
		return Hazard{}, yingji.Forbidden("隐患")
	}
	return items[0], nil
}

// StatusChange is a move of a hazard's status.
type StatusChange struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Step     string `json:"step"`
	StepName string `json:"step_name"`
}

// ActionInfo is a hazard_actions row on the timeline.
type ActionInfo struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Text     string `json:"text"`
	Assignee string `json:"assignee"`
	At       string `json:"at"` // the device's time
}

// Event is one entry of a hazard's timeline.
type Event struct {
	// At is when it happened: for a change made on a phone, when the person made it.
	At time.Time `json:"at"`
	// ReceivedAt is when the server received a change made on a phone, when it came a second
	// or more after At (the phone was offline); absent otherwise.
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	UserID     string     `json:"user_id"`
	UserName   string     `json:"user_name"`
	// Kind: created, updated (by sync), action (a hazard_actions row), edit (in the office).
	Kind   string `json:"kind"`
	Source string `json:"source"` // sync, office
	// DeviceID is the phone the change came from.
	DeviceID    string                     `json:"device_id,omitempty"`
	Status      *StatusChange              `json:"status,omitempty"`
	Changes     map[string]json.RawMessage `json:"changes,omitempty"`
	PhotosAdded []string                   `json:"photos_added,omitempty"`
	Action      *ActionInfo                `json:"action,omitempty"`
	Summary     string                     `json:"summary"`

	seq int64
}

var fieldNames = map[string]string{"title": "标题", "description": "描述", "level": "等级", "deadline": "整改期限",
	"rectifier_id": "整改责任人", "location": "位置", "enterprise_id": "所属企业"}

var statusNames = map[string]string{"reported": "已上报", "assigned": "已交办", "rectifying": "整改中", "submitted": "待验收", "accepted": "已验收"}

var actionNames = map[string]string{"comment": "评论", "assign": "交办", "rectify": "整改", "submit": "提交验收", "accept": "验收", "reject": "退回"}

// Timeline returns the events of a hazard in order: its changes by sync and in the office
// from the audit log, replayed to tell status moves, field changes and photos added, and
// its actions.
func Timeline(ctx context.Context, db sqldb.Querier, a *yingji.Actor, id string) ([]Event, error) {
	h, err := Get(ctx, db, a, id)
	if err != nil {
		return nil, err
	}
	var events []Event
	rows, err := db.Query(ctx, `SELECT at, user_id, username, action, detail FROM audit_log
		WHERE object_type = 'hazards' AND object_id = $1 AND result = 'ok' ORDER BY at, id`, id)
	type entry struct {
		at                     time.Time
		user, username, action string
		detail                 string
	}
	entries, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (entry, error) {
		var e entry
		err := r.Scan(&e.at, &e.user, &e.username, &e.action, &e.detail)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	var replay []Event
	for _, e := range entries {
		var d struct {
			DeviceID string                     `json:"device_id"`
			Seq      int64                      `json:"seq"`
			Fields   map[string]json.RawMessage `json:"fields"`
			ActionAt string                     `json:"action_at"`
		}
		json.Unmarshal([]byte(e.detail), &d)
		ev := Event{At: e.at, UserID: e.user, UserName: e.username, DeviceID: d.DeviceID, seq: d.Seq, Changes: d.Fields}
		// A change synced from a phone happened when the person made it (the push's action
		// time); the audit entry's own time is its receipt.
		if at, err := time.Parse(time.RFC3339Nano, d.ActionAt); err == nil && !at.After(e.at) {
			ev.At = at
			if e.at.Sub(at) >= time.Second {
				rcv := e.at
				ev.ReceivedAt = &rcv
			}
		}
		switch e.action {
		case "sync.create":
			ev.Kind, ev.Source = "created", "sync"
		case "sync.update":
			ev.Kind, ev.Source = "updated", "sync"
		default:
			ev.Kind, ev.Source = "edit", "office"
		}
		replay = append(replay, ev)
	}
	// Replay in the order the server applied the changes (the audit order; entries of one push
	// share a time and the change-log number orders them), whatever times the devices gave.
	sort.SliceStable(replay, func(i, j int) bool {
		ri, rj := received(replay[i]), received(replay[j])
		if !ri.Equal(rj) {
			return ri.Before(rj)
		}
		return replay[i].seq < replay[j].seq
	})
	created := false
	state := map[string]json.RawMessage{}
	photos := map[string]bool{}
	for _, ev := range replay {
		fields := ev.Changes
		ev.Changes = map[string]json.RawMessage{}
		if ev.Kind == "created" {
			if created {
				ev.Kind = "updated" // a replayed create merges like an update
			} else {
				created = true
				ev.Status = &StatusChange{To: Machine.Initial, Step: StepReport, StepName: StepName(StepReport)}
				state["status"] = syncsvc.JSON(Machine.Initial)
			}
		}
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := fields[k]
			switch k {
			case "status":
				from, to := syncsvc.Str(state, "status"), syncsvc.Str(fields, "status")
				if from == "" {
					from = Machine.Initial
				}
				if ev.Kind == "created" {
					ev.Status.To = to
					state["status"] = v
				} else if step := StepOf(from, to); step != "" {
					ev.Status = &StatusChange{From: from, To: to, Step: step, StepName: StepName(step)}
					state["status"] = v
				}
			case "photos":
				var ps []string
				json.Unmarshal(v, &ps)
				for _, p := range ps {
					if !photos[p] {
						photos[p] = true
						ev.PhotosAdded = append(ev.PhotosAdded, p)
					}
				}
			default:
				if old, ok := state[k]; !ok || string(old) != string(v) {
					ev.Changes[k] = v
					state[k] = v
				}
			}
		}
		if ev.Kind != "created" && ev.Status == nil && len(ev.Changes) == 0 && len(ev.PhotosAdded) == 0 {
			continue // nothing changed (a stale state or value)
		}
		if len(ev.Changes) == 0 {
			ev.Changes = nil
		}
		events = append(events, ev)
	}
	if !created {
		// Raised by a patrol or loaded without sync: the report itself.
		at, _ := time.Parse(time.RFC3339, h.ReportedAt)
		events = append([]Event{{At: at, UserID: h.ReportedBy, Kind: "created", Source: "sync",
			Status: &StatusChange{To: Machine.Initial, Step: StepReport, StepName: StepName(StepReport)}}}, events...)
	}

	rows, err = db.Query(ctx, `SELECT id, kind, text, assignee, by_user, at, created_at FROM hazard_actions WHERE hazard_id = $1 ORDER BY created_at, id`, id)
	actions, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Event, error) {
		var ev Event
		ai := &ActionInfo{}
		err := r.Scan(&ai.ID, &ai.Kind, &ai.Text, &ai.Assignee, &ev.UserID, &ai.At, &ev.At)
		ev.Kind, ev.Source, ev.Action = "action", "sync", ai
		// The action happened when the person took it (at), received at created_at.
		if at, perr := time.Parse(time.RFC3339Nano, ai.At); perr == nil && !at.After(ev.At) {
			if ev.At.Sub(at) >= time.Second {
				rcv := ev.At
				ev.ReceivedAt = &rcv
			}
			ev.At = at
		}
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		if i := stepOfNote(events, a); i >= 0 {
			events[i].Action = a.Action // the step's own note: one row for the step
			continue
		}
		events = append(events, a)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })

	names := map[string]string{}
	for i := range events {
		ev := &events[i]
		if ev.UserID != "" {
			if _, ok := names[ev.UserID]; !ok {
				var n string
				if err := db.QueryRow(ctx, `SELECT name FROM users WHERE id = $1`, ev.UserID).Scan(&n); err != nil && !errors.Is(err, yingji.ErrNotFound) {
					return nil, err
				}
				names[ev.UserID] = n
			}
			ev.UserName = names[ev.UserID]
		}
		ev.Summary = summary(ev)
	}
	return events, nil
}

// zone is where times are shown: Asia/Shanghai.
var zone = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// received is when the server received an event.
func received(ev Event) time.Time {
	if ev.ReceivedAt != nil {
		return *ev.ReceivedAt
	}
	return ev.At
}

// noteKinds maps a workflow step to the kind of the hazard_actions row that carries its note
// (the portal and the app record a step as the status change, then its note).
var noteKinds = map[string]string{StepAssign: "assign", StepRectify: "rectify", StepSubmit: "submit", StepAccept: "accept", StepSendBack: "reject"}

// noteWindow is how long after a step its note may arrive and still be the step's note.
const noteWindow = 10 * time.Minute

// stepOfNote returns the index of the status change a note belongs to: the step of the note's
// kind by the same user, not yet with a note, nearest before the note and at most noteWindow
// earlier (or, failing that, at most a second after it: the two travel in one push); -1 if none.
func stepOfNote(events []Event, note Event) int {
	best, after := -1, -1
	for i, ev := range events {
		if ev.Status == nil || ev.Action != nil || ev.UserID != note.UserID || noteKinds[ev.Status.Step] != note.Action.Kind {
			continue
		}
		switch d := note.At.Sub(ev.At); {
		case d >= 0 && d <= noteWindow:
			if best < 0 || ev.At.After(events[best].At) || ev.At.Equal(events[best].At) {
				best = i
			}
		case d < 0 && d >= -time.Second && after < 0:
			after = i
		}
	}
	if best >= 0 {
		return best
	}
	return after
}

func summary(ev *Event) string {
	var parts []string
	switch ev.Kind {
	case "created":
		parts = append(parts, "上报隐患")
		if ev.Status != nil && ev.Status.To != Machine.Initial {
			parts = append(parts, "状态为“"+statusNames[ev.Status.To]+"”")
		}
	case "action":
		s := actionNames[ev.Action.Kind]
		if ev.Action.Text != "" {
			s += "：" + ev.Action.Text
		}
		parts = append(parts, s)
	default:
		if ev.Status != nil {
			step := ev.Status.StepName + "（" + statusNames[ev.Status.From] + " → " + statusNames[ev.Status.To] + "）"
			if ev.Action != nil && ev.Action.Text != "" {
				step += "：" + ev.Action.Text
			}
			parts = append(parts, step)
		}
	}
	if ev.Kind != "created" {
		var changed []string
		for k := range ev.Changes {
			if n, ok := fieldNames[k]; ok {
				changed = append(changed, n)
			}
		}
		slices.Sort(changed)
		if len(changed) > 0 {
			s := "修改"
			for i, c := range changed {
				if i > 0 {
					s += "、"
				}
				s += c
			}
			parts = append(parts, s)
		}
	}
	if n := len(ev.PhotosAdded); n > 0 {
		parts = append(parts, "添加照片 "+itoa(n)+" 张")
	}
	if ev.ReceivedAt != nil {
		parts = append(parts, "离线操作，"+ev.ReceivedAt.In(zone).Format("01-02 15:04:05")+" 同步到服务器")
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "；"
		}
		out += p
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

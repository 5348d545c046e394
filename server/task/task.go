// Package task holds the responders' synced records of an incident: tasks (本岗位应急任务)
// from the plan's measures and from headquarters, team check-ins (队伍报到) and scene feedback
// (现场反馈). All three belong to their incident (scope inc:<id>) and its unit chain; a task
// given to one person also to that person. Phones take tasks through their states offline;
// check-ins and feedback are append-only.
package task

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Task statuses.
const (
	StatusAssigned  = "assigned"
	StatusAccepted  = "accepted"
	StatusEnRoute   = "en_route"
	StatusOnScene   = "on_scene"
	StatusDone      = "done"
	StatusRefused   = "refused"
	StatusCancelled = "cancelled"
)

// StatusNames are the statuses' Chinese names.
var StatusNames = map[string]string{StatusAssigned: "已下达", StatusAccepted: "已接受", StatusEnRoute: "赶赴现场",
	StatusOnScene: "到达现场", StatusDone: "已完成", StatusRefused: "已拒绝", StatusCancelled: "已撤销"}

// Machine is a task's status: assigned → accepted → en_route → on_scene → done; a responder
// may skip steps (arriving without having said he left), may refuse a task he has not accepted
// (with a reason), and headquarters may cancel an unfinished task. When two phones of a team
// race, the more advanced state wins.
var Machine = &syncproto.StateMachine{
	States:  []string{StatusAssigned, StatusAccepted, StatusEnRoute, StatusOnScene, StatusDone, StatusRefused, StatusCancelled},
	Initial: StatusAssigned,
	Transitions: map[string][]string{
		StatusAssigned: {StatusAccepted, StatusEnRoute, StatusOnScene, StatusDone, StatusRefused, StatusCancelled},
		StatusAccepted: {StatusEnRoute, StatusOnScene, StatusDone, StatusCancelled},
		StatusEnRoute:  {StatusOnScene, StatusDone, StatusCancelled},
		StatusOnScene:  {StatusDone, StatusCancelled},
	},
}

// Open reports whether a task in status s is still to be done.
func Open(s string) bool { return s != StatusDone && s != StatusRefused && s != StatusCancelled }

var taskSpec = &syncproto.CollectionSpec{
	Name: "tasks",
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "title", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "detail", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "source", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "plan_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "level", Type: syncproto.TypeNumber, Rule: syncproto.Immutable},
		{Name: "team_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "assignee_id", Type: syncproto.TypeString, Rule: syncproto.Immutable},
		{Name: "due_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.Immutable},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: Machine},
		{Name: "reason", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "assigned_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "assigned_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "steps", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	},
}

var taskColumns = []string{"incident_id", "title", "detail", "source", "plan_id", "level", "team_id", "assignee_id", "due_at",
	"location", "status", "reason", "assigned_by", "assigned_at", "steps"}

// Step is one status change of a task: to which status, by whom, when the person took it
// (the action time, from the phone's clock) and when the server received it.
type Step struct {
	Status     string `json:"status"`
	By         string `json:"by"`
	At         string `json:"at"`
	ReceivedAt string `json:"received_at"`
	Reason     string `json:"reason,omitempty"`
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Valid reports whether the position is on the earth.
func (l *Location) Valid() bool {
	return l != nil && !math.IsNaN(l.Lat) && !math.IsNaN(l.Lng) && l.Lat >= -90 && l.Lat <= 90 && l.Lng >= -180 && l.Lng <= 180
}

// Incident is what these records need of their incident (read through the incident module's
// store, incident.Load).
type Incident struct {
	ID, OrgPath, Status string
	ReportedAt          time.Time // zero when unknown
	Exercise            bool      // 演练: never counted in statistics
}

// LoadIncident reads an incident through the incident module's store; a rejection when it
// does not exist. Cached for the push batch.
func LoadIncident(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	return syncsvc.Cached(ctx, "task_incident:"+id, func() (Incident, error) {
		x, err := incident.Load(ctx, q, id)
		if errors.Is(err, yingji.ErrNotFound) {
			return Incident{ID: id}, syncsvc.Rejected(syncproto.CodeInvalid, "突发事件不存在")
		}
		if err != nil {
			return Incident{ID: id}, err
		}
		return Incident{ID: x.ID, OrgPath: x.OrgPath, Status: x.Status, ReportedAt: parseTime(x.ReportedAt), Exercise: x.Exercise}, nil
	})
}

// place is where a record of an incident belongs: the incident and its unit chain, and the
// one person it is given to.
func place(inc Incident, userID string) syncsvc.Place {
	return syncsvc.Place{IncidentID: inc.ID, OrgPath: inc.OrgPath, UserID: userID}
}

// Member reports whether the user is an active member of the incident (its command groups or
// a team dispatched to it).
func Member(ctx context.Context, q sqldb.Querier, incidentID, userID string) (bool, error) {
	if userID == "" {
		return false, nil
	}
	return syncsvc.Cached(ctx, "task_member:"+incidentID+":"+userID, func() (bool, error) {
		var n int
		err := q.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = $1 AND user_id = $2 AND removed_at IS NULL`,
			incidentID, userID).Scan(&n)
		return n > 0, err
	})
}

// commanders are the roles that give and cancel tasks (headquarters), within their subtree.
var commanders = []yingji.Role{yingji.RoleCityAdmin, yingji.RoleDistrictAdmin, yingji.RoleTownshipAdmin, yingji.RoleDutyOfficer}

// Commander reports whether the actor commands the incident: a headquarters role whose unit
// contains the incident's.
func Commander(a *yingji.Actor, inc Incident) bool {
	return slices.Contains(commanders, a.Role) && a.InSubtree(inc.OrgPath)
}

// CanRead reports whether the actor may read the incident's records: its commanders, its
// members, and the units above it.
func CanRead(ctx context.Context, q sqldb.Querier, a *yingji.Actor, inc Incident) (bool, error) {
	if a.Role.ScopeKind() == yingji.ScopeOrg && a.InSubtree(inc.OrgPath) {
		return true, nil
	}
	return Member(ctx, q, inc.ID, a.UserID)
}

// Tasks is the tasks collection.
type Tasks struct {
	syncsvc.Table
	Now func() time.Time
}

// NewTasks returns the tasks collection.
func NewTasks() *Tasks {
	c := &Tasks{Now: time.Now}
	c.Table = syncsvc.Table{Name: "tasks", Stamped: true, Columns: taskColumns,
		JSON: map[string]bool{"level": true, "location": true, "steps": true},
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"org_path": inc.OrgPath}, nil
		}}
	return c
}

func (c *Tasks) Spec() *syncproto.CollectionSpec { return taskSpec }

func (c *Tasks) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if err != nil {
		return syncsvc.Place{}, err
	}
	return place(inc, syncsvc.Str(f, "assignee_id")), nil
}

// Authorize: headquarters create tasks of incidents in their subtree and cancel them; the
// person a task is given to, or a member of the team it is given to, takes it through its
// steps. Nobody deletes a task.
func (c *Tasks) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if m.Op == syncproto.OpDelete {
		return syncsvc.Rejected(syncproto.CodeForbidden, "任务不能删除，可由指挥部撤销")
	}
	f := syncsvc.Fields(m.Fields)
	if cur != nil {
		f = cur
	}
	inc, err := LoadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if err != nil {
		return err
	}
	if cur == nil {
		if !Commander(a, inc) {
			return syncsvc.Rejected(syncproto.CodeForbidden, "只有本级及上级指挥部（管理员、值班员）可以下达任务")
		}
		if inc.Status == "terminated" {
			return syncsvc.Rejected(syncproto.CodeInvalid, "应急响应已终止，不能再下达任务")
		}
		return nil
	}
	var to string
	json.Unmarshal(m.Fields["status"], &to)
	if to == StatusCancelled {
		if !Commander(a, inc) {
			return syncsvc.Rejected(syncproto.CodeForbidden, "只有指挥部可以撤销任务")
		}
		return nil
	}
	if Commander(a, inc) {
		return nil
	}
	if mine(a, cur) {
		return nil
	}
	return syncsvc.Rejected(syncproto.CodeForbidden, "该任务不是下达给您或您所在队伍的")
}

// mine reports whether the task is given to the actor or to his team.
func mine(a *yingji.Actor, f syncsvc.Fields) bool {
	if id := syncsvc.Str(f, "assignee_id"); id != "" {
		return id == a.UserID
	}
	team := syncsvc.Str(f, "team_id")
	return team != "" && team == a.TeamID
}

// Prepare validates a task and fills its defaults and who gave it.
func (c *Tasks) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	bad := func(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }
	if !created {
		if len([]rune(syncsvc.Str(f, "reason"))) > 1000 {
			return bad("原因不超过 1000 个字")
		}
		return nil
	}
	defaults := map[string]any{"detail": "", "source": "hq", "plan_id": "", "level": 0, "team_id": "", "assignee_id": "",
		"due_at": "", "location": nil, "reason": "", "steps": []Step{}}
	for k, v := range defaults {
		if _, ok := f[k]; !ok {
			f[k] = syncsvc.JSON(v)
		}
	}
	title := strings.TrimSpace(syncsvc.Str(f, "title"))
	switch {
	case title == "":
		return syncsvc.Rejected(syncproto.CodeMissingField, "请填写任务内容")
	case len([]rune(title)) > 200:
		return bad("任务内容不超过 200 个字")
	case len([]rune(syncsvc.Str(f, "detail"))) > 5000:
		return bad("任务说明不超过 5000 个字")
	}
	src := syncsvc.Str(f, "source")
	if src != "hq" && src != "plan" {
		return bad("任务来源只能是 hq（指挥部）或 plan（预案措施）")
	}
	var level int
	json.Unmarshal(f["level"], &level)
	if level < 0 || level > 4 {
		return bad("响应级别应为 0–4")
	}
	if src == "plan" && syncsvc.Str(f, "plan_id") == "" {
		return bad("预案措施任务须注明预案")
	}
	team, user := syncsvc.Str(f, "team_id"), syncsvc.Str(f, "assignee_id")
	if team == "" && user == "" {
		return syncsvc.Rejected(syncproto.CodeMissingField, "请指定任务的承担队伍或人员")
	}
	if user != "" {
		var ut string
		err := q.QueryRow(ctx, `SELECT COALESCE(team_id, '') FROM users WHERE id = $1`, user).Scan(&ut)
		if errors.Is(err, yingji.ErrNotFound) {
			return bad("任务承担人不存在")
		} else if err != nil {
			return err
		}
		if team == "" {
			f["team_id"] = syncsvc.JSON(ut)
		}
	} else {
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM teams WHERE id = $1`, team).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return bad("任务承担队伍不存在")
		}
	}
	if d := syncsvc.Str(f, "due_at"); d != "" {
		if _, err := time.Parse(time.RFC3339, d); err != nil {
			return bad("完成期限应为 RFC 3339 时间")
		}
	}
	if string(f["location"]) != "null" && len(f["location"]) > 0 {
		var l Location
		if err := json.Unmarshal(f["location"], &l); err != nil || !l.Valid() {
			return bad("任务地点应为 {lat, lng}")
		}
	}
	at, _ := syncsvc.StepTimes(ctx, c.Now())
	f["assigned_by"] = syncsvc.JSON(a.UserID)
	f["assigned_at"] = syncsvc.JSON(fmtTime(at))
	f["status"] = syncsvc.JSON(StatusAssigned)
	return nil
}

// CheckChange records a status change as a step with its action time (never before the task
// was given or its previous step) and asks for the reason of a refusal or a cancellation.
func (c *Tasks) CheckChange(ctx context.Context, _ sqldb.Querier, a *yingji.Actor, prev, next syncsvc.Fields) error {
	if prev == nil {
		return nil
	}
	from, to := syncsvc.Str(prev, "status"), syncsvc.Str(next, "status")
	if from == to {
		return nil
	}
	if !Open(from) {
		return syncsvc.Rejected(syncproto.CodeBadTransition, "任务已"+StatusNames[from]+"，不能再变更")
	}
	reason := strings.TrimSpace(syncsvc.Str(next, "reason"))
	if (to == StatusRefused || to == StatusCancelled) && reason == "" {
		return syncsvc.Rejected(syncproto.CodeMissingField, "拒绝或撤销任务时必须填写原因")
	}
	var steps []Step
	json.Unmarshal(prev["steps"], &steps)
	floor := parseTime(syncsvc.Str(prev, "assigned_at"))
	for _, s := range steps {
		if t := parseTime(s.At); t.After(floor) {
			floor = t
		}
	}
	if st := syncsvc.StepOf(ctx); st != nil {
		st.NotBefore(floor)
	}
	at, received := syncsvc.StepTimes(ctx, c.Now())
	s := Step{Status: to, By: a.UserID, At: fmtTime(at), ReceivedAt: fmtTime(received)}
	if to == StatusRefused || to == StatusCancelled {
		s.Reason = reason
	}
	next["steps"] = syncsvc.JSON(append(steps, s))
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

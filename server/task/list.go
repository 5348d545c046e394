package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Task is a task as the portal reads it.
type Task struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Title      string    `json:"title"`
	Detail     string    `json:"detail"`
	Source     string    `json:"source"`
	PlanID     string    `json:"plan_id"`
	Level      int       `json:"level"`
	TeamID     string    `json:"team_id"`
	TeamName   string    `json:"team_name"`
	AssigneeID string    `json:"assignee_id"`
	Assignee   string    `json:"assignee_name"`
	DueAt      string    `json:"due_at"`
	Location   *Location `json:"location"`
	Status     string    `json:"status"`
	StatusName string    `json:"status_name"`
	Reason     string    `json:"reason"`
	AssignedBy string    `json:"assigned_by"`
	AssignedAt string    `json:"assigned_at"`
	Steps      []Step    `json:"steps"`
}

// Checkin is a check-in as the portal reads it.
type Checkin struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	TeamID     string    `json:"team_id"`
	TeamName   string    `json:"team_name"`
	UserID     string    `json:"user_id"`
	UserName   string    `json:"user_name"`
	Location   *Location `json:"location"`
	Note       string    `json:"note"`
	At         string    `json:"at"`
	ReceivedAt string    `json:"received_at"`
}

// FeedbackItem is a feedback item as the portal reads it.
type FeedbackItem struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	TaskID     string    `json:"task_id"`
	TeamID     string    `json:"team_id"`
	TeamName   string    `json:"team_name"`
	UserID     string    `json:"user_id"`
	UserName   string    `json:"user_name"`
	Text       string    `json:"text"`
	Photos     []string  `json:"photos"`
	Videos     []string  `json:"videos"`
	Location   *Location `json:"location"`
	At         string    `json:"at"`
	ReceivedAt string    `json:"received_at"`
}

// Filter narrows the lists of an incident.
type Filter struct {
	Status string // tasks only
	TeamID string
	Since  string // records at or after this time (RFC 3339), for the live panels
}

// readable loads the incident and checks the actor may read its records (404 when he may not,
// like a record outside one's scope).
func readable(ctx context.Context, q sqldb.Querier, a *yingji.Actor, incidentID string) (Incident, error) {
	inc, err := LoadIncident(ctx, q, incidentID)
	if err != nil {
		return inc, yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	}
	ok, err := CanRead(ctx, q, a, inc)
	if err != nil {
		return inc, err
	}
	if !ok {
		return inc, yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "突发事件不存在")
	}
	return inc, nil
}

func where(f Filter, timeCol string, args []any, withStatus bool) (string, []any) {
	w := ""
	if withStatus && f.Status != "" {
		args = append(args, f.Status)
		w += fmt.Sprintf(" AND r.status = $%d", len(args))
	}
	if f.TeamID != "" {
		args = append(args, f.TeamID)
		w += fmt.Sprintf(" AND r.team_id = $%d", len(args))
	}
	if f.Since != "" {
		args = append(args, f.Since)
		w += fmt.Sprintf(" AND r.%s >= $%d", timeCol, len(args))
	}
	return w, args
}

func count(ctx context.Context, q sqldb.Querier, table, w string, args []any) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM "+table+" r WHERE r.incident_id = $1"+w, args...).Scan(&n)
	return n, err
}

// ListTasks lists an incident's tasks, in the order they were given by default.
func ListTasks(ctx context.Context, db sqldb.DB, a *yingji.Actor, incidentID string, f Filter, p yingji.ListParams) (yingji.Page[Task], error) {
	page := yingji.Page[Task]{Items: []Task{}}
	order, err := p.OrderBy(map[string]string{"assigned_at": "r.assigned_at", "status": "r.status", "due_at": "r.due_at"}, "r.assigned_at, r.id")
	if err != nil {
		return page, err
	}
	err = db.ReadTx(ctx, func(q sqldb.Querier) error {
		if _, err := readable(ctx, q, a, incidentID); err != nil {
			return err
		}
		w, args := where(f, "assigned_at", []any{incidentID}, true)
		if page.Total, err = count(ctx, q, "tasks", w, args); err != nil {
			return err
		}
		args = append(args, p.PageSize, p.Offset())
		rows, err := q.Query(ctx, `SELECT r.id, r.incident_id, r.title, r.detail, r.source, r.plan_id, r.level, r.team_id, COALESCE(t.name, ''),
			r.assignee_id, COALESCE(u.name, ''), r.due_at, r.location, r.status, r.reason, r.assigned_by, r.assigned_at, r.steps
			FROM tasks r LEFT JOIN teams t ON t.id = r.team_id LEFT JOIN users u ON u.id = r.assignee_id
			WHERE r.incident_id = $1`+w+` ORDER BY `+order+fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
		if err != nil {
			return err
		}
		page.Items, err = sqldb.CollectRows(rows, nil, scanTask)
		return err
	})
	return page, err
}

func scanTask(r sqldb.Rows) (Task, error) {
	var t Task
	var level, loc, steps string
	err := r.Scan(&t.ID, &t.IncidentID, &t.Title, &t.Detail, &t.Source, &t.PlanID, &level, &t.TeamID, &t.TeamName,
		&t.AssigneeID, &t.Assignee, &t.DueAt, &loc, &t.Status, &t.Reason, &t.AssignedBy, &t.AssignedAt, &steps)
	json.Unmarshal([]byte(level), &t.Level)
	json.Unmarshal([]byte(loc), &t.Location)
	json.Unmarshal([]byte(steps), &t.Steps)
	if t.Steps == nil {
		t.Steps = []Step{}
	}
	t.StatusName = StatusNames[t.Status]
	return t, err
}

// GetTask reads one task the actor may read.
func GetTask(ctx context.Context, db sqldb.DB, a *yingji.Actor, id string) (Task, error) {
	var t Task
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		rows, err := q.Query(ctx, `SELECT r.id, r.incident_id, r.title, r.detail, r.source, r.plan_id, r.level, r.team_id, COALESCE(tm.name, ''),
			r.assignee_id, COALESCE(u.name, ''), r.due_at, r.location, r.status, r.reason, r.assigned_by, r.assigned_at, r.steps
			FROM tasks r LEFT JOIN teams tm ON tm.id = r.team_id LEFT JOIN users u ON u.id = r.assignee_id WHERE r.id = $1`, id)
		if err != nil {
			return err
		}
		list, err := sqldb.CollectRows(rows, nil, scanTask)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return yingji.Errorf(yingji.ENOTFOUND, "task.not_found", "任务不存在")
		}
		t = list[0]
		if _, err := readable(ctx, q, a, t.IncidentID); err != nil {
			return yingji.Errorf(yingji.ENOTFOUND, "task.not_found", "任务不存在")
		}
		return nil
	})
	return t, err
}

// ListCheckins lists an incident's check-ins in the order they were made.
func ListCheckins(ctx context.Context, db sqldb.DB, a *yingji.Actor, incidentID string, f Filter, p yingji.ListParams) (yingji.Page[Checkin], error) {
	page := yingji.Page[Checkin]{Items: []Checkin{}}
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		if _, err := readable(ctx, q, a, incidentID); err != nil {
			return err
		}
		w, args := where(f, "at", []any{incidentID}, false)
		var err error
		if page.Total, err = count(ctx, q, "checkins", w, args); err != nil {
			return err
		}
		args = append(args, p.PageSize, p.Offset())
		rows, err := q.Query(ctx, `SELECT r.id, r.incident_id, r.team_id, COALESCE(t.name, ''), r.user_id, COALESCE(u.name, ''), r.location,
			r.note, r.at, r.received_at FROM checkins r LEFT JOIN teams t ON t.id = r.team_id LEFT JOIN users u ON u.id = r.user_id
			WHERE r.incident_id = $1`+w+fmt.Sprintf(" ORDER BY r.at, r.id LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
		if err != nil {
			return err
		}
		page.Items, err = sqldb.CollectRows(rows, nil, func(r sqldb.Rows) (Checkin, error) {
			var c Checkin
			var loc string
			err := r.Scan(&c.ID, &c.IncidentID, &c.TeamID, &c.TeamName, &c.UserID, &c.UserName, &loc, &c.Note, &c.At, &c.ReceivedAt)
			json.Unmarshal([]byte(loc), &c.Location)
			return c, err
		})
		return err
	})
	return page, err
}

// ListFeedback lists an incident's feedback, newest first by default (the live panel);
// sort=at gives the order it was made.
func ListFeedback(ctx context.Context, db sqldb.DB, a *yingji.Actor, incidentID string, f Filter, p yingji.ListParams) (yingji.Page[FeedbackItem], error) {
	page := yingji.Page[FeedbackItem]{Items: []FeedbackItem{}}
	order, err := p.OrderBy(map[string]string{"at": "r.at", "received_at": "r.received_at"}, "r.at DESC, r.id DESC")
	if err != nil {
		return page, err
	}
	err = db.ReadTx(ctx, func(q sqldb.Querier) error {
		if _, err := readable(ctx, q, a, incidentID); err != nil {
			return err
		}
		w, args := where(f, "at", []any{incidentID}, false)
		if page.Total, err = count(ctx, q, "feedback", w, args); err != nil {
			return err
		}
		args = append(args, p.PageSize, p.Offset())
		rows, err := q.Query(ctx, `SELECT r.id, r.incident_id, r.task_id, r.team_id, COALESCE(t.name, ''), r.user_id, COALESCE(u.name, ''),
			r.text, r.photos, r.videos, r.location, r.at, r.received_at FROM feedback r
			LEFT JOIN teams t ON t.id = r.team_id LEFT JOIN users u ON u.id = r.user_id
			WHERE r.incident_id = $1`+w+" ORDER BY "+order+fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
		if err != nil {
			return err
		}
		page.Items, err = sqldb.CollectRows(rows, nil, func(r sqldb.Rows) (FeedbackItem, error) {
			var it FeedbackItem
			var photos, videos, loc string
			err := r.Scan(&it.ID, &it.IncidentID, &it.TaskID, &it.TeamID, &it.TeamName, &it.UserID, &it.UserName, &it.Text,
				&photos, &videos, &loc, &it.At, &it.ReceivedAt)
			json.Unmarshal([]byte(photos), &it.Photos)
			json.Unmarshal([]byte(videos), &it.Videos)
			json.Unmarshal([]byte(loc), &it.Location)
			if it.Photos == nil {
				it.Photos = []string{}
			}
			if it.Videos == nil {
				it.Videos = []string{}
			}
			return it, err
		})
		return err
	})
	return page, err
}

// PlanMeasures returns the response measures a plan prescribes at a level (1–4): the tasks
// headquarters give from the plan.
func PlanMeasures(ctx context.Context, q sqldb.Querier, planID string, level int) ([]string, error) {
	var content string
	err := q.QueryRow(ctx, `SELECT content FROM plans WHERE plan_id = $1 AND status = 'published'`, planID).Scan(&content)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil, yingji.Invalid("task.plan_not_found", "plan_id", "预案不存在或未发布")
	} else if err != nil {
		return nil, err
	}
	var c struct {
		Levels []struct {
			Level    int      `json:"level"`
			Measures []string `json:"measures"`
		} `json:"levels"`
	}
	json.Unmarshal([]byte(content), &c)
	for _, l := range c.Levels {
		if l.Level == level {
			return l.Measures, nil
		}
	}
	return nil, yingji.Invalid("task.no_level", "level", "预案未规定%d级响应的措施", level)
}

package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Reminder kinds.
const (
	KindBeforeDeadline = "before_deadline" // a hazard's deadline is within a day
	KindOverdue        = "overdue"         // a hazard past its deadline (escalated) or an overdue checklist period
)

// BeforeDeadline is how long before a hazard's deadline its rectifier is reminded.
const BeforeDeadline = 24 * time.Hour

// checklistLookback bounds how far back overdue checklist periods are reminded.
const checklistLookback = 48 * time.Hour

var beijing = time.FixedZone("CST", 8*3600)

// Reminder is one reminder written for a user.
type Reminder struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	UserID     string    `json:"user_id"`
	Message    string    `json:"message"`
	DueAt      time.Time `json:"due_at"`
	CreatedAt  time.Time `json:"created_at"`
}

// ChecklistBefore is how long before a checklist period ends its assignee is reminded.
const ChecklistBefore = 2 * time.Hour

// RunReminders writes the reminders due now; each is written (and audited) once. It returns
// how many it wrote.
func (r *Runner) RunReminders(ctx context.Context) (int, error) {
	now := r.Now().UTC()
	n := 0
	// A hazard submitted for acceptance (or accepted) waits on the administrators, not on its
	// rectifier: it is neither due nor overdue any more.
	rows, err := r.DB.Query(ctx, `SELECT id, title, deadline, rectifier_id, org_path, level FROM hazards
		WHERE status NOT IN ('submitted', 'accepted') AND deadline <> ''`)
	type hz struct{ id, title, deadline, rectifier, orgPath, level string }
	list, err := sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (hz, error) {
		var h hz
		err := rs.Scan(&h.id, &h.title, &h.deadline, &h.rectifier, &h.orgPath, &h.level)
		return h, err
	})
	if err != nil {
		return n, fmt.Errorf("jobs: hazards: %w", err)
	}
	for _, h := range list {
		due, err := time.Parse(time.RFC3339, h.deadline)
		if err != nil {
			continue
		}
		at := due.In(beijing).Format("2006-01-02 15:04")
		switch {
		case !due.After(now):
			// Escalate to the township that oversees the hazard; the rectifier when none is known.
			to, err := r.townshipAdmin(ctx, h.orgPath)
			if err != nil {
				return n, err
			}
			if to == "" {
				to = h.rectifier
			}
			msg := fmt.Sprintf("隐患“%s”已于 %s 逾期未整改，请督促整改", h.title, at)
			ok, err := r.write(ctx, KindOverdue, "hazard", h.id, to, msg, due, now, hazardLevels[h.level])
			if err != nil {
				return n, err
			}
			n += ok
		case due.Sub(now) <= BeforeDeadline && h.rectifier != "":
			msg := fmt.Sprintf("隐患“%s”将于 %s 到期，请及时整改", h.title, at)
			ok, err := r.write(ctx, KindBeforeDeadline, "hazard", h.id, h.rectifier, msg, due, now, hazardLevels[h.level])
			if err != nil {
				return n, err
			}
			n += ok
		}
	}
	ps := &patrol.Service{DB: r.DB, Now: func() time.Time { return now }}
	// Before a checklist period ends unpatrolled, remind its assignee.
	lists, err := ps.List(ctx, yingji.System, "", true)
	if err != nil {
		return n, fmt.Errorf("jobs: checklists: %w", err)
	}
	for _, c := range lists {
		if c.Assignee == "" {
			continue
		}
		periods, err := ps.Calendar(ctx, c, now, now)
		if err != nil {
			return n, fmt.Errorf("jobs: checklist calendar: %w", err)
		}
		for _, p := range periods {
			if p.Status != "due" || !p.End.After(now) || p.End.Sub(now) > ChecklistBefore {
				continue
			}
			msg := fmt.Sprintf("巡查清单“%s”须在 %s 前完成巡查，还有 %d 个风险点未巡查", c.Name, p.End.In(beijing).Format("2006-01-02 15:04"), len(p.Missing))
			ok, err := r.write(ctx, KindBeforeDeadline, "checklist", c.ID, c.Assignee, msg, p.End, now, "")
			if err != nil {
				return n, err
			}
			n += ok
		}
	}
	overdue, err := ps.Overdue(ctx, yingji.System, now.Add(-checklistLookback))
	if err != nil {
		return n, fmt.Errorf("jobs: overdue checklists: %w", err)
	}
	for _, p := range overdue {
		if p.Assignee == "" {
			continue
		}
		msg := fmt.Sprintf("巡查清单“%s”在 %s 前未完成巡查，已逾期，请尽快巡查", p.ChecklistName, p.End.In(beijing).Format("2006-01-02 15:04"))
		ok, err := r.write(ctx, KindOverdue, "checklist", p.ChecklistID, p.Assignee, msg, p.End, now, "")
		if err != nil {
			return n, err
		}
		n += ok
	}
	return n, nil
}

// townshipAdmin finds an active township administrator over orgPath (the nearest), or "".
func (r *Runner) townshipAdmin(ctx context.Context, orgPath string) (string, error) {
	rows, err := r.DB.Query(ctx, `SELECT id, org_path FROM users WHERE role = $1 AND disabled = $2 ORDER BY id`,
		string(yingji.RoleTownshipAdmin), false)
	type u struct{ id, path string }
	list, err := sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (u, error) {
		var x u
		return x, rs.Scan(&x.id, &x.path)
	})
	if err != nil {
		return "", fmt.Errorf("jobs: township admins: %w", err)
	}
	best, bestLen := "", 0
	for _, x := range list {
		if x.path != "" && strings.HasPrefix(orgPath, x.path) && len(x.path) > bestLen {
			best, bestLen = x.id, len(x.path)
		}
	}
	return best, nil
}

var hazardLevels = map[string]string{"general": "一般隐患", "major": "重大隐患"}

// write inserts one reminder unless it exists and puts it in the user's inbox (once, also
// when the reminder row was written by an earlier run that failed before); it returns 1 when
// it wrote a reminder.
func (r *Runner) write(ctx context.Context, kind, objType, objID, userID, msg string, due, now time.Time, level string) (int, error) {
	id := yingji.NewID()
	due = due.UTC().Truncate(time.Second)
	n, err := r.DB.Exec(ctx, `INSERT INTO reminders (id, kind, object_type, object_id, user_id, message, due_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, object_id, due_at) DO NOTHING`,
		id, kind, objType, objID, userID, msg, due, now)
	if err != nil {
		return 0, fmt.Errorf("jobs: write reminder: %w", err)
	}
	if n > 0 && r.Audit != nil {
		r.Audit.Record(ctx, yingji.System, yingji.Event{Action: "reminder.create", ObjectType: objType, ObjectID: objID,
			Detail: map[string]any{"reminder_id": id, "kind": kind, "user_id": userID, "due_at": due, "message": msg}})
	}
	if r.Inbox != nil && userID != "" {
		if _, err := r.Inbox.Put(ctx, reminderItem(kind, objType, objID, userID, msg, due, level)); err != nil {
			return 0, fmt.Errorf("jobs: reminder to inbox: %w", err)
		}
	}
	if n == 0 {
		return 0, nil
	}
	return 1, nil
}

// reminderItem is the inbox notification of a reminder; its key is the reminder's unique key
// and its user, so a reminder is in the inbox once however often the job runs.
func reminderItem(kind, objType, objID, userID, msg string, due time.Time, level string) inbox.Item {
	it := inbox.Item{Key: strings.Join([]string{"reminder", kind, objType, objID, due.Format(time.RFC3339), userID}, ":"),
		UserID: userID, Body: msg, Level: level, RefID: objID, Deliver: true}
	switch objType {
	case "hazard":
		it.RefCollection, it.Link = "hazards", inbox.HazardLink(objID)
		it.Kind, it.Title = inbox.KindHazardDeadline, "隐患即将到期"
		if kind == KindOverdue {
			it.Kind, it.Title = inbox.KindHazardOverdue, "隐患逾期未整改"
		}
	default:
		it.RefCollection, it.Link = "checklists", inbox.ChecklistLink(objID)
		it.Kind, it.Title = inbox.KindChecklistDue, "巡查即将到期"
		if kind == KindOverdue {
			it.Kind, it.Title = inbox.KindChecklistOverdue, "巡查逾期未完成"
		}
	}
	return it
}

// List returns the user's reminders, newest first.
func List(ctx context.Context, db sqldb.DB, userID string, p yingji.ListParams) (yingji.Page[Reminder], error) {
	page := yingji.Page[Reminder]{Items: []Reminder{}}
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM reminders WHERE user_id = $1`, userID).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := db.Query(ctx, `SELECT id, kind, object_type, object_id, user_id, message, due_at, created_at
		FROM reminders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, p.PageSize, p.Offset())
	items, err := sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (Reminder, error) {
		var x Reminder
		err := rs.Scan(&x.ID, &x.Kind, &x.ObjectType, &x.ObjectID, &x.UserID, &x.Message, &x.DueAt, &x.CreatedAt)
		x.DueAt, x.CreatedAt = x.DueAt.UTC(), x.CreatedAt.UTC()
		return x, err
	})
	if err != nil {
		return page, err
	}
	page.Items = items
	return page, nil
}

package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/task"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Tasks, check-ins and scene feedback of an incident, and its timeline replay (灾后复盘).
// Writes go through the sync service's Push like a phone's (see hazard_write.go): the same
// role and scope checks, state machine, change log, pokes and audit rows.

// TaskPage is a page of tasks.
type TaskPage = yingji.Page[task.Task]

// CheckinPage is a page of check-ins.
type CheckinPage = yingji.Page[task.Checkin]

// FeedbackPage is a page of scene feedback.
type FeedbackPage = yingji.Page[task.FeedbackItem]

// TaskInput gives a task (下达任务) to a team or a person.
type TaskInput struct {
	// ID is optional: a client-made UUID makes a retry after a lost answer give the same task.
	ID         string         `json:"id,omitempty"`
	Title      string         `json:"title"`
	Detail     string         `json:"detail,omitempty"`
	TeamID     string         `json:"team_id,omitempty"`
	AssigneeID string         `json:"assignee_id,omitempty"`
	DueAt      string         `json:"due_at,omitempty"`
	Location   *task.Location `json:"location,omitempty"`
}

// TasksFromPlan gives the measures a plan prescribes at a response level as tasks.
type TasksFromPlan struct {
	PlanID     string `json:"plan_id"`
	Level      int    `json:"level"`
	TeamID     string `json:"team_id,omitempty"`
	AssigneeID string `json:"assignee_id,omitempty"`
	DueAt      string `json:"due_at,omitempty"`
}

// TaskList is a list of tasks.
type TaskList struct {
	Items []task.Task `json:"items"`
}

// TaskCancel carries the reason of a cancellation (撤销任务).
type TaskCancel struct {
	Reason string `json:"reason"`
}

// MountTasks registers the tasks, check-ins, feedback and timeline routes.
func (s *Server) MountTasks() {
	const rules = "与手机同步提交同一规则：角色、管辖范围与状态流转不符时拒绝（403 sync.forbidden、409 sync.bad_transition、400 sync.missing_field 等），并记入审计日志。"
	list := append([]Param{{"team_id", "string", "队伍"}, {"since", "string", "只列此时间（RFC 3339）之后的"}}, Paging...)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/tasks", Tag: "tasks", Resp: TaskPage{},
		Query:   append([]Param{{"status", "string", "状态：assigned、accepted、en_route、on_scene、done、refused、cancelled"}}, list...),
		Summary: "突发事件的任务（按下达时间）：本级及上级单位、事件处置人员可见"}, s.listTasks)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/tasks", Tag: "tasks", Status: http.StatusCreated, Body: TaskInput{}, Resp: task.Task{},
		Summary: "下达任务给队伍或人员（本级及上级管理员、值班员）。" + rules}, s.createTask)
	s.route(Op{Method: http.MethodPost, Path: "/incidents/:id/tasks/from-plan", Tag: "tasks", Status: http.StatusCreated, Body: TasksFromPlan{}, Resp: TaskList{},
		Summary: "按预案规定的该级响应措施逐条下达任务（预案须已发布）。" + rules}, s.tasksFromPlan)
	s.route(Op{Method: http.MethodGet, Path: "/tasks/:id", Tag: "tasks", Resp: task.Task{}, Summary: "任务详情及每一步的时间（现场操作时间与服务器接收时间）"},
		func(c echo.Context) error {
			t, err := task.GetTask(c.Request().Context(), s.DB, actor(c), c.Param("id"))
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, t)
		})
	s.route(Op{Method: http.MethodPost, Path: "/tasks/:id/cancel", Tag: "tasks", Body: TaskCancel{}, Resp: task.Task{},
		Summary: "撤销未完成的任务，须写明原因（指挥部）。" + rules}, s.cancelTask)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/checkins", Tag: "tasks", Resp: CheckinPage{}, Query: list,
		Summary: "突发事件的队伍报到（按报到时间，含位置）"}, func(c echo.Context) error {
		p, f, err := taskListArgs(c)
		if err != nil {
			return err
		}
		page, err := task.ListCheckins(c.Request().Context(), s.DB, actor(c), c.Param("id"), f, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/feedback", Tag: "tasks", Resp: FeedbackPage{}, Query: list,
		Summary: "突发事件的现场反馈（最新的在前；sort=at 按反馈时间），含照片、视频与位置"}, func(c echo.Context) error {
		p, f, err := taskListArgs(c)
		if err != nil {
			return err
		}
		page, err := task.ListFeedback(c.Request().Context(), s.DB, actor(c), c.Param("id"), f, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/timeline", Tag: "timeline", Resp: timeline.Replay{},
		Query: []Param{{"kind", "string", "事件类型，逗号分隔（incident.reported、alert.event、task.step、checkin、feedback 等）"},
			{"from", "string", "起始时间（RFC 3339）"}, {"to", "string", "截止时间（RFC 3339）"}, {"actor", "string", "操作人（用户编号）"},
			{"page", "integer", "页码，从 1 开始"}, {"page_size", "integer", "每页条数，默认 20，最大 500"}},
		Summary: "灾后复盘：从各模块已有数据推导出的事件时间线（按时间排序，可筛选、分页），附回放用的位置序列；读取时把新事件登记到防篡改链"}, s.timeline)
	s.route(Op{Method: http.MethodGet, Path: "/incidents/:id/timeline/verify", Tag: "timeline", Resp: timeline.Verification{},
		Summary: "校验时间线防篡改链：列出登记后被修改或删除的事件"}, func(c echo.Context) error {
		v, err := timeline.Verify(c.Request().Context(), s.DB, actor(c), c.Param("id"), time.Now())
		if err != nil {
			return err
		}
		s.Audit.Record(c.Request().Context(), actor(c), yingji.Event{Action: "timeline.verify", ObjectType: "incident", ObjectID: c.Param("id"),
			Result: "ok", Detail: map[string]any{"ok": v.OK, "findings": len(v.Findings), "events": v.Events}})
		return c.JSON(http.StatusOK, v)
	})
}

func taskListArgs(c echo.Context) (yingji.ListParams, task.Filter, error) {
	p, err := listParams(c)
	f := task.Filter{Status: c.QueryParam("status"), TeamID: c.QueryParam("team_id"), Since: c.QueryParam("since")}
	if f.Since != "" {
		t, perr := time.Parse(time.RFC3339Nano, f.Since)
		if perr != nil {
			return p, f, yingji.Invalid("request.bad_query", "since", "since 应为 RFC 3339 时间")
		}
		f.Since = t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return p, f, err
}

func (s *Server) listTasks(c echo.Context) error {
	p, f, err := taskListArgs(c)
	if err != nil {
		return err
	}
	page, err := task.ListTasks(c.Request().Context(), s.DB, actor(c), c.Param("id"), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// incidentVisible answers 404 for an incident the caller may not read, before a write says
// more about it.
func (s *Server) incidentVisible(c echo.Context) error {
	_, err := task.ListTasks(c.Request().Context(), s.DB, actor(c), c.Param("id"), task.Filter{}, yingji.ListParams{Page: 1, PageSize: 1})
	return err
}

func (s *Server) createTask(c echo.Context) error {
	var req TaskInput
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if err := s.incidentVisible(c); err != nil {
		return err
	}
	if req.ID == "" {
		req.ID = yingji.NewID()
	}
	f := map[string]any{"incident_id": c.Param("id"), "title": req.Title, "detail": req.Detail, "source": "hq",
		"team_id": req.TeamID, "assignee_id": req.AssigneeID}
	if req.DueAt != "" {
		f["due_at"] = req.DueAt
	}
	if req.Location != nil {
		f["location"] = req.Location
	}
	if err := s.pushOne(c, syncproto.Mutation{Collection: "tasks", ID: req.ID, Op: syncproto.OpCreate, Fields: rawFields(f)}); err != nil {
		return err
	}
	t, err := task.GetTask(c.Request().Context(), s.DB, actor(c), req.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (s *Server) tasksFromPlan(c echo.Context) error {
	var req TasksFromPlan
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if err := s.incidentVisible(c); err != nil {
		return err
	}
	measures, err := task.PlanMeasures(c.Request().Context(), s.DB, req.PlanID, req.Level)
	if err != nil {
		return err
	}
	out := TaskList{Items: []task.Task{}}
	for _, m := range measures {
		id := yingji.NewID()
		f := map[string]any{"incident_id": c.Param("id"), "title": m, "source": "plan", "plan_id": req.PlanID, "level": req.Level,
			"team_id": req.TeamID, "assignee_id": req.AssigneeID}
		if req.DueAt != "" {
			f["due_at"] = req.DueAt
		}
		if err := s.pushOne(c, syncproto.Mutation{Collection: "tasks", ID: id, Op: syncproto.OpCreate, Fields: rawFields(f)}); err != nil {
			return err
		}
		t, err := task.GetTask(c.Request().Context(), s.DB, actor(c), id)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, t)
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) cancelTask(c echo.Context) error {
	var req TaskCancel
	if err := s.bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := task.GetTask(ctx, s.DB, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	if !task.Open(t.Status) {
		return yingji.Errorf(yingji.ECONFLICT, syncproto.CodeBadTransition, "任务已%s，不能撤销", t.StatusName)
	}
	f := map[string]any{"status": task.StatusCancelled, "reason": req.Reason}
	if err := s.pushOne(c, syncproto.Mutation{Collection: "tasks", ID: t.ID, Op: syncproto.OpUpdate, Fields: rawFields(f)}); err != nil {
		return err
	}
	if t, err = task.GetTask(ctx, s.DB, actor(c), t.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) timeline(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := timeline.Filter{From: c.QueryParam("from"), To: c.QueryParam("to"), Actor: c.QueryParam("actor")}
	for _, k := range strings.Split(c.QueryParam("kind"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			if _, ok := timeline.KindNames[k]; !ok {
				return yingji.Invalid("timeline.bad_kind", "kind", "未知的事件类型“%s”", k)
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	for _, v := range []string{f.From, f.To} {
		if v != "" {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				return yingji.Invalid("request.bad_query", "from", "from、to 应为 RFC 3339 时间")
			}
		}
	}
	r, err := timeline.Get(ctx, s.DB, actor(c), c.Param("id"), f, p)
	if err != nil {
		return err
	}
	// A read never writes: the periodic job (timeline.Anchorer) and the assessment report
	// anchor the chain.
	return c.JSON(http.StatusOK, r)
}

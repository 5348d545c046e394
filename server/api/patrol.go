package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/yingji"
)

// Lists of the patrol domain.
type (
	ChecklistPage = yingji.Page[patrol.Checklist]
	CalendarPage  = yingji.Page[patrol.CalendarPeriod]
	OverduePage   = yingji.Page[patrol.OverduePeriod]
)

// ChecklistInput creates a checklist (巡查清单).
type ChecklistInput struct {
	EnterpriseID string   `json:"enterprise_id"`
	Name         string   `json:"name"`
	Frequency    string   `json:"frequency"`
	Shifts       []string `json:"shifts"`
	RiskPointIDs []string `json:"risk_point_ids"`
	MeasureIDs   []string `json:"measure_ids"`
	Assignee     string   `json:"assignee"`
	Active       *bool    `json:"active"`
}

// ChecklistPatch changes a checklist; absent fields stay unchanged.
type ChecklistPatch struct {
	Name         *string   `json:"name"`
	Frequency    *string   `json:"frequency"`
	Shifts       *[]string `json:"shifts"`
	RiskPointIDs *[]string `json:"risk_point_ids"`
	MeasureIDs   *[]string `json:"measure_ids"`
	Assignee     *string   `json:"assignee"`
	Active       *bool     `json:"active"`
}

func (s *Server) checklists() *patrol.Service {
	svc := &patrol.Service{DB: s.DB}
	if s.Sync != nil {
		svc.Changes = s.Sync
	}
	if s.Audit != nil {
		svc.Audit, svc.Now = s.Audit, s.Audit.Now
	}
	return svc
}

// patrolRoutes registers checklists, their calendars and enterprise supervision.
func (s *Server) patrolRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/checklists", Tag: "patrol", Summary: "巡查清单列表（管辖范围内）",
		Query: append([]Param{{"enterprise_id", "string", "所属企业"}, {"active", "boolean", "true：只列启用的清单；false：只列停用的"},
			{"frequency", "string", "频次：shift、daily、weekly、monthly"}, {"q", "string", "清单名称包含"}}, Paging...),
		Resp: ChecklistPage{}}, s.listChecklists)
	s.route(Op{Method: http.MethodGet, Path: "/checklists/overdue", Tag: "patrol", Summary: "逾期未巡查的周期（管辖范围内）",
		Query: []Param{{"from", "string", "起始日期 YYYY-MM-DD（默认 30 天前）"}}, Resp: OverduePage{}}, s.overdueChecklists)
	s.route(Op{Method: http.MethodGet, Path: "/checklists/:id", Tag: "patrol", Summary: "巡查清单详情", Resp: patrol.Checklist{}}, s.getChecklist)
	s.route(Op{Method: http.MethodPost, Path: "/checklists", Tag: "patrol", Summary: "新建巡查清单",
		Body: ChecklistInput{}, Resp: patrol.Checklist{}, Status: http.StatusCreated}, s.createChecklist)
	s.route(Op{Method: http.MethodPatch, Path: "/checklists/:id", Tag: "patrol", Summary: "修改巡查清单",
		Body: ChecklistPatch{}, Resp: patrol.Checklist{}}, s.updateChecklist)
	s.route(Op{Method: http.MethodDelete, Path: "/checklists/:id", Tag: "patrol", Summary: "删除巡查清单",
		Status: http.StatusNoContent}, s.deleteChecklist)
	s.route(Op{Method: http.MethodGet, Path: "/checklists/:id/calendar", Tag: "patrol", Summary: "巡查清单日历：各周期已完成、待巡查或逾期",
		Query: []Param{{"from", "string", "起始日期 YYYY-MM-DD（北京时间，含）"}, {"to", "string", "结束日期 YYYY-MM-DD（北京时间，含）"}},
		Resp:  CalendarPage{}}, s.checklistCalendar)
	s.route(Op{Method: http.MethodGet, Path: "/enterprises/:id/supervision", Tag: "enterprises",
		Summary: "企业信用分与监管等级（含扣分原因）", Resp: patrol.Supervision{}}, s.getSupervision)
}

func (s *Server) listChecklists(c echo.Context) error {
	active, err := boolQuery(c, "active")
	if err != nil {
		return err
	}
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := s.checklists().Page(c.Request().Context(), actor(c), patrol.ChecklistFilter{EnterpriseID: c.QueryParam("enterprise_id"),
		Frequency: c.QueryParam("frequency"), Q: c.QueryParam("q"), Active: active}, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getChecklist(c echo.Context) error {
	cl, err := s.checklists().Get(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cl)
}

func (s *Server) createChecklist(c echo.Context) error {
	var in ChecklistInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	cl := patrol.Checklist{EnterpriseID: in.EnterpriseID, Name: in.Name, Frequency: in.Frequency, Shifts: in.Shifts,
		RiskPointIDs: in.RiskPointIDs, MeasureIDs: in.MeasureIDs, Assignee: in.Assignee, Active: in.Active == nil || *in.Active}
	cl, err := s.checklists().Create(c.Request().Context(), actor(c), cl)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cl)
}

func (s *Server) updateChecklist(c echo.Context) error {
	var p ChecklistPatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	cl, err := s.checklists().Update(c.Request().Context(), actor(c), c.Param("id"), func(cl *patrol.Checklist) {
		patchField(&cl.Name, p.Name)
		patchField(&cl.Frequency, p.Frequency)
		patchField(&cl.Shifts, p.Shifts)
		patchField(&cl.RiskPointIDs, p.RiskPointIDs)
		patchField(&cl.MeasureIDs, p.MeasureIDs)
		patchField(&cl.Assignee, p.Assignee)
		patchField(&cl.Active, p.Active)
		if cl.Frequency != patrol.Shift && p.Frequency != nil && p.Shifts == nil {
			cl.Shifts = nil
		}
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cl)
}

func (s *Server) deleteChecklist(c echo.Context) error {
	if err := s.checklists().Delete(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// dayQuery reads a date YYYY-MM-DD in Asia/Shanghai.
func dayQuery(c echo.Context, name string, def time.Time) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	d, err := patrol.ParseDay(v)
	if err != nil {
		return d, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为日期 YYYY-MM-DD", name)
	}
	return d, nil
}

func (s *Server) checklistCalendar(c echo.Context) error {
	svc := s.checklists()
	ctx, a := c.Request().Context(), actor(c)
	cl, err := svc.Get(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	today := patrol.Schedule{Frequency: patrol.Daily}.PeriodAt(time.Now()).Start
	from, err := dayQuery(c, "from", today.AddDate(0, 0, -6))
	if err != nil {
		return err
	}
	to, err := dayQuery(c, "to", today)
	if err != nil {
		return err
	}
	to = to.AddDate(0, 0, 1) // inclusive
	if !from.Before(to) || to.Sub(from) > 400*24*time.Hour {
		return yingji.Invalid("request.bad_query", "to", "日期范围应从 from 到 to（含），且不超过 400 天")
	}
	cal, err := svc.Calendar(ctx, cl, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CalendarPage{Items: cal, Total: len(cal)})
}

func (s *Server) overdueChecklists(c echo.Context) error {
	today := patrol.Schedule{Frequency: patrol.Daily}.PeriodAt(time.Now()).Start
	from, err := dayQuery(c, "from", today.AddDate(0, 0, -30))
	if err != nil {
		return err
	}
	if today.Sub(from) > 400*24*time.Hour {
		return yingji.Invalid("request.bad_query", "from", "最多查询 400 天内的逾期")
	}
	list, err := s.checklists().Overdue(c.Request().Context(), actor(c), from)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, OverduePage{Items: list, Total: len(list)})
}

func (s *Server) getSupervision(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	id := c.Param("id")
	var path string
	err := s.DB.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, id).Scan(&path)
	if errors.Is(err, yingji.ErrNotFound) {
		return yingji.Errorf(yingji.ENOTFOUND, "enterprise.not_found", "企业不存在")
	} else if err != nil {
		return err
	}
	if !a.CanReadEnterprise(id, path) {
		return yingji.Forbidden("企业")
	}
	sup, err := patrol.GetSupervision(ctx, s.DB, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sup)
}

package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/yingji"
)

// Lists of the hazard domain.
type (
	HazardPage   = yingji.Page[hazard.Hazard]
	TimelinePage = yingji.Page[hazard.Event]
)

var hazardQuery = append([]Param{
	{"enterprise_id", "string", "所属企业"}, {"status", "string", "状态：reported、assigned、rectifying、submitted、accepted；open 表示尚未验收"},
	{"open", "boolean", "true：只列尚未验收（未闭环）的隐患"},
	{"overdue", "boolean", "true：只列已逾期的隐患（整改期限已过且尚未整改完成：已上报、已交办或整改中），与首页“逾期隐患”数一致"},
	{"level", "string", "等级：general（一般隐患）、major（重大隐患）"}, {"township_id", "string", "所属乡镇（街道）或其他组织单位"},
	{"q", "string", "标题或描述包含"},
}, Paging...)

// hazardRoutes registers the portal's reads of hazards (written by sync, or by the REST steps
// of hazard_write.go).
func (s *Server) hazardRoutes() {
	s.hazardWriteRoutes()
	s.route(Op{Method: http.MethodGet, Path: "/hazards", Tag: "hazards", Summary: "隐患列表（管辖范围内）",
		Query: hazardQuery, Resp: HazardPage{}}, s.listHazards)
	s.route(Op{Method: http.MethodGet, Path: "/hazards/:id", Tag: "hazards", Summary: "隐患详情", Resp: hazard.Hazard{}}, s.getHazard)
	s.route(Op{Method: http.MethodGet, Path: "/hazards/:id/timeline", Tag: "hazards",
		Summary: "隐患时间线：上报、交办、整改、验收等每一步及其操作人", Resp: TimelinePage{}}, s.hazardTimeline)
}

func (s *Server) listHazards(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := hazard.Filter{EnterpriseID: c.QueryParam("enterprise_id"), Status: c.QueryParam("status"),
		Level: c.QueryParam("level"), Q: c.QueryParam("q")}
	if f.Status == "open" {
		f.Status, f.Open = "", true
	}
	if v := c.QueryParam("open"); v != "" {
		open, err := strconv.ParseBool(v)
		if err != nil {
			return yingji.Invalid("request.bad_query", "open", "查询参数 open 应为 true 或 false")
		}
		f.Open = f.Open || open
	}
	if v := c.QueryParam("overdue"); v != "" {
		overdue, err := strconv.ParseBool(v)
		if err != nil {
			return yingji.Invalid("request.bad_query", "overdue", "查询参数 overdue 应为 true 或 false")
		}
		f.Overdue = overdue
		f.Now = s.Audit.Now() // the services' clock, the one the dashboard counts by
	}
	if f.Status != "" && !slices.Contains(hazard.Machine.States, f.Status) {
		return yingji.Invalid("request.bad_query", "status", "查询参数 status 应为 reported、assigned、rectifying、submitted、accepted 或 open")
	}
	if f.Level != "" && !slices.Contains(hazard.Levels, f.Level) {
		return yingji.Invalid("request.bad_query", "level", "查询参数 level 应为 general 或 major")
	}
	ctx := c.Request().Context()
	if id := c.QueryParam("township_id"); id != "" {
		err := s.DB.QueryRow(ctx, `SELECT path FROM org_units WHERE id = $1`, id).Scan(&f.TownshipPath)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("request.bad_query", "township_id", "乡镇（街道）不存在")
		} else if err != nil {
			return err
		}
	}
	page, err := hazard.List(ctx, s.DB, actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getHazard(c echo.Context) error {
	h, err := hazard.Get(c.Request().Context(), s.DB, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

func (s *Server) hazardTimeline(c echo.Context) error {
	evs, err := hazard.Timeline(c.Request().Context(), s.DB, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TimelinePage{Items: evs, Total: len(evs)})
}

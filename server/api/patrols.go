package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/yingji"
)

// PatrolPage is a page of patrol records.
type PatrolPage = yingji.Page[patrol.PatrolRecord]

var patrolQuery = append([]Param{
	{"enterprise_id", "string", "所属企业"}, {"risk_point_id", "string", "风险点"}, {"checklist_id", "string", "巡查清单"},
	{"from", "string", "巡查结束时间不早于（如 2026-11-28 或 2026-11-28T08:00:00+08:00）"},
	{"to", "string", "巡查结束时间早于（日期表示当天零点，北京时间）"},
	{"flagged", "boolean", "true：只列有弄虚作假疑点的巡查；false：只列无疑点的巡查"},
}, Paging...)

// MountPatrols registers the portal's reads of patrol records (they are written by sync).
func (s *Server) MountPatrols() {
	s.route(Op{Method: http.MethodGet, Path: "/patrols", Tag: "patrol", Summary: "巡查记录列表（管辖范围内），含弄虚作假疑点及原因",
		Query: patrolQuery, Resp: PatrolPage{}}, s.listPatrols)
	s.route(Op{Method: http.MethodGet, Path: "/patrols/:id", Tag: "patrol",
		Summary: "巡查记录详情：每项措施的检查结果、说明、照片及疑点", Resp: patrol.PatrolDetail{}}, s.getPatrol)
}

func (s *Server) listPatrols(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	f := patrol.ListFilter{EnterpriseID: c.QueryParam("enterprise_id"), RiskPointID: c.QueryParam("risk_point_id"),
		ChecklistID: c.QueryParam("checklist_id")}
	if f.From, err = timeQuery(c, "from"); err != nil {
		return err
	}
	if f.To, err = timeQuery(c, "to"); err != nil {
		return err
	}
	if f.Flagged, err = boolQuery(c, "flagged"); err != nil {
		return err
	}
	page, err := patrol.List(c.Request().Context(), s.DB, actor(c), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getPatrol(c echo.Context) error {
	d, err := patrol.Get(c.Request().Context(), s.DB, actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

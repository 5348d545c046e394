package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/sheet"
	"github.com/yingji/yingji/server/stats"
	"github.com/yingji/yingji/server/yingji"
)

// Statistics (统计查询): hazards grouped, patrol completion, the phone home screen, exports.

func (s *Server) stats() *stats.Service {
	svc := stats.New(s.DB, nil)
	if s.Audit != nil && s.Audit.Now != nil {
		svc.Now = s.Audit.Now
	}
	return svc
}

var (
	statsRange = []Param{
		{"from", "string", "起始日期 YYYY-MM-DD（北京时间，含）"},
		{"to", "string", "结束日期 YYYY-MM-DD（北京时间，含）"},
	}
	hazardStatsQuery = append([]Param{
		{"group_by", "string", "分组：status（状态）、level（等级）、enterprise（企业）、township（乡镇街道）、industry（行业）、period（时间段），默认 status"},
		{"period", "string", "group_by=period 时的时间段：week（周，周一开始）、month（月，默认）、year（年）"},
	}, statsRange...)
)

var hazardStatsSheet = sheet.Spec{
	Sheet: "隐患统计",
	Columns: []sheet.Column{
		{Title: "分组", Width: 28},
		{Title: "隐患数", Width: 10},
		{Title: "未闭环", Width: 10, Note: "尚未验收的隐患"},
		{Title: "逾期", Width: 10, Note: "已过整改期限且尚未验收的隐患"},
	},
}

var patrolStatsSheet = sheet.Spec{
	Sheet: "巡查完成率",
	Columns: []sheet.Column{
		{Title: "企业", Width: 28},
		{Title: "巡查清单", Width: 24},
		{Title: "频次", Width: 8},
		{Title: "已完成周期", Width: 12},
		{Title: "待巡查周期", Width: 12},
		{Title: "逾期周期", Width: 12},
		{Title: "应巡查周期", Width: 12},
		{Title: "完成率", Width: 10, Note: "已完成周期 ÷ 应巡查周期（已开始的周期）"},
	},
}

var frequencyNames = map[string]string{patrol.Daily: "每日", patrol.Weekly: "每周", patrol.Monthly: "每月", patrol.Shift: "每班"}

// statsRoutes registers the statistics.
func (s *Server) statsRoutes() {
	const tag = "stats"
	xlsx := sheet.ContentType
	s.route(Op{Method: http.MethodGet, Path: "/stats/hazards", Tag: tag, Query: hazardStatsQuery, Resp: stats.HazardStats{},
		Summary: "隐患统计（管辖范围内）：按状态、等级、企业、乡镇街道、行业或时间段分组的隐患数、未闭环数和逾期数，含合计"}, s.hazardStats)
	s.route(Op{Method: http.MethodGet, Path: "/stats/hazards/export.xlsx", Tag: tag, Query: hazardStatsQuery, Produces: xlsx,
		Summary: "导出隐患统计（Excel，查询参数同隐患统计）"}, s.exportHazardStats)
	s.route(Op{Method: http.MethodGet, Path: "/stats/patrols", Tag: tag, Query: statsRange, Resp: stats.PatrolStats{},
		Summary: "巡查统计（管辖范围内）：各巡查清单和企业在日期范围内的巡查完成率、逾期清单数、异常巡查数（默认近 30 天）"}, s.patrolStats)
	s.route(Op{Method: http.MethodGet, Path: "/stats/patrols/export.xlsx", Tag: tag, Query: statsRange, Produces: xlsx,
		Summary: "导出巡查完成率（Excel，查询参数同巡查统计）"}, s.exportPatrolStats)
	s.route(Op{Method: http.MethodGet, Path: "/stats/home", Tag: tag, Resp: stats.Home{},
		Summary: "首页统计（移动端首页，管辖范围内）：今日巡查完成情况、逾期巡查周期、未闭环隐患（按等级）、逾期隐患"}, s.homeStats)
}

// statsDays reads from and to (inclusive dates) as [from, to).
func statsDays(c echo.Context, defFrom, defTo time.Time) (time.Time, time.Time, error) {
	from, err := dayQuery(c, "from", defFrom)
	if err != nil {
		return from, from, err
	}
	to, err := dayQuery(c, "to", defTo)
	if err != nil {
		return from, to, err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, yingji.Invalid("request.bad_query", "to", "结束日期不能早于起始日期")
	}
	return from, to, nil
}

func (s *Server) hazardQuery(c echo.Context) (stats.HazardQuery, error) {
	from, to, err := statsDays(c, time.Time{}, time.Time{})
	return stats.HazardQuery{GroupBy: c.QueryParam("group_by"), Period: c.QueryParam("period"), From: from, To: to}, err
}

func (s *Server) hazardStats(c echo.Context) error {
	q, err := s.hazardQuery(c)
	if err != nil {
		return err
	}
	out, err := s.stats().Hazards(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

var groupNames = map[string]string{stats.ByStatus: "状态", stats.ByLevel: "等级", stats.ByEnterprise: "企业",
	stats.ByTownship: "乡镇（街道）", stats.ByIndustry: "行业", stats.ByPeriod: "时间段"}

func rangeNote(from, to time.Time) string {
	f, t := "不限", "不限"
	if !from.IsZero() {
		f = from.In(patrol.Zone).Format("2006-01-02")
	}
	if !to.IsZero() {
		t = to.AddDate(0, 0, -1).In(patrol.Zone).Format("2006-01-02")
	}
	return fmt.Sprintf("日期范围（北京时间，含首尾）：%s 至 %s", f, t)
}

func (s *Server) exportHazardStats(c echo.Context) error {
	q, err := s.hazardQuery(c)
	if err != nil {
		return err
	}
	out, err := s.stats().Hazards(c.Request().Context(), actor(c), q)
	if err != nil {
		return err
	}
	spec := hazardStatsSheet
	spec.Columns = append([]sheet.Column(nil), spec.Columns...)
	spec.Columns[0].Title = groupNames[out.GroupBy]
	w, err := sheet.NewWriter(spec)
	if err != nil {
		return err
	}
	defer w.Close()
	w.Note("隐患按上报时间统计，只含您管辖范围内的隐患。" + rangeNote(q.From, q.To))
	for _, r := range append(out.Rows, out.Total) {
		if err := w.Add(r.Label, r.Count, r.Open, r.Overdue); err != nil {
			return err
		}
	}
	s.recordExport(c, "stats.export", "hazard_stats", len(out.Rows), false)
	name, ascii := s.exportName("隐患统计", "hazard-stats")
	return sendWorkbook(c, w, name, ascii)
}

func (s *Server) patrolRange(c echo.Context) (time.Time, time.Time, error) {
	svc := s.stats()
	now := time.Now
	if svc.Now != nil {
		now = svc.Now
	}
	today := patrol.Schedule{Frequency: patrol.Daily}.PeriodAt(now()).Start
	return statsDays(c, today.AddDate(0, 0, -29), today)
}

func (s *Server) patrolStats(c echo.Context) error {
	from, to, err := s.patrolRange(c)
	if err != nil {
		return err
	}
	out, err := s.stats().Patrols(c.Request().Context(), actor(c), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) exportPatrolStats(c echo.Context) error {
	from, to, err := s.patrolRange(c)
	if err != nil {
		return err
	}
	out, err := s.stats().Patrols(c.Request().Context(), actor(c), from, to)
	if err != nil {
		return err
	}
	w, err := sheet.NewWriter(patrolStatsSheet)
	if err != nil {
		return err
	}
	defer w.Close()
	w.Note("只统计启用的巡查清单在日期范围内已开始的周期，只含您管辖范围内的企业。" + rangeNote(from, to))
	w.Note(fmt.Sprintf("逾期清单 %d 个，异常巡查记录 %d 条，巡查记录共 %d 条。", out.OverdueChecklists, out.FlaggedPatrols, out.Patrols))
	rate := func(c stats.Completion) string { return fmt.Sprintf("%.1f%%", c.Rate*100) }
	for _, r := range out.Checklists {
		if err := w.Add(r.Enterprise, r.ChecklistName, frequencyNames[r.Frequency], r.Done, r.Due, r.Overdue, r.Total, rate(r.Completion)); err != nil {
			return err
		}
	}
	t := out.Total
	if err := w.Add("合计", "", "", t.Done, t.Due, t.Overdue, t.Total, rate(t)); err != nil {
		return err
	}
	s.recordExport(c, "stats.export", "patrol_stats", len(out.Checklists), false)
	name, ascii := s.exportName("巡查完成率", "patrol-stats")
	return sendWorkbook(c, w, name, ascii)
}

func (s *Server) homeStats(c echo.Context) error {
	out, err := s.stats().Home(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

package api

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/stats"
	"github.com/yingji/yingji/server/yingji"
)

// Dashboard (首页大屏): the numbers a government user sees first, all in his scope, each with
// the portal list page (and filter) it drills down to.

// DashCount is one drill-down number.
type DashCount struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Count int    `json:"count"`
	Link  string `json:"link"` // portal path with the list filter, e.g. /alerts?open=true&level=2
}

// DashPatrol are today's patrols.
type DashPatrol struct {
	Today          stats.Completion `json:"today"`           // periods of active checklists overlapping today
	OverduePeriods int              `json:"overdue_periods"` // overdue checklist periods of the last 30 days
	Link           string           `json:"link"`            // the checklists page
	OverdueLink    string           `json:"overdue_link"`    // the overdue checklists
}

// DashHazards are the open hazards.
type DashHazards struct {
	Open              int         `json:"open"`
	ByLevel           []DashCount `json:"by_level"` // general, major
	Overdue           int         `json:"overdue"`
	PendingAcceptance int         `json:"pending_acceptance"`
	Link              string      `json:"link"`
	OverdueLink       string      `json:"overdue_link"`
	PendingLink       string      `json:"pending_link"`
}

// DashAlerts are the open alerts.
type DashAlerts struct {
	Open        int         `json:"open"`
	ByLevel     []DashCount `json:"by_level"` // levels 1–4 always, any other present level too
	ByTier      []DashCount `json:"by_tier"`  // enterprise, township, county
	Unconfirmed int         `json:"unconfirmed"`
	TodayRaised int         `json:"today_raised"`
	Link        string      `json:"link"`
}

// DashDevices are the enabled monitoring devices.
type DashDevices struct {
	Total       int     `json:"total"`
	Online      int     `json:"online"`
	Offline     int     `json:"offline"`
	OnlineRate  float64 `json:"online_rate"` // online ÷ total, 0 without devices
	Link        string  `json:"link"`
	OnlineLink  string  `json:"online_link"`
	OfflineLink string  `json:"offline_link"`
}

// Dashboard is the dashboard of the caller. A section the role may not read is null.
type Dashboard struct {
	Date    string       `json:"date"` // today, YYYY-MM-DD in Asia/Shanghai
	Patrol  DashPatrol   `json:"patrol"`
	Hazards DashHazards  `json:"hazards"`
	Alerts  *DashAlerts  `json:"alerts"`  // null without alert:read
	Devices *DashDevices `json:"devices"` // null without monitor:read
}

type dashboardAPI struct {
	*Server
	mon *monitor.Service
	al  *alert.Service
}

// MountDashboard adds the dashboard and the portal settings; mon and al may be nil (their
// sections are then null).
func (s *Server) MountDashboard(mon *monitor.Service, al *alert.Service) {
	d := &dashboardAPI{Server: s, mon: mon, al: al}
	s.route(Op{Method: http.MethodGet, Path: "/dashboard", Tag: "portal", Resp: Dashboard{},
		Summary: "首页统计（管辖范围内）：今日巡查完成情况、逾期巡查、未闭环隐患（按等级）、未处置预警（按级别和层级）、监测设备在线率，均附列表页链接"}, d.get)
	s.portalRoutes()
}

// link is a portal path with a query.
func link(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func (d *dashboardAPI) get(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	home, err := d.stats().Home(ctx, a)
	if err != nil {
		return err
	}
	out := Dashboard{Date: home.Date,
		Patrol: DashPatrol{Today: home.Today, OverduePeriods: home.OverduePeriods, Link: "/checklists",
			OverdueLink: link("/checklists", "overdue", "true")},
		Hazards: DashHazards{Open: home.OpenHazards, Overdue: home.OverdueHazards, PendingAcceptance: home.PendingAcceptance,
			Link: link("/hazards", "open", "true"), OverdueLink: link("/hazards", "open", "true", "overdue", "true"),
			PendingLink: link("/hazards", "status", "submitted")},
	}
	for _, l := range stats.Levels {
		out.Hazards.ByLevel = append(out.Hazards.ByLevel, DashCount{Key: l, Label: stats.LevelLabel(l), Count: home.OpenByLevel[l],
			Link: link("/hazards", "open", "true", "level", l)})
	}
	if d.al != nil && a.Can(yingji.PermAlertRead) {
		if out.Alerts, err = d.alerts(c, a); err != nil {
			return err
		}
	}
	if d.mon != nil && a.Can(yingji.PermMonitorRead) {
		if out.Devices, err = d.devices(c, a); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (d *dashboardAPI) alerts(c echo.Context, a *yingji.Actor) (*DashAlerts, error) {
	ctx := c.Request().Context()
	h, err := d.al.Home(ctx, a)
	if err != nil {
		return nil, err
	}
	out := &DashAlerts{Open: h.Open, Unconfirmed: h.Unconfirmed, TodayRaised: h.TodayRaised, Link: link("/alerts", "open", "true")}
	levels := []int{1, 2, 3, 4}
	for l := range h.ByLevel {
		if l < 1 || l > 4 {
			levels = append(levels, l)
		}
	}
	sort.Ints(levels)
	for _, l := range levels {
		k := strconv.Itoa(l)
		out.ByLevel = append(out.ByLevel, DashCount{Key: k, Label: fmt.Sprintf("%d 级", l), Count: h.ByLevel[l],
			Link: link("/alerts", "open", "true", "level", k)})
	}
	for _, t := range alert.Tiers {
		page, err := d.al.List(ctx, a, alert.Filter{OpenOnly: true, Tier: t}, yingji.ListParams{PageSize: 1})
		if err != nil {
			return nil, err
		}
		out.ByTier = append(out.ByTier, DashCount{Key: t, Label: alert.TierName(t), Count: page.Total,
			Link: link("/alerts", "open", "true", "tier", t)})
	}
	return out, nil
}

func (d *dashboardAPI) devices(c echo.Context, a *yingji.Actor) (*DashDevices, error) {
	ctx := c.Request().Context()
	enabled, on := false, true
	count := func(online *bool) (int, error) {
		page, err := d.mon.ListDevices(ctx, a, monitor.DeviceFilter{Disabled: &enabled, Online: online}, yingji.ListParams{PageSize: 1})
		return page.Total, err
	}
	total, err := count(nil)
	if err != nil {
		return nil, err
	}
	online, err := count(&on)
	if err != nil {
		return nil, err
	}
	out := &DashDevices{Total: total, Online: online, Offline: total - online, Link: link("/devices", "disabled", "false"),
		OnlineLink: link("/devices", "disabled", "false", "online", "true"), OfflineLink: link("/devices", "disabled", "false", "online", "false")}
	if total > 0 {
		out.OnlineRate = float64(online) / float64(total)
	}
	return out, nil
}

package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/yingji"
)

// ReminderPage is a page of reminders.
type ReminderPage = yingji.Page[jobs.Reminder]

// MountReminders registers the caller's reminders (written by the reminders job).
func (s *Server) MountReminders() {
	s.route(Op{Method: http.MethodGet, Path: "/reminders", Tag: "reminders", Query: Paging, Resp: ReminderPage{},
		Summary: "我的提醒：隐患到期前提醒、逾期升级、巡查清单逾期（最新的在前）"}, func(c echo.Context) error {
		p, err := listParams(c)
		if err != nil {
			return err
		}
		page, err := jobs.List(c.Request().Context(), s.DB, actor(c).UserID, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
}

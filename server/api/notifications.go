package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/yingji"
)

// The per-user inbox (站内消息): every user reads and marks only his own notifications.

// NotificationPage is a page of notifications.
type NotificationPage = yingji.Page[inbox.Notification]

// NotificationCount is the number of unread notifications, or of those just marked read.
type NotificationCount struct {
	Count int `json:"count"`
}

var notificationKinds = "类型：alert_dispatch（预警通知）、alert_escalation（预警上报）、hazard_assigned（隐患交办）、" +
	"hazard_deadline（隐患到期提醒）、hazard_overdue（隐患逾期）、checklist_due（巡查提醒）、checklist_overdue（巡查逾期）"

// MountNotifications adds the inbox routes on svc.
func (s *Server) MountNotifications(svc *inbox.Service) {
	const tag = "消息"
	s.route(Op{Method: http.MethodGet, Path: "/notifications", Tag: tag, Resp: NotificationPage{},
		Query:   append([]Param{{"unread", "boolean", "只看未读消息"}, {"kind", "string", notificationKinds}}, Paging...),
		Summary: "我的消息（最新的在前）：预警通知与上报、隐患交办、到期与逾期提醒、巡查提醒"}, func(c echo.Context) error {
		p, err := listParams(c)
		if err != nil {
			return err
		}
		unread, err := boolQuery(c, "unread")
		if err != nil {
			return err
		}
		f := inbox.Filter{UnreadOnly: unread != nil && *unread, Kind: c.QueryParam("kind")}
		page, err := svc.List(c.Request().Context(), actor(c), f, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
	s.route(Op{Method: http.MethodGet, Path: "/notifications/unread-count", Tag: tag, Resp: NotificationCount{},
		Summary: "我的未读消息数（角标）"}, func(c echo.Context) error {
		n, err := svc.UnreadCount(c.Request().Context(), actor(c))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, NotificationCount{Count: n})
	})
	s.route(Op{Method: http.MethodPost, Path: "/notifications/read-all", Tag: tag, Resp: NotificationCount{},
		Query:   []Param{{"kind", "string", "只标记该类型的消息；" + notificationKinds}},
		Summary: "把我的未读消息全部标记为已读，返回标记的条数；手机同步后同样显示为已读"}, func(c echo.Context) error {
		n, err := svc.MarkAllRead(c.Request().Context(), actor(c), c.QueryParam("kind"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, NotificationCount{Count: n})
	})
	s.route(Op{Method: http.MethodPost, Path: "/notifications/:id/read", Tag: tag, Resp: inbox.Notification{},
		Summary: "把我的一条消息标记为已读（重复标记不变）；他人的消息答 404"}, func(c echo.Context) error {
		n, err := svc.MarkRead(c.Request().Context(), actor(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, n)
	})
}

package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/yingji"
)

// AuditPage is a page of audit entries.
type AuditPage = yingji.Page[audit.Entry]

var auditQuery = []Param{
	{"user_id", "string", "操作人 ID"}, {"username", "string", "操作人用户名"},
	{"action", "string", "操作，如 enterprise.update；以 . 结尾表示前缀，如 auth."},
	{"object_type", "string", "对象类型"}, {"object_id", "string", "对象 ID"},
	{"result", "string", "结果：ok、failed、denied"},
	{"from", "string", "开始时间（含），RFC 3339 或日期"}, {"to", "string", "结束时间（不含）"},
}

func (s *Server) auditRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/audit", Tag: "audit", Summary: "审计日志查询（管理员、审计员）",
		Query: append(append([]Param{}, auditQuery...), Paging...), Resp: AuditPage{}}, s.listAudit)
}

func auditFilter(c echo.Context) (audit.Filter, error) {
	f := audit.Filter{UserID: c.QueryParam("user_id"), Username: c.QueryParam("username"), Action: c.QueryParam("action"),
		ObjectType: c.QueryParam("object_type"), ObjectID: c.QueryParam("object_id"), Result: c.QueryParam("result")}
	var err error
	if f.From, err = timeQuery(c, "from"); err != nil {
		return f, err
	}
	f.To, err = timeQuery(c, "to")
	return f, err
}

func (s *Server) listAudit(c echo.Context) error {
	return listPage(c, auditFilter, s.Audit.List)
}

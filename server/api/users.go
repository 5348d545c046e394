package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/yingji"
)

// UserPage is a page of users.
type UserPage = yingji.Page[account.User]

// ResetPasswordRequest sets a user's new initial password.
type ResetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) userRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/users", Tag: "users", Summary: "用户列表（管辖范围内）",
		Query: append([]Param{{"q", "string", "用户名或姓名包含"}, {"role", "string", "角色代码"},
			{"org_unit_id", "string", "所属单位"}, {"enterprise_id", "string", "所属企业"}, {"disabled", "boolean", "是否停用"},
			{"mask_phone", "boolean", "true：手机号脱敏显示（如 138****5678），完整号码经 /users/{id}/phone 查看"}}, Paging...),
		Resp: UserPage{}}, s.listUsers)
	s.route(Op{Method: http.MethodPost, Path: "/users", Tag: "users", Summary: "新建用户（首次登录须修改密码）",
		Body: account.NewUser{}, Resp: account.User{}, Status: http.StatusCreated}, s.createUser)
	s.route(Op{Method: http.MethodGet, Path: "/users/:id", Tag: "users", Summary: "用户详情", Resp: account.User{}}, s.getUser)
	s.route(Op{Method: http.MethodPatch, Path: "/users/:id", Tag: "users", Summary: "修改用户（角色、单位、停用等）",
		Body: account.UserPatch{}, Resp: account.User{}}, s.updateUser)
	s.route(Op{Method: http.MethodPost, Path: "/users/:id/reset-password", Tag: "users", Summary: "重置密码（用户须在下次登录时修改）",
		Body: ResetPasswordRequest{}, Status: http.StatusNoContent}, s.resetPassword)
	s.route(Op{Method: http.MethodPost, Path: "/users/:id/unlock", Tag: "users", Summary: "解除锁定", Status: http.StatusNoContent}, s.unlockUser)
	s.route(Op{Method: http.MethodGet, Path: "/roles", Tag: "users", Summary: "角色及其权限", Resp: []RoleInfo{}}, s.listRoles)
	s.phoneRoutes()
}

// RoleInfo describes a role for the portal.
type RoleInfo struct {
	Code        yingji.Role      `json:"code"`
	Name        string           `json:"name"`
	Scope       yingji.ScopeKind `json:"scope"`
	Permissions []string         `json:"permissions"`
}

func (s *Server) listUsers(c echo.Context) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	dis, err := boolQuery(c, "disabled")
	if err != nil {
		return err
	}
	mask, err := maskPhones(c)
	if err != nil {
		return err
	}
	f := account.UserFilter{Q: c.QueryParam("q"), Role: yingji.Role(c.QueryParam("role")), OrgUnitID: c.QueryParam("org_unit_id"),
		EnterpriseID: c.QueryParam("enterprise_id"), Disabled: dis}
	page, err := s.Accounts.ListUsers(c.Request().Context(), actor(c), f, p)
	if err != nil {
		return err
	}
	if mask {
		for i := range page.Items {
			page.Items[i].Phone = MaskPhone(page.Items[i].Phone)
		}
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) createUser(c echo.Context) error {
	var in account.NewUser
	if err := s.bind(c, &in); err != nil {
		return err
	}
	u, err := s.Accounts.CreateUser(c.Request().Context(), actor(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (s *Server) getUser(c echo.Context) error {
	u, err := s.Accounts.GetUser(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) updateUser(c echo.Context) error {
	var p account.UserPatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	u, err := s.Accounts.UpdateUser(c.Request().Context(), actor(c), c.Param("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) resetPassword(c echo.Context) error {
	var in ResetPasswordRequest
	if err := s.bind(c, &in); err != nil {
		return err
	}
	if err := s.Accounts.ResetPassword(c.Request().Context(), actor(c), c.Param("id"), in.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) unlockUser(c echo.Context) error {
	if err := s.Accounts.Unlock(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listRoles(c echo.Context) error {
	out := []RoleInfo{}
	for _, r := range yingji.Roles {
		out = append(out, RoleInfo{Code: r, Name: r.Name(), Scope: r.ScopeKind(), Permissions: r.Permissions()})
	}
	return c.JSON(http.StatusOK, out)
}

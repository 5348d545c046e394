package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/yingji"
)

// LoginUser is the user in a login answer.
type LoginUser struct {
	ID                 string      `json:"id"`
	Username           string      `json:"username"`
	Name               string      `json:"name"`
	Role               yingji.Role `json:"role"`
	RoleName           string      `json:"role_name"`
	Permissions        []string    `json:"permissions"`
	OrgUnitID          string      `json:"org_unit_id,omitempty"`
	EnterpriseID       string      `json:"enterprise_id,omitempty"`
	TeamID             string      `json:"team_id,omitempty"`
	MustChangePassword bool        `json:"must_change_password"`
}

// LoginResponse answers a successful login.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      LoginUser `json:"user"`
}

// ChangePasswordRequest changes the caller's own password.
type ChangePasswordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// PasswordPolicy describes the password rules for the portal.
type PasswordPolicy struct {
	MinLength   int    `json:"min_length"`
	Description string `json:"description"`
}

func loginUser(u account.User) LoginUser {
	return LoginUser{ID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, RoleName: u.Role.Name(),
		Permissions: u.Role.Permissions(), OrgUnitID: u.OrgUnitID, EnterpriseID: u.EnterpriseID, TeamID: u.TeamID,
		MustChangePassword: u.MustChangePassword}
}

func (s *Server) authRoutes() {
	s.route(Op{Method: http.MethodPost, Path: "/auth/login", Tag: "auth", Public: true,
		Summary: "登录：同一账号每类客户端（web/mobile）只保留一个会话；同一设备登录另一账号会结束前一账号的会话",
		Body:    account.LoginInput{}, Resp: LoginResponse{}}, s.login)
	s.route(Op{Method: http.MethodPost, Path: "/auth/logout", Tag: "auth", Summary: "退出登录", Status: http.StatusNoContent}, s.logout)
	s.route(Op{Method: http.MethodGet, Path: "/auth/me", Tag: "auth", Summary: "当前用户、角色与权限", Resp: LoginUser{}}, s.me)
	s.route(Op{Method: http.MethodPost, Path: "/auth/password", Tag: "auth", Summary: "修改本人密码（其他会话随之结束）",
		Body: ChangePasswordRequest{}, Status: http.StatusNoContent}, s.changePassword)
	s.route(Op{Method: http.MethodGet, Path: "/auth/password-policy", Tag: "auth", Public: true, Summary: "密码规则",
		Resp: PasswordPolicy{}}, s.passwordPolicy)
}

func (s *Server) login(c echo.Context) error {
	var in account.LoginInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	in.IP, in.UserAgent, in.RequestID = c.RealIP(), c.Request().UserAgent(), c.Response().Header().Get(echo.HeaderXRequestID)
	ctx := c.Request().Context()
	res, err := s.Accounts.Login(ctx, in)
	if err != nil {
		return err
	}
	if s.Sync != nil {
		for _, e := range res.Ended {
			why := account.EndedError(e.Reason)
			s.Sync.Hub.Close(e.ID, why.Code, why.Message)
		}
	}
	return c.JSON(http.StatusOK, LoginResponse{Token: res.Token, ExpiresAt: res.Session.ExpiresAt, User: loginUser(res.User)})
}

func (s *Server) logout(c echo.Context) error {
	a := actor(c)
	if err := s.Accounts.Logout(c.Request().Context(), a); err != nil {
		return err
	}
	if s.Sync != nil {
		why := account.EndedError(account.EndLogout)
		s.Sync.Hub.Close(a.SessionID, why.Code, why.Message)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	u, err := s.Accounts.Me(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginUser(u))
}

func (s *Server) changePassword(c echo.Context) error {
	var in ChangePasswordRequest
	if err := s.bind(c, &in); err != nil {
		return err
	}
	if err := s.Accounts.ChangePassword(c.Request().Context(), actor(c), in.OldPassword, in.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) passwordPolicy(c echo.Context) error {
	p := s.Accounts.Config.Policy
	return c.JSON(http.StatusOK, PasswordPolicy{MinLength: p.MinLength, Description: p.Describe()})
}

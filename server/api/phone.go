package api

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/yingji"
)

// PhoneReveal is a user's full phone number, shown on request (and audited).
type PhoneReveal struct {
	Phone string `json:"phone"`
}

// phoneRoutes registers the audited reveal of a user's phone number: lists show it masked
// (GET /users?mask_phone=true), the full number is read one user at a time.
func (s *Server) phoneRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/users/:id/phone", Tag: "users", Resp: PhoneReveal{},
		Summary: "查看用户完整手机号（列表中脱敏显示；每次查看记入审计日志）"}, s.revealUserPhone)
}

// MaskPhone hides the middle of a phone number: 13812345678 → 138****5678; a landline keeps its
// first 3 and last 4 characters the same way; a short one keeps its last 2.
func MaskPhone(p string) string {
	n := utf8.RuneCountInString(p)
	if n == 0 {
		return ""
	}
	r := []rune(p)
	if n < 8 {
		keep := min(2, n-1)
		out := make([]rune, 0, n)
		for i := range r {
			if i < n-keep {
				out = append(out, '*')
			} else {
				out = append(out, r[i])
			}
		}
		return string(out)
	}
	out := append([]rune{}, r[:3]...)
	for range n - 7 {
		out = append(out, '*')
	}
	return string(append(out, r[n-4:]...))
}

// maskPhones reads the mask_phone query flag.
func maskPhones(c echo.Context) (bool, error) {
	v := c.QueryParam("mask_phone")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, yingji.Invalid("request.bad_query", "mask_phone", "查询参数 mask_phone 应为 true 或 false")
	}
	return b, nil
}

func (s *Server) revealUserPhone(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	u, err := s.Accounts.GetUser(ctx, a, c.Param("id")) // permission and scope, refusals audited
	if err != nil {
		return err
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: "user.reveal_phone", ObjectType: "user", ObjectID: u.ID, Result: "ok",
		Detail: map[string]string{"username": u.Username}})
	return c.JSON(http.StatusOK, PhoneReveal{Phone: u.Phone})
}

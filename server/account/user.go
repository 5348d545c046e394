// Package account holds users, their roles and assignments, passwords, login and sessions.
// The data scope of a session is computed here from the user's role and assignment.
package account

import (
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// User is an account.
type User struct {
	ID                 string      `json:"id"`
	Username           string      `json:"username"`
	Name               string      `json:"name"`
	Phone              string      `json:"phone"`
	Role               yingji.Role `json:"role"`
	RoleName           string      `json:"role_name"`
	OrgUnitID          string      `json:"org_unit_id,omitempty"`
	EnterpriseID       string      `json:"enterprise_id,omitempty"`
	TeamID             string      `json:"team_id,omitempty"`
	OrgPath            string      `json:"-"`
	PasswordHash       string      `json:"-"`
	PasswordChangedAt  time.Time   `json:"password_changed_at"`
	MustChangePassword bool        `json:"must_change_password"`
	Disabled           bool        `json:"disabled"`
	FailedLogins       int         `json:"failed_logins"`
	LockedUntil        *time.Time  `json:"locked_until,omitempty"`
	LastLoginAt        *time.Time  `json:"last_login_at,omitempty"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

var usernameRe = regexp.MustCompile(`^[a-z][a-z0-9_.-]{2,31}$`)
var mobileRe = regexp.MustCompile(`^1\d{10}$`)

// Normalize trims and lower-cases what is case-insensitive.
func (u *User) Normalize() {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.Name = strings.TrimSpace(u.Name)
	u.Phone = strings.TrimSpace(u.Phone)
	u.RoleName = u.Role.Name()
}

// Validate checks the fields a user carries on his own; assignments are checked by the
// service against the org data.
func (u *User) Validate() error {
	if !usernameRe.MatchString(u.Username) {
		return yingji.Invalid("user.bad_username", "username", "用户名须为 3–32 位小写字母、数字或 _ . -，并以字母开头")
	}
	if u.Name == "" || len([]rune(u.Name)) > 50 {
		return yingji.Invalid("user.bad_name", "name", "姓名不能为空，且不超过 50 个字")
	}
	if u.Phone != "" && !mobileRe.MatchString(u.Phone) {
		return yingji.Invalid("user.bad_phone", "phone", "手机号应为以 1 开头的 11 位数字")
	}
	if !u.Role.Valid() {
		return yingji.Invalid("user.bad_role", "role", "未知的角色“%s”", u.Role)
	}
	switch u.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		if u.EnterpriseID == "" {
			return yingji.Invalid("user.enterprise_required", "enterprise_id", "%s必须指定所属企业", u.Role.Name())
		}
	case yingji.ScopeTeam:
		if u.TeamID == "" {
			return yingji.Invalid("user.team_required", "team_id", "%s必须指定所属救援队伍", u.Role.Name())
		}
	default:
		if u.OrgUnitID == "" {
			return yingji.Invalid("user.org_required", "org_unit_id", "%s必须指定所属单位", u.Role.Name())
		}
	}
	return nil
}

// Session is a login on one client.
type Session struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	TokenHash  string     `json:"-"`
	Client     string     `json:"client"`
	DeviceID   string     `json:"device_id"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	EndReason  string     `json:"end_reason,omitempty"`
}

// Client kinds: one active session per account and kind.
const (
	ClientWeb    = "web"
	ClientMobile = "mobile"
)

// Reasons a session ended.
const (
	EndLogout          = "logout"
	EndReplaced        = "replaced"        // the same account logged in again on the same client kind
	EndDeviceSwitched  = "device_switched" // another account logged in on the same device
	EndPasswordChanged = "password_changed"
	EndDisabled        = "disabled"
)

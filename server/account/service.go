package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// Org resolves the org path of the unit, enterprise or team a user is assigned to.
type Org interface {
	// UnitPath returns the unit's path and level (city, district, township, grid).
	UnitPath(ctx context.Context, id string) (path, level string, err error)
	EnterprisePath(ctx context.Context, id string) (string, error)
	TeamPath(ctx context.Context, id string) (string, error)
}

// Config is the account policy.
type Config struct {
	Policy           Policy
	LockoutThreshold int
	LockoutDuration  time.Duration
	SessionTTLWeb    time.Duration
	SessionTTLMobile time.Duration
}

// Service handles login, sessions and user management.
type Service struct {
	Store  Store
	Org    Org
	Audit  yingji.Auditor
	Config Config
	Now    yingji.Clock
	Log    *slog.Logger
}

// NewService returns a service with defaults for what is unset.
func NewService(store Store, org Org, audit yingji.Auditor, cfg Config) *Service {
	if cfg.Policy.MinLength == 0 {
		cfg.Policy.MinLength = 8
	}
	return &Service{Store: store, Org: org, Audit: audit, Config: cfg, Now: time.Now, Log: slog.Default()}
}

// LoginInput is what a client sends to log in.
type LoginInput struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Client    string `json:"client"`
	DeviceID  string `json:"device_id"`
	IP        string `json:"-"`
	UserAgent string `json:"-"`
	RequestID string `json:"-"`
}

// LoginResult is a new session.
type LoginResult struct {
	Token   string
	Session Session
	User    User
	// Ended are the sessions this login ended (live connections of theirs are closed).
	Ended []Ended
}

var errBadCredentials = yingji.Errorf(yingji.EUNAUTHORIZED, "auth.bad_credentials", "用户名或密码错误")

// Login checks the password and starts a session, ending the account's older session on the
// same client kind and any other account's session on the same device.
func (s *Service) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	now := s.Now().UTC()
	if in.Client == "" {
		in.Client = ClientWeb
	}
	if in.Client != ClientWeb && in.Client != ClientMobile {
		return LoginResult{}, yingji.Invalid("auth.bad_client", "client", "client 只能是 web 或 mobile")
	}
	if len(in.DeviceID) > 128 {
		return LoginResult{}, yingji.Invalid("auth.bad_device_id", "device_id", "设备标识不能超过 128 个字符")
	}
	username := strings.ToLower(strings.TrimSpace(in.Username))
	actor := &yingji.Actor{Username: username, IP: in.IP, RequestID: in.RequestID}
	if username == "" || in.Password == "" {
		return LoginResult{}, yingji.Invalid("auth.missing_credentials", "username", "请输入用户名和密码")
	}
	u, err := s.Store.GetUserByUsername(ctx, username)
	if errors.Is(err, yingji.ErrNotFound) {
		CheckPassword(dummyHash, in.Password)
		s.audit(ctx, actor, "auth.login", "user", "", "failed", map[string]any{"reason": "unknown_user"})
		return LoginResult{}, errBadCredentials
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("account: login: %w", err)
	}
	actor.UserID, actor.Name, actor.Role, actor.OrgPath = u.ID, u.Name, u.Role, u.OrgPath
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		s.audit(ctx, actor, "auth.login", "user", u.ID, "denied", map[string]any{"reason": "locked"})
		return LoginResult{}, lockedError(u.LockedUntil.Sub(now))
	}
	if !CheckPassword(u.PasswordHash, in.Password) {
		att, err := s.Store.RecordLoginFailure(ctx, u.ID, s.Config.LockoutThreshold, now.Add(s.Config.LockoutDuration))
		if err != nil {
			return LoginResult{}, fmt.Errorf("account: login: %w", err)
		}
		if att.LockedUntil != nil && att.LockedUntil.After(now) {
			s.audit(ctx, actor, "auth.lockout", "user", u.ID, "denied", map[string]any{"failures": att.Failures, "locked_until": att.LockedUntil})
			e := lockedError(att.LockedUntil.Sub(now))
			e.Message = fmt.Sprintf("密码连续输错 %d 次，%s", att.Failures, e.Message)
			return LoginResult{}, e
		}
		s.audit(ctx, actor, "auth.login", "user", u.ID, "failed", map[string]any{"reason": "bad_password", "failures": att.Failures})
		e := *errBadCredentials
		if left := s.Config.LockoutThreshold - att.Failures; left <= 3 {
			e.Message = fmt.Sprintf("用户名或密码错误，再输错 %d 次账号将被锁定", left)
		}
		e.Data = map[string]any{"failures": att.Failures, "remaining": s.Config.LockoutThreshold - att.Failures}
		return LoginResult{}, &e
	}
	if u.Disabled {
		s.audit(ctx, actor, "auth.login", "user", u.ID, "denied", map[string]any{"reason": "disabled"})
		return LoginResult{}, yingji.Errorf(yingji.EFORBIDDEN, "auth.disabled", "账号已停用，请联系管理员")
	}
	token, hash := newToken()
	ttl := s.Config.SessionTTLWeb
	if in.Client == ClientMobile {
		ttl = s.Config.SessionTTLMobile
	}
	sess := Session{ID: yingji.NewID(), UserID: u.ID, TokenHash: hash, Client: in.Client, DeviceID: in.DeviceID,
		IP: in.IP, UserAgent: truncate(in.UserAgent, 255), CreatedAt: now, ExpiresAt: now.Add(ttl), LastSeenAt: now}
	ended, err := s.Store.StartSession(ctx, sess)
	if err != nil {
		return LoginResult{}, fmt.Errorf("account: start session: %w", err)
	}
	if err := s.Store.RecordLoginSuccess(ctx, u.ID, now); err != nil {
		return LoginResult{}, fmt.Errorf("account: login: %w", err)
	}
	actor.SessionID = sess.ID
	s.audit(ctx, actor, "auth.login", "session", sess.ID, "ok", map[string]any{"client": in.Client, "device_id": in.DeviceID, "ended_sessions": ended})
	u.FailedLogins, u.LockedUntil, u.LastLoginAt = 0, nil, &now
	return LoginResult{Token: token, Session: sess, User: u, Ended: ended}, nil
}

func lockedError(left time.Duration) *yingji.Error {
	mins := int(math.Ceil(left.Minutes()))
	if mins < 1 {
		mins = 1
	}
	e := yingji.Errorf(yingji.ELOCKED, "auth.locked", "账号已锁定，请 %d 分钟后再试", mins)
	e.Data = map[string]any{"retry_after_minutes": mins}
	return e
}

// newToken returns an opaque random token and the hash stored in its place.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = "yj_" + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// EndedError is the error a session ended for reason answers with.
func EndedError(reason string) *yingji.Error {
	if e, ok := endedErrors[reason]; ok {
		return e
	}
	return endedErrors[EndLogout]
}

var endedErrors = map[string]*yingji.Error{
	EndLogout:          yingji.Errorf(yingji.EUNAUTHORIZED, "auth.logged_out", "您已退出登录，请重新登录"),
	EndReplaced:        yingji.Errorf(yingji.EUNAUTHORIZED, "auth.session_replaced", "您的账号已在另一台设备上登录，本设备已下线"),
	EndDeviceSwitched:  yingji.Errorf(yingji.EUNAUTHORIZED, "auth.device_switched", "本设备已登录其他账号，当前会话已结束"),
	EndPasswordChanged: yingji.Errorf(yingji.EUNAUTHORIZED, "auth.password_changed", "密码已修改，请重新登录"),
	EndDisabled:        yingji.Errorf(yingji.EUNAUTHORIZED, "auth.disabled", "账号已停用，请联系管理员"),
}

// ErrNoToken is the answer to a request without a session token.
var ErrNoToken = yingji.Errorf(yingji.EUNAUTHORIZED, "auth.no_token", "请先登录")

// ErrInvalidToken is the answer to a token no session has.
var ErrInvalidToken = yingji.Errorf(yingji.EUNAUTHORIZED, "auth.invalid_token", "登录凭证无效，请重新登录")

// Authenticate resolves a bearer token to the acting user with his data scope. An ended
// session is answered with the reason, so the client can tell the user why.
func (s *Service) Authenticate(ctx context.Context, token, ip, requestID string) (*yingji.Actor, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	su, err := s.Store.GetSessionByTokenHash(ctx, hashToken(token))
	if errors.Is(err, yingji.ErrNotFound) {
		return nil, ErrInvalidToken
	} else if err != nil {
		return nil, fmt.Errorf("account: authenticate: %w", err)
	}
	now := s.Now().UTC()
	if su.Session.EndedAt != nil {
		if e, ok := endedErrors[su.Session.EndReason]; ok {
			return nil, e
		}
		return nil, endedErrors[EndLogout]
	}
	if !su.Session.ExpiresAt.After(now) {
		return nil, yingji.Errorf(yingji.EUNAUTHORIZED, "auth.session_expired", "登录已过期，请重新登录")
	}
	if su.User.Disabled {
		return nil, endedErrors[EndDisabled]
	}
	if now.Sub(su.Session.LastSeenAt) > time.Minute {
		if err := s.Store.TouchSession(ctx, su.Session.ID, now); err != nil {
			s.Log.Warn("touch session", "err", err)
		}
	}
	u := su.User
	return &yingji.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, SessionID: su.Session.ID,
		OrgPath: su.ScopePath, OrgUnitID: u.OrgUnitID, EnterpriseID: u.EnterpriseID, TeamID: u.TeamID,
		DeviceID: su.Session.DeviceID, IP: ip, RequestID: requestID}, nil
}

// Logout ends the actor's session.
func (s *Service) Logout(ctx context.Context, a *yingji.Actor) error {
	if err := s.Store.EndSession(ctx, a.SessionID, EndLogout, s.Now().UTC()); err != nil {
		return fmt.Errorf("account: logout: %w", err)
	}
	s.audit(ctx, a, "auth.logout", "session", a.SessionID, "ok", nil)
	return nil
}

// Me returns the actor's own account.
func (s *Service) Me(ctx context.Context, a *yingji.Actor) (User, error) {
	u, err := s.Store.GetUser(ctx, a.UserID)
	if err != nil {
		return User{}, fmt.Errorf("account: me: %w", err)
	}
	return u, nil
}

// ChangePassword sets the actor's own password after checking the old one, and ends his
// other sessions.
func (s *Service) ChangePassword(ctx context.Context, a *yingji.Actor, oldPw, newPw string) error {
	u, err := s.Store.GetUser(ctx, a.UserID)
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	if !CheckPassword(u.PasswordHash, oldPw) {
		s.audit(ctx, a, "user.change_password", "user", u.ID, "failed", map[string]any{"reason": "bad_old_password"})
		return yingji.Invalid("auth.bad_old_password", "old_password", "原密码不正确")
	}
	if oldPw == newPw {
		return yingji.Invalid("auth.same_password", "new_password", "新密码不能与原密码相同")
	}
	if err := s.Config.Policy.Check(u.Username, newPw); err != nil {
		return err
	}
	hash, err := HashPassword(newPw)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	if err := s.Store.SetPassword(ctx, u.ID, hash, false, now); err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	if err := s.Store.EndUserSessions(ctx, u.ID, a.SessionID, EndPasswordChanged, now); err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	s.audit(ctx, a, "user.change_password", "user", u.ID, "ok", nil)
	return nil
}

func (s *Service) audit(ctx context.Context, a *yingji.Actor, action, objType, objID, result string, detail any) {
	if s.Audit != nil {
		s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: objType, ObjectID: objID, Result: result, Detail: detail})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/yingji/yingji/server/yingji"
)

// NewUser is what an administrator gives to create an account.
type NewUser struct {
	Username     string      `json:"username"`
	Name         string      `json:"name"`
	Phone        string      `json:"phone"`
	Role         yingji.Role `json:"role"`
	OrgUnitID    string      `json:"org_unit_id"`
	EnterpriseID string      `json:"enterprise_id"`
	TeamID       string      `json:"team_id"`
	// Password is the initial password; the user must change it at first login.
	Password string `json:"password"`
}

// UserPatch changes some fields of an account; nil fields stay.
type UserPatch struct {
	Name         *string      `json:"name"`
	Phone        *string      `json:"phone"`
	Role         *yingji.Role `json:"role"`
	OrgUnitID    *string      `json:"org_unit_id"`
	EnterpriseID *string      `json:"enterprise_id"`
	TeamID       *string      `json:"team_id"`
	Disabled     *bool        `json:"disabled"`
}

// ListUsers lists the accounts the actor may see.
func (s *Service) ListUsers(ctx context.Context, a *yingji.Actor, f UserFilter, p yingji.ListParams) (yingji.Page[User], error) {
	if err := a.Require(yingji.PermUserRead); err != nil {
		return yingji.Page[User]{}, err
	}
	f.Scope = a.ReadScope()
	p.Normalize()
	page, err := s.Store.ListUsers(ctx, f, p)
	if err != nil {
		return page, fmt.Errorf("account: list users: %w", err)
	}
	return page, nil
}

// GetUser returns one account the actor may see.
func (s *Service) GetUser(ctx context.Context, a *yingji.Actor, id string) (User, error) {
	if err := a.Require(yingji.PermUserRead); err != nil {
		return User{}, err
	}
	u, err := s.getUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if !s.canSee(a, u) {
		s.audit(ctx, a, "user.read", "user", id, "denied", nil)
		return User{}, yingji.Forbidden("用户")
	}
	return u, nil
}

func (s *Service) getUser(ctx context.Context, id string) (User, error) {
	u, err := s.Store.GetUser(ctx, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return User{}, yingji.Errorf(yingji.ENOTFOUND, "user.not_found", "用户不存在")
	}
	if err != nil {
		return User{}, fmt.Errorf("account: get user: %w", err)
	}
	return u, nil
}

func (s *Service) canSee(a *yingji.Actor, u User) bool {
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		return u.EnterpriseID != "" && u.EnterpriseID == a.EnterpriseID
	}
	return a.InSubtree(u.OrgPath)
}

// PrepareUser validates a new account against the actor's rights without storing it; the
// Excel import prepares every row first and stores them together.
func (s *Service) PrepareUser(ctx context.Context, a *yingji.Actor, in NewUser) (User, error) {
	if err := a.Require(yingji.PermUserWrite); err != nil {
		return User{}, err
	}
	now := s.Now().UTC()
	u := User{ID: yingji.NewID(), Username: in.Username, Name: in.Name, Phone: in.Phone, Role: in.Role,
		OrgUnitID: in.OrgUnitID, EnterpriseID: in.EnterpriseID, TeamID: in.TeamID,
		MustChangePassword: true, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	u.Normalize()
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	if err := s.Config.Policy.Check(u.Username, in.Password); err != nil {
		return User{}, err
	}
	if err := s.assign(ctx, a, &u); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	u.PasswordHash = hash
	return u, nil
}

// CreateUser creates an account.
func (s *Service) CreateUser(ctx context.Context, a *yingji.Actor, in NewUser) (User, error) {
	u, err := s.PrepareUser(ctx, a, in)
	if err != nil {
		return User{}, err
	}
	if err := s.CreateUsers(ctx, a, []User{u}); err != nil {
		return User{}, err
	}
	return u, nil
}

// CreateUsers stores prepared accounts, all or none, and audits each.
func (s *Service) CreateUsers(ctx context.Context, a *yingji.Actor, us []User) error {
	if err := s.Store.CreateUsers(ctx, us); err != nil {
		if errors.Is(err, yingji.ErrDuplicate) {
			return yingji.Errorf(yingji.ECONFLICT, "user.duplicate_username", "用户名已存在")
		}
		return fmt.Errorf("account: create users: %w", err)
	}
	for _, u := range us {
		s.audit(ctx, a, "user.create", "user", u.ID, "ok", map[string]any{"username": u.Username, "role": u.Role,
			"org_unit_id": u.OrgUnitID, "enterprise_id": u.EnterpriseID, "team_id": u.TeamID})
	}
	return nil
}

// assign resolves the user's assignment to an org path and checks that the actor may make it:
// inside his subtree, with an administrator role no higher than his own, on a unit of the
// level the role governs.
func (s *Service) assign(ctx context.Context, a *yingji.Actor, u *User) error {
	var path string
	var err error
	switch u.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		u.OrgUnitID, u.TeamID = "", ""
		path, err = s.Org.EnterprisePath(ctx, u.EnterpriseID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("user.enterprise_not_found", "enterprise_id", "所属企业不存在")
		}
	case yingji.ScopeTeam:
		u.OrgUnitID, u.EnterpriseID = "", ""
		path, err = s.Org.TeamPath(ctx, u.TeamID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("user.team_not_found", "team_id", "所属救援队伍不存在")
		}
	default:
		u.EnterpriseID, u.TeamID = "", ""
		var level string
		path, level, err = s.Org.UnitPath(ctx, u.OrgUnitID)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("user.org_not_found", "org_unit_id", "所属单位不存在")
		}
		if err == nil {
			if want := adminLevel[u.Role]; want != "" && level != want {
				return yingji.Invalid("user.role_level_mismatch", "org_unit_id", "%s只能设在%s一级的单位", u.Role.Name(), levelNames[want])
			}
		}
	}
	if err != nil {
		return fmt.Errorf("account: resolve assignment: %w", err)
	}
	if !a.InSubtree(path) {
		return yingji.Errorf(yingji.EFORBIDDEN, "auth.out_of_scope", "无权在您管辖范围以外创建或调整用户")
	}
	if u.Role.AdminRank() > a.Role.AdminRank() {
		return yingji.Errorf(yingji.EFORBIDDEN, "user.role_too_high", "无权授予比自己更高的管理角色“%s”", u.Role.Name())
	}
	u.OrgPath = path
	return nil
}

var adminLevel = map[yingji.Role]string{
	yingji.RoleCityAdmin: "city", yingji.RoleDistrictAdmin: "district", yingji.RoleTownshipAdmin: "township",
}

var levelNames = map[string]string{"city": "市", "district": "区县", "township": "乡镇（街道）", "grid": "网格"}

// UpdateUser changes an account the actor manages.
func (s *Service) UpdateUser(ctx context.Context, a *yingji.Actor, id string, p UserPatch) (User, error) {
	u, err := s.manageable(ctx, a, id, "user.update")
	if err != nil {
		return User{}, err
	}
	before := u
	if p.Name != nil {
		u.Name = *p.Name
	}
	if p.Phone != nil {
		u.Phone = *p.Phone
	}
	if p.Role != nil {
		u.Role = *p.Role
	}
	if p.OrgUnitID != nil {
		u.OrgUnitID = *p.OrgUnitID
	}
	if p.EnterpriseID != nil {
		u.EnterpriseID = *p.EnterpriseID
	}
	if p.TeamID != nil {
		u.TeamID = *p.TeamID
	}
	if p.Disabled != nil {
		if *p.Disabled && u.ID == a.UserID {
			return User{}, yingji.Invalid("user.disable_self", "disabled", "不能停用自己的账号")
		}
		u.Disabled = *p.Disabled
	}
	u.Normalize()
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	if err := s.assign(ctx, a, &u); err != nil {
		return User{}, err
	}
	u.UpdatedAt = s.Now().UTC()
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("account: update user: %w", err)
	}
	if u.Disabled && !before.Disabled {
		if err := s.Store.EndUserSessions(ctx, u.ID, "", EndDisabled, u.UpdatedAt); err != nil {
			return User{}, fmt.Errorf("account: update user: %w", err)
		}
	}
	s.audit(ctx, a, "user.update", "user", u.ID, "ok", changes(before, u))
	return u, nil
}

// ResetPassword sets a new initial password that the user must change, and ends his sessions.
func (s *Service) ResetPassword(ctx context.Context, a *yingji.Actor, id, pw string) error {
	u, err := s.manageable(ctx, a, id, "user.reset_password")
	if err != nil {
		return err
	}
	if err := s.Config.Policy.Check(u.Username, pw); err != nil {
		return err
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	if err := s.Store.SetPassword(ctx, u.ID, hash, true, now); err != nil {
		return fmt.Errorf("account: reset password: %w", err)
	}
	if err := s.Store.EndUserSessions(ctx, u.ID, "", EndPasswordChanged, now); err != nil {
		return fmt.Errorf("account: reset password: %w", err)
	}
	s.audit(ctx, a, "user.reset_password", "user", u.ID, "ok", nil)
	return nil
}

// Unlock clears a lockout.
func (s *Service) Unlock(ctx context.Context, a *yingji.Actor, id string) error {
	u, err := s.manageable(ctx, a, id, "user.unlock")
	if err != nil {
		return err
	}
	if err := s.Store.Unlock(ctx, u.ID, s.Now().UTC()); err != nil {
		return fmt.Errorf("account: unlock: %w", err)
	}
	s.audit(ctx, a, "user.unlock", "user", u.ID, "ok", nil)
	return nil
}

// manageable loads a user the actor may change: in his subtree and of no higher admin rank.
func (s *Service) manageable(ctx context.Context, a *yingji.Actor, id, action string) (User, error) {
	if err := a.Require(yingji.PermUserWrite); err != nil {
		return User{}, err
	}
	u, err := s.getUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if !a.InSubtree(u.OrgPath) || u.Role.AdminRank() > a.Role.AdminRank() {
		s.audit(ctx, a, action, "user", id, "denied", nil)
		return User{}, yingji.Forbidden("用户")
	}
	return u, nil
}

func changes(before, after User) map[string]any {
	d := map[string]any{}
	add := func(k string, b, a any) {
		if b != a {
			d[k] = map[string]any{"before": b, "after": a}
		}
	}
	add("name", before.Name, after.Name)
	add("phone", before.Phone, after.Phone)
	add("role", before.Role, after.Role)
	add("org_unit_id", before.OrgUnitID, after.OrgUnitID)
	add("enterprise_id", before.EnterpriseID, after.EnterpriseID)
	add("team_id", before.TeamID, after.TeamID)
	add("disabled", before.Disabled, after.Disabled)
	return d
}

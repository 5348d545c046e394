package yingji

import (
	"context"
	"strings"
)

// Role is a user's role. The set is closed: the server decides what each may do.
type Role string

const (
	RoleCityAdmin           Role = "city_admin"
	RoleDistrictAdmin       Role = "district_admin"
	RoleTownshipAdmin       Role = "township_admin"
	RoleDutyOfficer         Role = "duty_officer"
	RoleGridWorker          Role = "grid_worker"
	RoleSafetyOfficer       Role = "safety_officer"
	RoleEnterprisePrincipal Role = "enterprise_principal"
	RoleRescueMember        Role = "rescue_member"
	RoleExpert              Role = "expert"
	RoleAuditor             Role = "auditor"
)

// Roles lists every role in display order.
var Roles = []Role{RoleCityAdmin, RoleDistrictAdmin, RoleTownshipAdmin, RoleDutyOfficer,
	RoleGridWorker, RoleSafetyOfficer, RoleEnterprisePrincipal, RoleRescueMember, RoleExpert, RoleAuditor}

var roleNames = map[Role]string{
	RoleCityAdmin:           "市级管理员",
	RoleDistrictAdmin:       "区县管理员",
	RoleTownshipAdmin:       "乡镇（街道）管理员",
	RoleDutyOfficer:         "指挥中心值班员",
	RoleGridWorker:          "网格员",
	RoleSafetyOfficer:       "企业安全员",
	RoleEnterprisePrincipal: "企业负责人",
	RoleRescueMember:        "救援队员",
	RoleExpert:              "专家",
	RoleAuditor:             "审计员",
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := roleNames[r]; return ok }

// Name is the role's Chinese name.
func (r Role) Name() string { return roleNames[r] }

// RoleByName finds a role by its code or its Chinese name (Excel imports use either).
func RoleByName(s string) (Role, bool) {
	s = strings.TrimSpace(s)
	for r, n := range roleNames {
		if s == string(r) || s == n {
			return r, true
		}
	}
	return "", false
}

// ScopeKind says what a role's data scope is anchored on.
type ScopeKind string

const (
	ScopeOrg        ScopeKind = "org"        // an org unit and everything under it
	ScopeEnterprise ScopeKind = "enterprise" // one enterprise
	ScopeTeam       ScopeKind = "team"       // one rescue team (reads its org unit's subtree)
)

// ScopeKind returns how the role's data scope is computed.
func (r Role) ScopeKind() ScopeKind {
	switch r {
	case RoleSafetyOfficer, RoleEnterprisePrincipal:
		return ScopeEnterprise
	case RoleRescueMember:
		return ScopeTeam
	}
	return ScopeOrg
}

// AdminRank orders the administrator roles; 0 for every other role.
func (r Role) AdminRank() int {
	switch r {
	case RoleCityAdmin:
		return 3
	case RoleDistrictAdmin:
		return 2
	case RoleTownshipAdmin:
		return 1
	}
	return 0
}

// Permission codes. The portal shows menus and buttons by them; services enforce them.
const (
	PermOrgRead         = "org:read"
	PermOrgWrite        = "org:write"
	PermEnterpriseRead  = "enterprise:read"
	PermEnterpriseWrite = "enterprise:write"
	PermContactWrite    = "contact:write"
	PermUserRead        = "user:read"
	PermUserWrite       = "user:write"
	PermAuditRead       = "audit:read"
	PermRiskRead        = "risk:read"     // risk points (风险点)
	PermRiskWrite       = "risk:write"    // the service also checks the enterprise is in scope
	PermMonitorRead     = "monitor:read"  // devices, points, readings (监测设备与数据)
	PermMonitorWrite    = "monitor:write" // devices, points, thresholds; the enterprise must be in scope
	PermAlertRead       = "alert:read"    // alerts, their timelines and deliveries (预警)
	PermAlertHandle     = "alert:handle"  // acknowledge and dispose of alerts in scope
	PermAlertConfig     = "alert:config"  // receivers and dispatch settings of units in scope
)

var rolePerms = map[Role][]string{
	RoleCityAdmin:           {PermOrgRead, PermOrgWrite, PermEnterpriseRead, PermEnterpriseWrite, PermContactWrite, PermUserRead, PermUserWrite, PermAuditRead, PermRiskRead, PermRiskWrite, PermMonitorRead, PermMonitorWrite, PermAlertRead, PermAlertHandle, PermAlertConfig},
	RoleDistrictAdmin:       {PermOrgRead, PermOrgWrite, PermEnterpriseRead, PermEnterpriseWrite, PermContactWrite, PermUserRead, PermUserWrite, PermAuditRead, PermRiskRead, PermRiskWrite, PermMonitorRead, PermMonitorWrite, PermAlertRead, PermAlertHandle, PermAlertConfig},
	RoleTownshipAdmin:       {PermOrgRead, PermOrgWrite, PermEnterpriseRead, PermEnterpriseWrite, PermContactWrite, PermUserRead, PermUserWrite, PermAuditRead, PermRiskRead, PermRiskWrite, PermMonitorRead, PermMonitorWrite, PermAlertRead, PermAlertHandle, PermAlertConfig},
	RoleDutyOfficer:         {PermOrgRead, PermEnterpriseRead, PermUserRead, PermRiskRead, PermMonitorRead, PermAlertRead, PermAlertHandle},
	RoleGridWorker:          {PermOrgRead, PermEnterpriseRead, PermRiskRead, PermMonitorRead, PermAlertRead},
	RoleSafetyOfficer:       {PermOrgRead, PermEnterpriseRead, PermContactWrite, PermRiskRead, PermRiskWrite, PermMonitorRead, PermMonitorWrite, PermAlertRead, PermAlertHandle},
	RoleEnterprisePrincipal: {PermOrgRead, PermEnterpriseRead, PermContactWrite, PermUserRead, PermRiskRead, PermRiskWrite, PermMonitorRead, PermMonitorWrite, PermAlertRead, PermAlertHandle, PermAlertConfig},
	RoleRescueMember:        {PermOrgRead, PermEnterpriseRead, PermRiskRead, PermAlertRead},
	RoleExpert:              {PermOrgRead, PermEnterpriseRead, PermRiskRead, PermMonitorRead, PermAlertRead},
	RoleAuditor:             {PermOrgRead, PermEnterpriseRead, PermUserRead, PermAuditRead, PermRiskRead, PermMonitorRead, PermAlertRead},
}

// Permissions returns the role's permission codes.
func (r Role) Permissions() []string { return append([]string(nil), rolePerms[r]...) }

// Has reports whether the role holds a permission.
func (r Role) Has(perm string) bool {
	for _, p := range rolePerms[r] {
		if p == perm {
			return true
		}
	}
	return false
}

// Actor is the authenticated caller of a service method, with the data scope the server
// computed for him at login from his role and assignments.
type Actor struct {
	UserID    string
	Username  string
	Name      string
	Role      Role
	SessionID string
	// OrgPath is the materialised path of the org unit the scope is anchored on: the user's own
	// unit for org roles, the enterprise's unit for enterprise roles, the team's unit for
	// rescue members. Paths look like "/id1/id2/" so a prefix match is a subtree.
	OrgPath      string
	OrgUnitID    string
	EnterpriseID string
	TeamID       string
	DeviceID     string // the device the session was opened on ("" when the client gave none)
	IP           string
	RequestID    string
}

// System is the actor of the server's own work (demo data, jobs).
var System = &Actor{UserID: "", Username: "system", Name: "系统", Role: RoleCityAdmin, OrgPath: "/"}

// Can reports whether the actor's role holds perm.
func (a *Actor) Can(perm string) bool { return a != nil && a.Role.Has(perm) }

// Require returns EFORBIDDEN unless the actor's role holds perm.
func (a *Actor) Require(perm string) error {
	if a.Can(perm) {
		return nil
	}
	return Errorf(EFORBIDDEN, "auth.forbidden", "您的角色无权执行此操作")
}

// InSubtree reports whether path lies in the actor's org subtree.
func (a *Actor) InSubtree(path string) bool {
	return a.OrgPath != "" && strings.HasPrefix(path, a.OrgPath)
}

// IsAncestorOf reports whether path is an ancestor of (or equal to) the actor's anchor unit:
// everyone may read the names of the units above him.
func (a *Actor) IsAncestorOf(path string) bool {
	return path != "" && strings.HasPrefix(a.OrgPath, path)
}

// EnterpriseScope is the filter a store applies so a list only holds what the actor may read.
type EnterpriseScope struct {
	OrgPrefix    string // org path prefix ("" with EnterpriseID set: that enterprise only)
	EnterpriseID string
}

// ReadScope returns the actor's read filter for enterprise-anchored data.
func (a *Actor) ReadScope() EnterpriseScope {
	if a.Role.ScopeKind() == ScopeEnterprise {
		return EnterpriseScope{EnterpriseID: a.EnterpriseID}
	}
	return EnterpriseScope{OrgPrefix: a.OrgPath}
}

// CanReadEnterprise reports whether the actor may read the enterprise with that id and path.
func (a *Actor) CanReadEnterprise(id, orgPath string) bool {
	if a.Role.ScopeKind() == ScopeEnterprise {
		return a.EnterpriseID != "" && a.EnterpriseID == id
	}
	return a.InSubtree(orgPath)
}

// Forbidden is the error for an object outside the caller's scope.
func Forbidden(what string) *Error {
	return Errorf(EFORBIDDEN, "auth.out_of_scope", "无权访问该%s：不在您的管辖范围内", what)
}

// Event is one audit log entry as a service records it.
type Event struct {
	Action     string // e.g. "enterprise.update"
	ObjectType string
	ObjectID   string
	Result     string // "ok", "denied", "failed"
	Detail     any    // what changed
}

// Auditor records events in the audit log. Services call it for every write and every refusal
// of an out-of-scope object; a failure to record is logged by the auditor, not returned.
type Auditor interface {
	Record(ctx context.Context, a *Actor, e Event)
}

// AuditFunc adapts a function to Auditor (tests use it).
type AuditFunc func(ctx context.Context, a *Actor, e Event)

func (f AuditFunc) Record(ctx context.Context, a *Actor, e Event) { f(ctx, a, e) }

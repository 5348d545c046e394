package yingji

// Permissions of emergency resources (应急资源保障). They are added to the roles here, in their
// own file, so the role table in actor.go stays as the other modules left it.
const (
	PermResourceRead  = "resource:read"  // resources, their map layers and nearest queries
	PermResourceWrite = "resource:write" // the service also checks the unit or enterprise is in scope
)

var resourcePerms = map[Role][]string{
	RoleCityAdmin:           {PermResourceRead, PermResourceWrite},
	RoleDistrictAdmin:       {PermResourceRead, PermResourceWrite},
	RoleTownshipAdmin:       {PermResourceRead, PermResourceWrite},
	RoleDutyOfficer:         {PermResourceRead},
	RoleGridWorker:          {PermResourceRead},
	RoleSafetyOfficer:       {PermResourceRead, PermResourceWrite},
	RoleEnterprisePrincipal: {PermResourceRead, PermResourceWrite},
	RoleRescueMember:        {PermResourceRead},
	RoleExpert:              {PermResourceRead},
	RoleAuditor:             {PermResourceRead},
}

func init() {
	for r, ps := range resourcePerms {
		rolePerms[r] = append(rolePerms[r], ps...)
	}
}

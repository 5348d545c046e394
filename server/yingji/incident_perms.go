package yingji

// Permissions of incidents and the response (应急响应). They live in their own file and join
// rolePerms at init, so modules added side by side do not edit the same lines.
const (
	PermIncidentRead    = "incident:read"    // incidents in scope and those one is a member of
	PermIncidentReport  = "incident:report"  // report an incident (portal or a field report from a phone)
	PermIncidentWrite   = "incident:write"   // edit incidents in scope: figures, location, materials; members
	PermResponsePropose = "response:propose" // propose starting, changing or ending a response (值班员)
)

var incidentPerms = map[Role][]string{
	RoleCityAdmin:           {PermIncidentRead, PermIncidentReport, PermIncidentWrite, PermResponsePropose},
	RoleDistrictAdmin:       {PermIncidentRead, PermIncidentReport, PermIncidentWrite, PermResponsePropose},
	RoleTownshipAdmin:       {PermIncidentRead, PermIncidentReport, PermIncidentWrite, PermResponsePropose},
	RoleDutyOfficer:         {PermIncidentRead, PermIncidentReport, PermIncidentWrite, PermResponsePropose},
	RoleGridWorker:          {PermIncidentRead, PermIncidentReport},
	RoleSafetyOfficer:       {PermIncidentRead, PermIncidentReport},
	RoleEnterprisePrincipal: {PermIncidentRead, PermIncidentReport},
	RoleRescueMember:        {PermIncidentRead, PermIncidentReport},
	RoleExpert:              {PermIncidentRead},
	RoleAuditor:             {PermIncidentRead},
}

func init() {
	for r, ps := range incidentPerms {
		rolePerms[r] = append(rolePerms[r], ps...)
	}
}

package yingji

// Permissions of dispatch (救援资源调度) and one-click contact (一键呼叫/短信/传真). They join
// rolePerms at init, in their own file like the other modules'.
const (
	PermDispatchRead    = "dispatch:read"    // orders and requests of incidents in scope (members: theirs)
	PermDispatchOrder   = "dispatch:order"   // order teams and supplies, handle requests (incident in scope)
	PermDispatchRequest = "dispatch:request" // ask for resources from the scene
	PermContactSend     = "contact:send"     // one-click SMS, 浙政钉 and fax
)

var dispatchPerms = map[Role][]string{
	RoleCityAdmin:     {PermDispatchRead, PermDispatchOrder, PermDispatchRequest, PermContactSend},
	RoleDistrictAdmin: {PermDispatchRead, PermDispatchOrder, PermDispatchRequest, PermContactSend},
	RoleTownshipAdmin: {PermDispatchRead, PermDispatchOrder, PermDispatchRequest, PermContactSend},
	RoleDutyOfficer:   {PermDispatchRead, PermDispatchOrder, PermDispatchRequest, PermContactSend},
	RoleGridWorker:    {PermDispatchRead, PermDispatchRequest},
	RoleRescueMember:  {PermDispatchRead, PermDispatchRequest},
	RoleExpert:        {PermDispatchRead},
	RoleAuditor:       {PermDispatchRead},
}

func init() {
	for r, ps := range dispatchPerms {
		rolePerms[r] = append(rolePerms[r], ps...)
	}
}

package yingji

// Permissions of live video (单兵/手机视频回传). They are added to the roles here, in their own
// file, so the role table in actor.go stays as the other modules left it.
const (
	// PermVideoPublish: send live video from the field (responders, grid workers, safety
	// officers). The stream belongs to the publisher's org unit.
	PermVideoPublish = "video:publish"
	// PermVideoWatch: watch live streams and read stream metadata and positions in the
	// caller's org subtree (command centre roles). A publisher may always watch his own.
	PermVideoWatch = "video:watch"
)

var videoPerms = map[Role][]string{
	RoleCityAdmin:           {PermVideoWatch},
	RoleDistrictAdmin:       {PermVideoWatch},
	RoleTownshipAdmin:       {PermVideoWatch},
	RoleDutyOfficer:         {PermVideoWatch},
	RoleGridWorker:          {PermVideoPublish},
	RoleSafetyOfficer:       {PermVideoPublish},
	RoleEnterprisePrincipal: {},
	RoleRescueMember:        {PermVideoPublish},
	RoleExpert:              {PermVideoWatch},
	RoleAuditor:             {PermVideoWatch},
}

func init() {
	for r, ps := range videoPerms {
		rolePerms[r] = append(rolePerms[r], ps...)
	}
}

package yingji

// Permissions of emergency plans and the knowledge base (预案与知识库). They live in their own
// file and join rolePerms at init, so modules added side by side do not edit the same lines.
const (
	PermPlanRead       = "plan:read"       // published plans in scope and above, drafts in scope; the knowledge base
	PermPlanWrite      = "plan:write"      // draft, edit, submit, revise plans of the owner in scope
	PermPlanReview     = "plan:review"     // publish, send back, retire (never one's own version)
	PermKnowledgeWrite = "knowledge:write" // edit the knowledge base (laws, standards, cases, MSDS)
)

var planPerms = map[Role][]string{
	RoleCityAdmin:           {PermPlanRead, PermPlanWrite, PermPlanReview, PermKnowledgeWrite},
	RoleDistrictAdmin:       {PermPlanRead, PermPlanWrite, PermPlanReview, PermKnowledgeWrite},
	RoleTownshipAdmin:       {PermPlanRead, PermPlanWrite, PermPlanReview},
	RoleDutyOfficer:         {PermPlanRead},
	RoleGridWorker:          {PermPlanRead},
	RoleSafetyOfficer:       {PermPlanRead, PermPlanWrite},
	RoleEnterprisePrincipal: {PermPlanRead, PermPlanWrite, PermPlanReview},
	RoleRescueMember:        {PermPlanRead},
	RoleExpert:              {PermPlanRead},
	RoleAuditor:             {PermPlanRead},
}

func init() {
	for r, ps := range planPerms {
		rolePerms[r] = append(rolePerms[r], ps...)
	}
}

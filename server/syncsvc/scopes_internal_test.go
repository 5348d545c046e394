package syncsvc

import (
	"slices"
	"testing"

	"github.com/yingji/yingji/server/yingji"
)

// TestRoleScopes: every role holds "down:ID" of each unit strictly above its own; an
// enterprise's staff and a team's members of the unit their enterprise or team sits in as well.
func TestRoleScopes(t *testing.T) {
	cases := []struct {
		name string
		a    yingji.Actor
		want []string
	}{
		{"city admin", yingji.Actor{Role: yingji.RoleCityAdmin, OrgPath: "/c/"}, []string{"org:c"}},
		{"district admin", yingji.Actor{Role: yingji.RoleDistrictAdmin, OrgPath: "/c/d/"}, []string{"org:d", "down:c"}},
		{"township admin", yingji.Actor{Role: yingji.RoleTownshipAdmin, OrgPath: "/c/d/t/"}, []string{"org:t", "down:c", "down:d"}},
		{"grid worker", yingji.Actor{Role: yingji.RoleGridWorker, OrgPath: "/c/d/t/g/"}, []string{"org:g", "down:c", "down:d", "down:t"}},
		{"safety officer", yingji.Actor{Role: yingji.RoleSafetyOfficer, EnterpriseID: "e", OrgPath: "/c/d/t/g/"},
			[]string{"ent:e", "down:c", "down:d", "down:t", "down:g"}},
		{"safety officer without enterprise", yingji.Actor{Role: yingji.RoleSafetyOfficer, OrgPath: "/c/d/t/"}, nil},
		{"rescue member of a township team", yingji.Actor{Role: yingji.RoleRescueMember, TeamID: "tm", OrgPath: "/c/d/t/"},
			[]string{"org:t", "down:c", "down:d", "down:t"}},
		{"rescue member of the city's team", yingji.Actor{Role: yingji.RoleRescueMember, TeamID: "tm", OrgPath: "/c/"}, []string{"org:c", "down:c"}},
	}
	for _, c := range cases {
		if got := RoleScopes(&c.a); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	p := Place{OrgPath: "/c/d/", Shared: true, IncidentID: "i", EnterpriseID: "e", UserID: "u"}
	if got, want := p.Scopes(), []string{"org:c", "org:d", "down:d", "ent:e", "user:u", "inc:i"}; !slices.Equal(got, want) {
		t.Errorf("place scopes %v, want %v", got, want)
	}
	if got := (Place{OrgPath: "/", Shared: true}).Scopes(); len(got) != 0 {
		t.Errorf("a shared record without a unit has scopes %v", got)
	}
}

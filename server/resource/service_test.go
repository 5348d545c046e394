package resource_test

import (
	"testing"

	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
)

// TestCanRead: org roles read their subtree and the units above them, never a sibling's;
// enterprise roles their own resources and the government's above them; an actor without an
// anchor reads nothing.
func TestCanRead(t *testing.T) {
	town := &yingji.Actor{Role: yingji.RoleTownshipAdmin, OrgPath: "/c/d1/t1/"}
	safety := &yingji.Actor{Role: yingji.RoleSafetyOfficer, OrgPath: "/c/d1/t1/", EnterpriseID: "e1"}
	for _, c := range []struct {
		name        string
		a           *yingji.Actor
		path, ent   string
		read, write bool
	}{
		{"own unit", town, "/c/d1/t1/", "", true, true},
		{"grid below", town, "/c/d1/t1/g1/", "", true, true},
		{"city above", town, "/c/", "", true, false},
		{"district above", town, "/c/d1/", "", true, false},
		{"sibling township", town, "/c/d1/t10/", "", false, false},
		{"enterprise below", town, "/c/d1/t1/", "e9", true, true},
		{"own enterprise", safety, "/c/d1/t1/", "e1", true, true},
		{"other enterprise", safety, "/c/d1/t1/", "e2", false, false},
		{"government above", safety, "/c/", "", true, false},
		{"government beside", safety, "/c/d2/", "", false, false},
		{"no anchor", &yingji.Actor{Role: yingji.RoleGridWorker}, "/c/", "", false, false},
	} {
		if got := resource.CanRead(c.a, c.path, c.ent); got != c.read {
			t.Errorf("%s: CanRead = %v, want %v", c.name, got, c.read)
		}
		if got := resource.CanWrite(c.a, c.path, c.ent); got != c.write {
			t.Errorf("%s: CanWrite = %v, want %v", c.name, got, c.write)
		}
	}
}

func TestValidSupplyCode(t *testing.T) {
	for code, ok := range map[string]bool{"1": true, "2": true, "3": true, "4": false, "201": true, "20101": true, "2010101": true,
		"2000101": false, "20101010": false, "201010": false, "": false, "2a": false} {
		if resource.ValidSupplyCode(code) != ok {
			t.Errorf("ValidSupplyCode(%q) = %v", code, !ok)
		}
	}
	if resource.SupplyClass("2030101") != "应急装备及配套物资" {
		t.Error("class of 2030101")
	}
}

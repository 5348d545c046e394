package store_test

import (
	"testing"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store/storetest"
)

// suites are the conformance suites every engine runs.
var suites = []struct {
	name string
	run  func(*testing.T, func(*testing.T) sqldb.DB)
}{
	{"Org", storetest.TestOrg},
	{"Account", storetest.TestAccount},
	{"Audit", storetest.TestAudit},
	{"Plans", storetest.TestPlans},
	{"Resource", storetest.TestResource},
	{"Video", storetest.TestVideo},
}

// runSuites runs every suite against the databases open returns.
func runSuites(t *testing.T, open func(*testing.T) sqldb.DB) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, open)
		})
	}
}

package store_test

import (
	"testing"

	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
)

func TestPostgres(t *testing.T) {
	runSuites(t, func(t *testing.T) sqldb.DB { t.Helper(); return pgtest.Open(t) })
}

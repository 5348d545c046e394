package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
)

func TestSQLite(t *testing.T) {
	runSuites(t, func(t *testing.T) sqldb.DB {
		t.Helper()
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "yingji.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

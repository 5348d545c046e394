// Package pgtest gives each test its own migrated schema in the PostgreSQL server the machine
// runs (127.0.0.1:5432, trust auth, database "test"), so tests run in parallel. Under CI=true a
// missing server fails the test; elsewhere the test is skipped saying why.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yingji/yingji/server/postgres"
)

// URL is the test server's address; YINGJI_TEST_DATABASE_URL overrides it.
func URL() string {
	if u := os.Getenv("YINGJI_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var seq atomic.Int64

// NewSchema creates an empty schema and drops it when the test ends. It returns its name.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI but unreachable at %s: %v", URL(), err)
		}
		tb.Skipf("skipping: PostgreSQL unreachable at %s (%v); CI=true makes this a failure", URL(), err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), seq.Add(1), sanitize(tb.Name()))
	// River names its NOTIFY channels "<schema>.river_leadership" and PostgreSQL allows 63
	// bytes: keep schema names to 40.
	if len(name) > 40 {
		name = name[:40]
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, URL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return name
}

// Open returns a migrated database in a fresh schema, closed when the test ends.
func Open(tb testing.TB) *postgres.DB {
	tb.Helper()
	schema := NewSchema(tb)
	ctx := context.Background()
	db, err := postgres.Open(ctx, URL(), postgres.Options{Schema: schema, MaxConns: 8})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// SchemaURL returns URL with search_path set to schema, for starting a server on it.
func SchemaURL(schema string) string {
	sep := "?"
	if strings.Contains(URL(), "?") {
		sep = "&"
	}
	return URL() + sep + "search_path=" + schema
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

package app_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
)

// TestPostgresSchemaGate: the server refuses a PostgreSQL schema older or newer than it knows,
// naming the fix; `migrate` brings an empty database up to date.
func TestPostgresSchemaGate(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.NewSchema(t)
	url := pgtest.SchemaURL(schema)
	open := func() error {
		cfg := config.Default()
		cfg.HTTPAddr, cfg.DataDir, cfg.DatabaseURL, cfg.Demo, cfg.MQTTListen = "127.0.0.1:0", t.TempDir(), url, false, "127.0.0.1:0"
		m := &app.Main{Config: cfg}
		defer m.Close()
		return m.Open(ctx)
	}
	err := open()
	var se *sqldb.SchemaError
	if !errors.As(err, &se) || se.Have != 0 || se.Want < 1 || !strings.Contains(err.Error(), "yingji migrate") {
		t.Fatalf("empty schema: err = %v, want a schema error naming `yingji migrate`", err)
	}

	var out bytes.Buffer
	if err := app.Migrate(ctx, []string{"-database-url", url}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 → ") {
		t.Fatalf("migrate output: %s", out.String())
	}
	if err := open(); err != nil {
		t.Fatalf("after migrate: %v", err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)"); err != nil {
		t.Fatal(err)
	}
	err = open()
	if !errors.As(err, &se) || se.Have != 9999 || !strings.Contains(err.Error(), "升级程序") {
		t.Fatalf("newer schema: err = %v, want a schema error asking for an upgrade", err)
	}
	if err := app.Migrate(ctx, []string{"-database-url", url}, &out); !errors.As(err, &se) {
		t.Fatalf("migrate on a newer schema: %v, want a schema error", err)
	}
}

// TestSQLiteMigratesItself: a fresh data dir gets its schema on start, and `migrate` reports it.
func TestSQLiteMigratesItself(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := app.Migrate(context.Background(), []string{"-data-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "SQLite") {
		t.Fatalf("output: %s", out.String())
	}
}

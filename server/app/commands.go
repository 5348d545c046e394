package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
)

// Serve runs the `serve` command.
func Serve(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg}
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	return m.Run(ctx)
}

// Migrate runs the `migrate` command: it applies pending migrations (PostgreSQL needs it
// before a new version starts; SQLite does it on start anyway).
func Migrate(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	var version int64
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return err
		}
		db, err := sqlite.Open(ctx, cfg.SQLitePath())
		if err != nil {
			return err
		}
		defer db.Close()
		_, version, err = db.SchemaStatus(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "SQLite %s 数据库结构已是版本 %d (schema at version %d)\n", cfg.SQLitePath(), version, version)
		return nil
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	have, want, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if have > want {
		return &sqldb.SchemaError{Have: have, Want: want}
	}
	if version, err = db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "PostgreSQL %s 数据库结构 %d → %d (schema migrated from %d to %d)\n", maskURL(cfg.DatabaseURL), have, version, have, version)
	return nil
}

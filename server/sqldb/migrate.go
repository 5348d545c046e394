package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// Migrator applies the embedded migrations of one engine with goose's Provider.
type Migrator struct {
	p *goose.Provider
}

// NewMigrator returns a migrator for db with the migrations in fsys (one engine's folder).
func NewMigrator(engine string, db *sql.DB, fsys fs.FS) (*Migrator, error) {
	dialect := goose.DialectSQLite3
	if engine == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrations: %w", err)
	}
	return &Migrator{p: p}, nil
}

// Up applies every pending migration and returns the version reached.
func (m *Migrator) Up(ctx context.Context) (int64, error) {
	if _, err := m.p.Up(ctx); err != nil {
		return 0, fmt.Errorf("sqldb: migrate up: %w", err)
	}
	return m.p.GetDBVersion(ctx)
}

// Status returns the database's schema version and the newest one embedded.
func (m *Migrator) Status(ctx context.Context) (have, want int64, err error) {
	srcs := m.p.ListSources()
	if len(srcs) > 0 {
		want = srcs[len(srcs)-1].Version
	}
	have, err = m.p.GetDBVersion(ctx)
	if errors.Is(err, goose.ErrVersionNotFound) {
		return 0, want, nil
	}
	return have, want, err
}

// SchemaError explains a schema that does not match the program, naming the fix.
type SchemaError struct{ Have, Want int64 }

func (e *SchemaError) Error() string {
	if e.Have < e.Want {
		return fmt.Sprintf("数据库结构版本 %d 低于本程序所需的 %d，请先运行 `yingji migrate` (database schema %d is older than %d: run `yingji migrate`)", e.Have, e.Want, e.Have, e.Want)
	}
	return fmt.Sprintf("数据库结构版本 %d 高于本程序所知的 %d，请升级程序 (database schema %d is newer than this program knows (%d): upgrade the program)", e.Have, e.Want, e.Have, e.Want)
}

// CheckSchema returns a *SchemaError unless the schema is current.
func CheckSchema(ctx context.Context, db DB) error {
	have, want, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if have != want {
		return &SchemaError{Have: have, Want: want}
	}
	return nil
}

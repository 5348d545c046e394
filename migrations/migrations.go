// Package migrations embeds the schema migrations of both engines. Versions match across
// engines: 00001 on SQLite is the same schema as 00001 on PostgreSQL.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite returns the SQLite migrations.
func SQLite() fs.FS { f, _ := fs.Sub(files, "sqlite"); return f }

// Postgres returns the PostgreSQL migrations.
func Postgres() fs.FS { f, _ := fs.Sub(files, "postgres"); return f }

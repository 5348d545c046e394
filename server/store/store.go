// Package store implements the domain store interfaces (org.Store, account.Store,
// audit.Store) on sqldb.DB, in SQL that SQLite and PostgreSQL both accept, so one
// implementation serves both engines; storetest runs the same conformance suite on each.
package store

import "github.com/yingji/yingji/server/sqldb"

// Store is the database-backed implementation of every domain store.
type Store struct {
	DB sqldb.DB
	// Changes, when set, records every write to a synced table in the same transaction.
	Changes ChangeHook
}

// New returns a store on db.
func New(db sqldb.DB) *Store { return &Store{DB: db} }

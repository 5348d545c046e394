package org

import (
	"context"
	"fmt"

	"github.com/yingji/yingji/server/yingji"
)

// UnitScope is what units a caller may read: the subtree under a path and the units on that
// path (his ancestors). The zero value means every unit.
type UnitScope struct {
	Subtree   string // units whose path starts with it
	Ancestors string // also the units whose ids are on this path
}

// UnitFilter narrows a unit list. All set fields must hold.
type UnitFilter struct {
	Scope    UnitScope // set by the service from the actor
	Subtree  string    // only units at or below this path
	ParentID string
	Level    Level
	Code     string
	Q        string // name contains
}

// EnterpriseFilter narrows an enterprise list. All set fields must hold. Lists sort by name,
// credit_code, industry, created_at or updated_at (default name).
type EnterpriseFilter struct {
	Scope              yingji.EnterpriseScope // set by the service; zero means every enterprise
	Q                  string                 // name or credit code contains
	TownshipID         string
	GridID             string
	Industry           string
	HazardousChemicals *bool
	MajorHazard        *bool
}

// TeamFilter narrows a team list.
type TeamFilter struct {
	Scope     UnitScope // set by the service: the units whose teams the caller may read
	OrgUnitID string
	Q         string // name contains
}

// UnitRefs counts what refers to a unit and keeps it from being deleted.
type UnitRefs struct {
	Children    int `json:"children"`
	Enterprises int `json:"enterprises"`
	Teams       int `json:"teams"`
	Users       int `json:"users"`
	Resources   int `json:"resources"` // emergency resources other than teams (package resource)
}

// EnterpriseRefs counts what refers to an enterprise besides its contacts.
type EnterpriseRefs struct {
	Users     int `json:"users"`
	Hazards   int `json:"hazards"`
	Resources int `json:"resources"` // emergency resources the enterprise owns (package resource)
}

// BatchError says which item of an all-or-nothing batch write failed.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// Store keeps org units, teams, enterprises and contacts. Lookups of a missing row return an
// error wrapping yingji.ErrNotFound, unique violations one wrapping yingji.ErrDuplicate.
// Updates and deletes of a missing row return yingji.ErrNotFound too.
type Store interface {
	GetUnit(ctx context.Context, id string) (Unit, error)
	// ListUnits returns the matching units ordered by sort, code.
	ListUnits(ctx context.Context, f UnitFilter) ([]Unit, error)
	CreateUnit(ctx context.Context, u Unit) error
	// CreateUnits inserts all units in order or none; a failure is a *BatchError.
	CreateUnits(ctx context.Context, us []Unit) error
	// UpdateUnit saves code, name, sort and updated_at; units never move.
	UpdateUnit(ctx context.Context, u Unit) error
	DeleteUnit(ctx context.Context, id string) error
	UnitRefs(ctx context.Context, id string) (UnitRefs, error)

	GetEnterprise(ctx context.Context, id string) (Enterprise, error)
	GetEnterpriseByCreditCode(ctx context.Context, code string) (Enterprise, error)
	ListEnterprises(ctx context.Context, f EnterpriseFilter, p yingji.ListParams) (yingji.Page[Enterprise], error)
	CreateEnterprise(ctx context.Context, e Enterprise) error
	// CreateEnterprises inserts all enterprises in order or none; a failure is a *BatchError.
	CreateEnterprises(ctx context.Context, es []Enterprise) error
	UpdateEnterprise(ctx context.Context, e Enterprise) error
	// DeleteEnterprise deletes the enterprise and its contacts.
	DeleteEnterprise(ctx context.Context, id string) error
	EnterpriseRefs(ctx context.Context, id string) (EnterpriseRefs, error)

	GetContact(ctx context.Context, id string) (Contact, error)
	// ListContacts returns an enterprise's contacts, the primary first.
	ListContacts(ctx context.Context, enterpriseID string) ([]Contact, error)
	// CreateContact and UpdateContact clear the enterprise's other primary contact when c is
	// primary, in the same transaction.
	CreateContact(ctx context.Context, c Contact) error
	UpdateContact(ctx context.Context, c Contact) error
	DeleteContact(ctx context.Context, id string) error

	// GetTeam and ListTeams fill Team.OrgPath from the team's unit.
	GetTeam(ctx context.Context, id string) (Team, error)
	ListTeams(ctx context.Context, f TeamFilter) ([]Team, error)
	CreateTeam(ctx context.Context, t Team) error
}

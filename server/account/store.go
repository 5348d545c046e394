package account

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// UserFilter narrows a user list.
type UserFilter struct {
	Scope        yingji.EnterpriseScope // what the caller may see
	Q            string                 // username or name contains
	Role         yingji.Role
	OrgUnitID    string
	EnterpriseID string
	Disabled     *bool
}

// SessionUser is a session with its user and the path of the unit the user's scope is anchored
// on, computed from his current assignment.
type SessionUser struct {
	Session Session
	User    User
	// ScopePath is the org path of the user's unit, enterprise or team, as of now.
	ScopePath string
}

// Ended is a session that a login ended.
type Ended struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// LoginAttempt is the outcome of a wrong password.
type LoginAttempt struct {
	Failures    int
	LockedUntil *time.Time
}

// Store keeps users and sessions.
type Store interface {
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context, f UserFilter, p yingji.ListParams) (yingji.Page[User], error)
	// CreateUsers inserts all users or none.
	CreateUsers(ctx context.Context, us []User) error
	UpdateUser(ctx context.Context, u User) error
	SetPassword(ctx context.Context, userID, hash string, mustChange bool, now time.Time) error
	// RecordLoginFailure counts a wrong password atomically and locks the account until
	// lockUntil when the count reaches threshold.
	RecordLoginFailure(ctx context.Context, userID string, threshold int, lockUntil time.Time) (LoginAttempt, error)
	RecordLoginSuccess(ctx context.Context, userID string, now time.Time) error
	Unlock(ctx context.Context, userID string, now time.Time) error

	// StartSession ends the user's active sessions of the same client kind (EndReplaced) and
	// other users' active sessions on the same device (EndDeviceSwitched), then inserts s, in
	// one transaction. It returns the sessions it ended, with the reason.
	StartSession(ctx context.Context, s Session) ([]Ended, error)
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (SessionUser, error)
	TouchSession(ctx context.Context, id string, now time.Time) error
	EndSession(ctx context.Context, id, reason string, now time.Time) error
	// EndUserSessions ends every active session of the user except keep.
	EndUserSessions(ctx context.Context, userID, keep, reason string, now time.Time) error
}

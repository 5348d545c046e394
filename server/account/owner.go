package account

import (
	"context"

	"github.com/yingji/yingji/server/yingji"
)

// SessionOwner returns the user whose session token was, even when the session has ended or
// expired, so that the refusal of a stale or replaced token names its owner in the audit log.
// ok is false for a token no session ever had.
func (s *Service) SessionOwner(ctx context.Context, token string) (a *yingji.Actor, ok bool) {
	if token == "" {
		return nil, false
	}
	su, err := s.Store.GetSessionByTokenHash(ctx, hashToken(token))
	if err != nil {
		return nil, false
	}
	u := su.User
	return &yingji.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, SessionID: su.Session.ID,
		OrgPath: su.ScopePath, OrgUnitID: u.OrgUnitID, EnterpriseID: u.EnterpriseID, TeamID: u.TeamID}, true
}

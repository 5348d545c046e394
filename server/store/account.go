package store

import (
	"context"
	"strings"
	"time"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var _ account.Store = (*Store)(nil)

func userCols(p string) string {
	cols := []string{"id", "username", "name", "phone", "role", "COALESCE(#org_unit_id, '')", "COALESCE(#enterprise_id, '')",
		"COALESCE(#team_id, '')", "org_path", "password_hash", "password_changed_at", "must_change_password", "disabled",
		"failed_logins", "locked_until", "last_login_at", "created_at", "updated_at"}
	for i, c := range cols {
		if strings.Contains(c, "#") {
			cols[i] = strings.ReplaceAll(c, "#", p)
		} else {
			cols[i] = p + c
		}
	}
	return strings.Join(cols, ", ")
}

func scanUser(r sqldb.Row, extra ...any) (account.User, error) {
	var u account.User
	dest := []any{&u.ID, &u.Username, &u.Name, &u.Phone, &u.Role, &u.OrgUnitID, &u.EnterpriseID, &u.TeamID, &u.OrgPath,
		&u.PasswordHash, &u.PasswordChangedAt, &u.MustChangePassword, &u.Disabled, &u.FailedLogins, &u.LockedUntil,
		&u.LastLoginAt, &u.CreatedAt, &u.UpdatedAt}
	err := r.Scan(append(dest, extra...)...)
	u.RoleName = u.Role.Name()
	return u, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Store) GetUser(ctx context.Context, id string) (account.User, error) {
	return scanUser(s.DB.QueryRow(ctx, "SELECT "+userCols("")+" FROM users WHERE id = $1", id))
}

func (s *Store) GetUserByUsername(ctx context.Context, username string) (account.User, error) {
	return scanUser(s.DB.QueryRow(ctx, "SELECT "+userCols("")+" FROM users WHERE username = $1", username))
}

var userSorts = map[string]string{"username": "username", "name": "name", "role": "role", "created_at": "created_at", "last_login_at": "last_login_at"}

func (s *Store) ListUsers(ctx context.Context, f account.UserFilter, p yingji.ListParams) (yingji.Page[account.User], error) {
	page := yingji.Page[account.User]{Items: []account.User{}}
	order, err := p.OrderBy(userSorts, "username ASC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	switch {
	case f.Scope.EnterpriseID != "":
		w.Add("enterprise_id = ?", f.Scope.EnterpriseID)
	case f.Scope.OrgPrefix != "":
		w.Prefix("org_path", f.Scope.OrgPrefix)
	default:
		return page, nil // an actor without a scope sees nothing
	}
	if f.Q != "" {
		w.Add(`(username LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\')`, sqldb.Like(strings.ToLower(f.Q)), sqldb.Like(f.Q))
	}
	if f.Role != "" {
		w.Add("role = ?", string(f.Role))
	}
	if f.OrgUnitID != "" {
		w.Add("org_unit_id = ?", f.OrgUnitID)
	}
	if f.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.EnterpriseID)
	}
	if f.Disabled != nil {
		w.Add("disabled = ?", *f.Disabled)
	}
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM users"+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, err
	}
	q := "SELECT " + userCols("") + " FROM users" + w.SQL() + " ORDER BY " + order +
		" LIMIT " + w.Next(p.PageSize) + " OFFSET " + w.Next(p.Offset())
	rows, err := s.DB.Query(ctx, q, w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (account.User, error) { return scanUser(r) })
	return page, err
}

func (s *Store) CreateUsers(ctx context.Context, us []account.User) error {
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		for _, u := range us {
			_, err := tx.Exec(ctx, `INSERT INTO users (id, username, name, phone, role, org_unit_id, enterprise_id, team_id,
				org_path, password_hash, password_changed_at, must_change_password, disabled, failed_logins, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15)`,
				u.ID, u.Username, u.Name, u.Phone, string(u.Role), nullable(u.OrgUnitID), nullable(u.EnterpriseID), nullable(u.TeamID),
				u.OrgPath, u.PasswordHash, u.PasswordChangedAt.UTC(), u.MustChangePassword, u.Disabled, u.CreatedAt.UTC(), u.UpdatedAt.UTC())
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) UpdateUser(ctx context.Context, u account.User) error {
	n, err := s.DB.Exec(ctx, `UPDATE users SET name = $2, phone = $3, role = $4, org_unit_id = $5, enterprise_id = $6,
		team_id = $7, org_path = $8, disabled = $9, updated_at = $10 WHERE id = $1`,
		u.ID, u.Name, u.Phone, string(u.Role), nullable(u.OrgUnitID), nullable(u.EnterpriseID), nullable(u.TeamID),
		u.OrgPath, u.Disabled, u.UpdatedAt.UTC())
	if err == nil && n == 0 {
		return yingji.ErrNotFound
	}
	return err
}

func (s *Store) SetPassword(ctx context.Context, userID, hash string, mustChange bool, now time.Time) error {
	n, err := s.DB.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = $4,
		updated_at = $4 WHERE id = $1`, userID, hash, mustChange, now.UTC())
	if err == nil && n == 0 {
		return yingji.ErrNotFound
	}
	return err
}

func (s *Store) RecordLoginFailure(ctx context.Context, userID string, threshold int, lockUntil time.Time) (account.LoginAttempt, error) {
	var a account.LoginAttempt
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		return tx.QueryRow(ctx, `UPDATE users SET failed_logins = failed_logins + 1,
			locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
			WHERE id = $1 RETURNING failed_logins, locked_until`, userID, threshold, lockUntil.UTC()).Scan(&a.Failures, &a.LockedUntil)
	})
	return a, err
}

func (s *Store) RecordLoginSuccess(ctx context.Context, userID string, now time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1`, userID, now.UTC())
	return err
}

func (s *Store) Unlock(ctx context.Context, userID string, now time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1`, userID, now.UTC())
	return err
}

func (s *Store) StartSession(ctx context.Context, ss account.Session) ([]account.Ended, error) {
	var ended []account.Ended
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		ended = ended[:0]
		collect := func(q string, args ...any) error {
			rows, err := tx.Query(ctx, q, args...)
			ids, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
				var id string
				return id, r.Scan(&id)
			})
			for _, id := range ids {
				ended = append(ended, account.Ended{ID: id, Reason: args[3].(string)})
			}
			return err
		}
		now := ss.CreatedAt.UTC()
		if err := collect(`UPDATE sessions SET ended_at = $3, end_reason = $4
			WHERE ended_at IS NULL AND user_id = $1 AND client = $2 RETURNING id`, ss.UserID, ss.Client, now, account.EndReplaced); err != nil {
			return err
		}
		if ss.DeviceID != "" {
			if err := collect(`UPDATE sessions SET ended_at = $3, end_reason = $4
				WHERE ended_at IS NULL AND device_id = $2 AND user_id <> $1 RETURNING id`, ss.UserID, ss.DeviceID, now, account.EndDeviceSwitched); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, token_hash, client, device_id, ip, user_agent, created_at,
			expires_at, last_seen_at, end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '')`,
			ss.ID, ss.UserID, ss.TokenHash, ss.Client, ss.DeviceID, ss.IP, ss.UserAgent, now, ss.ExpiresAt.UTC(), ss.LastSeenAt.UTC())
		return err
	})
	return ended, err
}

func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (account.SessionUser, error) {
	var su account.SessionUser
	ss := &su.Session
	u, err := scanUser(s.DB.QueryRow(ctx, `SELECT `+userCols("u.")+`,
		s.id, s.user_id, s.token_hash, s.client, s.device_id, s.ip, s.user_agent, s.created_at, s.expires_at,
		s.last_seen_at, s.ended_at, s.end_reason, COALESCE(e.org_path, tu.path, ou.path, u.org_path)
		FROM sessions s JOIN users u ON u.id = s.user_id
		LEFT JOIN enterprises e ON e.id = u.enterprise_id
		LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN org_units tu ON tu.id = t.org_unit_id
		LEFT JOIN org_units ou ON ou.id = u.org_unit_id
		WHERE s.token_hash = $1`, tokenHash),
		&ss.ID, &ss.UserID, &ss.TokenHash, &ss.Client, &ss.DeviceID, &ss.IP, &ss.UserAgent, &ss.CreatedAt, &ss.ExpiresAt,
		&ss.LastSeenAt, &ss.EndedAt, &ss.EndReason, &su.ScopePath)
	su.User = u
	return su, err
}

func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, now.UTC())
	return err
}

func (s *Store) EndSession(ctx context.Context, id, reason string, now time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL`, id, now.UTC(), reason)
	return err
}

func (s *Store) EndUserSessions(ctx context.Context, userID, keep, reason string, now time.Time) error {
	_, err := s.DB.Exec(ctx, `UPDATE sessions SET ended_at = $3, end_reason = $4
		WHERE user_id = $1 AND id <> $2 AND ended_at IS NULL`, userID, keep, now.UTC(), reason)
	return err
}

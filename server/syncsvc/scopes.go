package syncsvc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// rescopePrefix marks, among the pokes travelling between instances, a user whose scopes
// changed: every instance re-reads the scopes of his live connections (see ScopesChanged).
const rescopePrefix = "rescope:"

// Subscribe registers the live connection of the actor's session with the scopes he holds now;
// ScopesChanged updates them later.
func (s *Service) Subscribe(ctx context.Context, a *yingji.Actor) (*Sub, error) {
	scopes, err := s.ActorScopes(ctx, a)
	if err != nil {
		return nil, err
	}
	actor := *a
	return s.Hub.subscribe(a.SessionID, a.UserID, a.DeviceID, scopes, &actor), nil
}

// ScopesChanged tells the service that data a scope source reads has changed for these users
// (a team dispatched to an incident or released from it). Call it once the change commits
// (sqldb.Querier.AfterCommit). The live connections of the users, on every instance, re-read
// their scopes and are poked, so a device that gained a scope pulls its snapshot at once and
// one that lost it is told to purge it; the users' background phones are woken (FCM) through
// their user scopes.
func (s *Service) ScopesChanged(ctx context.Context, userIDs ...string) {
	userIDs = slices.DeleteFunc(slices.Clone(userIDs), func(id string) bool { return id == "" })
	if len(userIDs) == 0 {
		return
	}
	if s.OnChange != nil {
		wake := make(map[string]int64, len(userIDs))
		for _, id := range userIDs {
			wake[UserScope(id)] = 0
		}
		s.OnChange(wake, Origin{})
	}
	if s.Notify != nil {
		pokes := make(map[string]int64, len(userIDs))
		for _, id := range userIDs {
			pokes[rescopePrefix+id] = 0
		}
		s.Notify(pokes)
		return
	}
	s.rescope(ctx, userIDs)
}

// Publish delivers pokes that came from another instance (or this one through PostgreSQL) to
// the live connections here: scope pokes to the hub, users whose scopes changed to rescope.
func (s *Service) Publish(pokes map[string]int64) {
	var users []string
	plain := pokes
	for k := range pokes {
		if id, ok := strings.CutPrefix(k, rescopePrefix); ok {
			if users == nil {
				plain = make(map[string]int64, len(pokes))
				for k2, v := range pokes {
					if !strings.HasPrefix(k2, rescopePrefix) {
						plain[k2] = v
					}
				}
			}
			users = append(users, id)
		}
	}
	if len(plain) > 0 {
		s.Hub.Publish(plain)
	}
	if len(users) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.rescope(ctx, users)
	}
}

// rescope re-reads the scopes of the users' live connections here and pokes each connection
// whose scopes changed with one of the scopes gained or lost; the poke carries no number, so
// the device syncs whatever its checkpoints.
func (s *Service) rescope(ctx context.Context, userIDs []string) {
	for _, sub := range s.Hub.userSubs(userIDs) {
		scopes, err := s.ActorScopes(ctx, sub.actor)
		if err != nil {
			s.Log.Warn("rescope", "user_id", sub.UserID, "err", err)
			continue
		}
		if changed := s.Hub.setScopes(sub, scopes); changed != "" {
			s.Hub.poke(sub, changed)
		}
	}
}

// Reconcile computes again the place of every record of the collections named in
// sync_replace (a migration names them when the rules that place their records change) and
// records a change for each record whose place differs, so devices gain and lose them and the
// checksums stay true; then it forgets the names. Call it once the collections are registered.
func (s *Service) Reconcile(ctx context.Context) error {
	rows, err := s.DB.Query(ctx, `SELECT collection FROM sync_replace ORDER BY collection`)
	names, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("sync: reconcile: %w", err)
	}
	for _, name := range names {
		n := 0
		err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
			if err := s.Lock(ctx, tx); err != nil {
				return err
			}
			var err error
			if c, ok := s.colls[name]; ok {
				if n, err = s.replace(ctx, tx, name, c); err != nil {
					return err
				}
			}
			_, err = tx.Exec(ctx, `DELETE FROM sync_replace WHERE collection = $1`, name)
			return err
		})
		if err != nil {
			return fmt.Errorf("sync: reconcile %s: %w", name, err)
		}
		s.Log.Info("reconciled the places of a collection", "collection", name, "moved", n)
	}
	return nil
}

// Enumerator is implemented by collections that can list the ids of every record in their
// domain table. Reconcile then also records a change for a domain record the change log has
// never seen (a row a migration inserted in SQL, such as the teams that became team resources
// in 00014), so devices receive it.
type Enumerator interface {
	IDs(ctx context.Context, q sqldb.Querier) ([]string, error)
}

// replace records a move of every live record of the collection whose place has changed, and
// of every domain record missing from the change log when the collection is an Enumerator.
func (s *Service) replace(ctx context.Context, tx sqldb.Querier, name string, c Collection) (int, error) {
	rows, err := tx.Query(ctx, `SELECT record_id FROM sync_records WHERE collection = $1 AND deleted = $2 ORDER BY record_id`, name, false)
	ids, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	var moved []string
	if en, ok := c.(Enumerator); ok {
		all, err := en.IDs(ctx, tx)
		if err != nil {
			return 0, err
		}
		rows, err := tx.Query(ctx, `SELECT record_id FROM sync_records WHERE collection = $1`, name)
		known, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return 0, err
		}
		seen := make(map[string]bool, len(known))
		for _, id := range known {
			seen[id] = true
		}
		for _, id := range all {
			if !seen[id] {
				moved = append(moved, id) // never logged: its first change
			}
		}
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		priors, err := loadPriors(ctx, tx, name, chunk)
		if err != nil {
			return 0, err
		}
		cur, err := c.Load(ctx, tx, chunk)
		if err != nil {
			return 0, err
		}
		for _, id := range chunk {
			f, ok := cur[id]
			if !ok {
				moved = append(moved, id) // gone from the domain: a tombstone
				continue
			}
			p, err := c.Place(ctx, tx, id, f)
			if err != nil {
				return 0, err
			}
			if p != priors[id].place {
				moved = append(moved, id)
			}
		}
	}
	for start := 0; start < len(moved); start += 500 {
		if err := s.Moved(ctx, tx, name, moved[start:min(start+500, len(moved))]...); err != nil {
			return 0, err
		}
	}
	return len(moved), nil
}

package syncsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Pull answers the changes since each checkpoint in every scope the actor holds, latest state
// only, from one consistent snapshot. Scopes the device holds but the actor no longer may read
// are listed to purge; scopes he gained start from a snapshot.
func (s *Service) Pull(ctx context.Context, a *yingji.Actor, req syncproto.PullRequest) (syncproto.PullResponse, error) {
	resp := syncproto.PullResponse{Protocol: syncproto.Protocol, Scopes: []syncproto.ScopeChanges{}}
	if err := CheckProtocol(req.Protocol); err != nil {
		return resp, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	resp.Collections = s.Specs()
	err := s.DB.ReadTx(ctx, func(tx sqldb.Querier) error {
		if s.DB.Engine() == "postgres" {
			// A page is read in seq order and stops after limit rows (the change log's
			// primary key), and the records it names by their keys. With statistics that lag
			// a fast-growing log (right after an import) PostgreSQL planned both as bitmap
			// scans instead: the whole seq range after the checkpoint read and sorted for
			// every page (quadratic in an initial sync), a collection's every record state
			// filtered for a page's ids. Those plans are never better here.
			if _, err := tx.Exec(ctx, "SET LOCAL enable_bitmapscan = off"); err != nil {
				return err
			}
		}
		h, err := head(ctx, tx)
		if err != nil {
			return err
		}
		// The scopes he holds now, read in the snapshot the changes are read in: a scope
		// source's grant and the incident's records arrive together.
		allowed, err := s.actorScopes(ctx, tx, a)
		if err != nil {
			return err
		}
		for sc := range req.Checkpoints {
			if !slices.Contains(allowed, sc) {
				resp.Purge = append(resp.Purge, sc)
			}
		}
		slices.Sort(resp.Purge)
		heads, err := scopeHeads(ctx, tx, allowed)
		if err != nil {
			return err
		}
		budget := limit
		for _, sc := range allowed {
			cp := req.Checkpoints[sc]
			if cp < 0 || cp > h {
				cp = 0 // a checkpoint from another database: start over
			}
			if budget <= 0 {
				resp.Scopes = append(resp.Scopes, syncproto.ScopeChanges{Scope: sc, Records: []syncproto.Record{}, Checkpoint: cp, More: true})
				continue
			}
			if hd, ok := heads[sc]; ok && cp > 0 && hd.last <= cp {
				// Nothing in the scope after the checkpoint (its newest change is at or below
				// it, in this snapshot): no scan of the log.
				resp.Scopes = append(resp.Scopes, syncproto.ScopeChanges{Scope: sc, Records: []syncproto.Record{}, Checkpoint: h,
					Checksum: syncproto.FormatChecksum(uint64(hd.sum)), Count: hd.count})
				continue
			}
			ch, n, err := s.pullScope(ctx, tx, sc, cp, h, budget)
			if err != nil {
				return err
			}
			budget -= n
			resp.Scopes = append(resp.Scopes, ch)
		}
		return nil
	})
	if err != nil {
		return resp, fmt.Errorf("sync: pull: %w", err)
	}
	resp.HLC = s.Clock.Now().String()
	return resp, nil
}

// pullScope reads up to limit change-log rows of one scope after cp (by seq, so the index
// serves it), and answers the current state of the records they name.
func (s *Service) pullScope(ctx context.Context, tx sqldb.Querier, scope string, cp, head int64, limit int) (syncproto.ScopeChanges, int, error) {
	out := syncproto.ScopeChanges{Scope: scope, Reset: cp == 0, Records: []syncproto.Record{}}
	// One branch per key of the scope: the records in it after the change and those in it
	// before. Each is an ordered scan of its own index (migrations 00011, 00015, 00022) from
	// the checkpoint that stops after the page, so a page reads at most branches × (limit+1)
	// index entries however large the log and however small the scope's part of it.
	var branches [][2]string // condition, literal guard that lets the partial index serve it
	var keys [][]any
	kind, id, _ := strings.Cut(scope, ":")
	switch kind {
	case "org", "down":
		var path string
		err := tx.QueryRow(ctx, `SELECT path FROM org_units WHERE id = $1`, id).Scan(&path)
		if errors.Is(err, yingji.ErrNotFound) {
			out.Checkpoint = head
			return out, 0, nil
		} else if err != nil {
			return out, 0, err
		}
		if kind == "org" {
			end := sqldb.PrefixEnd(path)
			branches = [][2]string{{"org_path >= ? AND org_path < ?", "org_path <> ''"}, {"old_org_path >= ? AND old_org_path < ?", "old_org_path <> ''"}}
			keys = [][]any{{path, end}, {path, end}}
		} else {
			// A unit's shared records: those at its own path exactly, shared before or after.
			branches = [][2]string{{"org_path = ?", "shared"}, {"old_org_path = ?", "old_shared"}}
			keys = [][]any{{path}, {path}}
		}
	case "inc":
		branches = [][2]string{{"incident_id = ?", "incident_id <> ''"}, {"old_incident_id = ?", "old_incident_id <> ''"}}
		keys = [][]any{{id}, {id}}
	case "ent":
		branches = [][2]string{{"enterprise_id = ?", "enterprise_id <> ''"}, {"old_enterprise_id = ?", "old_enterprise_id <> ''"}}
		keys = [][]any{{id}, {id}}
	case "user":
		branches = [][2]string{{"user_id = ?", "user_id <> ''"}, {"old_user_id = ?", "old_user_id <> ''"}}
		keys = [][]any{{id}, {id}}
	default:
		out.Checkpoint = head
		return out, 0, nil
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	parts := make([]string, len(branches))
	for i, b := range branches {
		cond := b[0]
		for _, k := range keys[i] {
			cond = strings.Replace(cond, "?", arg(k), 1)
		}
		parts[i] = `SELECT * FROM (SELECT seq, collection, record_id FROM sync_changes WHERE ` + cond + ` AND ` + b[1] +
			` AND seq > ` + arg(cp) + ` AND seq <= ` + arg(head) + ` ORDER BY seq LIMIT ` + arg(limit+1) + `) b` + strconv.Itoa(i)
	}
	rows, err := tx.Query(ctx, `SELECT seq, collection, record_id FROM (`+strings.Join(parts, " UNION ")+`) u ORDER BY seq LIMIT `+arg(limit+1), args...)
	type logged struct {
		seq int64
		ref
	}
	changes, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (logged, error) {
		var c logged
		return c, r.Scan(&c.seq, &c.coll, &c.id)
	})
	if err != nil {
		return out, 0, err
	}
	if len(changes) > limit {
		changes, out.More = changes[:limit], true
		out.Checkpoint = changes[len(changes)-1].seq
	} else {
		out.Checkpoint = head
	}
	// Latest state only: each record once, in the order of its last change in the page.
	var order []ref
	seen := map[ref]bool{}
	for i := len(changes) - 1; i >= 0; i-- {
		if r := changes[i].ref; !seen[r] {
			seen[r] = true
			order = append(order, r)
		}
	}
	slices.Reverse(order)
	byColl := map[string][]string{}
	for _, r := range order {
		byColl[r.coll] = append(byColl[r.coll], r.id)
	}
	states := map[ref]prior{}
	fields := map[ref]Fields{}
	for coll, ids := range byColl {
		st, err := loadStates(ctx, tx, coll, ids, false)
		if err != nil {
			return out, 0, err
		}
		for id, p := range st {
			states[ref{coll, id}] = p
		}
		c, ok := s.colls[coll]
		if !ok {
			continue
		}
		f, err := c.Load(ctx, tx, ids)
		if err != nil {
			return out, 0, err
		}
		for id, v := range f {
			fields[ref{coll, id}] = v
		}
	}
	for _, r := range order {
		p := states[r]
		f, ok := fields[r]
		switch {
		case p.deleted || !ok:
			if cp > 0 {
				out.Records = append(out.Records, syncproto.Record{Collection: r.coll, ID: r.id, Seq: p.seq, Deleted: true})
			}
		case slices.Contains(p.place.Scopes(), scope):
			out.Records = append(out.Records, syncproto.Record{Collection: r.coll, ID: r.id, Seq: p.seq, Fields: f, RawStamps: p.rawStamps})
		default:
			if cp > 0 {
				out.Removed = append(out.Removed, syncproto.RecordRef{Collection: r.coll, ID: r.id})
			}
		}
	}
	if !out.More {
		var sum int64
		err := tx.QueryRow(ctx, `SELECT sum, count FROM sync_sums WHERE scope = $1`, scope).Scan(&sum, &out.Count)
		if err != nil && !errors.Is(err, yingji.ErrNotFound) {
			return out, 0, err
		}
		out.Checksum = syncproto.FormatChecksum(uint64(sum))
	}
	return out, len(changes), nil
}

// scopeHead is a scope's checksum, count and newest change number.
type scopeHead struct {
	sum, count, last int64
}

// scopeHeads reads the heads of the scopes that have one.
func scopeHeads(ctx context.Context, q sqldb.Querier, scopes []string) (map[string]scopeHead, error) {
	out := make(map[string]scopeHead, len(scopes))
	err := sqldb.InChunks(scopes, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT scope, sum, count, last_seq FROM sync_sums WHERE scope IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sc string
			var h scopeHead
			if err := rows.Scan(&sc, &h.sum, &h.count, &h.last); err != nil {
				return err
			}
			out[sc] = h
		}
		return rows.Err()
	})
	return out, err
}

// loadPriors reads the change-log state of many records of one collection.
func loadPriors(ctx context.Context, q sqldb.Querier, coll string, ids []string) (map[string]prior, error) {
	return loadStates(ctx, q, coll, ids, true)
}

// loadStates is loadPriors for a push (withDigests) or a pull. A pull sends no digests, so
// they are neither read nor decoded; nor are the stamps, which it sends as they are stored
// (rawStamps, the JSON text json.Marshal wrote) instead of decoding them to encode them again.
func loadStates(ctx context.Context, q sqldb.Querier, coll string, ids []string, withDigests bool) (map[string]prior, error) {
	out := make(map[string]prior, len(ids))
	digestsCol := "digests"
	if !withDigests {
		digestsCol = "''"
	}
	err := sqldb.InChunks(ids, []any{coll}, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT record_id, seq, org_path, enterprise_id, user_id, shared, incident_id, deleted, deleted_at, stamps, `+digestsCol+` FROM sync_records
			WHERE collection = $1 AND record_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, stamps, digests string
			var p prior
			if err := rows.Scan(&id, &p.seq, &p.place.OrgPath, &p.place.EnterpriseID, &p.place.UserID, &p.place.Shared, &p.place.IncidentID, &p.deleted, &p.deletedAt, &stamps, &digests); err != nil {
				rows.Close()
				return err
			}
			p.exists = true
			if !withDigests {
				// Written by json.Marshal (recordArgs); "null" for a record without stamps.
				if strings.HasPrefix(stamps, "{") && strings.HasSuffix(stamps, "}") {
					p.rawStamps = json.RawMessage(stamps)
				} else {
					p.rawStamps = json.RawMessage("{}")
				}
				out[id] = p
				continue
			}
			if json.Unmarshal([]byte(stamps), &p.stamps) != nil || p.stamps == nil {
				p.stamps = map[string]string{}
			}
			json.Unmarshal([]byte(digests), &p.digests)
			out[id] = p
		}
		rows.Close()
		return rows.Err()
	})
	return out, err
}

// Placeholders returns "$from, $from+1, ..." for n arguments.
func Placeholders(from, n int) string { return sqldb.Placeholders(from, n) }

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/server/knowledge"
	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var _ knowledge.Store = (*Store)(nil)

const knowledgeCols = `id, kind, title, code, issuer, issued_on, body, cas, un, msds, tags, attachments, org_path, updated_by,
	created_at, updated_at`

func scanKnowledge(r sqldb.Row) (knowledge.Entry, error) {
	var e knowledge.Entry
	var msds, tags, att string
	err := r.Scan(&e.ID, &e.Kind, &e.Title, &e.Code, &e.Issuer, &e.IssuedOn, &e.Body, &e.CAS, &e.UN, &msds, &tags, &att,
		&e.OrgPath, &e.UpdatedBy, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	for _, x := range []struct {
		s string
		v any
	}{{msds, &e.MSDS}, {tags, &e.Tags}, {att, &e.Attachments}} {
		if err := json.Unmarshal([]byte(x.s), x.v); err != nil {
			return e, fmt.Errorf("knowledge %s: %w", e.ID, err)
		}
	}
	e.Normalize()
	return e, nil
}

func scanKnowledges(r sqldb.Rows) (knowledge.Entry, error) { return scanKnowledge(r) }

func (s *Store) GetKnowledge(ctx context.Context, id string) (knowledge.Entry, error) {
	e, err := scanKnowledge(s.DB.QueryRow(ctx, `SELECT `+knowledgeCols+` FROM knowledge WHERE id = $1`, id))
	if err != nil {
		return e, fmt.Errorf("store: get knowledge %s: %w", id, err)
	}
	return e, nil
}

var knowledgeSorts = map[string]string{"title": "title", "kind": "kind", "code": "code", "issued_on": "issued_on", "updated_at": "updated_at"}

func (s *Store) ListKnowledge(ctx context.Context, f knowledge.Filter, p yingji.ListParams) (yingji.Page[knowledge.Entry], error) {
	var page yingji.Page[knowledge.Entry]
	p.Normalize()
	order, err := p.OrderBy(knowledgeSorts, "kind ASC, title ASC, id ASC")
	if err != nil {
		return page, err
	}
	var w sqldb.Where
	if f.Kind != "" {
		w.Add("kind = ?", string(f.Kind))
	}
	if f.CAS != "" {
		w.Add("cas = ?", strings.TrimSpace(f.CAS))
	}
	if f.UN != "" {
		w.Add("un = ?", f.UN)
	}
	if f.Q != "" {
		w.Add(`(title LIKE ? ESCAPE '\' OR code LIKE ? ESCAPE '\' OR cas LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM knowledge`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("store: count knowledge: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT `+knowledgeCols+` FROM knowledge`+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(p.PageSize)+` OFFSET `+w.Next(p.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, scanKnowledges)
	if err != nil {
		return page, fmt.Errorf("store: list knowledge: %w", err)
	}
	return page, nil
}

func knowledgeArgs(e knowledge.Entry) []any {
	return []any{e.ID, string(e.Kind), e.Title, e.Code, e.Issuer, e.IssuedOn, e.Body, e.CAS, e.UN, jsonText(e.MSDS), jsonText(e.Tags),
		jsonText(e.Attachments), e.OrgPath, e.UpdatedBy, e.CreatedAt.UTC(), e.UpdatedAt.UTC()}
}

func knowledgeRefs(e knowledge.Entry) mediasvc.Refs {
	r := mediasvc.Refs{Collection: "knowledge", RecordID: e.ID, OrgPath: e.OrgPath}
	for _, a := range e.Attachments {
		r.SHA256s = append(r.SHA256s, a.SHA256)
	}
	return r
}

// saveKnowledgeTx indexes, references and announces a written entry.
func (s *Store) saveKnowledgeTx(ctx context.Context, tx sqldb.Querier, e knowledge.Entry) error {
	if err := indexDoc(ctx, tx, e.Doc(), e.UpdatedAt); err != nil {
		return err
	}
	if err := mediasvc.SetRefs(ctx, tx, knowledgeRefs(e)); err != nil {
		return err
	}
	return s.changed(ctx, tx, "knowledge", e.ID)
}

func (s *Store) CreateKnowledge(ctx context.Context, es []knowledge.Entry) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		for i, e := range es {
			if _, err := tx.Exec(ctx, `INSERT INTO knowledge (`+knowledgeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
				$11, $12, $13, $14, $15, $16)`, knowledgeArgs(e)...); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
			if err := s.saveKnowledgeTx(ctx, tx, e); err != nil {
				return &org.BatchError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create knowledge: %w", err)
	}
	return nil
}

func (s *Store) UpdateKnowledge(ctx context.Context, e knowledge.Entry) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		err := mustAffect(tx.Exec(ctx, `UPDATE knowledge SET kind = $2, title = $3, code = $4, issuer = $5, issued_on = $6, body = $7,
			cas = $8, un = $9, msds = $10, tags = $11, attachments = $12, org_path = $13, updated_by = $14, created_at = $15,
			updated_at = $16 WHERE id = $1`, knowledgeArgs(e)...))
		if err != nil {
			return err
		}
		return s.saveKnowledgeTx(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("store: update knowledge %s: %w", e.ID, err)
	}
	return nil
}

func (s *Store) DeleteKnowledge(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM knowledge WHERE id = $1`, id)); err != nil {
			return err
		}
		if err := unindexDoc(ctx, tx, search.KindKnowledge, id); err != nil {
			return err
		}
		if err := mediasvc.SetRefs(ctx, tx, mediasvc.Refs{Collection: "knowledge", RecordID: id}); err != nil {
			return err
		}
		return s.changed(ctx, tx, "knowledge", id)
	})
	if err != nil {
		return fmt.Errorf("store: delete knowledge %s: %w", id, err)
	}
	return nil
}

// RootPath is the path of the top org unit (the first city when there are several).
func (s *Store) RootPath(ctx context.Context) (string, error) {
	var path string
	err := s.DB.QueryRow(ctx, `SELECT path FROM org_units WHERE parent_id IS NULL ORDER BY sort, path LIMIT 1`).Scan(&path)
	if err != nil {
		return "", fmt.Errorf("store: root unit: %w", err)
	}
	return path, nil
}

var knowledgeSpec = &syncproto.CollectionSpec{Name: "knowledge", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "title", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "issuer", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "issued_on", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "body", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "cas", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "un", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "msds", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
	{Name: "tags", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "attachments", Type: syncproto.TypeArray, Rule: syncproto.ServerOwned},
	{Name: "search_text", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

// KnowledgeCollection is the synced, read-only knowledge base on this store.
func (s *Store) KnowledgeCollection() syncsvc.Collection { return knowledgeCollection{} }

type knowledgeCollection struct{ readOnly }

func (knowledgeCollection) Spec() *syncproto.CollectionSpec { return knowledgeSpec }

func (knowledgeCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	out := map[string]syncsvc.Fields{}
	err := sqldb.InChunks(ids, nil, func(args []any, ph string) error {
		rows, err := q.Query(ctx, `SELECT `+knowledgeCols+` FROM knowledge WHERE id IN (`+ph+`)`, args...)
		es, err := sqldb.CollectRows(rows, err, scanKnowledges)
		for _, e := range es {
			out[e.ID] = syncsvc.Fields{"kind": syncsvc.JSON(e.Kind), "title": syncsvc.JSON(e.Title), "code": syncsvc.JSON(e.Code),
				"issuer": syncsvc.JSON(e.Issuer), "issued_on": syncsvc.JSON(e.IssuedOn), "body": syncsvc.JSON(e.Body),
				"cas": syncsvc.JSON(e.CAS), "un": syncsvc.JSON(e.UN), "msds": syncsvc.JSON(e.MSDS), "tags": syncsvc.JSON(e.Tags),
				"attachments": syncsvc.JSON(e.Attachments), "search_text": syncsvc.JSON(e.Text()), "org_path": syncsvc.JSON(e.OrgPath)}
		}
		return err
	})
	return out, err
}

// Place: the knowledge base is shared with everyone below the unit that keeps it.
func (knowledgeCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), Shared: true}, nil
}

// ---- 应急通讯录 ----

// DirectoryEntry is one row of the emergency directory.
type DirectoryEntry struct {
	ID, Source, Name, Department, Post, Phone, OrgPath, EnterpriseID string
}

func (d DirectoryEntry) digest() string {
	h := sha256.Sum256([]byte(strings.Join([]string{d.Source, d.Name, d.Department, d.Post, d.Phone, d.OrgPath, d.EnterpriseID}, "\x00")))
	return hex.EncodeToString(h[:8])
}

// directoryWanted computes the directory from users and enterprise contacts with a phone.
func directoryWanted(ctx context.Context, q sqldb.Querier) ([]DirectoryEntry, error) {
	rows, err := q.Query(ctx, `SELECT u.id, u.name, u.role, u.phone, u.org_path, COALESCE(u.enterprise_id, ''),
		COALESCE(e.name, t.name, o.name, '') FROM users u
		LEFT JOIN enterprises e ON e.id = u.enterprise_id LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN org_units o ON o.id = u.org_unit_id
		WHERE u.disabled = $1 AND u.phone <> ''`, false)
	users, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (DirectoryEntry, error) {
		d := DirectoryEntry{Source: "user"}
		var role string
		err := r.Scan(&d.ID, &d.Name, &role, &d.Phone, &d.OrgPath, &d.EnterpriseID, &d.Department)
		d.Post = yingji.Role(role).Name()
		return d, err
	})
	if err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT c.id, c.name, c.title, c.phone, e.org_path, e.id, e.name FROM contacts c
		JOIN enterprises e ON e.id = c.enterprise_id WHERE c.phone <> ''`)
	contacts, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (DirectoryEntry, error) {
		d := DirectoryEntry{Source: "contact"}
		return d, r.Scan(&d.ID, &d.Name, &d.Post, &d.Phone, &d.OrgPath, &d.EnterpriseID, &d.Department)
	})
	return append(users, contacts...), err
}

// RefreshDirectory brings the emergency directory up to date with users and contacts and
// tells phones what changed; it answers how many rows changed.
func (s *Store) RefreshDirectory(ctx context.Context, now time.Time) (int, error) {
	changed := 0
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		want, err := directoryWanted(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, digest FROM directory`)
		have, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) ([2]string, error) {
			var p [2]string
			return p, r.Scan(&p[0], &p[1])
		})
		if err != nil {
			return err
		}
		old := map[string]string{}
		for _, h := range have {
			old[h[0]] = h[1]
		}
		var ids []string
		for _, d := range want {
			dg := d.digest()
			if cur, ok := old[d.ID]; ok {
				delete(old, d.ID)
				if cur == dg {
					continue
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO directory (id, source, name, department, post, phone, org_path, enterprise_id, digest, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET source = excluded.source, name = excluded.name,
				department = excluded.department, post = excluded.post, phone = excluded.phone, org_path = excluded.org_path,
				enterprise_id = excluded.enterprise_id, digest = excluded.digest, updated_at = excluded.updated_at`,
				d.ID, d.Source, d.Name, d.Department, d.Post, d.Phone, d.OrgPath, d.EnterpriseID, dg, now.UTC()); err != nil {
				return err
			}
			ids = append(ids, d.ID)
		}
		for id := range old {
			if _, err := tx.Exec(ctx, `DELETE FROM directory WHERE id = $1`, id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		changed = len(ids)
		return s.changed(ctx, tx, "directory", ids...)
	})
	if err != nil {
		return 0, fmt.Errorf("store: refresh directory: %w", err)
	}
	return changed, nil
}

var directorySpec = &syncproto.CollectionSpec{Name: "directory", ReadOnly: true, Fields: []syncproto.FieldSpec{
	{Name: "source", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "department", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "post", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "phone", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	{Name: "enterprise_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
}}

// DirectoryCollection is the synced emergency directory (应急通讯录), read-only on phones.
func (s *Store) DirectoryCollection() syncsvc.Collection {
	return &directoryCollection{Table: syncsvc.Table{Name: "directory",
		Columns: []string{"source", "name", "department", "post", "phone", "enterprise_id", "org_path"}}}
}

type directoryCollection struct {
	readOnly
	syncsvc.Table
}

func (*directoryCollection) Spec() *syncproto.CollectionSpec { return directorySpec }

func (c *directoryCollection) Load(ctx context.Context, q sqldb.Querier, ids []string) (map[string]syncsvc.Fields, error) {
	return c.Table.Load(ctx, q, ids)
}

func (c *directoryCollection) Save(ctx context.Context, q sqldb.Querier, id string, f syncsvc.Fields, created, deleted bool) error {
	return c.readOnly.Save(ctx, q, id, f, created, deleted)
}

// Place: the government's people (users of units and teams) are in the directory of everyone
// below their unit; an enterprise's people and contacts stay with the enterprise and above.
func (*directoryCollection) Place(_ context.Context, _ sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	ent := syncsvc.Str(f, "enterprise_id")
	return syncsvc.Place{OrgPath: syncsvc.Str(f, "org_path"), EnterpriseID: ent, Shared: ent == ""}, nil
}

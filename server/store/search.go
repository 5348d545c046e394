package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/yingji/yingji/bigram"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

var _ search.Store = (*Store)(nil)

// The full-text index (package bigram): search_docs holds each document's text and scope,
// search_terms its terms with their weights. Both are written in the transaction that
// publishes a plan or saves a knowledge entry.

// termRowsPerInsert bounds one multi-row insert (4 arguments a row).
const termRowsPerInsert = 200

// indexDoc replaces a document in the index.
func indexDoc(ctx context.Context, q sqldb.Querier, d search.Doc, at time.Time) error {
	if err := unindexDoc(ctx, q, d.Kind, d.ID); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO search_docs (kind, doc_id, ref_id, title, org_path, enterprise_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.Kind, d.ID, d.RefID, d.Title, d.OrgPath, d.EnterpriseID, at.UTC()); err != nil {
		return fmt.Errorf("store: index %s %s: %w", d.Kind, d.ID, err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO search_texts (kind, doc_id, body, norm) VALUES ($1, $2, $3, $4)`,
		d.Kind, d.ID, d.Body, bigram.Normalize(d.Title+"\n"+d.Body)); err != nil {
		return fmt.Errorf("store: index %s %s: %w", d.Kind, d.ID, err)
	}
	terms := bigram.Terms(d.Title, d.Body)
	vals := make([]string, 0, termRowsPerInsert)
	args := make([]any, 0, 4*termRowsPerInsert)
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		_, err := q.Exec(ctx, `INSERT INTO search_terms (kind, term, doc_id, weight) VALUES `+strings.Join(vals, ", "), args...)
		vals, args = vals[:0], args[:0]
		return err
	}
	for t, w := range terms {
		n := len(args)
		vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4))
		args = append(args, d.Kind, t, d.ID, w)
		if len(vals) == termRowsPerInsert {
			if err := flush(); err != nil {
				return fmt.Errorf("store: index %s %s: %w", d.Kind, d.ID, err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("store: index %s %s: %w", d.Kind, d.ID, err)
	}
	return nil
}

// unindexDoc removes a document from the index.
func unindexDoc(ctx context.Context, q sqldb.Querier, kind, id string) error {
	if _, err := q.Exec(ctx, `DELETE FROM search_terms WHERE kind = $1 AND doc_id = $2`, kind, id); err != nil {
		return fmt.Errorf("store: unindex %s %s: %w", kind, id, err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM search_docs WHERE kind = $1 AND doc_id = $2`, kind, id); err != nil {
		return fmt.Errorf("store: unindex %s %s: %w", kind, id, err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM search_texts WHERE kind = $1 AND doc_id = $2`, kind, id); err != nil {
		return fmt.Errorf("store: unindex %s %s: %w", kind, id, err)
	}
	return nil
}

// Search answers the documents that have every term of the query and contain every word of
// it, in the scope, by score. The index finds the candidates; a word longer than one term (a
// phrase or a code) is then checked as a substring of each candidate's folded text, so a hit
// and the total are exact. Only the page's texts are read for snippets.
func (s *Store) Search(ctx context.Context, r search.Request) (yingji.Page[search.Hit], error) {
	page := yingji.Page[search.Hit]{Items: []search.Hit{}}
	p := r.Page
	p.Normalize()
	if r.Query.Empty() {
		return page, nil
	}
	var w sqldb.Where
	w.Add("kind = ?", r.Kind)
	in := make([]string, len(r.Query.Terms))
	for i, t := range r.Query.Terms {
		in[i] = w.Next(t)
	}
	// The terms' rows are read by the primary key (kind, term) and grouped afterwards: left to
	// itself, SQLite would walk the (kind, doc_id) index in GROUP BY order over every row.
	hits := `SELECT doc_id, SUM(weight) AS score FROM (SELECT doc_id, weight FROM search_terms` + w.SQL() + ` AND term IN (` +
		strings.Join(in, ", ") + `) ORDER BY term, doc_id) t GROUP BY doc_id HAVING COUNT(*) = ` + w.Next(len(r.Query.Terms))
	conds := []string{"d.kind = $1"} // the outer conditions continue the numbering of the same arguments
	if !r.Scope.All {
		var or []string
		if pre := r.Scope.OrgPrefix; pre != "" {
			or = append(or, "(d.org_path >= "+w.Next(pre)+" AND d.org_path < "+w.Next(sqldb.PrefixEnd(pre))+")")
		}
		if e := r.Scope.EnterpriseID; e != "" {
			or = append(or, "d.enterprise_id = "+w.Next(e))
		}
		if a := r.Scope.Ancestors; a != "" {
			or = append(or, "(d.enterprise_id = '' AND d.org_path <> '' AND substr("+w.Next(a)+", 1, length(d.org_path)) = d.org_path)")
		}
		if len(or) == 0 {
			return page, nil
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	// A one- or two-character CJK word is its own term: every candidate has it. Longer words
	// are checked as substrings of the folded text: in the query on PostgreSQL (strpos, so the
	// texts stay on the server), in Go on SQLite (faster than its instr and LIKE).
	var check []string
	for _, word := range r.Query.Words {
		if len([]rune(word)) > 2 || !isCJK(word) {
			check = append(check, word)
		}
	}
	if s.DB.Engine() == sqldb.Postgres {
		for _, word := range check {
			conds = append(conds, `EXISTS (SELECT 1 FROM search_texts x WHERE x.kind = d.kind AND x.doc_id = d.doc_id AND strpos(x.norm, `+
				w.Next(word)+`) > 0)`)
		}
		check = nil
	}
	q := `WITH hits AS (` + hits + `)
		SELECT d.doc_id, d.ref_id, d.title, h.score FROM hits h JOIN search_docs d ON d.doc_id = h.doc_id
		WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY h.score DESC, d.title, d.doc_id`
	rows, err := s.DB.Query(ctx, q, w.Args...)
	cands, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (search.Hit, error) {
		h := search.Hit{}
		return h, r.Scan(&h.ID, &h.RefID, &h.Title, &h.Score)
	})
	if err != nil {
		return page, fmt.Errorf("store: search: %w", err)
	}
	if len(check) > 0 && len(cands) > 0 {
		ok := map[string]bool{}
		err = sqldb.InChunks(itemIDs(cands), []any{r.Kind}, func(args []any, ph string) error {
			rows, err := s.DB.Query(ctx, `SELECT doc_id, norm FROM search_texts WHERE kind = $1 AND doc_id IN (`+ph+`)`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, norm string
				if err := rows.Scan(&id, &norm); err != nil {
					return err
				}
				all := true
				for _, word := range check {
					all = all && strings.Contains(norm, word)
				}
				ok[id] = all
			}
			return rows.Err()
		})
		if err != nil {
			return page, fmt.Errorf("store: search texts: %w", err)
		}
		kept := cands[:0]
		for _, c := range cands {
			if ok[c.ID] {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	page.Total = len(cands)
	items := cands[min(p.Offset(), len(cands)):min(p.Offset()+p.PageSize, len(cands))]
	if len(items) == 0 {
		return page, nil
	}
	bodies := map[string]string{}
	err = sqldb.InChunks(itemIDs(items), []any{r.Kind}, func(args []any, ph string) error {
		rows, err := s.DB.Query(ctx, `SELECT doc_id, body FROM search_texts WHERE kind = $1 AND doc_id IN (`+ph+`)`, args...)
		pairs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) ([2]string, error) {
			var p [2]string
			return p, r.Scan(&p[0], &p[1])
		})
		for _, p := range pairs {
			bodies[p[0]] = p[1]
		}
		return err
	})
	if err != nil {
		return page, fmt.Errorf("store: search bodies: %w", err)
	}
	for i := range items {
		h := &items[i]
		h.Kind = r.Kind
		body := bodies[h.ID]
		if len(r.Query.Marks(body)) == 0 {
			body = h.Title // matched in the title only
		}
		h.Snippet = r.Query.HTMLSnippet(body, search.SnippetWidth)
	}
	page.Items = items
	return page, nil
}

func itemIDs(hs []search.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// isCJK reports whether every rune of s is a CJK character.
func isCJK(s string) bool {
	for _, r := range s {
		if r < 0x2E80 {
			return false
		}
	}
	return true
}

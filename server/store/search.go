package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
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

// termRowsPerInsert bounds one multi-row insert (5 arguments a row).
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
	positions := bigram.Positions(d.Title, d.Body)
	vals := make([]string, 0, termRowsPerInsert)
	args := make([]any, 0, 5*termRowsPerInsert)
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		_, err := q.Exec(ctx, `INSERT INTO search_terms (kind, term, doc_id, weight, positions) VALUES `+strings.Join(vals, ", "), args...)
		vals, args = vals[:0], args[:0]
		return err
	}
	for t, w := range terms {
		n := len(args)
		vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5))
		args = append(args, d.Kind, t, d.ID, w, encodePositions(positions[t]))
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
// it, in the scope, by score (then title and id, in byte order on both engines). The index
// finds the candidates and verifies most words: a word that is itself one of its terms needs
// nothing more, and a CJK phrase of more than two characters is verified by its bigrams'
// positions (bigram.Consecutive). Only the other words (codes with joiners, mixed words) and
// documents indexed without positions are checked as substrings of the folded text, so a hit
// and the total are exact. Only the page's texts are read for snippets.
func (s *Store) Search(ctx context.Context, r search.Request) (yingji.Page[search.Hit], error) {
	page := yingji.Page[search.Hit]{Items: []search.Hit{}}
	p := r.Page
	p.Normalize()
	if r.Query.Empty() {
		return page, nil
	}
	// What each word needs beyond its terms.
	var phrases [][]string // the bigrams of each long CJK word
	var check []string     // words checked in the text
	posTerm := map[string]bool{}
	for _, word := range r.Query.Words {
		switch bis := bigram.Phrase(word); {
		case bigram.SelfEvident(word):
		case bis != nil:
			phrases = append(phrases, bis)
			for _, b := range bis {
				posTerm[b] = true
			}
		default:
			check = append(check, word)
		}
	}
	var w sqldb.Where
	w.Add("t.kind = ?", r.Kind)
	in := make([]string, len(r.Query.Terms))
	for i, t := range r.Query.Terms {
		in[i] = w.Next(t)
	}
	w.Add("t.term IN (" + strings.Join(in, ", ") + ")")
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
		w.Add("(" + strings.Join(or, " OR ") + ")")
	}
	// One row per (document, query term) in scope; the title comes once per document (with
	// its first term, which every candidate has) and the positions only for phrase bigrams.
	// CROSS JOIN keeps SQLite reading the terms by their primary key (kind, term) first.
	first := w.Next(r.Query.Terms[0])
	posCol := "NULL"
	if len(posTerm) > 0 {
		var pin []string
		for t := range posTerm {
			pin = append(pin, w.Next(t))
		}
		posCol = "CASE WHEN t.term IN (" + strings.Join(pin, ", ") + ") THEN t.positions END"
	}
	q := `SELECT t.doc_id, t.term, t.weight, ` + posCol + `, CASE WHEN t.term = ` + first + ` THEN d.ref_id END,
		CASE WHEN t.term = ` + first + ` THEN d.title END
		FROM search_terms t CROSS JOIN search_docs d` + w.SQL() + ` AND d.kind = t.kind AND d.doc_id = t.doc_id`
	type cand struct {
		hit      search.Hit
		terms    int
		noPos    bool // indexed before positions were kept
		pos      map[string][]byte
		verified bool
	}
	byID := map[string]*cand{}
	rows, err := s.DB.Query(ctx, q, w.Args...)
	if err != nil {
		return page, fmt.Errorf("store: search: %w", err)
	}
	for rows.Next() {
		var id, term string
		var weight int
		var pos []byte
		var ref, title *string
		if err := rows.Scan(&id, &term, &weight, &pos, &ref, &title); err != nil {
			rows.Close()
			return page, fmt.Errorf("store: search: %w", err)
		}
		c := byID[id]
		if c == nil {
			c = &cand{hit: search.Hit{ID: id}}
			byID[id] = c
		}
		c.terms++
		c.hit.Score += weight
		if title != nil {
			c.hit.Title, c.hit.RefID = *title, *ref
		}
		if posTerm[term] {
			if len(pos) == 0 {
				c.noPos = true
			} else {
				if c.pos == nil {
					c.pos = map[string][]byte{}
				}
				c.pos[term] = pos
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("store: search: %w", err)
	}
	cands := make([]search.Hit, 0, len(byID))
	var textCheck []string // candidates whose words are checked in the text
	inText := map[string]bool{}
	for id, c := range byID {
		if c.terms != len(r.Query.Terms) {
			continue
		}
		if !c.noPos && !phrasesAt(phrases, c.pos) {
			continue
		}
		if c.noPos || len(check) > 0 {
			textCheck = append(textCheck, id)
			inText[id] = true
		}
		cands = append(cands, c.hit)
	}
	if len(textCheck) > 0 {
		words := check
		if len(phrases) > 0 {
			words = r.Query.Words // the documents without positions check every word
		}
		ok, err := s.containAll(ctx, r.Kind, textCheck, words)
		if err != nil {
			return page, err
		}
		kept := cands[:0]
		for _, c := range cands {
			if ok[c.ID] || !inText[c.ID] {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	slices.SortFunc(cands, func(a, b search.Hit) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		if c := strings.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
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

// phrasesAt reports whether every phrase's bigrams occur at consecutive offsets in a
// document, by its encoded positions of those bigrams.
func phrasesAt(phrases [][]string, pos map[string][]byte) bool {
	for _, bis := range phrases {
		lists := make([][]int, len(bis))
		for i, b := range bis {
			lists[i] = decodePositions(pos[b])
		}
		if !bigram.Consecutive(lists) {
			return false
		}
	}
	return true
}

// containAll returns which of the documents' folded texts contain every word: with strpos on
// PostgreSQL (the texts stay on the server), in Go on SQLite (faster than its instr and LIKE).
func (s *Store) containAll(ctx context.Context, kind string, ids, words []string) (map[string]bool, error) {
	ok := map[string]bool{}
	err := sqldb.InChunks(ids, []any{kind}, func(args []any, ph string) error {
		if s.DB.Engine() == sqldb.Postgres {
			conds := ""
			for _, word := range words {
				args = append(args, word)
				conds += fmt.Sprintf(" AND strpos(norm, $%d) > 0", len(args))
			}
			rows, err := s.DB.Query(ctx, `SELECT doc_id FROM search_texts WHERE kind = $1 AND doc_id IN (`+ph+`)`+conds, args...)
			found, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
				var id string
				return id, r.Scan(&id)
			})
			for _, id := range found {
				ok[id] = true
			}
			return err
		}
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
			for _, word := range words {
				all = all && strings.Contains(norm, word)
			}
			ok[id] = all
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: search texts: %w", err)
	}
	return ok, nil
}

// encodePositions writes ascending offsets as unsigned varint deltas.
func encodePositions(ps []int) []byte {
	out := make([]byte, 0, len(ps)*2)
	prev := 0
	for _, p := range ps {
		out = binary.AppendUvarint(out, uint64(p-prev))
		prev = p
	}
	return out
}

// decodePositions reads what encodePositions wrote.
func decodePositions(b []byte) []int {
	out := make([]int, 0, len(b))
	prev := 0
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			break
		}
		prev += int(d)
		out = append(out, prev)
		b = b[n:]
	}
	return out
}

func itemIDs(hs []search.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

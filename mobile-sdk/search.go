package sdk

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"

	"github.com/yingji/yingji/bigram"
)

// Offline search (预案查询、知识库检索): the replica keeps the same bigram index as the server
// (package bigram), built from the records of a collection when it is first searched and
// caught up on every later search with the records whose seq changed since. A record's
// "title" field is its title and its "search_text" field (which the server sends for plans and
// the knowledge base) its body; a record without search_text is indexed on all its text fields.
// The index tables are created on first use, so replicas of earlier versions need no migration.

const searchSchema = `
CREATE TABLE IF NOT EXISTS search_docs (
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    norm       TEXT    NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS search_terms (
    collection TEXT    NOT NULL,
    term       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    weight     INTEGER NOT NULL,
    PRIMARY KEY (collection, term, id)
);
CREATE INDEX IF NOT EXISTS search_terms_doc ON search_terms (collection, id);`

// SearchHit is one offline search result, best first.
type SearchHit struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Title      string `json:"title"`
	// Snippet is about 80 characters of the text around the first match, every match in 【】.
	Snippet string `json:"snippet"`
	Score   int    `json:"score"`
}

// SnippetOpen and SnippetClose mark a match in SearchHit.Snippet.
const (
	SnippetOpen  = "【"
	SnippetClose = "】"
)

// Search finds the live records of a collection containing every word of query (Chinese
// without word segmentation, letters, numbers such as a CAS number), offline, best first, at
// most limit (default 20). Words are separated by spaces.
func (c *Client) Search(ctx context.Context, collection, query string, limit int) ([]SearchHit, error) {
	if _, _, err := specFor(ctx, c.db, collection); err != nil {
		return nil, err
	}
	q := bigram.Parse(query)
	if q.Empty() {
		return nil, errorf(KindInvalid, "search.bad_query", "请输入检索词（汉字、字母或数字）")
	}
	if limit <= 0 {
		limit = 20
	}
	if err := c.inTx(ctx, func(tx *sql.Tx) error { return catchUpIndex(ctx, tx, collection) }); err != nil {
		return nil, err
	}
	args := []any{collection}
	in := make([]string, len(q.Terms))
	for i, t := range q.Terms {
		in[i] = "?"
		args = append(args, t)
	}
	args = append(args, len(q.Terms), collection)
	var conds []string
	for _, w := range q.Words {
		conds = append(conds, `d.norm LIKE ? ESCAPE '\'`)
		args = append(args, "%"+bigram.EscapeLike(w)+"%")
	}
	args = append(args, limit)
	rows, err := c.db.QueryContext(ctx, `WITH hits AS (SELECT id, SUM(weight) AS score FROM search_terms
		WHERE collection = ? AND term IN (`+strings.Join(in, ", ")+`) GROUP BY id HAVING COUNT(*) = ?)
		SELECT d.id, d.title, d.body, h.score FROM hits h JOIN search_docs d ON d.collection = ? AND d.id = h.id
		WHERE `+strings.Join(conds, " AND ")+` ORDER BY h.score DESC, d.title, d.id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SearchHit{}
	for rows.Next() {
		h := SearchHit{Collection: collection}
		var body string
		if err := rows.Scan(&h.ID, &h.Title, &body, &h.Score); err != nil {
			return nil, err
		}
		if len(q.Marks(body)) == 0 {
			body = h.Title
		}
		h.Snippet = q.Snippet(body, 80, SnippetOpen, SnippetClose, nil)
		out = append(out, h)
	}
	return out, rows.Err()
}

// catchUpIndex brings the index of a collection up to the replica: documents of records that
// are gone are dropped, records new or changed since they were indexed are (re)indexed.
func catchUpIndex(ctx context.Context, tx *sql.Tx, collection string) error {
	if _, err := tx.ExecContext(ctx, searchSchema); err != nil {
		return err
	}
	gone, err := ids(tx.QueryContext(ctx, `SELECT d.id FROM search_docs d LEFT JOIN records r
		ON r.collection = d.collection AND r.id = d.id AND r.v_exists = 1 AND r.v_deleted = 0
		WHERE d.collection = ? AND r.id IS NULL`, collection))
	if err != nil {
		return err
	}
	for _, id := range gone {
		if err := unindex(ctx, tx, collection, id); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.seq, r.v_fields FROM records r LEFT JOIN search_docs d
		ON d.collection = r.collection AND d.id = r.id
		WHERE r.collection = ? AND r.v_exists = 1 AND r.v_deleted = 0 AND (d.id IS NULL OR d.seq <> r.seq)`, collection)
	if err != nil {
		return err
	}
	type changed struct {
		id     string
		seq    int64
		fields string
	}
	var todo []changed
	for rows.Next() {
		var ch changed
		if err := rows.Scan(&ch.id, &ch.seq, &ch.fields); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, ch)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ch := range todo {
		var f map[string]json.RawMessage
		json.Unmarshal([]byte(ch.fields), &f)
		title, body := searchText(f)
		if err := unindex(ctx, tx, collection, ch.id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_docs (collection, id, seq, title, body, norm) VALUES (?, ?, ?, ?, ?, ?)`,
			collection, ch.id, ch.seq, title, body, bigram.Normalize(title+"\n"+body)); err != nil {
			return err
		}
		for term, w := range bigram.Terms(title, body) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_terms (collection, term, id, weight) VALUES (?, ?, ?, ?)`,
				collection, term, ch.id, w); err != nil {
				return err
			}
		}
	}
	return nil
}

func unindex(ctx context.Context, tx *sql.Tx, collection, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_terms WHERE collection = ? AND id = ?`, collection, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE collection = ? AND id = ?`, collection, id)
	return err
}

func ids(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// searchText is a record's title and body for the index.
func searchText(f map[string]json.RawMessage) (string, string) {
	str := func(name string) string {
		var s string
		json.Unmarshal(f[name], &s)
		return s
	}
	title := str("title")
	if title == "" {
		title = str("name")
	}
	if body := str("search_text"); body != "" {
		return title, body
	}
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		if s := str(k); s != "" && k != "title" {
			parts = append(parts, s)
		}
	}
	return title, strings.Join(parts, "\n")
}

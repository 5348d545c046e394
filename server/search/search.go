// Package search is the full-text search of published plans and the knowledge base: the
// request and hit types the plan and knowledge services share. The terms come from package
// bigram, the same the phone SDK indexes with; the store keeps them (search_docs,
// search_terms) in SQL both engines accept.
package search

import (
	"context"

	"github.com/yingji/yingji/bigram"
	"github.com/yingji/yingji/server/yingji"
)

// Document kinds in the index.
const (
	KindPlan      = "plan"      // doc_id: the plan id; ref_id: its published version
	KindKnowledge = "knowledge" // doc_id: the knowledge entry id
)

// Doc is one indexed document.
type Doc struct {
	Kind         string
	ID           string
	RefID        string
	Title        string
	Body         string
	OrgPath      string
	EnterpriseID string
}

// Scope limits which documents a search may return (set by the service from the actor).
type Scope struct {
	All          bool   // every document of the kind (the city-wide knowledge base)
	OrgPrefix    string // documents in this subtree
	EnterpriseID string // an enterprise user's own documents
	// Ancestors: government documents (no enterprise) of the units on this path, so a
	// township reads the city's plans.
	Ancestors string
}

// Request is one search.
type Request struct {
	Kind  string
	Query bigram.Query
	Scope Scope
	Page  yingji.ListParams
}

// Hit is one search result, best first.
type Hit struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`     // plan id or knowledge entry id
	RefID   string `json:"ref_id"` // the published version of a plan
	Title   string `json:"title"`
	Snippet string `json:"snippet"` // HTML: the text escaped, every match in <mark>
	Score   int    `json:"score"`   // sum of the weights of the query terms (title counts ×10)
}

// Store searches the index. Indexing happens in the stores' writes (publish, knowledge edits).
type Store interface {
	Search(ctx context.Context, r Request) (yingji.Page[Hit], error)
}

// SnippetWidth is how many characters a hit's snippet shows.
const SnippetWidth = 120

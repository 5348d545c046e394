package yingji

import (
	"strings"
	"time"
)

// ListParams are the paging and sorting parameters every list accepts.
type ListParams struct {
	Page     int
	PageSize int
	Sort     string // a field name, "-" prefix for descending
}

// MaxPageSize bounds a page.
const MaxPageSize = 500

// Normalize fills defaults and bounds.
func (p *ListParams) Normalize() {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.PageSize < 1 {
		p.PageSize = 20
	}
	if p.PageSize > MaxPageSize {
		p.PageSize = MaxPageSize
	}
}

// Offset is the row offset of the page.
func (p ListParams) Offset() int { return (p.Page - 1) * p.PageSize }

// OrderBy returns "col ASC|DESC" for the sort field when it is one of allowed (API name →
// column), else def. Unknown sort fields are refused so a client learns of its typo.
func (p ListParams) OrderBy(allowed map[string]string, def string) (string, error) {
	if p.Sort == "" {
		return def, nil
	}
	name, dir := p.Sort, "ASC"
	if strings.HasPrefix(name, "-") {
		name, dir = name[1:], "DESC"
	}
	col, ok := allowed[name]
	if !ok {
		return "", Invalid("list.bad_sort", "sort", "不支持按“%s”排序", name)
	}
	// The id tie-breaker takes the column's table alias ("a.started_at" → "a.id"), so a
	// query joining tables is not ambiguous.
	id := "id"
	if i := strings.LastIndex(col, "."); i > 0 && !strings.ContainsAny(col, " (") {
		id = col[:i+1] + "id"
	}
	return col + " " + dir + ", " + id + " " + dir, nil
}

// Page is one page of a list, as the API answers it.
type Page[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// Clock returns the current time; services take one so tests can replace it.
type Clock func() time.Time

package resource

import (
	"cmp"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/quadtree"
)

// Entry is what the spatial index keeps of a located resource: enough to filter, to draw on
// the map and to answer a nearest query without the database.
type Entry struct {
	ID            string   `json:"id"`
	Kind          Kind     `json:"kind"`
	Name          string   `json:"name"`
	Code          string   `json:"code"`
	Category      string   `json:"category"`
	Subtype       string   `json:"subtype"`
	Owner         Owner    `json:"owner"`
	OrgPath       string   `json:"org_path"`
	EnterpriseID  string   `json:"enterprise_id"`
	HolderID      string   `json:"holder_id"`
	Status        Status   `json:"status"`
	Quantity      float64  `json:"quantity"`
	Unit          string   `json:"unit"`
	Available     float64  `json:"available"`
	AccidentTypes []string `json:"accident_types"`
	Contact       string   `json:"contact"`
	Phone         string   `json:"phone"`
	Address       string   `json:"address"`
	Lat           float64  `json:"lat"`
	Lng           float64  `json:"lng"`
}

// Point places the entry in the quadtree (x = longitude, y = latitude).
func (e *Entry) Point() orb.Point { return orb.Point{e.Lng, e.Lat} }

// EntryOf returns the index entry of a resource, or nil when it has no location.
func EntryOf(r Resource) *Entry {
	if r.Location == nil {
		return nil
	}
	types := r.AccidentTypes
	if types == nil {
		types = []string{}
	}
	return &Entry{ID: r.ID, Kind: r.Kind, Name: r.Name, Code: r.Code, Category: r.Category, Subtype: r.Subtype, Owner: r.Owner,
		OrgPath: r.OrgPath, EnterpriseID: r.EnterpriseID, HolderID: r.HolderID, Status: r.Status, Quantity: r.Quantity, Unit: r.Unit,
		Available: r.Available(), AccidentTypes: types, Contact: r.Contact, Phone: r.Phone, Address: r.Address,
		Lat: r.Location.Lat, Lng: r.Location.Lng}
}

// Query asks for the nearest resources to a point. Zero-valued filters do not filter.
type Query struct {
	Lat, Lng     float64
	N            int
	Kinds        []Kind // none: every kind
	Category     string
	Subtype      string
	Status       Status
	AccidentType string  // the resource handles this accident type
	MinAvailable float64 // Entry.Available at least this
	Owner        Owner
	MaxDistanceM float64 // 0: no limit
}

// Match reports whether the entry passes the query's filters (not its kinds or distance).
func (q *Query) Match(e *Entry) bool {
	return (q.Category == "" || e.Category == q.Category) &&
		(q.Subtype == "" || e.Subtype == q.Subtype) &&
		(q.Status == "" || e.Status == q.Status) &&
		(q.Owner == "" || e.Owner == q.Owner) &&
		(q.MinAvailable <= 0 || e.Available >= q.MinAvailable) &&
		(q.AccidentType == "" || slices.Contains(e.AccidentTypes, q.AccidentType))
}

// Hit is one answer of a nearest query.
type Hit struct {
	*Entry
	DistanceM float64 `json:"distance_m"`
}

// Index holds every located resource in one quadtree per kind (paulmach/orb), kept current by
// the service on every write and reloaded when another instance changed the table. Version is
// the table version (meta resources_version) the index reflects.
type Index struct {
	mu      sync.RWMutex
	trees   map[Kind]*quadtree.Quadtree
	byID    map[string]*Entry
	version int64
	stale   bool
}

var world = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}

// NewIndex returns an empty index at version 0.
func NewIndex() *Index {
	x := &Index{}
	x.trees, x.byID = newTrees(), map[string]*Entry{}
	return x
}

func newTrees() map[Kind]*quadtree.Quadtree {
	t := make(map[Kind]*quadtree.Quadtree, len(Kinds))
	for _, k := range Kinds {
		t[k] = quadtree.New(world)
	}
	return t
}

// Replace swaps in the given entries as the whole index at version.
func (x *Index) Replace(entries []*Entry, version int64) {
	trees, byID := newTrees(), make(map[string]*Entry, len(entries))
	for _, e := range entries {
		if t, ok := trees[e.Kind]; ok && e != nil {
			if t.Add(e) == nil {
				byID[e.ID] = e
			}
		}
	}
	x.mu.Lock()
	x.trees, x.byID, x.version, x.stale = trees, byID, version, false
	x.mu.Unlock()
}

// Apply changes the index after a local write that moved the table to version: puts replace
// (or add) entries, ids in del (and in puts with a nil entry) are removed. When the write was
// not the next version after the index's own, another writer came between and the index is
// marked stale, so the next Refresh reloads it.
func (x *Index) Apply(version int64, puts map[string]*Entry, del ...string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range del {
		x.remove(id)
	}
	for id, e := range puts {
		x.remove(id)
		if e == nil {
			continue
		}
		if t, ok := x.trees[e.Kind]; ok && t.Add(e) == nil {
			x.byID[e.ID] = e
		}
	}
	if version == x.version+1 {
		x.version = version
	} else if version > x.version {
		x.stale = true
	}
}

func (x *Index) remove(id string) {
	old, ok := x.byID[id]
	if !ok {
		return
	}
	x.trees[old.Kind].Remove(old, func(p orb.Pointer) bool { return p.(*Entry).ID == id })
	delete(x.byID, id)
}

// State returns the version the index reflects and whether it knows it missed a change.
func (x *Index) State() (int64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.version, x.stale
}

// Len is the number of located resources indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Get returns the entry of a located resource.
func (x *Index) Get(id string) (*Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.byID[id]
	return e, ok
}

// Each calls fn with every entry of the kinds (none: all) that allow accepts, until fn
// returns false.
func (x *Index) Each(kinds []Kind, allow func(*Entry) bool, fn func(*Entry) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(kinds) == 0 {
		kinds = Kinds
	}
	for _, k := range kinds {
		t := x.trees[k]
		if t == nil {
			continue
		}
		for _, p := range t.InBound(nil, world) {
			if e := p.(*Entry); allow == nil || allow(e) {
				if !fn(e) {
					return
				}
			}
		}
	}
}

// Nearest returns the q.N entries nearest to (q.Lat, q.Lng) by great-circle distance among
// those of q.Kinds matching q and allow (the caller's scope), nearest first (ties by id).
//
// It is exact although the quadtree measures in flat degrees: per kind, the tree's k-nearest
// (by flat distance) matching entries give an upper bound r of the true N-th distance (they
// are N entries within r). Every entry within r lies in the boxes of the spherical cap of
// radius r (capBounds), so the entries there, measured exactly, hold the true N nearest.
func (x *Index) Nearest(q Query, allow func(*Entry) bool) []Hit {
	if q.N <= 0 {
		return []Hit{}
	}
	match := func(p orb.Pointer) bool {
		e := p.(*Entry)
		return q.Match(e) && (allow == nil || allow(e))
	}
	kinds := Kinds
	if len(q.Kinds) > 0 {
		kinds = slices.Compact(slices.Sorted(slices.Values(q.Kinds)))
	}
	at := orb.Point{q.Lng, q.Lat}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var hits []Hit
	var buf []orb.Pointer
	for _, k := range kinds {
		t := x.trees[k]
		if t == nil {
			continue
		}
		buf = t.KNearestMatching(buf[:0], at, q.N, match)
		if len(buf) == 0 {
			continue
		}
		r := 0.0
		for _, p := range buf {
			e := p.(*Entry)
			r = max(r, DistanceM(q.Lat, q.Lng, e.Lat, e.Lng))
		}
		if q.MaxDistanceM > 0 {
			r = min(r, q.MaxDistanceM)
		}
		limit := r * (1 + 1e-12)
		var near []Hit
		for _, b := range capBounds(q.Lat, q.Lng, r) {
			buf = t.InBoundMatching(buf[:0], b, match)
			for _, p := range buf {
				e := p.(*Entry)
				if d := DistanceM(q.Lat, q.Lng, e.Lat, e.Lng); d <= limit {
					near = append(near, Hit{Entry: e, DistanceM: d})
				}
			}
		}
		sortHits(near)
		hits = append(hits, near[:min(len(near), q.N)]...)
	}
	sortHits(hits)
	if len(hits) > q.N {
		hits = hits[:q.N]
	}
	if hits == nil {
		hits = []Hit{}
	}
	return hits
}

func sortHits(h []Hit) {
	slices.SortFunc(h, func(a, b Hit) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

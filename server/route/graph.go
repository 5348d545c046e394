package route

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/quadtree"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/path"
	"gonum.org/v1/gonum/graph/simple"
)

// Road is one road of a graph: its vertices in order, its speed and whether it runs one way
// (from the first vertex to the last).
type Road struct {
	Name     string
	Points   []LatLng
	SpeedKmh float64
	Oneway   bool
}

// ClassSpeeds are the speeds (km/h) of the road classes (OpenStreetMap highway values, and
// their Chinese names) used when a road gives no speed_kmh.
var ClassSpeeds = map[string]float64{
	"motorway": 100, "高速公路": 100, "trunk": 80, "快速路": 80, "primary": 60, "主干路": 60,
	"secondary": 50, "次干路": 50, "tertiary": 40, "支路": 40, "residential": 30, "unclassified": 30,
	"service": 20, "track": 15,
}

// DefaultSpeedKmh is the speed of a road with neither speed nor known class.
const DefaultSpeedKmh = 30

// AccessSpeedKmh is the speed assumed between a point and the road node it snaps to.
const AccessSpeedKmh = 20

// DefaultMaxSnapM is how far from the nearest road node a point may lie.
const DefaultMaxSnapM = 3000

// Graph is a road network held in memory, routed by A* (gonum graph/path) on travel time with
// a great-circle heuristic at the network's highest speed (admissible, so the route is the
// fastest). Points are snapped to the nearest node; the legs to and from the roads are
// straight lines at AccessSpeedKmh. A Graph is safe for concurrent use once built.
type Graph struct {
	MaxSnapM float64
	g        *simple.WeightedDirectedGraph
	nodes    []LatLng
	length   map[[2]int64]float64
	maxSpeed float64 // m/s
	tree     *quadtree.Quadtree
	roads    int
}

type nodePoint struct {
	id int64
	p  orb.Point
}

func (n nodePoint) Point() orb.Point { return n.p }

// NewGraph builds a graph from roads. Vertices at the same coordinates (to 1e-7 degree) are
// one node, so roads that share a vertex meet there.
func NewGraph(roads []Road) (*Graph, error) {
	gr := &Graph{MaxSnapM: DefaultMaxSnapM, g: simple.NewWeightedDirectedGraph(0, math.Inf(1)), length: map[[2]int64]float64{}}
	ids := map[[2]int64]int64{}
	node := func(p LatLng) int64 {
		k := [2]int64{int64(math.Round(p.Lat * 1e7)), int64(math.Round(p.Lng * 1e7))}
		if id, ok := ids[k]; ok {
			return id
		}
		id := int64(len(gr.nodes))
		ids[k] = id
		gr.nodes = append(gr.nodes, p)
		gr.g.AddNode(simple.Node(id))
		return id
	}
	for i, r := range roads {
		if len(r.Points) < 2 {
			return nil, fmt.Errorf("route: road %d (%s) has fewer than two points", i, r.Name)
		}
		if r.SpeedKmh <= 0 || r.SpeedKmh > 200 || math.IsNaN(r.SpeedKmh) {
			return nil, fmt.Errorf("route: road %d (%s): speed %v km/h is not in (0, 200]", i, r.Name, r.SpeedKmh)
		}
		v := r.SpeedKmh / 3.6
		gr.maxSpeed = max(gr.maxSpeed, v)
		for j := 1; j < len(r.Points); j++ {
			a, b := r.Points[j-1], r.Points[j]
			if isBad(a) || isBad(b) {
				return nil, fmt.Errorf("route: road %d (%s): point %d is not a valid coordinate", i, r.Name, j)
			}
			u, w := node(a), node(b)
			if u == w {
				continue
			}
			d := DistanceM(a, b)
			gr.addEdge(u, w, d, d/v)
			if !r.Oneway {
				gr.addEdge(w, u, d, d/v)
			}
		}
	}
	gr.roads = len(roads)
	if len(gr.nodes) == 0 {
		return nil, fmt.Errorf("route: the road network is empty")
	}
	b := orb.Bound{Min: orb.Point{180, 90}, Max: orb.Point{-180, -90}}
	for _, p := range gr.nodes {
		b = b.Extend(orb.Point{p.Lng, p.Lat})
	}
	gr.tree = quadtree.New(b.Pad(1e-6))
	for i, p := range gr.nodes {
		if err := gr.tree.Add(nodePoint{int64(i), orb.Point{p.Lng, p.Lat}}); err != nil {
			return nil, fmt.Errorf("route: index node %d: %w", i, err)
		}
	}
	return gr, nil
}

// addEdge keeps the faster of two parallel edges.
func (gr *Graph) addEdge(u, w int64, d, secs float64) {
	if e := gr.g.WeightedEdge(u, w); e != nil && e.Weight() <= secs {
		return
	}
	gr.g.SetWeightedEdge(simple.WeightedEdge{F: simple.Node(u), T: simple.Node(w), W: secs})
	gr.length[[2]int64{u, w}] = d
}

// Nodes is the number of nodes; Roads the number of roads it was built from.
func (gr *Graph) Nodes() int { return len(gr.nodes) }
func (gr *Graph) Roads() int { return gr.roads }

// Snap returns the node nearest to p and its distance, or ErrOffGraph beyond MaxSnapM.
func (gr *Graph) Snap(p LatLng) (int64, float64, error) {
	// The quadtree measures in degrees; the few nearest by degrees hold the nearest by metres
	// away from the poles.
	var best int64 = -1
	bestD := math.Inf(1)
	for _, q := range gr.tree.KNearest(nil, orb.Point{p.Lng, p.Lat}, 8) {
		n := q.(nodePoint)
		if d := DistanceM(p, gr.nodes[n.id]); d < bestD {
			best, bestD = n.id, d
		}
	}
	if best < 0 || (gr.MaxSnapM > 0 && bestD > gr.MaxSnapM) {
		return -1, bestD, ErrOffGraph
	}
	return best, bestD, nil
}

// Route plans the fastest route from one point to another over the graph.
func (gr *Graph) Route(ctx context.Context, from, to LatLng) (Route, error) {
	if isBad(from) || isBad(to) {
		return Route{}, ErrBadPoint
	}
	s, ds, err := gr.Snap(from)
	if err != nil {
		return Route{}, err
	}
	t, dt, err := gr.Snap(to)
	if err != nil {
		return Route{}, err
	}
	if err := ctx.Err(); err != nil {
		return Route{}, err
	}
	access := (ds + dt) / (AccessSpeedKmh / 3.6)
	r := Route{Source: SourceGraph, DistanceM: ds + dt, Path: []LatLng{from}}
	if s == t {
		r.Path = append(r.Path, gr.nodes[s], to)
		r.SetDuration(seconds(access))
		return r, nil
	}
	sp, _ := path.AStar(simple.Node(s), simple.Node(t), gr.g, gr.heuristic)
	nodes, secs := sp.To(t)
	if len(nodes) == 0 || math.IsInf(secs, 1) {
		return Route{}, ErrNoRoute
	}
	for i, n := range nodes {
		r.Path = append(r.Path, gr.nodes[n.ID()])
		if i > 0 {
			r.DistanceM += gr.length[[2]int64{nodes[i-1].ID(), n.ID()}]
		}
	}
	r.Path = append(r.Path, to)
	r.SetDuration(seconds(secs + access))
	return r, nil
}

// heuristic is the time to cover the great-circle distance at the highest speed: never more
// than the true time, so A* finds the fastest route.
func (gr *Graph) heuristic(x, y graph.Node) float64 {
	return DistanceM(gr.nodes[x.ID()], gr.nodes[y.ID()]) / gr.maxSpeed
}

// ParseGeoJSON reads roads from a GeoJSON FeatureCollection of LineString (or
// MultiLineString) features. A feature's properties give its speed: speed_kmh (or maxspeed),
// else its class (highway or class, see ClassSpeeds), else DefaultSpeedKmh; oneway true (or
// "yes") makes it one way; name names it. Other geometries are skipped.
func ParseGeoJSON(b []byte) ([]Road, error) {
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("route: not a GeoJSON FeatureCollection: %w", err)
	}
	var roads []Road
	for i, f := range fc.Features {
		speed, err := featureSpeed(f.Properties)
		if err != nil {
			return nil, fmt.Errorf("route: feature %d: %w", i, err)
		}
		r := Road{Name: f.Properties.MustString("name", ""), SpeedKmh: speed, Oneway: truthy(f.Properties["oneway"])}
		var lines []orb.LineString
		switch g := f.Geometry.(type) {
		case orb.LineString:
			lines = []orb.LineString{g}
		case orb.MultiLineString:
			lines = g
		default:
			continue
		}
		for _, ls := range lines {
			rr := r
			for _, p := range ls {
				rr.Points = append(rr.Points, LatLng{Lat: p.Lat(), Lng: p.Lon()})
			}
			roads = append(roads, rr)
		}
	}
	if len(roads) == 0 {
		return nil, fmt.Errorf("route: the file holds no LineString roads")
	}
	return roads, nil
}

func featureSpeed(p geojson.Properties) (float64, error) {
	for _, k := range []string{"speed_kmh", "maxspeed"} {
		switch v := p[k].(type) {
		case float64:
			if v <= 0 || v > 200 {
				return 0, fmt.Errorf("%s %v is not in (0, 200]", k, v)
			}
			return v, nil
		case string:
			if n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "km/h")), 64); err == nil && n > 0 && n <= 200 {
				return n, nil
			}
		case json.Number:
			if n, err := v.Float64(); err == nil && n > 0 && n <= 200 {
				return n, nil
			}
		}
	}
	for _, k := range []string{"highway", "class"} {
		if s, ok := p[k].(string); ok {
			if v, ok := ClassSpeeds[strings.TrimSuffix(s, "_link")]; ok {
				return v, nil
			}
		}
	}
	return DefaultSpeedKmh, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "yes" || x == "true" || x == "1"
	case float64:
		return x == 1
	}
	return false
}

// LoadGeoJSON builds a graph from GeoJSON bytes (see ParseGeoJSON).
func LoadGeoJSON(b []byte) (*Graph, error) {
	roads, err := ParseGeoJSON(b)
	if err != nil {
		return nil, err
	}
	return NewGraph(roads)
}

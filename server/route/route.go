// Package route plans routes (路径规划) for dispatch: how far and how long from a depot or a
// team's base to an incident. A Router answers one route; three implementations exist: an
// in-process router over a road graph the city loads (Graph, A* from gonum), an HTTP client
// for an OSRM-compatible server (OSRM), and a Chain that asks them in order within a timeout
// and falls back to a straight-line estimate marked as such.
package route

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/yingji/yingji/server/yingji"
)

// LatLng is a WGS84 point.
type LatLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Valid reports whether the point is on the globe.
func (p LatLng) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180 && !math.IsNaN(p.Lat) && !math.IsNaN(p.Lng)
}

// Sources of a route.
const (
	SourceGraph    = "graph"    // the in-process road graph
	SourceOSRM     = "osrm"     // an external OSRM-compatible server
	SourceEstimate = "estimate" // a straight line at an average speed
)

// Route is a planned route: its length along the roads, the travel time, the path from the
// start to the end (both included) and where it came from. Estimate is true when no router
// answered and the route is a straight line at an assumed speed. Duration and DurationS are
// the same time (set both with SetDuration); JSON carries duration_s.
type Route struct {
	DistanceM float64       `json:"distance_m"`
	Duration  time.Duration `json:"-"`
	DurationS float64       `json:"duration_s"`
	Path      []LatLng      `json:"path"`
	Source    string        `json:"source"`
	Estimate  bool          `json:"estimate"`
}

// SetDuration sets the travel time.
func (r *Route) SetDuration(d time.Duration) {
	r.Duration = d
	r.DurationS = math.Round(d.Seconds()*10) / 10
}

// UnmarshalJSON reads a route, Duration from duration_s.
func (r *Route) UnmarshalJSON(b []byte) error {
	type plain Route
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Route(p)
	r.Duration = time.Duration(r.DurationS * float64(time.Second))
	return nil
}

// Router plans a route between two points.
type Router interface {
	Route(ctx context.Context, from, to LatLng) (Route, error)
}

// Errors of the routers.
var (
	// ErrNoRoute: the router knows the area but no road joins the points.
	ErrNoRoute = yingji.Errorf(yingji.ENOTFOUND, "route.no_route", "两点之间没有可通行的道路")
	// ErrOffGraph: a point is too far from every road of the graph.
	ErrOffGraph = yingji.Errorf(yingji.ENOTFOUND, "route.off_graph", "起点或终点离路网太远，无法规划路径")
	// ErrBadPoint: a point is not a valid WGS84 coordinate.
	ErrBadPoint = yingji.Errorf(yingji.EINVALID, "route.bad_point", "起点或终点的经纬度无效")
)

// EarthRadiusM is the mean Earth radius (IUGG).
const EarthRadiusM = 6371008.8

// DistanceM is the great-circle distance in metres (haversine).
func DistanceM(a, b LatLng) float64 {
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	p1, p2 := rad(a.Lat), rad(b.Lat)
	dp, dl := p2-p1, rad(b.Lng-a.Lng)
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(min(1, h)))
}

// Estimate is the straight-line route at speedKmh, marked as an estimate.
func Estimate(from, to LatLng, speedKmh float64) Route {
	if speedKmh <= 0 {
		speedKmh = 40
	}
	d := DistanceM(from, to)
	r := Route{DistanceM: d, Path: []LatLng{from, to}, Source: SourceEstimate, Estimate: true}
	r.SetDuration(seconds(d / (speedKmh / 3.6)))
	return r
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func isBad(p LatLng) bool { return !p.Valid() }

// IsNoRoute reports whether err says the router answered that there is no route (as opposed
// to failing).
func IsNoRoute(err error) bool {
	return errors.Is(err, ErrNoRoute) || errors.Is(err, ErrOffGraph)
}

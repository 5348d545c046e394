package route_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yingji/yingji/server/route"
)

// bruteForce is a plain O(V²) Dijkstra on travel seconds over the roads, independent of the
// router's graph library: the reference the A* routes are checked against.
func bruteForce(roads []route.Road, from, to route.LatLng) float64 {
	type key [2]int64
	k := func(p route.LatLng) key { return key{int64(math.Round(p.Lat * 1e7)), int64(math.Round(p.Lng * 1e7))} }
	idx := map[key]int{}
	id := func(p route.LatLng) int {
		if i, ok := idx[k(p)]; ok {
			return i
		}
		idx[k(p)] = len(idx)
		return len(idx) - 1
	}
	type edge struct {
		to int
		w  float64
	}
	adj := map[int][]edge{}
	for _, r := range roads {
		for j := 1; j < len(r.Points); j++ {
			a, b := id(r.Points[j-1]), id(r.Points[j])
			w := route.DistanceM(r.Points[j-1], r.Points[j]) / (r.SpeedKmh / 3.6)
			adj[a] = append(adj[a], edge{b, w})
			if !r.Oneway {
				adj[b] = append(adj[b], edge{a, w})
			}
		}
	}
	s, t := id(from), id(to)
	n := len(idx)
	dist := make([]float64, n)
	done := make([]bool, n)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	dist[s] = 0
	for {
		u := -1
		for i := 0; i < n; i++ {
			if !done[i] && (u < 0 || dist[i] < dist[u]) {
				u = i
			}
		}
		if u < 0 || math.IsInf(dist[u], 1) {
			break
		}
		done[u] = true
		for _, e := range adj[u] {
			if d := dist[u] + e.w; d < dist[e.to] {
				dist[e.to] = d
			}
		}
	}
	return dist[t]
}

// randomRoads builds a random road network: nodes scattered over a 10 km square, each joined
// to a few random others by roads of random speeds, some one way; some nodes stay isolated.
func randomRoads(rnd *rand.Rand, nodes int) ([]route.Road, []route.LatLng) {
	pts := make([]route.LatLng, nodes)
	for i := range pts {
		pts[i] = route.LatLng{Lat: 30.1 + rnd.Float64()*0.09, Lng: 120.1 + rnd.Float64()*0.1}
	}
	speeds := []float64{20, 30, 40, 60, 80, 100}
	var roads []route.Road
	for i := 0; i < nodes*2; i++ {
		a, b := rnd.IntN(nodes-2), rnd.IntN(nodes-2) // the last two nodes are never joined
		if a == b {
			continue
		}
		r := route.Road{Points: []route.LatLng{pts[a], pts[b]}, SpeedKmh: speeds[rnd.IntN(len(speeds))], Oneway: rnd.IntN(5) == 0}
		if rnd.IntN(3) == 0 { // a bend through another node
			r.Points = []route.LatLng{pts[a], pts[rnd.IntN(nodes-2)], pts[b]}
		}
		roads = append(roads, r)
	}
	// The last two nodes form an island of their own.
	roads = append(roads, route.Road{Points: []route.LatLng{pts[nodes-2], pts[nodes-1]}, SpeedKmh: 30})
	var on []route.LatLng
	seen := map[route.LatLng]bool{}
	for _, r := range roads {
		for _, p := range r.Points {
			if !seen[p] {
				seen[p] = true
				on = append(on, p)
			}
		}
	}
	return roads, on
}

func TestGraphMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	noRoute := 0
	defer func() {
		if noRoute == 0 {
			t.Error("no query met an unreachable node")
		}
	}()
	for seed := uint64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 99))
		roads, pts := randomRoads(rnd, 40+rnd.IntN(80))
		g, err := route.NewGraph(roads)
		if err != nil {
			t.Fatal(err)
		}
		g.MaxSnapM = 0 // every point snaps
		for q := 0; q < 30; q++ {
			from, to := pts[rnd.IntN(len(pts))], pts[rnd.IntN(len(pts))]
			want := bruteForce(roads, from, to)
			r, err := g.Route(ctx, from, to)
			if math.IsInf(want, 1) {
				if !errors.Is(err, route.ErrNoRoute) {
					t.Fatalf("seed %d: %v→%v: want no route, got %v %v", seed, from, to, r.Duration, err)
				}
				noRoute++
				continue
			}
			if err != nil {
				t.Fatalf("seed %d: %v→%v: %v", seed, from, to, err)
			}
			if got := r.Duration.Seconds(); math.Abs(got-want) > 1e-6*max(1, want) {
				t.Fatalf("seed %d: %v→%v: A* %.6f s, brute force %.6f s", seed, from, to, got, want)
			}
			// The path walks the roads: its length is the distance reported.
			var d float64
			for i := 1; i < len(r.Path); i++ {
				d += route.DistanceM(r.Path[i-1], r.Path[i])
			}
			if math.Abs(d-r.DistanceM) > 1e-6*max(1, d) {
				t.Fatalf("seed %d: path length %.3f m, reported %.3f m", seed, d, r.DistanceM)
			}
			if r.Path[0] != from || r.Path[len(r.Path)-1] != to || r.Source != route.SourceGraph || r.Estimate {
				t.Fatalf("seed %d: route %+v", seed, r)
			}
		}
	}
}

func TestGraphOneway(t *testing.T) {
	a, b, c := route.LatLng{Lat: 30, Lng: 120}, route.LatLng{Lat: 30, Lng: 120.01}, route.LatLng{Lat: 30.01, Lng: 120.005}
	g, err := route.NewGraph([]route.Road{
		{Points: []route.LatLng{a, b}, SpeedKmh: 60, Oneway: true},
		{Points: []route.LatLng{b, c, a}, SpeedKmh: 30},
	})
	if err != nil {
		t.Fatal(err)
	}
	ab, err := g.Route(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := g.Route(context.Background(), b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(ab.Path) != 2+2 || len(ba.Path) != 3+2 {
		t.Errorf("a→b takes the one-way road (%d points), b→a goes round by c (%d points)", len(ab.Path), len(ba.Path))
	}
	if ab.Duration >= ba.Duration {
		t.Errorf("a→b %v, b→a %v", ab.Duration, ba.Duration)
	}
}

func TestGraphSnap(t *testing.T) {
	g, err := route.DemoCity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		// From the city's depot (仓储路) to the chemical company in the park.
		r, err := g.Route(ctx, route.LatLng{Lat: 30.2152, Lng: 120.2610}, route.LatLng{Lat: 30.2198, Lng: 120.3478})
		if err != nil {
			t.Fatal(err)
		}
		straight := route.DistanceM(route.LatLng{Lat: 30.2152, Lng: 120.2610}, route.LatLng{Lat: 30.2198, Lng: 120.3478})
		if r.DistanceM < straight || r.DistanceM > straight*1.6 || r.Duration < time.Minute || r.Duration > 30*time.Minute {
			t.Errorf("depot → park: %.0f m (straight %.0f m) in %v", r.DistanceM, straight, r.Duration)
		}
		// Across the city to 临溪镇 by the expressway.
		r, err = g.Route(ctx, route.LatLng{Lat: 30.2152, Lng: 120.2610}, route.LatLng{Lat: 30.0118, Lng: 119.8382})
		if err != nil {
			t.Fatal(err)
		}
		if r.DistanceM < 40000 || r.Duration > time.Hour {
			t.Errorf("depot → 临溪: %.0f m in %v", r.DistanceM, r.Duration)
		}
	})
	t.Run("ErrOffGraph", func(t *testing.T) {
		_, err := g.Route(ctx, route.LatLng{Lat: 31.2, Lng: 121.5}, route.LatLng{Lat: 30.2198, Lng: 120.3478})
		if !errors.Is(err, route.ErrOffGraph) {
			t.Fatalf("Shanghai → park: %v, want ErrOffGraph", err)
		}
	})
	t.Run("ErrBadPoint", func(t *testing.T) {
		_, err := g.Route(ctx, route.LatLng{Lat: 91, Lng: 0}, route.LatLng{Lat: 30.2198, Lng: 120.3478})
		if !errors.Is(err, route.ErrBadPoint) {
			t.Fatalf("%v, want ErrBadPoint", err)
		}
	})
}

func TestParseGeoJSON(t *testing.T) {
	roads, err := route.ParseGeoJSON([]byte(`{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"name":"甲","speed_kmh":45},"geometry":{"type":"LineString","coordinates":[[120,30],[120.01,30]]}},
	 {"type":"Feature","properties":{"highway":"motorway_link","oneway":"yes"},"geometry":{"type":"LineString","coordinates":[[120,30],[120,30.01]]}},
	 {"type":"Feature","properties":{},"geometry":{"type":"MultiLineString","coordinates":[[[120,30],[120,30.02]],[[121,30],[121,30.02]]]}},
	 {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[120,30]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(roads) != 4 || roads[0].SpeedKmh != 45 || roads[0].Name != "甲" || roads[1].SpeedKmh != 100 || !roads[1].Oneway ||
		roads[2].SpeedKmh != route.DefaultSpeedKmh || roads[3].Points[0].Lng != 121 {
		t.Errorf("roads %+v", roads)
	}
	for _, bad := range []string{`{}`, `{"type":"FeatureCollection","features":[]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"speed_kmh":-5},"geometry":{"type":"LineString","coordinates":[[120,30],[120.01,30]]}}]}`} {
		if _, err := route.LoadGeoJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// BenchmarkDemoCityRoute routes between random pairs of points of the demo city (江南区 and
// the 临港 park, and a quarter of them out to 青山镇 and 临溪镇). The p95 is reported.
func BenchmarkDemoCityRoute(b *testing.B) {
	g, err := route.DemoCity()
	if err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	point := func() route.LatLng {
		switch rnd.IntN(8) {
		case 0: // 青山镇
			return route.LatLng{Lat: 30.040 + rnd.Float64()*0.024, Lng: 119.890 + rnd.Float64()*0.04}
		case 1: // 临溪镇
			return route.LatLng{Lat: 30.004 + rnd.Float64()*0.024, Lng: 119.826 + rnd.Float64()*0.04}
		}
		return route.LatLng{Lat: 30.186 + rnd.Float64()*0.058, Lng: 120.196 + rnd.Float64()*0.168}
	}
	ctx := context.Background()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := point(), point()
		t0 := time.Now()
		if _, err := g.Route(ctx, from, to); err != nil && !errors.Is(err, route.ErrNoRoute) {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	slicesSort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}

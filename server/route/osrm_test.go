package route_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/server/route"
)

// osrmStandIn answers like OSRM's /route/v1: it checks the path and the query the client must
// send, answers InvalidQuery (HTTP 400) to anything else, NoRoute for a destination south of
// latitude 0, and otherwise routes over g with the same JSON shape as OSRM. delay holds each
// answer back.
func osrmStandIn(t *testing.T, g *route.Graph, delay time.Duration, calls *atomic.Int32) *httptest.Server {
	re := regexp.MustCompile(`^/route/v1/driving/(-?[0-9.]+),(-?[0-9.]+);(-?[0-9.]+),(-?[0-9.]+)$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		m := re.FindStringSubmatch(r.URL.Path)
		if m == nil || r.URL.Query().Get("overview") != "full" || r.URL.Query().Get("geometries") != "geojson" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"code": "InvalidQuery", "message": "Query string malformed close to position 0"})
			return
		}
		f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
		from, to := route.LatLng{Lat: f(2), Lng: f(1)}, route.LatLng{Lat: f(4), Lng: f(3)}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		rt, err := g.Route(r.Context(), from, to)
		if err != nil || to.Lat < 0 {
			json.NewEncoder(w).Encode(map[string]any{"code": "NoRoute", "message": "Impossible route between points"})
			return
		}
		coords := [][2]float64{}
		for _, p := range rt.Path {
			coords = append(coords, [2]float64{p.Lng, p.Lat})
		}
		json.NewEncoder(w).Encode(map[string]any{"code": "Ok", "waypoints": []any{}, "routes": []any{map[string]any{
			"distance": rt.DistanceM, "duration": rt.Duration.Seconds(), "weight_name": "routability", "weight": rt.Duration.Seconds(),
			"geometry": map[string]any{"type": "LineString", "coordinates": coords}, "legs": []any{}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	depot = route.LatLng{Lat: 30.2152, Lng: 120.2610}
	park  = route.LatLng{Lat: 30.2198, Lng: 120.3478}
)

func TestOSRM(t *testing.T) {
	g, err := route.DemoCity()
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := osrmStandIn(t, g, 0, &calls)
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		o := &route.OSRM{BaseURL: srv.URL + "/"}
		r, err := o.Route(ctx, depot, park)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := g.Route(ctx, depot, park)
		if r.Source != route.SourceOSRM || r.Estimate || len(r.Path) != len(want.Path) ||
			int(r.DistanceM) != int(want.DistanceM) || r.Duration.Round(time.Second) != want.Duration.Round(time.Second) {
			t.Errorf("osrm %+v, want like %+v", r, want)
		}
	})
	t.Run("ErrNoRoute", func(t *testing.T) {
		_, err := (&route.OSRM{BaseURL: srv.URL}).Route(ctx, depot, route.LatLng{Lat: -10, Lng: 120})
		if !errors.Is(err, route.ErrNoRoute) {
			t.Fatalf("%v, want ErrNoRoute", err)
		}
	})
	t.Run("ErrInvalidQuery", func(t *testing.T) {
		_, err := (&route.OSRM{BaseURL: srv.URL, Profile: "boat"}).Route(ctx, depot, park)
		var oe *route.OSRMError
		if !errors.As(err, &oe) || oe.Code != "InvalidQuery" || oe.Status != 400 {
			t.Fatalf("%v, want InvalidQuery", err)
		}
	})
	t.Run("ErrNotOSRM", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) }))
		defer other.Close()
		if _, err := (&route.OSRM{BaseURL: other.URL}).Route(ctx, depot, park); err == nil {
			t.Fatal("no error from a server that does not speak OSRM")
		}
	})
}

func TestChain(t *testing.T) {
	g, err := route.DemoCity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var calls atomic.Int32
	fast := osrmStandIn(t, g, 0, &calls)
	slow := osrmStandIn(t, g, 2*time.Second, &calls)
	t.Run("OSRM", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{&route.OSRM{BaseURL: fast.URL}, g}, Timeout: time.Second, SpeedKmh: 40}
		r, err := c.Route(ctx, depot, park)
		if err != nil || r.Source != route.SourceOSRM {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("SlowOSRMThenGraph", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{&route.OSRM{BaseURL: slow.URL}, g}, Timeout: 200 * time.Millisecond, SpeedKmh: 40}
		t0 := time.Now()
		r, err := c.Route(ctx, depot, park)
		if err != nil || r.Source != route.SourceGraph || r.Estimate {
			t.Fatalf("%+v %v", r, err)
		}
		if el := time.Since(t0); el > time.Second {
			t.Errorf("the chain waited %v for a router with a 200ms timeout", el)
		}
	})
	t.Run("TimeoutThenEstimate", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{&route.OSRM{BaseURL: slow.URL}}, Timeout: 100 * time.Millisecond, SpeedKmh: 36}
		r, err := c.Route(ctx, depot, park)
		if err != nil {
			t.Fatal(err)
		}
		d := route.DistanceM(depot, park)
		if r.Source != route.SourceEstimate || !r.Estimate || len(r.Path) != 2 || r.DistanceM != d ||
			r.Duration.Round(time.Millisecond) != time.Duration(d/10*float64(time.Second)).Round(time.Millisecond) {
			t.Fatalf("estimate %+v, want %.0f m at 10 m/s", r, d)
		}
	})
	t.Run("OffGraphThenEstimate", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{g}, Timeout: time.Second, SpeedKmh: 40}
		r, err := c.Route(ctx, route.LatLng{Lat: 31.23, Lng: 121.47}, park)
		if err != nil || !r.Estimate {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("DownOSRMThenGraph", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{&route.OSRM{BaseURL: "http://127.0.0.1:1"}, g}, Timeout: time.Second, SpeedKmh: 40}
		r, err := c.Route(ctx, depot, park)
		if err != nil || r.Source != route.SourceGraph {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("ErrBadPoint", func(t *testing.T) {
		c := &route.Chain{Routers: []route.Router{g}, Timeout: time.Second, SpeedKmh: 40}
		if _, err := c.Route(ctx, route.LatLng{Lat: 100}, park); !errors.Is(err, route.ErrBadPoint) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		r := route.Estimate(depot, park, 36)
		b, _ := json.Marshal(r)
		var back map[string]any
		json.Unmarshal(b, &back)
		if back["source"] != "estimate" || back["estimate"] != true || back["duration_s"].(float64) <= 0 {
			t.Errorf("%s", b)
		}
	})
}

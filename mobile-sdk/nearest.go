package sdk

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"slices"
)

// Offline nearest resources: the replica's synced "resources" collection (the user's scope:
// his unit and below, his enterprise's own, the government resources of the units above him)
// answers the N nearest to a point with the same filters, the same great-circle distance and
// the same order as the server's GET /api/v1/resources/nearest, without a network.

// MaxNearest bounds NearQuery.N, as on the server.
const MaxNearest = 200

// earthRadiusM is the mean Earth radius (IUGG) the server measures with (resource.EarthRadiusM).
const earthRadiusM = 6371008.8

// ResourceKinds are the kinds of emergency resource.
var ResourceKinds = []string{"supply", "depot", "team", "expert", "shelter", "medical", "police", "fire", "target"}

var resourceStatuses = []string{"available", "busy", "maintenance", "retired"}

// NearQuery asks for the resources nearest to a point (a phone passes its GPS fix). Zero-valued
// filters do not filter; N defaults to 5.
type NearQuery struct {
	Lat, Lng     float64
	N            int
	Kinds        []string // none: every kind
	Category     string
	Subtype      string  // 类型 (team type, target type …)
	Status       string  // available, busy, maintenance, retired
	Owner        string  // government or enterprise
	AccidentType string  // the resource handles this accident type
	MinAvailable float64 // a supply's quantity, a shelter's free places, a team's members, beds, people
	MaxDistanceM float64 // 0: no limit
}

// NearHit is one answer: the resource record and its distance in metres.
type NearHit struct {
	Record
	DistanceM float64
}

// MarshalJSON writes the record as the field client shows it, with distance_m added.
func (h NearHit) MarshalJSON() ([]byte, error) {
	b, err := h.Record.MarshalJSON()
	if err != nil || len(b) < 2 {
		return b, err
	}
	d, _ := json.Marshal(h.DistanceM)
	out := append(b[:len(b)-1:len(b)-1], `,"distance_m":`...)
	out = append(out, d...)
	return append(out, '}'), nil
}

// DistanceM is the great-circle distance in metres between two WGS84 points, computed exactly
// as the server does (haversine on the mean sphere).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	p1, p2 := rad(lat1), rad(lat2)
	dp, dl := p2-p1, rad(lng2-lng1)
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * earthRadiusM * math.Asin(math.Sqrt(min(1, h)))
}

// available is the figure MinAvailable filters on, by kind (resource.Resource.Available).
func available(kind string, f map[string]json.RawMessage) float64 {
	var d struct{ Members, Capacity, Occupancy, Beds, People int }
	json.Unmarshal(f["details"], &d)
	switch kind {
	case "supply":
		var q float64
		json.Unmarshal(f["quantity"], &q)
		return q
	case "shelter":
		return float64(max(0, d.Capacity-d.Occupancy))
	case "team":
		return float64(d.Members)
	case "medical":
		return float64(d.Beds)
	case "police", "fire":
		return float64(d.People)
	case "expert":
		return 1
	}
	return 0
}

func (q *NearQuery) check() error {
	switch {
	case math.IsNaN(q.Lat) || q.Lat < -90 || q.Lat > 90:
		return errorf(KindInvalid, "request.bad_query", "纬度 lat 应在 -90 到 90 之间")
	case math.IsNaN(q.Lng) || q.Lng < -180 || q.Lng > 180:
		return errorf(KindInvalid, "request.bad_query", "经度 lng 应在 -180 到 180 之间")
	case q.N < 1 || q.N > MaxNearest:
		return errorf(KindInvalid, "request.bad_query", "n 应在 1 到 %d 之间", MaxNearest)
	case q.Status != "" && !slices.Contains(resourceStatuses, q.Status):
		return errorf(KindInvalid, "request.bad_query", "status 应为 available、busy、maintenance 或 retired")
	case q.Owner != "" && q.Owner != "government" && q.Owner != "enterprise":
		return errorf(KindInvalid, "request.bad_query", "owner 应为 government 或 enterprise")
	case math.IsNaN(q.MinAvailable) || q.MinAvailable < 0 || math.IsNaN(q.MaxDistanceM) || q.MaxDistanceM < 0:
		return errorf(KindInvalid, "request.bad_query", "min_available 与 max_distance_m 应为不小于 0 的数")
	}
	for _, k := range q.Kinds {
		if !slices.Contains(ResourceKinds, k) {
			return errorf(KindInvalid, "request.bad_query", "资源种类“%s”无效", k)
		}
	}
	return nil
}

// Nearest answers, from the replica alone, the q.N located resources nearest to (q.Lat, q.Lng)
// that pass the filters, nearest first (ties by id) — the server's nearest query over the
// resources this device holds. It scans the replica (a phone holds its scope's resources,
// thousands at most) and measures each exactly.
func (c *Client) Nearest(ctx context.Context, q NearQuery) ([]NearHit, error) {
	if q.N == 0 {
		q.N = 5
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	recs, err := c.List(ctx, "resources")
	if err != nil {
		return nil, err
	}
	str := func(f map[string]json.RawMessage, k string) string {
		var s string
		json.Unmarshal(f[k], &s)
		return s
	}
	limit := q.MaxDistanceM * (1 + 1e-12) // the server's rounding allowance at the limit
	hits := []NearHit{}
	for _, r := range recs {
		f := r.Fields
		var loc *struct{ Lat, Lng float64 }
		if json.Unmarshal(f["location"], &loc) != nil || loc == nil {
			continue
		}
		kind := str(f, "kind")
		if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, kind) ||
			q.Category != "" && str(f, "category") != q.Category ||
			q.Subtype != "" && str(f, "subtype") != q.Subtype ||
			q.Status != "" && str(f, "status") != q.Status ||
			q.Owner != "" && str(f, "owner") != q.Owner ||
			q.MinAvailable > 0 && available(kind, f) < q.MinAvailable {
			continue
		}
		if q.AccidentType != "" {
			var types []string
			json.Unmarshal(f["accident_types"], &types)
			if !slices.Contains(types, q.AccidentType) {
				continue
			}
		}
		d := DistanceM(q.Lat, q.Lng, loc.Lat, loc.Lng)
		if q.MaxDistanceM > 0 && d > limit {
			continue
		}
		hits = append(hits, NearHit{Record: r, DistanceM: d})
	}
	slices.SortFunc(hits, func(a, b NearHit) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits[:min(len(hits), q.N)], nil
}

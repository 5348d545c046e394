package resource

import (
	"math"

	"github.com/paulmach/orb"
)

// EarthRadiusM is the mean Earth radius (IUGG) the distances are computed with.
const EarthRadiusM = 6371008.8

func rad(d float64) float64 { return d * math.Pi / 180 }
func deg(r float64) float64 { return r * 180 / math.Pi }

// DistanceM is the great-circle distance in metres between two WGS84 points (haversine on
// the mean sphere; exact for the sphere, within 0.5 % of the ellipsoid).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	p1, p2 := rad(lat1), rad(lat2)
	dp, dl := p2-p1, rad(lng2-lng1)
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(min(1, h)))
}

// boundsMargin widens cap bounds against rounding (about 1 mm).
const boundsMargin = 1e-8

// capBounds returns longitude/latitude boxes that together hold every point within r metres
// of (lat, lng): one box, or two when the circle crosses the antimeridian; a full band of
// longitudes when it holds a pole. The widest longitude of a spherical cap of angular radius
// a around latitude φ is asin(sin a / cos φ), reached off the centre's parallel.
func capBounds(lat, lng, r float64) []orb.Bound {
	a := r / EarthRadiusM
	if a >= math.Pi {
		return []orb.Bound{{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}}
	}
	dLat := deg(a) + boundsMargin
	minLat, maxLat := lat-dLat, lat+dLat
	s := math.Sin(a) / math.Cos(rad(lat))
	if maxLat >= 90 || minLat <= -90 || s >= 1 || math.IsNaN(s) {
		return []orb.Bound{{Min: orb.Point{-180, math.Max(-90, minLat)}, Max: orb.Point{180, math.Min(90, maxLat)}}}
	}
	dLng := deg(math.Asin(s)) + boundsMargin
	lo, hi := lng-dLng, lng+dLng
	switch {
	case lo < -180:
		return []orb.Bound{{Min: orb.Point{lo + 360, minLat}, Max: orb.Point{180, maxLat}}, {Min: orb.Point{-180, minLat}, Max: orb.Point{hi, maxLat}}}
	case hi > 180:
		return []orb.Bound{{Min: orb.Point{lo, minLat}, Max: orb.Point{180, maxLat}}, {Min: orb.Point{-180, minLat}, Max: orb.Point{hi - 360, maxLat}}}
	}
	return []orb.Bound{{Min: orb.Point{lo, minLat}, Max: orb.Point{hi, maxLat}}}
}

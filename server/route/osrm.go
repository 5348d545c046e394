package route

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// OSRM asks an OSRM-compatible server (OSRM itself, or a service speaking its /route/v1 API)
// for the driving route: GET {BaseURL}/route/v1/driving/{lng},{lat};{lng},{lat}
// ?overview=full&geometries=geojson. Code "Ok" gives the first route; "NoRoute" and
// "NoSegment" are ErrNoRoute; any other code or HTTP failure is an error.
type OSRM struct {
	BaseURL string
	Profile string // "driving" when empty
	Client  *http.Client
}

// OSRMError is an answer of the server other than Ok or NoRoute.
type OSRMError struct {
	Status  int
	Code    string
	Message string
}

func (e *OSRMError) Error() string {
	return fmt.Sprintf("route: osrm: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

type osrmAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Routes  []struct {
		Distance float64 `json:"distance"`
		Duration float64 `json:"duration"`
		Geometry struct {
			Type        string       `json:"type"`
			Coordinates [][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"routes"`
}

func coord(p LatLng) string {
	return strconv.FormatFloat(p.Lng, 'f', 6, 64) + "," + strconv.FormatFloat(p.Lat, 'f', 6, 64)
}

// Route asks the server.
func (o *OSRM) Route(ctx context.Context, from, to LatLng) (Route, error) {
	if isBad(from) || isBad(to) {
		return Route{}, ErrBadPoint
	}
	profile := o.Profile
	if profile == "" {
		profile = "driving"
	}
	u := strings.TrimRight(o.BaseURL, "/") + "/route/v1/" + url.PathEscape(profile) + "/" + coord(from) + ";" + coord(to) +
		"?overview=full&geometries=geojson"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Route{}, fmt.Errorf("route: osrm: %w", err)
	}
	c := o.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return Route{}, fmt.Errorf("route: osrm: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Route{}, fmt.Errorf("route: osrm: read: %w", err)
	}
	var a osrmAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Route{}, &OSRMError{Status: resp.StatusCode, Code: "", Message: "not an OSRM answer"}
	}
	switch a.Code {
	case "Ok":
	case "NoRoute", "NoSegment":
		return Route{}, ErrNoRoute
	default:
		return Route{}, &OSRMError{Status: resp.StatusCode, Code: a.Code, Message: a.Message}
	}
	if resp.StatusCode != http.StatusOK || len(a.Routes) == 0 {
		return Route{}, &OSRMError{Status: resp.StatusCode, Code: a.Code, Message: "no route in the answer"}
	}
	rt := a.Routes[0]
	r := Route{DistanceM: rt.Distance, Source: SourceOSRM}
	r.SetDuration(seconds(rt.Duration))
	for _, c := range rt.Geometry.Coordinates {
		r.Path = append(r.Path, LatLng{Lat: c[1], Lng: c[0]})
	}
	if len(r.Path) == 0 {
		r.Path = []LatLng{from, to}
	}
	return r, nil
}

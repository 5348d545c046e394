package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Portal settings (门户设置): what the government portal needs before it draws its map.

// MapPoint is a WGS84 coordinate.
type MapPoint struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// MapBounds is a WGS84 rectangle.
type MapBounds struct {
	South float64 `json:"south"`
	West  float64 `json:"west"`
	North float64 `json:"north"`
	East  float64 `json:"east"`
}

// PortalSettings configure the portal for the caller. Coordinates are WGS84: the tile source
// must be WGS84-compatible (Tianditu's "_w" layers are Web Mercator tiles over WGS84 lat/lng).
type PortalSettings struct {
	// MapTileURL is the tile URL template ({z}/{x}/{y}, optionally {s}, key included); empty:
	// the portal draws its bundled outline of the city only.
	MapTileURL string `json:"map_tile_url"`
	// MapCenter and MapBounds frame the enterprises with coordinates in the caller's scope
	// (with a margin); null when none has coordinates (the portal then frames its outline).
	MapCenter *MapPoint  `json:"map_center"`
	MapBounds *MapBounds `json:"map_bounds"`
	// Enterprises is how many enterprises with coordinates the frame was computed from.
	Enterprises int `json:"enterprises"`
}

// mapMargin pads the frame around the enterprises (degrees, about 1 km).
const mapMargin = 0.01

func (s *Server) portalRoutes() {
	s.route(Op{Method: http.MethodGet, Path: "/portal/settings", Tag: "portal", Resp: PortalSettings{},
		Summary: "门户设置：地图瓦片地址模板（WGS84）和管辖范围内企业所在区域的地图中心与范围"}, s.portalSettings)
}

func (s *Server) portalSettings(c echo.Context) error {
	out := PortalSettings{MapTileURL: s.cfg.MapTileURL}
	b, n, err := enterpriseFrame(c.Request().Context(), s.DB, actor(c))
	if err != nil {
		return err
	}
	if n > 0 {
		b.South, b.West, b.North, b.East = b.South-mapMargin, b.West-mapMargin, b.North+mapMargin, b.East+mapMargin
		out.MapBounds = &b
		out.MapCenter = &MapPoint{Lat: (b.South + b.North) / 2, Lng: (b.West + b.East) / 2}
		out.Enterprises = n
	}
	return c.JSON(http.StatusOK, out)
}

// enterpriseFrame returns the bounding box of the enterprises with coordinates the actor may
// read, and how many there are.
func enterpriseFrame(ctx context.Context, db sqldb.Querier, a *yingji.Actor) (MapBounds, int, error) {
	var w sqldb.Where
	sc := a.ReadScope()
	if sc.EnterpriseID != "" || sc.OrgPrefix == "" {
		w.Add("id = ?", sc.EnterpriseID)
	} else {
		w.Prefix("org_path", sc.OrgPrefix)
	}
	w.Add("lat IS NOT NULL AND lng IS NOT NULL")
	var b MapBounds
	var s, wst, n, e *float64
	var count int
	err := db.QueryRow(ctx, `SELECT COUNT(*), MIN(lat), MIN(lng), MAX(lat), MAX(lng) FROM enterprises`+w.SQL(), w.Args...).
		Scan(&count, &s, &wst, &n, &e)
	if err != nil {
		return b, 0, fmt.Errorf("portal: enterprise frame: %w", err)
	}
	if count == 0 {
		return b, 0, nil
	}
	if s == nil || wst == nil || n == nil || e == nil {
		return b, 0, nil
	}
	return MapBounds{South: *s, West: *wst, North: *n, East: *e}, count, nil
}

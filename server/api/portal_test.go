package api_test

import (
	"net/http"
	"testing"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
)

func TestPortalSettings(t *testing.T) {
	const tiles = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY"
	eachEngine(t, func(t *testing.T, app *apptest.Server) {
		s := dashboardServer(t, app, api.Config{MapTileURL: tiles})
		var p api.PortalSettings
		want(t, s.Do(t, http.MethodGet, "/api/v1/portal/settings", s.Login(t, "admin"), nil), http.StatusOK, &p)
		if p.MapTileURL != tiles {
			t.Errorf("tile URL %q", p.MapTileURL)
		}
		// the demo city's twenty enterprises span 30.0089–30.2289 N, 119.8301–120.3550 E
		if p.Enterprises != 20 || p.MapBounds == nil || p.MapCenter == nil {
			t.Fatalf("admin frame %+v", p)
		}
		b := p.MapBounds
		if !near(b.South, 30.0089-0.01) || !near(b.North, 30.2289+0.01) || !near(b.West, 119.8301-0.01) || !near(b.East, 120.3550+0.01) {
			t.Errorf("admin bounds %+v", b)
		}
		if !near(p.MapCenter.Lat, (b.South+b.North)/2) || !near(p.MapCenter.Lng, (b.West+b.East)/2) {
			t.Errorf("admin centre %+v", p.MapCenter)
		}

		// township01 is framed on the chemical park (30.2140–30.2289 N, 120.3396–120.3550 E)
		want(t, s.Do(t, http.MethodGet, "/api/v1/portal/settings", s.Login(t, "township01"), nil), http.StatusOK, &p)
		if p.Enterprises != 6 || p.MapBounds == nil || !near(p.MapBounds.South, 30.2040) || !near(p.MapBounds.East, 120.3650) {
			t.Errorf("township01 frame %+v %+v", p, p.MapBounds)
		}
		// an enterprise user: his enterprise only
		want(t, s.Do(t, http.MethodGet, "/api/v1/portal/settings", s.Login(t, "safety01"), nil), http.StatusOK, &p)
		if p.Enterprises != 1 {
			t.Errorf("safety01 frame from %d enterprises", p.Enterprises)
		}
		wantError(t, s.Do(t, http.MethodGet, "/api/v1/portal/settings", "", nil), http.StatusUnauthorized, "auth.no_token")
	})
}

func TestPortalSettingsWithoutCoordinates(t *testing.T) {
	app := apptest.Start(t)
	if _, err := app.DB.Exec(t.Context(), `UPDATE enterprises SET lat = NULL, lng = NULL`); err != nil {
		t.Fatal(err)
	}
	s := dashboardServer(t, app, api.Config{})
	var p api.PortalSettings
	want(t, s.Do(t, http.MethodGet, "/api/v1/portal/settings", s.Login(t, "admin"), nil), http.StatusOK, &p)
	if p.MapTileURL != "" || p.MapBounds != nil || p.MapCenter != nil || p.Enterprises != 0 {
		t.Errorf("settings without coordinates %+v", p)
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

package web

import (
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// Mount serves h (usually Handler()) for GET and HEAD on every path the echo instance has no
// route for. Call it after the API routes are registered; the API's routes, /healthz, /readyz
// and /metrics keep precedence. Under the server's own prefixes (/api, ...) an unknown path is
// a coded JSON 404 for every method, a path with ".." segments is one too (browsers resolve
// them; such a path is a probe, never the portal), and HEAD on an API route that answers only
// GET is a coded 405; the errors go through the echo error handler like the API's own.
func Mount(e *echo.Echo, h http.Handler) {
	wrapped := echo.WrapHandler(h)
	portal := func(c echo.Context) error {
		r := c.Request()
		reservedPath := isReserved(path.Clean("/"+r.URL.Path)) && !dotSegments(r.URL.Path)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if r.Method == http.MethodHead && reservedPath {
				if allow := allowed(e, r); allow != "" { // an API route that answers GET only
					c.Response().Header().Set(echo.HeaderAllow, allow)
					return echo.ErrMethodNotAllowed
				}
			}
			return wrapped(c) // the handler answers reserved and ".." paths with a coded 404
		}
		if allow := allowed(e, r); allow != "" && !dotSegments(r.URL.Path) {
			c.Response().Header().Set(echo.HeaderAllow, allow)
			return echo.ErrMethodNotAllowed
		}
		if reservedPath || dotSegments(r.URL.Path) {
			return echo.ErrNotFound
		}
		c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD")
		return echo.ErrMethodNotAllowed
	}
	// Every method reaches portal for a path without a route of its own, so that an unknown
	// API path is a 404 whatever the method, not a 405 offering the portal's GET.
	e.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, "/*", portal)
}

// allowed lists the methods that have a route of their own for r's path.
func allowed(e *echo.Echo, r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := e.NewContext(r, nil)
		e.Router().Find(m, echo.GetPath(r), probe)
		if p := probe.Path(); p != "" && p != "/*" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// dotSegments reports whether p has a "." or ".." segment.
func dotSegments(p string) bool {
	for len(p) > 0 {
		var seg string
		for len(p) > 0 && p[0] == '/' {
			p = p[1:]
		}
		i := 0
		for i < len(p) && p[i] != '/' {
			i++
		}
		seg, p = p[:i], p[i:]
		if seg == ".." || seg == "." {
			return true
		}
	}
	return false
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Mount serves h (usually Handler()) for GET and HEAD on every path the echo instance has no
// route for. Call it after the API routes are registered; the API's routes, /healthz, /readyz
// and /metrics keep precedence, and unknown /api paths still answer a JSON 404.
func Mount(e *echo.Echo, h http.Handler) {
	wrapped := echo.WrapHandler(h)
	e.GET("/*", wrapped)
	e.HEAD("/*", wrapped)
}

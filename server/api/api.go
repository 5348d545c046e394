// Package api is the HTTP API under /api/v1 on echo v4: flat handlers that decode, call a
// domain service with the authenticated actor, and respond. Errors become responses in one
// place (handleError). Every route is declared with its OpenAPI description, so the document
// at /api/v1/openapi.json always lists exactly the routes that exist.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// Config is what the API needs of the server's configuration.
type Config struct {
	MaxBodyBytes   int64
	MaxImportBytes int64
	MaxSyncBytes   int64
	Version        string
	// MapTileURL is the portal map's tile URL template ({z}/{x}/{y}, key included); empty:
	// the portal draws its bundled outline of the city only.
	MapTileURL string
}

// Deps are the services the API calls.
type Deps struct {
	DB       sqldb.DB
	Accounts *account.Service
	Org      *org.Service
	Audit    *audit.Service
	Sync     *syncsvc.Service
	Registry *prometheus.Registry
	Log      *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	Echo *echo.Echo
	Deps
	cfg     Config
	log     *slog.Logger
	ops     []Op
	legacy  []string // see legacyRoute
	latency *prometheus.HistogramVec
	doc     openAPIDoc
	// refusals coalesces identical refusals in the audit log (refusals.go).
	refusals coalescer
}

// New builds the API with every route registered.
func New(cfg Config, d Deps) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	s := &Server{Echo: e, Deps: d, cfg: cfg, log: d.Log.With("component", "api")}
	e.HTTPErrorHandler = s.handleError
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "yingji_http_request_duration_seconds",
		Help:    "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})
	d.Registry.MustRegister(s.latency)

	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: yingji.NewID}))
	e.Use(s.auditScope)
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "stack", string(stack))
		return err
	}}))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	e.GET("/api/v1/openapi.json", s.openAPI)

	s.authRoutes()
	s.userRoutes()
	s.auditRoutes()
	s.orgRoutes()
	s.importRoutes()
	s.syncRoutes()
	s.patrolRoutes()
	s.hazardRoutes()
	s.statsRoutes()
	return s
}

// observe records the latency of every request under its route pattern (not its URL, so ids
// do not explode the label set).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.latency.WithLabelValues(c.Request().Method, route, strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
		return nil
	}
}

func (s *Server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.log.Warn("readiness: database unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, ErrorBody{Code: "ready.db_unreachable", Message: "数据库无法连接",
			RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
	}
	if err := sqldb.CheckSchema(ctx, s.DB); err != nil {
		return c.JSON(http.StatusServiceUnavailable, ErrorBody{Code: "ready.schema_mismatch", Message: err.Error(),
			RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "engine": s.DB.Engine()})
}

// Op describes one API route for the router and the OpenAPI document.
type Op struct {
	Method   string
	Path     string // echo syntax, e.g. /enterprises/:id (under /api/v1)
	Summary  string // Chinese, one line
	Tag      string
	Public   bool    // no session needed
	Query    []Param // query parameters
	Body     any     // a value of the request body type, or nil
	Resp     any     // a value of the 2xx response body type, or nil
	Status   int     // 2xx status; 200 if zero
	Produces string  // content type of a non-JSON response (Excel files, SDP)
	Consumes string  // content type of a non-JSON request body (SDP, trickle-ice-sdpfrag)
	// Unavailable: the op may answer 503 with Retry-After (a capacity limit).
	Unavailable bool
	// Description is a longer Chinese description of the op (protocol notes).
	Description string
	Upload      bool   // multipart/form-data request with a "file" field
	Auth        string // how a Public op authenticates instead: AuthBasic (devices) or AuthSigned (signed URL)
	Example     any    // an example of the JSON request body, shown in the OpenAPI document
}

// How a Public op authenticates (Op.Auth); an op that is not Public needs a bearer session.
const (
	AuthBasic  = "basic"  // HTTP Basic: a device's code and secret
	AuthSigned = "signed" // a signed URL: query parameters u, exp and sig
)

// Param is a query parameter.
type Param struct {
	Name, Type, Desc string // Type: string, integer, boolean
}

// Paging are the list parameters every list accepts.
var Paging = []Param{
	{"page", "integer", "页码，从 1 开始"},
	{"page_size", "integer", "每页条数，默认 20，最大 500"},
	{"sort", "string", "排序字段，前缀 - 表示倒序"},
}

// route registers a handler under /api/v1 with its description. Unless the op is public,
// the handler runs only with an authenticated actor in the context.
func (s *Server) route(o Op, h echo.HandlerFunc) {
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	s.ops = append(s.ops, o)
	if !o.Public {
		h = s.authenticated(h)
	}
	s.Echo.Add(o.Method, "/api/v1"+o.Path, h)
}

// legacyRoute keeps an old URL of a documented route working for clients that still hold it
// (upload URLs handed out before a move). It is authenticated like the route it stands for
// and left out of the OpenAPI document, which lists each operation once.
func (s *Server) legacyRoute(method, path string, h echo.HandlerFunc) {
	s.legacy = append(s.legacy, method+" "+apiPrefix+path)
	s.Echo.Add(method, apiPrefix+path, s.authenticated(h))
}

// LegacyRoutes lists the old URLs kept routed beside the documented ones ("METHOD /api/v1/...").
func (s *Server) LegacyRoutes() []string { return append([]string(nil), s.legacy...) }

type actorKey struct{}

// authenticated resolves the bearer token to an actor.
func (s *Server) authenticated(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := bearer(c)
		a, err := s.Accounts.Authenticate(c.Request().Context(), token, c.RealIP(), c.Response().Header().Get(echo.HeaderXRequestID))
		s.noteCaller(c, a, token, err)
		if err != nil {
			return err
		}
		c.Set("actor", a)
		return next(c)
	}
}

// bearer returns the session token of a request: the Authorization header, or for WebSocket
// clients that cannot set headers the token query parameter.
func bearer(c echo.Context) string {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	if c.Request().Header.Get("Upgrade") != "" {
		return c.QueryParam("token")
	}
	return ""
}

// actor returns the authenticated caller.
func actor(c echo.Context) *yingji.Actor {
	a, _ := c.Get("actor").(*yingji.Actor)
	return a
}

// listParams reads page, page_size and sort.
func listParams(c echo.Context) (yingji.ListParams, error) {
	var p yingji.ListParams
	var err error
	if p.Page, err = intQuery(c, "page"); err != nil {
		return p, err
	}
	if p.PageSize, err = intQuery(c, "page_size"); err != nil {
		return p, err
	}
	p.Sort = c.QueryParam("sort")
	p.Normalize()
	return p, nil
}

func intQuery(c echo.Context, name string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为非负整数", name)
	}
	return n, nil
}

func boolQuery(c echo.Context, name string) (*bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为 true 或 false", name)
	}
	return &b, nil
}

func timeQuery(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if d, err2 := time.ParseInLocation("2006-01-02", v, shanghai); err2 == nil {
			return &d, nil
		}
		return nil, yingji.Invalid("request.bad_query", name, "查询参数 %s 应为时间（如 2026-11-28 或 2026-11-28T08:00:00+08:00）", name)
	}
	return &t, nil
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/api"
)

const openAPIPath = "/api/v1/openapi.json"

func newOpenAPIServer(t *testing.T) *api.Server {
	t.Helper()
	return api.New(api.Config{Version: "test", MaxBodyBytes: 1 << 20},
		api.Deps{Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// loadOpenAPI fetches the document through the router and checks that it is valid OpenAPI.
func loadOpenAPI(t *testing.T, s *api.Server) *openapi3.T {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, openAPIPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", openAPIPath, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want application/json", openAPIPath, ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load document: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("document is not valid OpenAPI: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	s := newOpenAPIServer(t)
	doc := loadOpenAPI(t, s)

	if doc.Info.Version != "test" {
		t.Errorf("info.version = %q, want test", doc.Info.Version)
	}
	if ss := doc.Components.SecuritySchemes["bearerAuth"]; ss == nil || ss.Value.Type != "http" || ss.Value.Scheme != "bearer" {
		t.Errorf("bearerAuth security scheme missing or wrong: %+v", ss)
	}
	if doc.Components.Schemas["ErrorBody"] == nil {
		t.Error("components.schemas.ErrorBody missing")
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
				t.Errorf("%s: operationId %q empty or also used by %s", where, op.OperationID, prev)
			}
			ids[op.OperationID] = where
			public := op.Security == nil || len(*op.Security) == 0
			if public {
				continue
			}
			for _, st := range []string{"400", "401", "403", "404", "500"} {
				r := op.Responses.Value(st)
				if r == nil || r.Value == nil || r.Value.Content.Get("application/json") == nil {
					t.Errorf("%s: authenticated op lacks a JSON %s error response", where, st)
				}
			}
		}
	}

	// Spot checks on the mapping of an op's declaration.
	login := doc.Paths.Find("/api/v1/auth/login").GetOperation(http.MethodPost)
	if login == nil || login.Security != nil && len(*login.Security) > 0 || login.RequestBody == nil {
		t.Errorf("POST /auth/login should be public with a request body: %+v", login)
	}
	logout := doc.Paths.Find("/api/v1/auth/logout").GetOperation(http.MethodPost)
	if logout == nil || logout.Security == nil || len(*logout.Security) == 0 || logout.Responses.Value("204") == nil {
		t.Errorf("POST /auth/logout should need a session and answer 204: %+v", logout)
	}
	if u := doc.Paths.Find("/api/v1/users/{id}"); u == nil || u.GetOperation(http.MethodGet) == nil ||
		len(u.GetOperation(http.MethodGet).Parameters) != 1 || u.GetOperation(http.MethodGet).Parameters[0].Value.In != "path" {
		t.Errorf("GET /users/{id} should have one path parameter: %+v", u)
	}
}

// TestOpenAPICoversAllRoutes keeps the document true: every route under /api/v1 is in it and
// it lists no route that does not exist. A route registered with Echo.Add instead of s.route
// fails here.
func TestOpenAPICoversAllRoutes(t *testing.T) {
	s := newOpenAPIServer(t)
	doc := loadOpenAPI(t, s)

	param := regexp.MustCompile(`:([^/]+)`)
	routes := map[string]bool{}
	for _, r := range s.Echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == openAPIPath {
			continue
		}
		p := param.ReplaceAllString(r.Path, "{$1}")
		p = strings.ReplaceAll(p, "*", "{path}")
		routes[r.Method+" "+p] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}

	var missing, extra []string
	for k := range routes {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routes[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("%d route(s) missing from the OpenAPI document (declare them with s.route(Op{...}, h)):\n\t%s",
			len(missing), strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("%d operation(s) in the OpenAPI document without a route:\n\t%s", len(extra), strings.Join(extra, "\n\t"))
	}
	if len(routes) == 0 {
		t.Error("no routes under /api/v1")
	}
}

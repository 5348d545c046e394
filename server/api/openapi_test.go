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
	"github.com/yingji/yingji/server/app/apptest"
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

	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %q has no description (add it to tagDescriptions in openapi.go)", tag.Name)
		}
	}
	if len(doc.Servers) == 0 {
		t.Error("no servers")
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
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == openAPIPath || slices.Contains(s.LegacyRoutes(), r.Method+" "+r.Path) {
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

// TestOpenAPIContract checks, on the whole app's document, what a generated client relies on:
// how each kind of route authenticates, required fields of responses, closed sets of values,
// and that every entry of the description tables names a schema of the document.
func TestOpenAPIContract(t *testing.T) {
	s := apptest.Start(t)
	unresolved, err := api.UnresolvedSchemaDocs(s.API)
	if err != nil || len(unresolved) > 0 {
		t.Errorf("schemaDocs/schemaEnums entries without a schema in the document: %v (%v)", unresolved, err)
	}
	r := s.Do(t, http.MethodGet, openAPIPath, "", nil)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	security := func(method, path string) string {
		op := doc.Paths.Find(path).GetOperation(method)
		if op == nil || op.Security == nil {
			return "<missing>"
		}
		var names []string
		for _, req := range *op.Security {
			for name := range req {
				names = append(names, name)
			}
		}
		return strings.Join(names, ",")
	}
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/api/v1/auth/login", ""},
		{"GET", "/api/v1/auth/password-policy", ""},
		{"OPTIONS", "/api/v1/media/uploads", ""},
		{"POST", "/api/v1/ingest/readings", "deviceBasic"},
		{"GET", "/api/v1/media/{sha256}/signed/{variant}", "signedURL"},
		{"GET", "/api/v1/alerts", "bearerAuth"},
		{"POST", "/api/v1/hazards/{id}/accept", "bearerAuth"},
	} {
		if got := security(c.method, c.path); got != c.want {
			t.Errorf("%s %s: security %q, want %q", c.method, c.path, got, c.want)
		}
	}
	for _, sc := range []string{"bearerAuth", "deviceBasic", "signedURL"} {
		if doc.Components.SecuritySchemes[sc] == nil {
			t.Errorf("security scheme %s missing", sc)
		}
	}
	schema := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("schema %s missing", name)
		}
		return ref.Value
	}
	for name, fields := range map[string][]string{
		"Hazard":         {"id", "status", "level", "title", "enterprise_id"},
		"Alert":          {"id", "status", "level", "kind"},
		"RiskPointInput": {"enterprise_id", "code", "name", "level"},
		"LoginInput":     {"username", "password"},
	} {
		for _, f := range fields {
			if !slices.Contains(schema(name).Required, f) {
				t.Errorf("%s.required %v lacks %s", name, schema(name).Required, f)
			}
		}
	}
	if slices.Contains(schema("MonitorPointInput").Required, "thresholds") {
		t.Error("MonitorPointInput.thresholds is required, but leaving it out means the default thresholds")
	}
	if e := schema("Hazard").Properties["status"].Value.Enum; len(e) != 5 {
		t.Errorf("Hazard.status enum %v", e)
	}
	if d := schema("Alert").Properties["status"].Value.Description; d == "" {
		t.Error("Alert.status has no description")
	}
	if schema("HazardReport").Example == nil || schema("IngestBody").Example == nil {
		t.Error("request bodies without example")
	}
	var statusEnum []any
	for _, p := range doc.Paths.Find("/api/v1/alerts").GetOperation("GET").Parameters {
		if p.Value.Name == "status" {
			statusEnum = p.Value.Schema.Value.Enum
		}
	}
	if len(statusEnum) != 5 {
		t.Errorf("GET /alerts ?status enum %v", statusEnum)
	}
}

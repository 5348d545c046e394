package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"

	adminweb "github.com/yingji/yingji/admin-web"
	"github.com/yingji/yingji/server/web"
)

const indexHTML = `<!doctype html><html lang="zh-CN"><head><title>应急管理平台</title>` +
	`<script type="module" src="/assets/index-AbC123.js"></script></head><body><div id="app"></div></body></html>`

var bigJS = strings.Repeat("console.log('应急');\n", 200)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(indexHTML)},
		"favicon.svg":            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-AbC123.js": {Data: []byte(bigJS)},
		"assets/logo-Xy9.png":    {Data: []byte("\x89PNG fake")},
	}
}

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := web.New(testFS())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNew(t *testing.T) {
	t.Run("ErrNoIndex", func(t *testing.T) {
		if _, err := web.New(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil {
			t.Fatal("want an error without index.html")
		}
	})
}

func TestIndex(t *testing.T) {
	h := newHandler(t)
	for _, target := range []string{"/", "/index.html", "/login", "/enterprises", "/org/units/01abc", "/users?page=2"} {
		t.Run("OK"+target, func(t *testing.T) {
			w := get(h, "GET", target)
			if w.Code != 200 || w.Body.String() != indexHTML {
				t.Fatalf("%s: status %d body %.60q", target, w.Code, w.Body.String())
			}
			if got := w.Header().Get("Cache-Control"); got != web.CacheRevalidate {
				t.Errorf("Cache-Control = %q", got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if etag := w.Header().Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
				t.Errorf("ETag = %q", etag)
			}
		})
	}
	t.Run("NotModified", func(t *testing.T) {
		etag := get(h, "GET", "/").Header().Get("ETag")
		w := get(h, "GET", "/enterprises", "If-None-Match", etag)
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Fatalf("status %d, %d bytes; want 304 and no body", w.Code, w.Body.Len())
		}
		if w.Header().Get("ETag") != etag {
			t.Errorf("304 without the ETag")
		}
		if w := get(h, "GET", "/", "If-None-Match", `"stale"`); w.Code != 200 {
			t.Errorf("stale ETag: status %d, want 200", w.Code)
		}
	})
	t.Run("OKHead", func(t *testing.T) {
		w := get(h, "HEAD", "/users")
		if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("ETag") == "" {
			t.Fatalf("HEAD: status %d, %d bytes", w.Code, w.Body.Len())
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		w := get(h, "POST", "/login")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Fatalf("POST: status %d Allow %q", w.Code, w.Header().Get("Allow"))
		}
	})
}

func TestAssets(t *testing.T) {
	h := newHandler(t)
	t.Run("OKImmutable", func(t *testing.T) {
		w := get(h, "GET", "/assets/index-AbC123.js")
		if w.Code != 200 || w.Body.String() != bigJS {
			t.Fatalf("status %d", w.Code)
		}
		if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("Cache-Control = %q", got)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
	})
	t.Run("OKGzip", func(t *testing.T) {
		w := get(h, "GET", "/assets/index-AbC123.js", "Accept-Encoding", "br, gzip")
		if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Content-Encoding %q Vary %q", w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		if string(b) != bigJS {
			t.Fatal("gzip body differs from the file")
		}
		plain := get(h, "GET", "/assets/index-AbC123.js").Header().Get("ETag")
		if w.Header().Get("ETag") == plain {
			t.Error("the gzip form has the same ETag as the plain file")
		}
		if w := get(h, "GET", "/assets/logo-Xy9.png", "Accept-Encoding", "gzip"); w.Header().Get("Content-Encoding") != "" {
			t.Error("PNG gzipped")
		}
		if w := get(h, "GET", "/assets/index-AbC123.js", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
			t.Error("gzip sent though refused with q=0")
		}
	})
	t.Run("OKUnhashedRevalidate", func(t *testing.T) {
		w := get(h, "GET", "/favicon.svg")
		if w.Code != 200 || w.Header().Get("Cache-Control") != web.CacheRevalidate || w.Header().Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("status %d Cache-Control %q Content-Type %q", w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"))
		}
	})
	t.Run("ErrMissingAsset", func(t *testing.T) {
		for _, target := range []string{"/assets/gone-123.js", "/missing.css"} {
			w := get(h, "GET", target)
			if w.Code != 404 || strings.Contains(w.Body.String(), "<html") {
				t.Errorf("%s: status %d body %.40q; want 404 without the page", target, w.Code, w.Body.String())
			}
		}
	})
}

func TestReserved(t *testing.T) {
	h := newHandler(t)
	for _, target := range []string{"/api", "/api/v1/nope", "/api/v2/enterprises", "/healthz/x", "/metrics/", "/readyz/deep", "/x/../api/v1/x"} {
		t.Run("ErrNotFound"+target, func(t *testing.T) {
			for _, method := range []string{"GET", "POST", "DELETE"} {
				w := get(h, method, target)
				if w.Code != 404 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
					t.Fatalf("%s %s: status %d type %q", method, target, w.Code, w.Header().Get("Content-Type"))
				}
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				if body["code"] != "request.no_route" || body["message"] != "接口不存在" {
					t.Fatalf("%s %s: body %v", method, target, body)
				}
			}
		})
	}
	t.Run("OKClientRouteLookingAlike", func(t *testing.T) {
		if w := get(h, "GET", "/apiary"); w.Code != 200 || w.Body.String() != indexHTML {
			t.Fatalf("/apiary: status %d", w.Code)
		}
	})
}

// TestMount checks the portal behind echo: the server's own routes keep precedence.
func TestMount(t *testing.T) {
	e := echo.New()
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(200, map[string]string{"status": "ok"}) })
	e.GET("/metrics", func(c echo.Context) error { return c.String(200, "go_goroutines 1") })
	e.GET("/api/v1/enterprises", func(c echo.Context) error { return c.JSON(200, map[string]int{"total": 0}) })
	e.POST("/api/v1/auth/login", func(c echo.Context) error { return c.NoContent(204) })
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Response().Header().Set("X-Request-ID", "rid-1"); return next(c) }
	})
	web.Mount(e, newHandler(t))

	cases := []struct {
		method, target string
		status         int
		contains       string
	}{
		{"GET", "/healthz", 200, `"ok"`},
		{"GET", "/metrics", 200, "go_goroutines"},
		{"GET", "/api/v1/enterprises", 200, `"total"`},
		{"POST", "/api/v1/auth/login", 204, ""},
		{"GET", "/api/v1/nope", 404, `"request_id":"rid-1"`},
		{"GET", "/", 200, "应急管理平台"},
		{"GET", "/enterprises/01x", 200, "应急管理平台"},
		{"HEAD", "/enterprises", 200, ""},
		{"GET", "/assets/index-AbC123.js", 200, "console.log"},
		// Under the server's prefixes: errors for the echo error handler (the API's answers them
		// coded: server/api TestAPIPathsNeverThePortal), never the portal.
		{"PUT", "/api/v1/enterprises", 405, `"message"`},
		{"HEAD", "/api/v1/enterprises", 405, ""},
		{"POST", "/api/v1/nope", 404, `"message"`},
		{"DELETE", "/api/v1/nope/x", 404, `"message"`},
		{"GET", "/api/v1/media/../../../x", 404, `"message"`},
		{"GET", "/api/v1/media/%2e%2e/%2E%2E/%2e%2e/x", 404, `"message"`},
		{"GET", "/api/../index.html", 404, `"message"`},
		{"HEAD", "/api/v1/../../index.html", 404, ""},
		{"GET", "/healthz/../enterprises", 404, `"message"`},
		{"POST", "/enterprises", 405, `"message"`},
	}
	for _, c := range cases {
		w := get(e, c.method, c.target)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s %s: status %d body %.80q; want %d containing %q", c.method, c.target, w.Code, w.Body.String(), c.status, c.contains)
		}
	}
}

// TestEmbedded checks the committed build: it has an index.html whose scripts and styles
// all exist, so a half-built dist cannot be committed unnoticed.
func TestEmbedded(t *testing.T) {
	h := web.Handler()
	w := get(h, "GET", "/")
	if w.Code != 200 {
		t.Fatalf("embedded index: status %d", w.Code)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(w.Body.String(), -1)
	if len(refs) == 0 {
		t.Fatalf("index.html references no /assets/ file:\n%s", w.Body.String())
	}
	for _, m := range refs {
		if w := get(h, "GET", m[1]); w.Code != 200 || w.Header().Get("Cache-Control") != web.CacheImmutable {
			t.Errorf("%s: status %d Cache-Control %q", m[1], w.Code, w.Header().Get("Cache-Control"))
		}
	}
	// dist is rebuilt from source by CI; a stray file that the build does not make would be served forever.
	var n int
	fs.WalkDir(adminweb.Dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if n < 2 {
		t.Errorf("dist holds %d files", n)
	}
}

// TestOpenAPIDocument fails when the server's API changed but the portal's copy of the
// OpenAPI document (admin-web/openapi.json, from which src/api/schema.d.ts is generated) did
// not follow: the portal would be built against endpoints that no longer exist.
func TestOpenAPIDocument(t *testing.T) {
	committed, err := os.ReadFile("../../admin-web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	current := serverDocument(t)
	if *update {
		writeDocument(t, "../../admin-web/openapi.json", current)
		committed, _ = os.ReadFile("../../admin-web/openapi.json")
	}
	var a, b any
	if err := json.Unmarshal(committed, &a); err != nil {
		t.Fatalf("admin-web/openapi.json: %v", err)
	}
	if err := json.Unmarshal(current, &b); err != nil {
		t.Fatal(err)
	}
	ca, _ := json.MarshalIndent(a, "", "  ")
	cb, _ := json.MarshalIndent(b, "", "  ")
	if !bytes.Equal(ca, cb) {
		t.Fatalf("admin-web/openapi.json differs from the server's OpenAPI document (first difference near:\n%s\n)\n"+
			"Refresh it and the portal: cd admin-web && npm run api:fetch && npm run build", firstDiff(string(ca), string(cb)))
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "committed: " + strings.TrimSpace(x) + "\nserver:    " + strings.TrimSpace(y)
		}
	}
	return ""
}

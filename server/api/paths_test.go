package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
)

// TestAPIPathsNeverThePortal: under /api a wrong method is a coded 405 naming the allowed
// methods, an unknown path a coded 404 whatever the method, and a path with ".." (also
// percent-encoded) a coded 404 — never the portal's HTML.
func TestAPIPathsNeverThePortal(t *testing.T) {
	s := apptest.Start(t)
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"POST", "/api/v1/auth/me", 405, "request.method_not_allowed", "GET"},
		{"DELETE", "/api/v1/hazards", 405, "request.method_not_allowed", "GET"},
		{"HEAD", "/api/v1/users", 405, "", "GET"},
		{"PUT", "/api/v1/nope", 404, "request.no_route", ""},
		{"POST", "/api/v1/media/../../../x", 404, "request.no_route", ""},
		{"GET", "/api/v1/nope", 404, "request.no_route", ""},
		{"GET", "/api/v1/media/../../x", 404, "request.no_route", ""},
		{"GET", "/api/v1/media/../../../x", 404, "request.no_route", ""},
		{"GET", "/api/v1/media/%2e%2e/%2e%2e/%2E%2E/x", 404, "request.no_route", ""},
		{"GET", "/api/../index.html", 404, "request.no_route", ""},
		{"HEAD", "/api/v1/../../index.html", 404, "", ""},
	} {
		req, err := http.NewRequest(c.method, s.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultTransport.RoundTrip(req) // as sent: no client-side cleaning
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r := apptest.Response{Status: res.StatusCode, Header: res.Header, Body: body}
		if ct := res.Header.Get("Content-Type"); c.method != "HEAD" && !strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: %d %s %.80s, want JSON", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), body)
			continue
		}
		if c.method == "HEAD" {
			if r.Status != c.status {
				t.Errorf("%s %s: %d, want %d", c.method, c.path, r.Status, c.status)
			}
		} else {
			wantError(t, r, c.status, c.code)
		}
		if got := res.Header.Get("Allow"); c.allow != "" && !strings.Contains(got, c.allow) || c.status == 404 && got != "" {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
}

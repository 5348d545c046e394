package web_test

import (
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
)

// serverDocument returns the OpenAPI document of a freshly started server.
func serverDocument(t *testing.T) []byte {
	t.Helper()
	s := apptest.Start(t)
	r := s.Do(t, "GET", "/api/v1/openapi.json", "", nil)
	if r.Status != 200 {
		t.Fatalf("GET /api/v1/openapi.json: status %d", r.Status)
	}
	return r.Body
}

package web_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
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

var update = flag.Bool("update", false, "rewrite admin-web/openapi.json from the server's document (then: cd admin-web && npm run api)")

// writeDocument writes doc as admin-web/scripts/fetch-openapi.mjs does: two-space indent,
// no HTML escaping, a final newline.
func writeDocument(t *testing.T, path string, doc []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

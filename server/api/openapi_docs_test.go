package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/yingji/yingji/server/app/apptest"
)

// TestOpenAPISchemasDescribed keeps the whole app's document described in Chinese: every
// component schema and every property that does not refer to another component (which
// carries its own description) has a description, so generated clients and the rendered
// reference never show a bare field.
func TestOpenAPISchemasDescribed(t *testing.T) {
	s := apptest.Start(t)
	r := s.Do(t, http.MethodGet, openAPIPath, "", nil)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name, ref := range doc.Components.Schemas {
		if ref.Value.Description == "" {
			missing = append(missing, name)
		}
		for prop, p := range ref.Value.Properties {
			if p.Ref == "" && p.Value.Description == "" {
				missing = append(missing, name+"."+prop)
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d schemas or properties without a description (add them to schemaDocs): %v", len(missing), missing)
	}
	if len(doc.Components.Schemas) < 150 {
		t.Errorf("only %d component schemas: the document is not the whole app's", len(doc.Components.Schemas))
	}
}

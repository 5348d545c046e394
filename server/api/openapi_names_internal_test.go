package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
)

// TestComponentNamesStable: a component name that two types would take is qualified with the
// package for both (timeline.Position and video.Position), a generic's with its type arguments'
// packages, and the names do not depend on the order in which the routes are mounted.
func TestComponentNamesStable(t *testing.T) {
	ops := []Op{
		{Method: http.MethodGet, Path: "/a", Summary: "a", Resp: timeline.Position{}},
		{Method: http.MethodGet, Path: "/b", Summary: "b", Resp: []video.Position{}},
		{Method: http.MethodGet, Path: "/c", Summary: "c", Resp: yingji.Page[timeline.Position]{}},
		{Method: http.MethodGet, Path: "/d", Summary: "d", Resp: yingji.Page[video.Position]{}},
		{Method: http.MethodGet, Path: "/e", Summary: "e", Resp: timeline.Replay{}},
	}
	build := func(ops []Op) (names []string, schemas string, refs map[string]string) {
		t.Helper()
		doc, err := buildOpenAPI(ops, "test")
		if err != nil {
			t.Fatal(err)
		}
		for n := range doc.Components.Schemas {
			names = append(names, n)
		}
		slices.Sort(names)
		b, err := json.Marshal(doc.Components.Schemas)
		if err != nil {
			t.Fatal(err)
		}
		refs = map[string]string{}
		for _, o := range ops {
			p := o.Path
			s := doc.Paths.Value(apiPrefix + p).Get.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema
			if s.Ref == "" && s.Value != nil && s.Value.Items != nil {
				s = s.Value.Items
			}
			refs[p] = s.Ref
		}
		return names, string(b), refs
	}

	names, schemas, refs := build(ops)
	for _, want := range []string{"timeline.Position", "video.Position", "Page_timeline.Position", "Page_video.Position", "Replay"} {
		if !slices.Contains(names, want) {
			t.Errorf("component %s missing: %v", want, names)
		}
	}
	for _, bare := range []string{"Position", "Page_Position"} {
		if slices.Contains(names, bare) {
			t.Errorf("the colliding name %s is left bare for one of the types: %v", bare, names)
		}
	}
	wantRefs := map[string]string{"/a": "timeline.Position", "/b": "video.Position", "/c": "Page_timeline.Position", "/d": "Page_video.Position"}
	for p, n := range wantRefs {
		if refs[p] != schemaRefBase+n {
			t.Errorf("GET %s answers %q, want %s", p, refs[p], schemaRefBase+n)
		}
	}

	reversed := slices.Clone(ops)
	slices.Reverse(reversed)
	names2, schemas2, refs2 := build(reversed)
	if !slices.Equal(names, names2) || schemas != schemas2 {
		t.Errorf("the components depend on the order of the routes:\n%v\n%v", names, names2)
	}
	for p := range wantRefs {
		if refs[p] != refs2[p] {
			t.Errorf("GET %s: %s, reversed %s", p, refs[p], refs2[p])
		}
	}

	// Without a collision the name stays bare.
	names3, _, _ := build(ops[:1])
	if !slices.Contains(names3, "Position") {
		t.Errorf("a name no other type takes was qualified: %v", names3)
	}
}

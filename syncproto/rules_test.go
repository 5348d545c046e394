package syncproto_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

func TestEqualJSON(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{`1`, `1.0`, true}, {`1`, `1e0`, true}, {`-0`, `0`, true}, {`0.1`, `1e-1`, true},
		{`12345678901234567891`, `12345678901234567892`, false}, {`12345678901234567891`, `12345678901234567891`, true},
		{`{"a":1,"b":[1,"x"]}`, ` { "b" : [1.0, "x"], "a" : 1 } `, true},
		{`{"a":1}`, `{"a":1,"b":null}`, false}, {`[1,2]`, `[2,1]`, false},
		{`"a"`, `"a"`, true}, {`"\u0041"`, `"A"`, true}, {`"1"`, `1`, false},
		{`null`, ``, true}, {`null`, `false`, false}, {`true`, `true`, true},
		{`{bad`, `{bad`, true}, {`{bad`, `{bad `, false},
	} {
		if got := syncproto.EqualJSON(json.RawMessage(c.a), json.RawMessage(c.b)); got != c.eq {
			t.Errorf("EqualJSON(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, spec := range goldenSpecs(t) {
		err := spec.Validate()
		if (err != nil) != (spec.Name == "broken") {
			t.Errorf("%s: %v", spec.Name, err)
		}
	}
	m := &syncproto.StateMachine{States: []string{"a", "b"}, Transitions: map[string][]string{"a": {"c"}}}
	for _, spec := range []syncproto.CollectionSpec{
		{},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "string"}, {Name: "a", Type: "string"}}},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "text"}}},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "string", Rule: "max"}}},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "string", Rule: syncproto.Set}}},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "string", Rule: syncproto.State, Machine: m}}},
		{Name: "x", Fields: []syncproto.FieldSpec{{Name: "a", Type: "string", Rule: syncproto.State,
			Machine: &syncproto.StateMachine{States: []string{"a"}, Initial: "z"}}}},
	} {
		if spec.Validate() == nil {
			t.Errorf("%+v validated", spec)
		}
	}
}

func TestStateMachineReachable(t *testing.T) {
	m := &syncproto.StateMachine{States: []string{"reported", "assigned", "rectifying", "submitted", "accepted"},
		Transitions: map[string][]string{"reported": {"assigned"}, "assigned": {"rectifying"}, "rectifying": {"submitted"},
			"submitted": {"rectifying", "accepted"}}}
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{"reported", "accepted", true}, {"submitted", "rectifying", true}, {"rectifying", "rectifying", true},
		{"accepted", "rectifying", false}, {"assigned", "reported", false}, {"reported", "reported", false},
	} {
		if got := m.Reachable(c.from, c.to); got != c.want {
			t.Errorf("Reachable(%s, %s) = %v", c.from, c.to, got)
		}
	}
}

func TestMergeNilSpecAndStateHelpers(t *testing.T) {
	cur := syncproto.RecordState{Exists: true}
	next, merged, rej := syncproto.Merge(nil, cur, syncproto.Mutation{Op: syncproto.OpUpdate, HLC: "0001732780800000-00000-a"})
	if rej == nil || rej.Code != syncproto.CodeUnknownColl || merged || !reflect.DeepEqual(next, cur) {
		t.Fatalf("nil spec: %v", rej)
	}
	if rej.Error() == "" {
		t.Fatal("empty error")
	}
	s := syncproto.RecordState{Exists: true, Fields: map[string]json.RawMessage{"a": json.RawMessage(`{"x":1}`)}, Stamps: map[string]string{"a": "s"}}
	c := s.Clone()
	c.Fields["a"][2] = 'y'
	c.Stamps["a"] = "t"
	if string(s.Fields["a"]) != `{"x":1}` || s.Stamps["a"] != "s" {
		t.Fatal("Clone shares memory")
	}
	if !(syncproto.RecordState{}).Equal(syncproto.RecordState{Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}}) {
		t.Fatal("nil and empty maps differ")
	}
	if s.Equal(c) || !s.Equal(s.Clone()) {
		t.Fatal("Equal")
	}
}

// TestMergeConcurrentConverges: two devices edit the same record concurrently; whichever
// order the server receives them in, it ends in the same state.
func TestMergeConcurrentConverges(t *testing.T) {
	cases, err := syncproto.LoadGolden(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var spec syncproto.CollectionSpec
	for _, c := range cases {
		if c.Spec.Name == "hazards" {
			spec = c.Spec
			break
		}
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	base := syncproto.RecordState{Exists: true,
		Fields: map[string]json.RawMessage{"title": raw(`"t"`), "enterprise_id": raw(`"e"`), "status": raw(`"assigned"`), "photos": raw(`["a","b"]`), "level": raw(`1`)},
		Stamps: map[string]string{"title": "0001732780800000-00000-a", "enterprise_id": "0001732780800000-00000-a",
			"status": "0001732780800000-00000-a", "photos": "0001732780800000-00000-a", "level": "0001732780800000-00000-a"}}
	a := syncproto.Mutation{Op: syncproto.OpUpdate, HLC: "0001732780805000-00000-devA",
		Fields: map[string]json.RawMessage{"title": raw(`"A"`), "status": raw(`"rectifying"`), "photos": raw(`["a","c"]`)},
		Base:   map[string]json.RawMessage{"photos": raw(`["a","b"]`)}}
	b := syncproto.Mutation{Op: syncproto.OpUpdate, HLC: "0001732780805000-00000-devB",
		Fields: map[string]json.RawMessage{"title": raw(`"B"`), "level": raw(`3`), "photos": raw(`["a","b","d"]`)},
		Base:   map[string]json.RawMessage{"photos": raw(`["a","b"]`)}}
	apply := func(ms ...syncproto.Mutation) syncproto.RecordState {
		s := base
		for _, m := range ms {
			n, _, rej := syncproto.Merge(&spec, s, m)
			if rej != nil {
				t.Fatal(rej)
			}
			s = n
		}
		return s
	}
	ab, ba := apply(a, b), apply(b, a)
	if !ab.Equal(ba) {
		x, _ := json.Marshal(ab)
		y, _ := json.Marshal(ba)
		t.Fatalf("orders differ:\n%s\n%s", x, y)
	}
	if string(ab.Fields["title"]) != `"B"` || string(ab.Fields["photos"]) != `["a","c","d"]` || string(ab.Fields["status"]) != `"rectifying"` {
		x, _ := json.Marshal(ab)
		t.Fatalf("unexpected result %s", x)
	}
}

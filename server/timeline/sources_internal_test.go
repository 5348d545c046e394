package timeline

import (
	"encoding/json"
	"testing"

	"github.com/yingji/yingji/server/task"
)

// TestAt2MatchesJSON: the location fast path reads what encoding/json reads, and leaves
// everything else to it.
func TestAt2MatchesJSON(t *testing.T) {
	ref := func(loc string) (*float64, *float64) {
		var l *task.Location
		if json.Unmarshal([]byte(loc), &l) != nil || l == nil || !l.Valid() {
			return nil, nil
		}
		return ptr(l.Lat), ptr(l.Lng)
	}
	for _, loc := range []string{`{"lat":30.22,"lng":120.35}`, `{"lat":-0,"lng":0}`, `{"lat":1e1,"lng":-1.5E-3}`, `{"lat":30.123456789012345678,"lng":120}`,
		`{"lat":91,"lng":120}`, `{"lat":01,"lng":120}`, `{"lat":1.,"lng":120}`, `{"lat":+1,"lng":120}`, `{"lat":0x1p3,"lng":1}`,
		`{"lat":"30","lng":120}`, `{"lng":120.35,"lat":30.22}`, `{"lat": 30.22, "lng": 120.35}`, `{"lat":30.22,"lng":120.35,"acc":5}`,
		`{"lat":30.22,"lng":120.35`, `null`, ``, `[]`, `{"lat":30.22,"lng":NaN}`, `{"lat":1,"lng":1e999}`} {
		gx, gy := at2(loc)
		wx, wy := ref(loc)
		same := func(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
		if !same(gx, wx) || !same(gy, wy) {
			t.Errorf("at2(%s) differs from encoding/json", loc)
		}
	}
	for _, s := range []string{"[]", `["a","b"]`, "null", ""} {
		var want []string
		json.Unmarshal([]byte(s), &want)
		if got := mediaList(s); (got == nil) != (want == nil) || len(got) != len(want) {
			t.Errorf("mediaList(%q) = %#v, want %#v", s, got, want)
		}
	}
}

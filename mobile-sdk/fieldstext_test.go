package sdk

import (
	"encoding/json"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

// The fast text of a pulled record is exactly what json.Marshal writes, fast path or not.
func TestFieldsTextMatchesMarshal(t *testing.T) {
	cases := []map[string]json.RawMessage{
		nil,
		{},
		{"title": json.RawMessage(`"仓库消防通道堵塞"`), "level": json.RawMessage(`"major"`), "photos": json.RawMessage(`["a","b"]`), "n": json.RawMessage(`12.5`)},
		{"title": json.RawMessage(`"a b"`), "x": json.RawMessage(`null`)},
		{"title": json.RawMessage(`"压测隐患 0000123"`), "q": json.RawMessage(`"say \"hi there\" \\ ok"`), "arr": json.RawMessage(`["a b", "c"]`)},
		{"s": json.RawMessage(`"tab\there"`), "o": json.RawMessage(`{"k":"v w","n":[1, 2]}`)},
		{"title": json.RawMessage(`"<script>&"`)},
		{"loc": json.RawMessage(`{ "lat": 30.1,"lng":120.2 }`)},
		{"t": json.RawMessage("\"line\u2028sep\"")},
		{"k\"ey": json.RawMessage(`1`), "<": json.RawMessage(`2`)},
		{"z": json.RawMessage(`true`), "a": json.RawMessage(`false`), "m": json.RawMessage(`{"b":1,"a":2}`)},
	}
	for i, f := range cases {
		if got, want := fieldsText(f), jsonText(f); got != want {
			t.Errorf("case %d: %s, want %s", i, got, want)
		}
	}
	// Text with spaces inside strings, as titles have, takes the fast path.
	if !plainValue(json.RawMessage(`"压测隐患 0000123"`)) || plainValue(json.RawMessage(`[1, 2]`)) {
		t.Error("plainValue: spaces inside strings are kept, outside they are not")
	}
	stamps := []map[string]string{nil, {}, {"title": "0001733580000000-0000-dev1", "level": "0001733580000001-0002-srv"},
		{"t": "a<b"}, {"é": "x"}, {"b": "1", "a": "2"}}
	for i, s := range stamps {
		if got, want := stampsText(s), jsonText(s); got != want {
			t.Errorf("stamps %d: %s, want %s", i, got, want)
		}
	}
}

// Stamps that arrive raw (DecodePull) are stored as json.Marshal writes the decoded map,
// whatever the sender's spelling.
func TestRecordStampsTextMatchesMarshal(t *testing.T) {
	for i, raw := range []string{
		`{"level":"0001733580000001-0002-srv","title":"0001733580000000-0000-dev1"}`,
		`{"title":"0001733580000000-0000-dev1","level":"0001733580000001-0002-srv"}`, // unsorted
		`{ "a" : "x" }`, `{"a":"x","a":"y"}`, `{"t":"a<b"}`, `{"t":"a\u003cb"}`, `{"k\"":"v"}`, `{}`, `{"é":"x","e":"y"}`,
	} {
		rec := syncproto.Record{RawStamps: json.RawMessage(raw)}
		var m map[string]string
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		if got, want := recordStampsText(rec), jsonText(m); got != want {
			t.Errorf("case %d: %s, want %s", i, got, want)
		}
		if got := recordStamps(rec); len(got) != len(m) {
			t.Errorf("case %d: decoded %v, want %v", i, got, m)
		}
	}
}

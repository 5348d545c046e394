package syncproto_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

// reflected is PullResponse without its MarshalJSON: what encoding/json alone writes.
type reflected syncproto.PullResponse

func pullCases() []syncproto.PullResponse {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	hlc := "0001732780800000-00001-phone"
	many := map[string]json.RawMessage{}
	manyStamps := map[string]string{}
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("f%02d", 39-i)
		many[k] = raw(fmt.Sprint(i))
		manyStamps[k] = hlc
	}
	spec := syncproto.CollectionSpec{Name: "alerts", Deletable: true, Fields: []syncproto.FieldSpec{
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Required: true, Machine: &syncproto.StateMachine{
			States: []string{"new", "closed"}, Transitions: map[string][]string{"new": {"closed"}}, Initial: "new"}}}}
	return []syncproto.PullResponse{
		{},
		{Protocol: 1, Scopes: []syncproto.ScopeChanges{}, HLC: hlc},
		{Protocol: 1, HLC: hlc, Purge: []string{"ent:9", "org:<a&b>"}, Collections: []syncproto.CollectionSpec{spec},
			Scopes: []syncproto.ScopeChanges{
				{Scope: "org:330100", Reset: true, Records: []syncproto.Record{
					{Collection: "hazards", ID: "h1", Seq: 42, Fields: map[string]json.RawMessage{
						"title":    raw(`"压测隐患 0000123"`),
						"note":     raw(`"a<b & c>d \u2028 \"q\" \\ e"`),
						"sep":      raw("\"line\u2028sep\u2029\""),
						"spaced":   raw(" { \"a\" : [1, 2,\n3] , \"b\":\t\"x y\" } "),
						"location": raw(`{"lat":30.2,"lng":120.1}`),
						"null":     raw(`null`),
						"nilraw":   nil,
						"键":        raw(`true`),
						"k<&>":     raw(`-1.5e3`),
					}, Stamps: map[string]string{"title": hlc, "note": "x\"y\\z\n<>"}},
					{Collection: "hazards", ID: "h2", Seq: 43, Deleted: true},
					{Collection: "hazards", ID: "h3", Seq: 44, Fields: many, Stamps: manyStamps},
					{Collection: "hazards", ID: "h4", Seq: 45, Fields: map[string]json.RawMessage{}, Stamps: map[string]string{}},
				},
					Removed: []syncproto.RecordRef{{Collection: "hazards", ID: "h5"}}, Checkpoint: 99, More: true,
					Checksum: syncproto.FormatChecksum(1<<63 + 1), Count: 7},
				{Scope: "user:u1", Records: nil, Checkpoint: 0},
				{Scope: "bad\x01utf8\xff", Records: []syncproto.Record{}, Checkpoint: -3, Count: -1},
			}},
	}
}

// TestPullAppendJSON: the hand-written encoding writes exactly what encoding/json writes, and
// stamps passed through raw write the same as the decoded ones.
func TestPullAppendJSON(t *testing.T) {
	for i, c := range pullCases() {
		want, err := json.Marshal(reflected(c))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		viaMarshal, err := json.Marshal(c)
		if err != nil || !bytes.Equal(viaMarshal, want) {
			t.Fatalf("case %d: json.Marshal: %v\n%s", i, err, viaMarshal)
		}
		// The same with every record's stamps as the server stores them (json.Marshal of the
		// map, "null" for none).
		for si := range c.Scopes {
			for ri := range c.Scopes[si].Records {
				r := &c.Scopes[si].Records[ri]
				r.RawStamps, _ = json.Marshal(r.Stamps)
				r.Stamps = nil
			}
		}
		got, err = c.AppendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("case %d with raw stamps: %v\n got %s\nwant %s", i, err, got, want)
		}
	}
}

func TestPullAppendJSONErrBadValue(t *testing.T) {
	r := syncproto.PullResponse{Scopes: []syncproto.ScopeChanges{{Scope: "s", Records: []syncproto.Record{
		{Collection: "c", ID: "x", Fields: map[string]json.RawMessage{"a": json.RawMessage(`{"a": }`)}}}}}}
	if _, err := r.AppendJSON(nil); err == nil || !strings.Contains(err.Error(), "field a") {
		t.Fatalf("an invalid value that needs compacting was written: %v", err)
	}
}

// withMapStamps decodes the raw stamps DecodePull leaves, to compare with json.Unmarshal.
func withMapStamps(t *testing.T, r *syncproto.PullResponse) {
	t.Helper()
	for si := range r.Scopes {
		for ri := range r.Scopes[si].Records {
			rec := &r.Scopes[si].Records[ri]
			if rec.Stamps != nil {
				t.Fatalf("DecodePull filled Stamps: %v", rec.Stamps)
			}
			if rec.RawStamps != nil {
				if err := json.Unmarshal(rec.RawStamps, &rec.Stamps); err != nil {
					t.Fatal(err)
				}
				rec.RawStamps = nil
			}
		}
	}
}

// TestDecodePull: DecodePull reads what json.Unmarshal reads, compact or indented, with
// unknown members and nulls.
func TestDecodePull(t *testing.T) {
	var inputs [][]byte
	for _, c := range pullCases() {
		b, _ := json.Marshal(c)
		inputs = append(inputs, b)
		ind, _ := json.MarshalIndent(reflected(c), " ", "\t")
		inputs = append(inputs, ind)
	}
	inputs = append(inputs,
		[]byte(`null`),
		[]byte(` {"protocol":null,"scopes":null,"purge":null,"collections":null,"hlc":null} `),
		[]byte(`{"extra":{"a":[1,{"b":"\u00e9"}],"c":null},"protocol":2,"scopes":[null,{"scope":"s","records":[null,{"collection":"c","id":"i","seq":7,"deleted":false,"fields":null,"stamps":null,"x":1}],"removed":[{"collection":"c","id":"r","z":[]}],"checkpoint":5,"more":false}],"hlc":"h\"\\\/\b\f\n\r\t\u4e2d"}`),
		[]byte(`{"scopes":[{"scope":"s","records":[{"fields":{"t\u0069tle":"x","a b":[ ]},"stamps":{}}]}],"pr\u006ftocol":3}`),
	)
	for i, in := range inputs {
		var want syncproto.PullResponse
		if err := json.Unmarshal(in, (*reflected)(&want)); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		var got syncproto.PullResponse
		if err := syncproto.DecodePull(in, &got); err != nil {
			t.Fatalf("input %d: %v\n%s", i, err, in)
		}
		withMapStamps(t, &got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestDecodePullErrMalformed(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"protocol":1`, `{"protocol":1,}`, `{"protocol":1.5}`, `{"protocol":"1"}`, `[]`,
		`{"scopes":[{"records":[{"fields":{"a":tru}}]}]}`, `{"scopes":[{"records":[{"fields":{"a":"x}}]}]}`,
		`{"scopes":[{"records":[{"fields":{"a":01}}]}]}`, `{"scopes":[{"records":[{"fields":{"a":"\x"}}]}]}`,
		`{"scopes":[{"records":[{"stamps":[1]}]}]}`, `{"scopes":[{"more":"yes"}]}`, `{"hlc":"a` + "\n" + `"}`,
		`{"protocol":1} {}`, `{"scopes":[{"records":[{"fields":{"a":[1,2}}]}]}`,
	} {
		var r syncproto.PullResponse
		if err := syncproto.DecodePull([]byte(in), &r); err == nil {
			t.Errorf("%q decoded without error: %+v", in, r)
		}
	}
}

// FuzzDecodePull: DecodePull never panics and accepts only valid JSON; what it accepts and
// json.Unmarshal also reads, both read alike.
func FuzzDecodePull(f *testing.F) {
	for _, c := range pullCases() {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Add([]byte(`{"scopes":[{"records":[{"fields":{"a":[1,{"b":null}]},"stamps":{"a":"h"}}]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got syncproto.PullResponse
		if syncproto.DecodePull(in, &got) != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("DecodePull accepted invalid JSON %q", in)
		}
		var want syncproto.PullResponse
		if json.Unmarshal(in, (*reflected)(&want)) != nil || bytes.Contains(bytes.ToLower(in), []byte(`\u`)) {
			return // a type json.Unmarshal refuses; or escaped names it may match differently
		}
		for si := range got.Scopes {
			for ri := range got.Scopes[si].Records {
				rec := &got.Scopes[si].Records[ri]
				if rec.RawStamps != nil && json.Unmarshal(rec.RawStamps, &rec.Stamps) != nil {
					return // stamps that are no strings: json.Unmarshal refused above
				}
				rec.RawStamps = nil
			}
		}
		if !reflect.DeepEqual(got, want) && bytes.IndexFunc(in, func(r rune) bool { return r >= 'A' && r <= 'Z' || r > 0x7f }) >= 0 {
			return // member names in another case: json.Unmarshal matches them, DecodePull not
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", in, got, want)
		}
	})
}

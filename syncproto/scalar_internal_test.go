package syncproto

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// slowDecode is decode without the scalar fast path.
func slowDecode(v json.RawMessage) (any, bool) {
	if !json.Valid(v) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, false
	}
	return x, true
}

// checkScalar fails when the fast path answers differently from the general decoder and
// encoder.
func checkScalar(t *testing.T, in []byte) {
	x, lit, ok := scalar(in)
	if !ok {
		return
	}
	want, valid := slowDecode(in)
	if !valid {
		t.Fatalf("scalar(%q) took invalid JSON as %#v", in, x)
	}
	if !reflect.DeepEqual(x, want) {
		t.Fatalf("scalar(%q) = %#v, the decoder gives %#v", in, x, want)
	}
	if canon := mustMarshal(want); !bytes.Equal(lit, canon) {
		t.Fatalf("scalar(%q) canonical %q, the encoder writes %q", in, lit, canon)
	}
}

func TestScalarFastPath(t *testing.T) {
	for _, in := range []string{`"a"`, ` "隐患 <a&b>" `, "\"\x7f\"", `"\u4e2d"`, `"a\"b"`, "\"\xe2\x80\xa8\"", "\"\xff\"", `""`, `"`,
		`0`, `-0`, `01`, `1.`, `1.5e+10`, `1E5`, `-`, `1e`, ` 12 `, `1 2`, `true`, `false`, `null`, `nul`, `{}`, `[]`, ``, " \t\n",
		`123456789012345678901234567890`, `"\t"`, "\"\t\""} {
		checkScalar(t, []byte(in))
	}
	// What the fast path must take: the values of a hazard as the SDK sends them.
	for _, in := range []string{`"压测隐患 0000123"`, `30.2232`, `-120`, `true`, `null`, `"2026-12-07T22:47:42Z"`} {
		if _, _, ok := scalar([]byte(in)); !ok {
			t.Errorf("scalar(%s) fell back to the general path", in)
		}
	}
}

func FuzzScalar(f *testing.F) {
	for _, s := range []string{`"a"`, `1.5e3`, `-0`, `true`, "\"\xe2\x80\xa9\"", `"\n"`, `null `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkScalar(t, in) })
}

package syncsvc

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// jsonPieces are names and raw values that json.Marshal copies, compacts or escapes.
var (
	jsonNames  = []string{"title", "enterprise_id", "a<b", "é", "\u2028", "x\"y", "", "photos", "\x01"}
	jsonValues = []string{`"压测隐患 0000123"`, `30.2232`, `-0`, `1e5`, `12345678901234567`, `0.1`, `true`, `null`, `"a&b"`, `"\u003c"`,
		`["a","b"]`, `[ "a" ]`, `{"k":1}`, `{"k": 1}`, "\"\u2029\"", `"line\nbreak"`, "\"\xff\"", `"tab	in"`, `01`, `{`, ` 5`, `""`}
	jsonStrings = []string{"", "plain", "压测", "<script>", "a&b", "q\"uote", "back\\slash", "\u2028", "\xff", "tab\t", "\x7f", "2026-12-07T22:47:42.123Z"}
)

func randomRaw(r *rand.Rand) map[string]json.RawMessage {
	n := r.IntN(5)
	if n == 0 && r.IntN(2) == 0 {
		return nil
	}
	m := map[string]json.RawMessage{}
	for range n {
		m[jsonNames[r.IntN(len(jsonNames))]] = json.RawMessage(jsonValues[r.IntN(len(jsonValues))])
	}
	return m
}

func randomString(r *rand.Rand) string { return jsonStrings[r.IntN(len(jsonStrings))] }

// TestJSONTextMatchesMarshal: the hand-written encoders give json.Marshal's bytes (a stored
// payload hash must stay the same across versions), whether they take the fast path or not.
func TestJSONTextMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		m := syncproto.Mutation{MutationID: randomString(r), Collection: randomString(r), ID: randomString(r), Op: randomString(r),
			BaseSeq: r.Int64N(1000) - 10, Fields: randomRaw(r), Base: randomRaw(r), HLC: randomString(r)}
		if r.IntN(3) > 0 {
			m.MutationID, m.Collection, m.ID, m.Op, m.HLC = yingji.NewID(), "hazards", yingji.NewID(), "create", "1765147662000:0:phone"
		}
		want, _ := json.Marshal(m)
		if got := mutationJSON(m); string(got) != string(want) {
			t.Fatalf("mutationJSON(%#v)\n got %s\nwant %s", m, got, want)
		}

		st := map[string]string{}
		for range r.IntN(4) {
			st[randomString(r)] = randomString(r)
		}
		if r.IntN(5) == 0 {
			st = nil
		}
		want, _ = json.Marshal(st)
		if got := stringMapJSON(st); got != string(want) {
			t.Fatalf("stringMapJSON(%#v) = %s, want %s", st, got, want)
		}

		res := syncproto.Result{MutationID: m.MutationID, Status: syncproto.StatusApplied, Seq: r.Int64N(3)}
		if r.IntN(4) == 0 {
			res.Status, res.Code, res.Message = syncproto.StatusRejected, "sync.invalid", "无效"
		}
		want, _ = json.Marshal(res)
		if got := resultJSON(res); got != string(want) {
			t.Fatalf("resultJSON(%#v) = %s, want %s", res, got, want)
		}

		a := answer{m: m, device: randomString(r), result: res}
		actionAt := ""
		if r.IntN(2) == 0 {
			actionAt = time.Unix(r.Int64N(2e9), r.Int64N(1e9)).UTC().Format(time.RFC3339Nano)
		}
		d := map[string]any{"mutation_id": m.MutationID, "device_id": a.device, "status": res.Status, "seq": res.Seq, "fields": m.Fields}
		if actionAt != "" {
			d["action_at"] = actionAt
		}
		want, _ = json.Marshal(d)
		if got := auditDetail(a, actionAt); got != string(want) {
			t.Fatalf("auditDetail(%#v)\n got %s\nwant %s", a, got, want)
		}
	}
}

// TestDigestText: the canonical text Digests hashes is encoding/json's decode and encode.
func TestDigestText(t *testing.T) {
	for _, v := range append(jsonValues, `123456789012345`, `1234567890123456`, `7`, `0`, `-5`, `30.2232`, `120.35130`, `-0.0`, `1e-7`, `1E+3`, `2.5e20`, `1e21`, `1e400`, `-1.5`, `0.000001`, `1.`, `- 1`, `1x`, `"<"`, ` "a" `, `true `, `nul`, ``) {
		want := []byte(v)
		var x any
		if json.Unmarshal([]byte(v), &x) == nil {
			want, _ = json.Marshal(x)
		}
		if got := digestText(json.RawMessage(v)); string(got) != string(want) {
			t.Errorf("digestText(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestValuesList(t *testing.T) {
	if got, want := valuesList(2, 3), "($1, $2, $3), ($4, $5, $6)"; got != want {
		t.Errorf("valuesList(2, 3) = %q, want %q", got, want)
	}
}

// TestStringOf: a field's string is json.Unmarshal's.
func TestStringOf(t *testing.T) {
	for _, v := range append(jsonValues, `"a\"b"`, ` "x" `, `"`, ``, `"\u00e9"`, `"x" y`) {
		var want string
		json.Unmarshal([]byte(v), &want)
		if got := stringOf(json.RawMessage(v)); got != want {
			t.Errorf("stringOf(%q) = %q, want %q", v, got, want)
		}
	}
}

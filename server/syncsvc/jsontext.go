package syncsvc

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yingji/yingji/syncproto"
)

// The push path writes several JSON texts per change (the payload hashed for idempotency,
// the record's stamps and digests, the audit entry). json.Marshal reaches them by reflection
// and re-validates every raw value; the functions here write the same bytes directly for the
// plain case — strings json.Marshal copies unchanged, raw values already compact — and leave
// anything else to json.Marshal. Tests hold them to json.Marshal byte for byte: a stored
// payload hash must not change across versions, or a replayed mutation would be refused.

// plainRaw reports whether json.Marshal copies the raw value unchanged: valid JSON, no space
// outside strings (compacted away), no <, >, & or U+2028/9 inside them (escaped).
func plainRaw(v json.RawMessage) bool {
	return syncproto.PlainJSON(v) && json.Valid(v)
}

// appendRawMap appends json.Marshal(m) for a map of raw values; ok is false when a name or a
// value is not plain (the caller then uses json.Marshal).
func appendRawMap(b []byte, m map[string]json.RawMessage) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	names := make([]string, 0, len(m))
	for k, v := range m {
		if !syncproto.PlainString(k) || !plainRaw(v) {
			return b, false
		}
		names = append(names, k)
	}
	slices.Sort(names)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = syncproto.AppendString(b, k)
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return append(b, '}'), true
}

// stringMapJSON is json.Marshal(m) for a map of strings.
func stringMapJSON(m map[string]string) string {
	if m == nil {
		return "null"
	}
	names := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		if !syncproto.PlainString(k) || !syncproto.PlainString(v) {
			b, _ := json.Marshal(m)
			return string(b)
		}
		names = append(names, k)
		size += len(k) + len(v) + 6
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = syncproto.AppendString(b, k)
		b = append(b, ':')
		b = syncproto.AppendString(b, m[k])
	}
	return string(append(b, '}'))
}

// mutationJSON is json.Marshal(m).
func mutationJSON(m syncproto.Mutation) []byte {
	if !syncproto.PlainString(m.MutationID) || !syncproto.PlainString(m.Collection) || !syncproto.PlainString(m.ID) || !syncproto.PlainString(m.Op) || !syncproto.PlainString(m.HLC) {
		b, _ := json.Marshal(m)
		return b
	}
	b := make([]byte, 0, 160+len(m.Fields)*32)
	b = append(b, `{"mutation_id":`...)
	b = syncproto.AppendString(b, m.MutationID)
	b = append(b, `,"collection":`...)
	b = syncproto.AppendString(b, m.Collection)
	b = append(b, `,"id":`...)
	b = syncproto.AppendString(b, m.ID)
	b = append(b, `,"op":`...)
	b = syncproto.AppendString(b, m.Op)
	b = append(b, `,"base_seq":`...)
	b = strconv.AppendInt(b, m.BaseSeq, 10)
	ok := true
	if len(m.Fields) > 0 {
		b = append(b, `,"fields":`...)
		if b, ok = appendRawMap(b, m.Fields); !ok {
			b, _ := json.Marshal(m)
			return b
		}
	}
	if len(m.Base) > 0 {
		b = append(b, `,"base":`...)
		if b, ok = appendRawMap(b, m.Base); !ok {
			b, _ := json.Marshal(m)
			return b
		}
	}
	b = append(b, `,"hlc":`...)
	b = syncproto.AppendString(b, m.HLC)
	return append(b, '}')
}

// auditDetail is json.Marshal of an accepted change's audit detail: {action_at (when the
// person made the change, if known), device_id, fields, mutation_id, seq, status}.
func auditDetail(a answer, actionAt string) string {
	slow := func() string {
		d := map[string]any{"mutation_id": a.m.MutationID, "device_id": a.device, "status": a.result.Status,
			"seq": a.result.Seq, "fields": a.m.Fields}
		if actionAt != "" {
			d["action_at"] = actionAt
		}
		b, _ := json.Marshal(d)
		return string(b)
	}
	if !syncproto.PlainString(a.m.MutationID) || !syncproto.PlainString(a.device) || !syncproto.PlainString(a.result.Status) || !syncproto.PlainString(actionAt) {
		return slow()
	}
	b := make([]byte, 0, 200+len(a.m.Fields)*32)
	b = append(b, '{')
	if actionAt != "" {
		b = append(b, `"action_at":`...)
		b = syncproto.AppendString(b, actionAt)
		b = append(b, ',')
	}
	b = append(b, `"device_id":`...)
	b = syncproto.AppendString(b, a.device)
	b = append(b, `,"fields":`...)
	var ok bool
	if b, ok = appendRawMap(b, a.m.Fields); !ok {
		return slow()
	}
	b = append(b, `,"mutation_id":`...)
	b = syncproto.AppendString(b, a.m.MutationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, a.result.Seq, 10)
	b = append(b, `,"status":`...)
	b = syncproto.AppendString(b, a.result.Status)
	return string(append(b, '}'))
}

// digestText is the canonical JSON Digests hashes for a field's value: the value decoded and
// encoded again by encoding/json (numbers through float64). Plain strings, literals and short
// integers are their own canonical text.
func digestText(v json.RawMessage) []byte {
	t := syncproto.TrimSpace(v)
	if len(t) > 0 {
		switch c := t[0]; {
		case c == '"':
			if len(t) >= 2 && t[len(t)-1] == '"' && syncproto.PlainString(string(t[1:len(t)-1])) {
				return t
			}
		case c == 't' || c == 'f' || c == 'n':
			if s := string(t); s == "true" || s == "false" || s == "null" {
				return t
			}
		case c >= '1' && c <= '9' && len(t) <= 15 && strings.Trim(string(t), "0123456789") == "":
			return t // an integer float64 holds exactly and prints the same
		case c == '-' || (c >= '0' && c <= '9'):
			// encoding/json decodes a number to float64 and writes it back in the shortest
			// form, in 'f' notation between 1e-6 and 1e21.
			if f, err := strconv.ParseFloat(string(t), 64); err == nil && syncproto.ValidNumber(t) {
				if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
					return strconv.AppendFloat(nil, f, 'f', -1, 64)
				}
			}
		}
	}
	var x any
	if json.Unmarshal(v, &x) == nil {
		b, _ := json.Marshal(x)
		return b
	}
	return v
}

// valuesList is "($from, …), (…), …": rows groups of cols placeholders numbered from 1.
func valuesList(rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * cols * 7)
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// stringOf is the string a JSON string value holds ("" for anything else), as json.Unmarshal
// into a string gives it; a string without escapes is cut out of the value directly.
func stringOf(v json.RawMessage) string {
	if t := syncproto.TrimSpace(v); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		in := t[1 : len(t)-1]
		plain := true
		for _, c := range in {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(in) {
			return string(in)
		}
	}
	var s string
	if len(v) > 0 {
		json.Unmarshal(v, &s)
	}
	return s
}

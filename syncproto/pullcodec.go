package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// A pull page is the largest message of the protocol (a thousand records and more), and
// reflection-driven encoding/json spent a third of an initial sync's CPU on it. AppendJSON and
// DecodePull encode and decode it by hand, byte for byte what encoding/json writes and with the
// meaning encoding/json reads (tests compare both ways); field values and a record's stamps are
// copied through as raw JSON instead of being decoded and encoded again.

// MarshalJSON writes r as AppendJSON does.
func (r PullResponse) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil) }

// AppendJSON appends the JSON of r to dst: the bytes json.Marshal writes for r, where a
// record's RawStamps (when set) stand for its Stamps.
func (r *PullResponse) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	b := append(dst, `{"protocol":`...)
	b = strconv.AppendInt(b, int64(r.Protocol), 10)
	b = append(b, `,"scopes":`...)
	if r.Scopes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = r.Scopes[i].appendJSON(b); err != nil {
				return dst, err
			}
		}
		b = append(b, ']')
	}
	if len(r.Purge) > 0 {
		b = append(b, `,"purge":[`...)
		for i, p := range r.Purge {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, p)
		}
		b = append(b, ']')
	}
	if len(r.Collections) > 0 {
		specs, err := json.Marshal(r.Collections)
		if err != nil {
			return dst, err
		}
		b = append(b, `,"collections":`...)
		b = append(b, specs...)
	}
	b = append(b, `,"hlc":`...)
	b = AppendString(b, r.HLC)
	return append(b, '}'), nil
}

func (s *ScopeChanges) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"scope":`...)
	b = AppendString(b, s.Scope)
	if s.Reset {
		b = append(b, `,"reset":true`...)
	}
	b = append(b, `,"records":`...)
	if s.Records == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Records {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = s.Records[i].appendJSON(b); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	if len(s.Removed) > 0 {
		b = append(b, `,"removed":[`...)
		for i, r := range s.Removed {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"collection":`...)
			b = AppendString(b, r.Collection)
			b = append(b, `,"id":`...)
			b = AppendString(b, r.ID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"checkpoint":`...)
	b = strconv.AppendInt(b, s.Checkpoint, 10)
	if s.More {
		b = append(b, `,"more":true`...)
	}
	if s.Checksum != "" {
		b = append(b, `,"checksum":`...)
		b = AppendString(b, s.Checksum)
	}
	if s.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, s.Count, 10)
	}
	return append(b, '}'), nil
}

func (r *Record) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"collection":`...)
	b = AppendString(b, r.Collection)
	b = append(b, `,"id":`...)
	b = AppendString(b, r.ID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	if r.Deleted {
		b = append(b, `,"deleted":true`...)
	}
	if len(r.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		var names [32]string
		keys := names[:0]
		for k := range r.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendRaw(b, r.Fields[k]); err != nil {
				return b, fmt.Errorf("syncproto: %s %s field %s: %w", r.Collection, r.ID, k, err)
			}
		}
		b = append(b, '}')
	}
	switch {
	case r.RawStamps != nil:
		if !emptyObject(r.RawStamps) {
			b = append(b, `,"stamps":`...)
			var err error
			if b, err = appendRaw(b, r.RawStamps); err != nil {
				return b, fmt.Errorf("syncproto: %s %s stamps: %w", r.Collection, r.ID, err)
			}
		}
	case len(r.Stamps) > 0:
		b = append(b, `,"stamps":{`...)
		var names [32]string
		keys := names[:0]
		for k := range r.Stamps {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = AppendString(b, r.Stamps[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// emptyObject reports whether raw is an object without members or null (what omitempty
// leaves out).
func emptyObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" || len(raw) == 0 {
		return true
	}
	if len(raw) < 2 || raw[0] != '{' {
		return false
	}
	return len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

// AppendString appends s as a JSON string, byte for byte as json.Marshal writes it.
func AppendString(b []byte, s string) []byte {
	if !PlainString(s) {
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// PlainString reports whether json.Marshal writes s between quotes unchanged: valid UTF-8 with
// no control character, quote, backslash, <, >, & or U+2028/9.
func PlainString(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&':
			return false
		case c >= 0x80:
			ascii = false
			if c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				return false // U+2028/9 are escaped
			}
		}
	}
	return ascii || utf8.ValidString(s)
}

// appendRaw appends a raw JSON value as json.Marshal writes a json.RawMessage: compacted, with
// <, >, &, U+2028 and U+2029 escaped. A value that needs neither is copied as it is.
func appendRaw(b []byte, v []byte) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	if PlainJSON(v) {
		return append(b, v...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, v); err != nil {
		return b, err
	}
	var e bytes.Buffer
	json.HTMLEscape(&e, c.Bytes())
	return append(b, e.Bytes()...), nil
}

// PlainJSON reports whether json.Marshal copies the raw value v unchanged: no whitespace
// outside strings (compacted away), no <, >, & or U+2028/9 inside them (escaped). It does not
// check that v is valid JSON.
func PlainJSON(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	inStr := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !jsonSpecial[c] {
			continue // most bytes: one table lookup
		}
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xe2 && i+2 < len(v) && v[i+1] == 0x80 && (v[i+2] == 0xa8 || v[i+2] == 0xa9):
			return false
		case inStr && c == '\\':
			i++ // the escaped character, never the string's end
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// jsonSpecial marks the bytes PlainJSON looks at.
var jsonSpecial = func() (t [256]bool) {
	for _, c := range []byte("<>&\xe2\\\" \t\n\r") {
		t[c] = true
	}
	return t
}()

// DecodePull decodes a pull answer into r as json.Unmarshal does into a zero PullResponse,
// except that each record's stamps are left as raw JSON in RawStamps (Stamps stays nil) and
// its field values are slices of data, not copies: data must not change while r is in use.
// Unknown members are skipped; member names match exactly.
func DecodePull(data []byte, r *PullResponse) error {
	d := decoder{data: data}
	*r = PullResponse{}
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "protocol":
			n, err := d.int()
			r.Protocol = int(n)
			return err
		case "scopes":
			if d.null() {
				r.Scopes = nil
				return nil
			}
			r.Scopes = []ScopeChanges{}
			return d.array(func() error {
				var s ScopeChanges
				err := d.scope(&s)
				r.Scopes = append(r.Scopes, s)
				return err
			})
		case "purge":
			if d.null() {
				r.Purge = nil
				return nil
			}
			r.Purge = []string{}
			return d.array(func() error {
				s, err := d.str()
				r.Purge = append(r.Purge, s)
				return err
			})
		case "collections":
			raw, err := d.skip()
			if err != nil {
				return err
			}
			r.Collections = nil
			return json.Unmarshal(raw, &r.Collections)
		case "hlc":
			s, err := d.str()
			r.HLC = s
			return err
		}
		_, err := d.skip()
		return err
	})
	if err != nil {
		return err
	}
	d.space()
	if d.i != len(d.data) {
		return d.fail("data after the answer")
	}
	return nil
}

func (d *decoder) scope(s *ScopeChanges) error {
	return d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "scope":
			s.Scope, err = d.str()
		case "reset":
			s.Reset, err = d.bool()
		case "records":
			if d.null() {
				s.Records = nil
				return nil
			}
			s.Records = make([]Record, 0, 64)
			err = d.array(func() error {
				s.Records = append(s.Records, Record{})
				return d.record(&s.Records[len(s.Records)-1])
			})
		case "removed":
			if d.null() {
				s.Removed = nil
				return nil
			}
			s.Removed = []RecordRef{}
			err = d.array(func() error {
				var ref RecordRef
				err := d.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "collection":
						ref.Collection, err = d.str()
					case "id":
						ref.ID, err = d.str()
					default:
						_, err = d.skip()
					}
					return err
				})
				s.Removed = append(s.Removed, ref)
				return err
			})
		case "checkpoint":
			s.Checkpoint, err = d.int()
		case "more":
			s.More, err = d.bool()
		case "checksum":
			s.Checksum, err = d.str()
		case "count":
			s.Count, err = d.int()
		default:
			_, err = d.skip()
		}
		return err
	})
}

func (d *decoder) record(r *Record) error {
	return d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "collection":
			r.Collection, err = d.str()
		case "id":
			r.ID, err = d.str()
		case "seq":
			r.Seq, err = d.int()
		case "deleted":
			r.Deleted, err = d.bool()
		case "fields":
			if d.null() {
				return nil
			}
			if r.Fields == nil {
				r.Fields = make(map[string]json.RawMessage, 16)
			}
			err = d.object(func(name []byte) error {
				k, err := d.keyString(name)
				if err != nil {
					return err
				}
				v, err := d.skip()
				r.Fields[k] = json.RawMessage(v)
				return err
			})
		case "stamps":
			var raw []byte
			if raw, err = d.skip(); err != nil {
				return err
			}
			if raw[0] != '{' && string(raw) != "null" {
				return d.fail("stamps are not an object")
			}
			r.RawStamps = nil
			if raw[0] == '{' {
				r.RawStamps = json.RawMessage(raw)
			}
		default:
			_, err = d.skip()
		}
		return err
	})
}

// decoder reads JSON from data at i.
type decoder struct {
	data []byte
	i    int
}

var errSyntax = errors.New("syncproto: malformed pull answer")

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, d.i)
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// null consumes a null if one is next.
func (d *decoder) null() bool {
	d.space()
	if bytes.HasPrefix(d.data[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// object reads an object (or null), calling member for each member with the raw name (between
// the quotes, escapes not undone) and the decoder at its value.
func (d *decoder) object(member func(key []byte) error) error {
	if d.null() {
		return nil
	}
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return d.fail("object expected")
	}
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.space()
		start := d.i
		if err := d.skipString(); err != nil {
			return err
		}
		key := d.data[start+1 : d.i-1]
		d.space()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return d.fail("':' expected")
		}
		d.i++
		if bytes.IndexByte(key, '\\') >= 0 {
			// An escaped member name: compare it decoded.
			k, err := d.keyString(key)
			if err != nil {
				return err
			}
			key = []byte(k)
		}
		if err := member(key); err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.data) {
			return d.fail("unterminated object")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.fail("',' or '}' expected")
		}
	}
}

// array reads an array (the caller has ruled out null), calling elem at each element.
func (d *decoder) array(elem func() error) error {
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != '[' {
		return d.fail("array expected")
	}
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.data) {
			return d.fail("unterminated array")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.fail("',' or ']' expected")
		}
	}
}

// keyString is a member name (the bytes between its quotes) as a Go string.
func (d *decoder) keyString(raw []byte) (string, error) {
	if plainString(raw) {
		return string(raw), nil
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if err := json.Unmarshal(q, &s); err != nil {
		return "", d.fail("bad string")
	}
	return s, nil
}

// plainString reports whether the bytes between a string's quotes mean themselves: no
// escapes and valid UTF-8 (json.Unmarshal replaces invalid bytes).
func plainString(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			return c != '\\' && utf8.Valid(raw)
		}
	}
	return true
}

func (d *decoder) str() (string, error) {
	if d.null() {
		return "", nil
	}
	start := d.i
	if err := d.skipString(); err != nil {
		return "", err
	}
	return d.keyString(d.data[start+1 : d.i-1])
}

func (d *decoder) int() (int64, error) {
	if d.null() {
		return 0, nil
	}
	start := d.i
	if err := d.skipNumber(); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(d.data[start:d.i]), 10, 64)
	if err != nil {
		return 0, d.fail("integer expected")
	}
	return n, nil
}

func (d *decoder) bool() (bool, error) {
	d.space()
	switch {
	case bytes.HasPrefix(d.data[d.i:], []byte("true")):
		d.i += 4
		return true, nil
	case bytes.HasPrefix(d.data[d.i:], []byte("false")):
		d.i += 5
		return false, nil
	case d.null():
		return false, nil
	}
	return false, d.fail("boolean expected")
}

// skip passes over one value, checking its syntax, and returns its bytes.
func (d *decoder) skip() ([]byte, error) {
	d.space()
	start := d.i
	if err := d.skipValue(0); err != nil {
		return nil, err
	}
	return d.data[start:d.i], nil
}

func (d *decoder) skipValue(depth int) error {
	if depth > 1000 {
		return d.fail("nested too deep")
	}
	d.space()
	if d.i >= len(d.data) {
		return d.fail("value expected")
	}
	switch c := d.data[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{':
		return d.object(func([]byte) error { return d.skipValue(depth + 1) })
	case c == '[':
		return d.array(func() error { return d.skipValue(depth + 1) })
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(d.data[d.i:], []byte(lit)) {
			d.i += len(lit)
			return nil
		}
	}
	return d.fail("value expected")
}

// skipString passes over a string, checking its escapes and that it holds no control
// characters.
func (d *decoder) skipString() error {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return d.fail("string expected")
	}
	d.i++
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return nil
		case c < 0x20:
			return d.fail("control character in string")
		case c == '\\':
			if d.i+1 >= len(d.data) {
				return d.fail("unterminated string")
			}
			switch d.data[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if d.i+6 > len(d.data) {
					return d.fail("unterminated string")
				}
				for _, h := range d.data[d.i+2 : d.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return d.fail("bad \\u escape")
					}
				}
				d.i += 6
			default:
				return d.fail("bad escape")
			}
		default:
			d.i++
		}
	}
	return d.fail("unterminated string")
}

// skipNumber passes over a number in JSON's grammar.
func (d *decoder) skipNumber() error {
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.data) && d.data[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return d.fail("number expected")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.fail("digits expected")
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.fail("exponent expected")
		}
	}
	return nil
}

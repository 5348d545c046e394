package syncproto

import (
	"encoding/json"
	"unicode/utf8"
)

// scalar reads a JSON string, number, true, false or null without the general decoder, for
// the common field value. ok is false for anything else — objects, arrays, strings with
// escapes or characters the encoder would write otherwise, invalid JSON — which take the
// general path. When ok, x is what decode returns for v and lit is canonical(v): the value
// without surrounding space, exactly as mustMarshal would write x.
func scalar(v json.RawMessage) (x any, lit []byte, ok bool) {
	lit = TrimSpace(v)
	if len(lit) == 0 {
		return nil, nil, false
	}
	switch c := lit[0]; {
	case c == '"':
		if len(lit) < 2 || lit[len(lit)-1] != '"' {
			return nil, nil, false
		}
		in := lit[1 : len(lit)-1]
		for i := 0; i < len(in); i++ {
			switch b := in[i]; {
			case b < 0x20 || b == '"' || b == '\\':
				return nil, nil, false // escapes and control characters: the decoder decides
			case b == 0xe2 && i+2 < len(in) && in[i+1] == 0x80 && (in[i+2] == 0xa8 || in[i+2] == 0xa9):
				return nil, nil, false // U+2028/9, which the encoder escapes
			}
		}
		if !utf8.Valid(in) {
			return nil, nil, false // the encoder would replace the invalid bytes
		}
		return string(in), lit, true
	case c == '-' || (c >= '0' && c <= '9'):
		if !ValidNumber(lit) {
			return nil, nil, false
		}
		return json.Number(lit), lit, true
	}
	switch string(lit) {
	case "true":
		return true, lit, true
	case "false":
		return false, lit, true
	case "null":
		return nil, lit, true
	}
	return nil, nil, false
}

// TrimSpace cuts JSON whitespace (space, tab, newline, carriage return) from both ends.
func TrimSpace(v []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

// ValidNumber reports whether s is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func ValidNumber(s []byte) bool {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(i + 1)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

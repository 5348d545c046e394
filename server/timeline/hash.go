package timeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// hash is the SHA-256 of what the event says: the JSON array [key, kind, at, actor, team,
// title, lat, lng, ref, media] exactly as encoding/json writes it (anchors made before this
// encoder keep verifying), built without reflection: a replay hashes thousands of events.
func (e *Event) hash() string {
	b := make([]byte, 0, 256)
	b = append(b, '[')
	for _, s := range []string{e.Key, e.Kind, e.At, e.Actor, e.TeamID, e.Title} {
		b = appendString(b, s)
		b = append(b, ',')
	}
	b = appendFloatPtr(b, e.Lat)
	b = append(b, ',')
	b = appendFloatPtr(b, e.Lng)
	b = append(b, ',')
	b = appendString(b, e.Ref)
	b = append(b, ',')
	if e.Media == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range e.Media {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// appendFloatPtr writes a float as encoding/json does (null for nil).
func appendFloatPtr(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	v := *f
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...) // json.Marshal fails on these; never stored
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string as encoding/json does, HTML-safe (<, >, & escaped),
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// stepsOf reads a task's steps ([{"status":…,"by":…,"at":…,"reason":…}, …], written by
// encoding/json) with a small scanner for the plain case — flat objects of strings without
// escapes — and encoding/json for anything else: a replay reads thousands of them.
func stepsOf(s string) []step {
	out, ok := scanSteps(s)
	if !ok {
		out = nil
		json.Unmarshal([]byte(s), &out)
	}
	return out
}

type step struct {
	Status string `json:"status"`
	By     string `json:"by"`
	At     string `json:"at"`
	Reason string `json:"reason"`
}

func scanSteps(s string) ([]step, bool) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				return "", false
			}
			j++
		}
		if j >= len(s) {
			return "", false
		}
		v := s[i+1 : j]
		i = j + 1
		return v, true
	}
	skip()
	if s == "" || s == "null" {
		return nil, true
	}
	if i >= len(s) || s[i] != '[' {
		return nil, false
	}
	i++
	var out []step
	for {
		skip()
		if i < len(s) && s[i] == ']' {
			i++
			skip()
			return out, i == len(s)
		}
		if len(out) > 0 {
			if s[i] != ',' {
				return nil, false
			}
			i++
			skip()
		}
		if i >= len(s) || s[i] != '{' {
			return nil, false
		}
		i++
		var st step
		for first := true; ; first = false {
			skip()
			if i < len(s) && s[i] == '}' {
				i++
				break
			}
			if !first {
				if i >= len(s) || s[i] != ',' {
					return nil, false
				}
				i++
				skip()
			}
			k, ok := str()
			if !ok {
				return nil, false
			}
			skip()
			if i >= len(s) || s[i] != ':' {
				return nil, false
			}
			i++
			skip()
			v, ok := str()
			if !ok {
				return nil, false
			}
			switch k {
			case "status":
				st.Status = v
			case "by":
				st.By = v
			case "at":
				st.At = v
			case "reason":
				st.Reason = v
			}
		}
		out = append(out, st)
	}
}

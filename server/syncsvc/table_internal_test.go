package syncsvc

import (
	"encoding/json"
	"testing"
)

// quote writes a string field exactly as json.Marshal does.
func TestQuoteMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "general", "压测隐患 0000123", "a\"b", `back\slash`, "<b>&", "tab\there", "line\u2028sep", "x\u2029",
		"bad\xffutf8", "\x7fdel", "é", "\x00"} {
		want, _ := json.Marshal(s)
		if got := quote(s); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

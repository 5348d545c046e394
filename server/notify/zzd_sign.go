package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ZZDTimeLayout is the layout of the X-Hmac-Auth-Timestamp header: local time in China.
const ZZDTimeLayout = "2006-01-02T15:04:05.000+08:00"

// chinaTime is UTC+8 without a time zone database (China has no daylight saving).
var chinaTime = time.FixedZone("CST", 8*3600)

// ZZDTimestamp formats t for the X-Hmac-Auth-Timestamp header.
func ZZDTimestamp(t time.Time) string { return t.In(chinaTime).Format(ZZDTimeLayout) }

// ZZDSign computes the X-Hmac-Auth-Signature of one Zhezhengding open-platform call: base64 of
// HMAC-SHA256 keyed by the application secret over
//
//	METHOD "\n" timestamp "\n" nonce "\n" path
//
// followed, when there are parameters, by "\n" and the parameters as key=value pairs (one per
// value of a list parameter, neither escaped) sorted by key, then value, and joined with "&". path is the API path
// alone ("/message/workNotification"); params are the query parameters of a GET or the form
// fields of a POST.
func ZZDSign(secret, method, timestamp, nonce, path string, params url.Values) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteString("\n")
	b.WriteString(timestamp)
	b.WriteString("\n")
	b.WriteString(nonce)
	b.WriteString("\n")
	b.WriteString(path)
	if len(params) > 0 {
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			vs := append([]string(nil), params[k]...)
			sort.Strings(vs)
			for _, v := range vs {
				pairs = append(pairs, k+"="+v)
			}
		}
		b.WriteString("\n")
		b.WriteString(strings.Join(pairs, "&"))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

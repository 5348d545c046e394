package notifytest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ZZD stands in for the Zhezhengding (浙政钉) open platform: /gettoken.json and
// /message/workNotification. Every call must carry the X-Hmac-Auth-* headers and apiKey; the
// stand-in recomputes the signature from the raw request and refuses (HTTP 401) a wrong one, an
// unknown apiKey, a timestamp more than 5 minutes from its clock or a reused nonce. Work
// notifications need a live access token, the configured tenant, receivers and a well-formed
// msg; a bizMsgId seen before is answered with success but not delivered again.
type ZZD struct {
	URL       string // base URL, for ZZDConfig.BaseURL
	AppKey    string
	AppSecret string
	TenantID  string

	srv  *httptest.Server
	fail failures

	mu        sync.Mutex
	now       func() time.Time
	tokenTTL  time.Duration
	tokens    map[string]time.Time // access token → expiry
	nonces    map[string]bool
	biz       map[string]string // bizMsgId → msgId
	messages  []ZZDMessage
	refusals  []Refusal
	tokenReqs int
	seq       int
}

// ZZDMessage is a work notification the stand-in delivered.
type ZZDMessage struct {
	MsgID             string   // the id the stand-in answered with
	BizMsgID          string   // the caller's idempotency key
	ReceiverIDs       []string // from receiverIds
	OrganizationCodes []string // from organizationCodes
	TenantID          string
	MsgType           string // "text", "markdown", ...
	Title             string // markdown title
	Text              string // text content, or markdown text
	Msg               string // the msg parameter as sent (JSON)
}

// Refusal is a request a stand-in refused on its own account (not an injected failure).
type Refusal struct {
	Path string
	Code string
}

// ZZD refusal codes (the stand-in's own; the real platform's wording may differ).
const (
	ZZDBadSignature = "InvalidSignature"
	ZZDBadTimestamp = "InvalidTimestamp"
	ZZDNonceUsed    = "NonceUsed"
	ZZDBadAPIKey    = "InvalidApiKey"
	ZZDBadToken     = "InvalidAccessToken"
	ZZDBadParameter = "InvalidParameter"
)

// NewZZD starts a Zhezhengding stand-in with fresh credentials; it stops when t ends.
func NewZZD(t testing.TB) *ZZD {
	t.Helper()
	z := &ZZD{
		AppKey:    "yingji-" + randHex(4),
		AppSecret: randHex(16),
		TenantID:  "tenant-" + randHex(3),
		now:       time.Now,
		tokenTTL:  2 * time.Hour,
		tokens:    map[string]time.Time{},
		nonces:    map[string]bool{},
		biz:       map[string]string{},
	}
	z.srv = httptest.NewServer(http.HandlerFunc(z.serve))
	z.URL = z.srv.URL
	t.Cleanup(z.srv.Close)
	return z
}

// SetNow replaces the stand-in's clock (timestamps and token expiry are judged by it).
func (z *ZZD) SetNow(now func() time.Time) {
	z.mu.Lock()
	z.now = now
	z.mu.Unlock()
}

// SetTokenTTL sets the life of the access tokens issued from now on (default 2 h).
func (z *ZZD) SetTokenTTL(d time.Duration) {
	z.mu.Lock()
	z.tokenTTL = d
	z.mu.Unlock()
}

// RevokeTokens forgets every access token issued so far.
func (z *ZZD) RevokeTokens() {
	z.mu.Lock()
	z.tokens = map[string]time.Time{}
	z.mu.Unlock()
}

// FailNext makes the next n work notifications that pass the checks fail with f: HTTP f.Status
// (200 when zero) and {"success":false,"errorCode":f.Code,"errorMsg":f.Message}. A failed one is
// not delivered and its bizMsgId not remembered.
func (z *ZZD) FailNext(n int, f Failure) { z.fail.set(n, f) }

// Messages returns copies of the work notifications delivered, in order.
func (z *ZZD) Messages() []ZZDMessage {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ZZDMessage, len(z.messages))
	for i, m := range z.messages {
		m.ReceiverIDs = append([]string(nil), m.ReceiverIDs...)
		m.OrganizationCodes = append([]string(nil), m.OrganizationCodes...)
		out[i] = m
	}
	return out
}

// TokenRequests returns how many access tokens were asked for successfully.
func (z *ZZD) TokenRequests() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.tokenReqs
}

// Refusals returns the requests the stand-in refused, in order.
func (z *ZZD) Refusals() []Refusal {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]Refusal(nil), z.refusals...)
}

func (z *ZZD) serve(w http.ResponseWriter, r *http.Request) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raw = string(b)
	default:
		z.refuse(w, r.URL.Path, http.StatusMethodNotAllowed, ZZDBadParameter, "method not allowed")
		return
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		z.refuse(w, r.URL.Path, http.StatusBadRequest, ZZDBadParameter, "参数无法解析")
		return
	}
	if code, msg := z.verify(r, params); code != "" {
		z.refuse(w, r.URL.Path, http.StatusUnauthorized, code, msg)
		return
	}
	switch {
	case r.URL.Path == "/gettoken.json" && r.Method == http.MethodGet:
		z.getToken(w, params)
	case r.URL.Path == "/message/workNotification" && r.Method == http.MethodPost:
		z.workNotification(w, r, params)
	default:
		z.refuse(w, r.URL.Path, http.StatusNotFound, "NotFound", "接口不存在")
	}
}

// verify checks the signing headers against the raw request.
func (z *ZZD) verify(r *http.Request, params url.Values) (code, msg string) {
	h := r.Header
	if h.Get("apiKey") != z.AppKey {
		return ZZDBadAPIKey, "apiKey 无效"
	}
	if h.Get("X-Hmac-Auth-Version") != "1.0" || h.Get("X-Hmac-Auth-IP") == "" || h.Get("X-Hmac-Auth-MAC") == "" {
		return ZZDBadParameter, "缺少签名头"
	}
	tsText, nonce := h.Get("X-Hmac-Auth-Timestamp"), h.Get("X-Hmac-Auth-Nonce")
	ts, err := time.Parse("2006-01-02T15:04:05.000-07:00", tsText)
	if err != nil {
		return ZZDBadTimestamp, "时间戳格式错误"
	}
	z.mu.Lock()
	now := z.now()
	z.mu.Unlock()
	if d := now.Sub(ts); d > 5*time.Minute || d < -5*time.Minute {
		return ZZDBadTimestamp, "时间戳超出允许范围"
	}
	// Canonical string: method, timestamp, nonce, path, then sorted key=value pairs.
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, pair{k, v})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	lines := []string{r.Method, tsText, nonce, r.URL.Path}
	if len(pairs) > 0 {
		kv := make([]string, len(pairs))
		for i, p := range pairs {
			kv[i] = p.k + "=" + p.v
		}
		lines = append(lines, strings.Join(kv, "&"))
	}
	mac := hmac.New(sha256.New, []byte(z.AppSecret))
	io.WriteString(mac, strings.Join(lines, "\n"))
	got, err := base64.StdEncoding.DecodeString(h.Get("X-Hmac-Auth-Signature"))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return ZZDBadSignature, "签名校验失败"
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if nonce == "" || z.nonces[nonce] {
		return ZZDNonceUsed, "nonce 已使用"
	}
	z.nonces[nonce] = true
	return "", ""
}

func (z *ZZD) getToken(w http.ResponseWriter, params url.Values) {
	if params.Get("appkey") != z.AppKey || params.Get("appsecret") != z.AppSecret {
		z.refuse(w, "/gettoken.json", http.StatusOK, "InvalidAppSecret", "appkey 或 appsecret 错误")
		return
	}
	z.mu.Lock()
	token := randHex(16)
	ttl := z.tokenTTL
	z.tokens[token] = z.now().Add(ttl)
	z.tokenReqs++
	z.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "content": map[string]any{
		"success": true, "responseCode": "0",
		"data": map[string]any{"accessToken": token, "expiresIn": int64(ttl / time.Second)},
	}})
}

func (z *ZZD) workNotification(w http.ResponseWriter, r *http.Request, params url.Values) {
	const path = "/message/workNotification"
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		z.refuse(w, path, http.StatusOK, ZZDBadParameter, "需要表单编码")
		return
	}
	z.mu.Lock()
	exp, ok := z.tokens[params.Get("access_token")]
	live := ok && z.now().Before(exp)
	z.mu.Unlock()
	if !live {
		z.refuse(w, path, http.StatusOK, ZZDBadToken, "access_token 无效或已过期")
		return
	}
	m := ZZDMessage{BizMsgID: params.Get("bizMsgId"), TenantID: params.Get("tenantId"), Msg: params.Get("msg")}
	m.ReceiverIDs = splitList(params.Get("receiverIds"))
	m.OrganizationCodes = splitList(params.Get("organizationCodes"))
	if m.TenantID != z.TenantID {
		z.refuse(w, path, http.StatusOK, ZZDBadParameter, "tenantId 错误")
		return
	}
	if len(m.ReceiverIDs) == 0 && len(m.OrganizationCodes) == 0 {
		z.refuse(w, path, http.StatusOK, ZZDBadParameter, "缺少接收人")
		return
	}
	var msg struct {
		MsgType  string                        `json:"msgtype"`
		Text     *struct{ Content string }     `json:"text"`
		Markdown *struct{ Title, Text string } `json:"markdown"`
	}
	if err := json.Unmarshal([]byte(m.Msg), &msg); err != nil {
		z.refuse(w, path, http.StatusOK, ZZDBadParameter, "msg 不是合法的 JSON")
		return
	}
	m.MsgType = msg.MsgType
	switch {
	case msg.MsgType == "text" && msg.Text != nil && msg.Text.Content != "":
		m.Text = msg.Text.Content
	case msg.MsgType == "markdown" && msg.Markdown != nil && msg.Markdown.Title != "" && msg.Markdown.Text != "":
		m.Title, m.Text = msg.Markdown.Title, msg.Markdown.Text
	default:
		z.refuse(w, path, http.StatusOK, ZZDBadParameter, "msg 内容不完整或类型不支持")
		return
	}
	if f, ok := z.fail.next(); ok {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(w, status, map[string]any{"success": false, "errorCode": f.Code, "errorMsg": f.Message})
		return
	}
	z.mu.Lock()
	id, seen := z.biz[m.BizMsgID]
	if !seen || m.BizMsgID == "" {
		z.seq++
		id = fmt.Sprintf("zzd-msg-%d", z.seq)
		m.MsgID = id
		z.messages = append(z.messages, m)
		if m.BizMsgID != "" {
			z.biz[m.BizMsgID] = id
		}
	}
	z.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "content": map[string]any{
		"success": true, "responseCode": "0", "data": map[string]any{"msgId": id},
	}})
}

func (z *ZZD) refuse(w http.ResponseWriter, path string, status int, code, msg string) {
	z.mu.Lock()
	z.refusals = append(z.refusals, Refusal{Path: path, Code: code})
	z.mu.Unlock()
	writeJSON(w, status, map[string]any{"success": false, "errorCode": code, "errorMsg": msg})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// SMS stands in for an SMS gateway speaking the format documented on notify.SMSGateway:
// POST {URL} with a JSON body, signed in X-Sms-* headers or query parameters. It recomputes the
// signature over method, path, timestamp, nonce and the body's SHA-256, refuses a timestamp
// more than 15 minutes off and a reused nonce (AuthFailed), and checks the signature name, the
// template and its parameters and the phone numbers as a provider does.
type SMS struct {
	URL       string // the send endpoint, for SMSConfig.URL
	AccessKey string
	Secret    string
	SignName  string // the registered signature (签名)

	srv  *httptest.Server
	fail failures

	mu        sync.Mutex
	now       func() time.Time
	templates map[string][]string // template id → required parameter names
	nonces    map[string]bool
	messages  []SMSMessage
	refusals  []Refusal
	seq       int
}

// SMSMessage is an SMS the stand-in accepted.
type SMSMessage struct {
	BizID      string // the id the stand-in answered with
	SignName   string
	TemplateID string
	Params     map[string]string
	Phones     []string
	OutID      string
}

// SMSPath is the path of the stand-in's send endpoint.
const SMSPath = "/v1/sms/send"

var mobile = regexp.MustCompile(`^(\+?86)?1[3-9][0-9]{9}$`)

// NewSMS starts an SMS gateway stand-in with fresh credentials and the signature "应急管理";
// it stops when t ends. Register templates with Template.
func NewSMS(t testing.TB) *SMS {
	t.Helper()
	s := &SMS{
		AccessKey: "ak-" + randHex(6), Secret: randHex(16), SignName: "应急管理",
		now: time.Now, templates: map[string][]string{}, nonces: map[string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + SMSPath
	t.Cleanup(s.srv.Close)
	return s
}

// Template registers a template and the parameters it requires.
func (s *SMS) Template(id string, params ...string) {
	s.mu.Lock()
	s.templates[id] = append([]string(nil), params...)
	s.mu.Unlock()
}

// SetNow replaces the stand-in's clock.
func (s *SMS) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// FailNext makes the next n requests that pass the checks fail with HTTP f.Status (200 when
// zero) and {"code":f.Code,"message":f.Message}. A failed one is not delivered.
func (s *SMS) FailNext(n int, f Failure) { s.fail.set(n, f) }

// Messages returns copies of the SMS accepted, in order.
func (s *SMS) Messages() []SMSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SMSMessage, len(s.messages))
	for i, m := range s.messages {
		params := make(map[string]string, len(m.Params))
		for k, v := range m.Params {
			params[k] = v
		}
		m.Params, m.Phones = params, append([]string(nil), m.Phones...)
		out[i] = m
	}
	return out
}

// Refusals returns the requests refused by the checks, in order.
func (s *SMS) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refusals...)
}

func (s *SMS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != SMSPath || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	// The signing values come from the headers, or else from the query.
	q := r.URL.Query()
	get := func(header, param string) string {
		if v := r.Header.Get(header); v != "" {
			return v
		}
		return q.Get(param)
	}
	key, tsText := get("X-Sms-Access-Key", "access_key"), get("X-Sms-Timestamp", "timestamp")
	nonce, method, sig := get("X-Sms-Nonce", "nonce"), get("X-Sms-Signature-Method", "signature_method"), get("X-Sms-Signature", "signature")
	if key != s.AccessKey || method != "HMAC-SHA256" {
		s.refuse(w, http.StatusUnauthorized, "AuthFailed", "access key 无效")
		return
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	if off := now.Sub(time.Unix(ts, 0)); err != nil || off > 15*time.Minute || off < -15*time.Minute {
		s.refuse(w, http.StatusUnauthorized, "AuthFailed", "时间戳无效")
		return
	}
	bodySum := sha256.Sum256(body)
	canonical := fmt.Sprintf("%s\n%s\n%s\n%s\n%x", r.Method, r.URL.EscapedPath(), tsText, nonce, bodySum)
	mac := hmac.New(sha256.New, []byte(s.Secret))
	io.WriteString(mac, canonical)
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		s.refuse(w, http.StatusUnauthorized, "AuthFailed", "签名校验失败")
		return
	}
	s.mu.Lock()
	reused := nonce == "" || s.nonces[nonce]
	s.nonces[nonce] = true
	s.mu.Unlock()
	if reused {
		s.refuse(w, http.StatusUnauthorized, "AuthFailed", "nonce 已使用")
		return
	}
	var req struct {
		SignName   string            `json:"sign_name"`
		TemplateID string            `json:"template_id"`
		Params     map[string]string `json:"params"`
		Phones     []string          `json:"phones"`
		OutID      string            `json:"out_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.refuse(w, http.StatusBadRequest, "InvalidParams", "请求体不是合法的 JSON")
		return
	}
	m := SMSMessage{SignName: req.SignName, TemplateID: req.TemplateID, Params: req.Params, Phones: req.Phones, OutID: req.OutID}
	if m.SignName != s.SignName {
		s.refuse(w, http.StatusOK, "InvalidSignName", "短信签名不合法")
		return
	}
	s.mu.Lock()
	required, known := s.templates[m.TemplateID]
	s.mu.Unlock()
	if !known {
		s.refuse(w, http.StatusOK, "InvalidTemplate", "短信模板不存在")
		return
	}
	var missing []string
	for _, p := range required {
		if m.Params[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		s.refuse(w, http.StatusOK, "InvalidParams", fmt.Sprintf("模板缺少参数 %v", missing))
		return
	}
	if len(m.Phones) == 0 {
		s.refuse(w, http.StatusOK, "InvalidPhone", "缺少手机号")
		return
	}
	for _, p := range m.Phones {
		if !mobile.MatchString(p) {
			s.refuse(w, http.StatusOK, "InvalidPhone", "手机号码格式错误: "+p)
			return
		}
	}
	if f, ok := s.fail.next(); ok {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(w, status, map[string]any{"code": f.Code, "message": f.Message})
		return
	}
	s.mu.Lock()
	s.seq++
	m.BizID = fmt.Sprintf("sms-%06d", s.seq)
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"code": "OK", "message": "OK", "biz_id": m.BizID})
}

func (s *SMS) refuse(w http.ResponseWriter, status int, code, msg string) {
	s.mu.Lock()
	s.refusals = append(s.refusals, Refusal{Path: SMSPath, Code: code})
	s.mu.Unlock()
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

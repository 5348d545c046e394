package notifytest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// FCM stands in for Firebase Cloud Messaging HTTP v1 (and for Google's OAuth2 token endpoint
// of a service account it issues). POST {Endpoint()}/projects/{ProjectID}/messages:send must
// carry "Authorization: Bearer {AccessToken}" and {"message":{...}} with exactly one of token,
// topic and condition, string data values and an android priority of normal or high. A token
// marked with Unregister is answered like FCM answers a dead device token: HTTP 404 with an
// FcmError detail whose errorCode is UNREGISTERED.
type FCM struct {
	ProjectID   string
	AccessToken string // the bearer token the stand-in accepts

	srv  *httptest.Server
	fail failures

	mu        sync.Mutex
	key       *rsa.PrivateKey // the service account's key, made by ServiceAccountJSON
	dead      map[string]bool
	messages  []FCMMessage
	refusals  []Refusal
	tokenReqs int
	seq       int
}

// FCMMessage is a push message the stand-in accepted.
type FCMMessage struct {
	Name            string // projects/{id}/messages/{n}, as answered
	Token           string
	Title, Body     string
	Data            map[string]string
	AndroidPriority string
}

// fcmServiceAccount is the e-mail of the stand-in's service account.
const fcmServiceAccount = "yingji-push@yingji-test.iam.gserviceaccount.com"

// NewFCM starts an FCM stand-in; it stops when t ends.
func NewFCM(t testing.TB) *FCM {
	t.Helper()
	f := &FCM{ProjectID: "yingji-test", AccessToken: "ya29." + randHex(16), dead: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Endpoint is the value for FCMConfig.Endpoint (option.WithEndpoint): the server's URL + "/v1".
func (f *FCM) Endpoint() string { return f.srv.URL + "/v1" }

// TokenSource returns a static source of the accepted bearer token.
func (f *FCM) TokenSource() oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.AccessToken, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)})
}

// ServiceAccountJSON returns a service-account key file whose token_uri is the stand-in: a
// client using it signs a JWT with the key, exchanges it at the stand-in (which checks the
// signature, issuer, audience, scope and expiry) and gets AccessToken.
func (f *FCM) ServiceAccountJSON() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		f.key = key
	}
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": f.ProjectID, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": fcmServiceAccount, "client_id": "1", "token_uri": f.srv.URL + "/token",
	})
	return string(b)
}

// Unregister makes the stand-in answer UNREGISTERED for device token.
func (f *FCM) Unregister(token string) {
	f.mu.Lock()
	f.dead[token] = true
	f.mu.Unlock()
}

// FailNext makes the next n sends that pass the checks fail with HTTP f.Status (500 when zero)
// and an FcmError whose errorCode is f.Code (e.g. INTERNAL, UNAVAILABLE, QUOTA_EXCEEDED). The
// Go SDK itself retries 503 with a back-off (0.5 s, 1 s, ...), which consumes failures.
func (f *FCM) FailNext(n int, fl Failure) { f.fail.set(n, fl) }

// Messages returns copies of the messages accepted, in order.
func (f *FCM) Messages() []FCMMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FCMMessage, len(f.messages))
	for i, m := range f.messages {
		data := make(map[string]string, len(m.Data))
		for k, v := range m.Data {
			data[k] = v
		}
		m.Data = data
		out[i] = m
	}
	return out
}

// TokenRequests returns how many access tokens were issued for the service account.
func (f *FCM) TokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenReqs
}

// Refusals returns the requests refused by the checks, in order (Code is the error status).
func (f *FCM) Refusals() []Refusal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Refusal(nil), f.refusals...)
}

var googleStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

// googleError writes an error the way Google APIs do, with an FcmError detail when fcmCode is set.
func googleError(w http.ResponseWriter, status int, fcmCode, msg string) {
	e := map[string]any{"code": status, "message": msg, "status": googleStatus[status]}
	if fcmCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcmCode}}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (f *FCM) refuse(w http.ResponseWriter, path string, status int, fcmCode, msg string) {
	f.mu.Lock()
	f.refusals = append(f.refusals, Refusal{Path: path, Code: googleStatus[status]})
	f.mu.Unlock()
	googleError(w, status, fcmCode, msg)
}

func (f *FCM) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" && r.Method == http.MethodPost {
		f.token(w, r)
		return
	}
	project, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, ok2 := strings.CutSuffix(project, "/messages:send")
	if !ok || !ok2 || r.Method != http.MethodPost {
		f.refuse(w, r.URL.Path, 404, "", "Requested entity was not found.")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.AccessToken {
		f.refuse(w, r.URL.Path, 401, "", "Request had invalid authentication credentials.")
		return
	}
	if project != f.ProjectID {
		f.refuse(w, r.URL.Path, 403, "SENDER_ID_MISMATCH", "Permission denied on project "+project)
		return
	}
	var req struct {
		ValidateOnly bool `json:"validate_only"`
		Message      *struct {
			Token, Topic, Condition string
			Notification            *struct{ Title, Body string } `json:"notification"`
			Data                    map[string]string             `json:"data"`
			Android                 *struct {
				Priority string `json:"priority"`
			} `json:"android"`
		} `json:"message"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &req); err != nil || req.Message == nil {
		f.refuse(w, r.URL.Path, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	m := req.Message
	targets := 0
	for _, s := range []string{m.Token, m.Topic, m.Condition} {
		if s != "" {
			targets++
		}
	}
	if targets != 1 {
		f.refuse(w, r.URL.Path, 400, "INVALID_ARGUMENT", "Exactly one of token, topic or condition must be set.")
		return
	}
	if m.Android != nil && m.Android.Priority != "" {
		if p := strings.ToLower(m.Android.Priority); p != "normal" && p != "high" {
			f.refuse(w, r.URL.Path, 400, "INVALID_ARGUMENT", "Invalid value at 'message.android.priority'")
			return
		}
	}
	f.mu.Lock()
	dead := f.dead[m.Token]
	f.mu.Unlock()
	if dead {
		f.refuse(w, r.URL.Path, 404, "UNREGISTERED", "Requested entity was not found.")
		return
	}
	if fl, ok := f.fail.next(); ok {
		status := fl.Status
		if status == 0 {
			status = 500
		}
		googleError(w, status, fl.Code, fl.Message)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	name := fmt.Sprintf("projects/%s/messages/%d", f.ProjectID, f.seq)
	if !req.ValidateOnly {
		rec := FCMMessage{Name: name, Token: m.Token, Data: m.Data}
		if m.Notification != nil {
			rec.Title, rec.Body = m.Notification.Title, m.Notification.Body
		}
		if m.Android != nil {
			rec.AndroidPriority = m.Android.Priority
		}
		f.messages = append(f.messages, rec)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]string{"name": name})
}

// token exchanges a service-account JWT (RFC 7523) for AccessToken.
func (f *FCM) token(w http.ResponseWriter, r *http.Request) {
	bad := func(msg string) {
		f.mu.Lock()
		f.refusals = append(f.refusals, Refusal{Path: "/token", Code: "invalid_grant"})
		f.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": msg})
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		bad("unsupported grant")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		bad("malformed assertion")
		return
	}
	var header struct{ Alg string }
	var claims struct {
		Iss, Scope, Aud string
		Exp, Iat        int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		bad("malformed assertion")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	f.mu.Lock()
	key := f.key
	f.mu.Unlock()
	if header.Alg != "RS256" || key == nil || rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		bad("Invalid JWT Signature.")
		return
	}
	now := time.Now().Unix()
	if claims.Iss != fcmServiceAccount || claims.Aud != f.srv.URL+"/token" || claims.Exp < now || claims.Iat > now+300 {
		bad("Invalid JWT: issuer, audience or time")
		return
	}
	if !strings.Contains(" "+claims.Scope+" ", " https://www.googleapis.com/auth/firebase.messaging ") &&
		!strings.Contains(" "+claims.Scope+" ", " https://www.googleapis.com/auth/cloud-platform ") {
		bad("Invalid scope")
		return
	}
	f.mu.Lock()
	f.tokenReqs++
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": f.AccessToken, "token_type": "Bearer", "expires_in": 3600})
}

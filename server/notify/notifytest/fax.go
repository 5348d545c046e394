package notifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
)

// Fax stands in for the HTTP fax gateway documented on notify.HTTPFax: it checks the bearer
// token, the JSON payload (a fax number, a UTF-8 text document), answers like the gateway
// does, keeps what it accepted (a resent id is accepted once) and can be told to fail.
type Fax struct {
	URL   string // the send endpoint
	Token string

	srv  *httptest.Server
	fail failures

	mu       sync.Mutex
	faxes    []FaxMessage
	byID     map[string]string
	refusals []Refusal
	seq      int
}

// FaxMessage is a fax the stand-in accepted.
type FaxMessage struct {
	FaxID, ID, To, ToName, Sender, Subject, Content string
}

var faxNo = regexp.MustCompile(`^\+?[0-9][0-9 ()\-]{3,28}[0-9]$`)

// NewFax starts a fax gateway stand-in with a fresh token; it stops when t ends.
func NewFax(t testing.TB) *Fax {
	t.Helper()
	f := &Fax{Token: "fax-" + randHex(12), byID: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/v1/fax/send"
	t.Cleanup(f.srv.Close)
	return f
}

// FailNext makes the next n sends fail with f (written as HTTP f.Status with {code, message}).
func (f *Fax) FailNext(n int, fl Failure) { f.fail.set(n, fl) }

// Faxes returns the faxes accepted so far.
func (f *Fax) Faxes() []FaxMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FaxMessage(nil), f.faxes...)
}

// Refusals returns the requests refused so far.
func (f *Fax) Refusals() []Refusal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Refusal(nil), f.refusals...)
}

func (f *Fax) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code, msg string) {
		f.mu.Lock()
		f.refusals = append(f.refusals, Refusal{Path: r.URL.Path, Code: code})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/fax/send" {
		refuse(http.StatusNotFound, "NotFound", "no such endpoint")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		refuse(http.StatusUnauthorized, "Unauthorized", "invalid token")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		refuse(http.StatusBadRequest, "InvalidPayload", "content type must be application/json")
		return
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in map[string]string
	if err := json.Unmarshal(b, &in); err != nil {
		refuse(http.StatusBadRequest, "InvalidPayload", "body is not a JSON object of strings")
		return
	}
	if in["id"] == "" || in["content"] == "" || in["content_type"] != "text/plain; charset=utf-8" {
		refuse(http.StatusBadRequest, "InvalidPayload", "id, content and a text/plain content_type are required")
		return
	}
	if !faxNo.MatchString(in["to"]) {
		refuse(http.StatusBadRequest, "InvalidNumber", "not a fax number")
		return
	}
	if fl, ok := f.fail.next(); ok {
		st := fl.Status
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		refuse(st, fl.Code, fl.Message)
		return
	}
	f.mu.Lock()
	id, seen := f.byID[in["id"]]
	if !seen {
		f.seq++
		id = fmt.Sprintf("fax-%06d", f.seq)
		f.byID[in["id"]] = id
		f.faxes = append(f.faxes, FaxMessage{FaxID: id, ID: in["id"], To: in["to"], ToName: in["to_name"], Sender: in["sender"],
			Subject: in["subject"], Content: in["content"]})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"code": "OK", "fax_id": id})
}

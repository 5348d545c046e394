package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Fax is one fax to send: a text document (the gateway renders it on its cover and pages).
type Fax struct {
	ID      string // idempotency key: a retry carries the same ID
	To      string // fax number, e.g. 0571-86101200
	ToName  string // receiving unit or person, for the cover page
	Subject string
	Text    string
	Sender  string // sending unit, for the cover page
}

// FaxGateway sends faxes. HTTPFax is the HTTP implementation; others (a modem server, a
// provider's SDK) implement the same.
type FaxGateway interface {
	SendFax(ctx context.Context, f Fax) (string, error)
}

// FaxPath is the path the HTTP fax gateway's send endpoint is documented with.
const FaxPath = "/v1/fax/send"

// Fax gateway answer codes.
const (
	FaxOK             = "OK"
	FaxUnauthorized   = "Unauthorized"   // wrong or missing token (HTTP 401): permanent
	FaxInvalidNumber  = "InvalidNumber"  // the number is not a fax number (HTTP 400): permanent
	FaxInvalidPayload = "InvalidPayload" // the request is malformed (HTTP 400): permanent
	FaxLineBusy       = "LineBusy"       // the receiving line is busy (HTTP 503): retry later
	FaxThrottled      = "Throttled"      // too many faxes (HTTP 429): retry later
)

var faxPermanent = map[string]bool{FaxUnauthorized: true, FaxInvalidNumber: true, FaxInvalidPayload: true}

// FaxNumber is the shape of a fax number: digits with an optional +, spaces, hyphens and
// brackets, 5 to 20 digits.
var faxNumber = regexp.MustCompile(`^\+?[0-9][0-9 ()\-]{3,28}[0-9]$`)

// ValidFaxNumber reports whether s looks like a fax number.
func ValidFaxNumber(s string) bool {
	if !faxNumber.MatchString(s) {
		return false
	}
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n >= 5 && n <= 20
}

// HTTPFax posts faxes to an HTTP fax gateway:
//
//	POST {URL}   Authorization: Bearer {Token}   Content-Type: application/json
//	{"id": "...", "to": "0571-86101200", "to_name": "...", "sender": "...",
//	 "subject": "...", "content_type": "text/plain; charset=utf-8", "content": "..."}
//
// answered 200 {"code": "OK", "fax_id": "..."}, or an error status with {"code", "message"}:
// 401 Unauthorized, 400 InvalidNumber / InvalidPayload (permanent), 429 Throttled and 503
// LineBusy (worth a retry). The id makes a retried send idempotent at the gateway.
type HTTPFax struct {
	URL    string
	Token  string
	Sender string
	Client *http.Client
}

// NewHTTPFax checks the configuration and returns the gateway client.
func NewHTTPFax(rawURL, token, sender string, timeout time.Duration) (*HTTPFax, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("notify: fax: the gateway URL must be http(s)://host/...")
	}
	if token == "" {
		return nil, errors.New("notify: fax: a token is required")
	}
	return &HTTPFax{URL: rawURL, Token: token, Sender: sender, Client: httpClient(nil, timeout)}, nil
}

// SendFax sends f and returns the gateway's fax id.
func (g *HTTPFax) SendFax(ctx context.Context, f Fax) (string, error) {
	if !ValidFaxNumber(f.To) {
		return "", ErrNoAddress
	}
	if f.Sender == "" {
		f.Sender = g.Sender
	}
	body, err := json.Marshal(map[string]string{"id": f.ID, "to": f.To, "to_name": f.ToName, "sender": f.Sender,
		"subject": f.Subject, "content_type": "text/plain; charset=utf-8", "content": f.Text})
	if err != nil {
		return "", fmt.Errorf("notify: fax: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("notify: fax: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+g.Token)
	status, answer, err := do(ctx, httpClient(g.Client, 0), "fax", req)
	if err != nil {
		return "", err
	}
	var a struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		FaxID   string `json:"fax_id"`
	}
	if json.Unmarshal(answer, &a) != nil || a.Code == "" {
		return "", statusError("fax", status, answer)
	}
	if a.Code != FaxOK || status/100 != 2 {
		permanent, known := faxPermanent[a.Code]
		if !known {
			permanent = !retryableStatus(status)
		}
		return "", &Error{Channel: "fax", Code: a.Code, Message: a.Message, Permanent: permanent}
	}
	return a.FaxID, nil
}

// FaxChannel is a fax gateway as a Channel: Receiver.Phone is the fax number, the message's
// title and body the subject and text.
type FaxChannel struct{ Gateway FaxGateway }

// Name is "fax".
func (c FaxChannel) Name() string { return "fax" }

// Send faxes the message.
func (c FaxChannel) Send(ctx context.Context, to Receiver, m Message) (Result, error) {
	if strings.TrimSpace(to.Phone) == "" {
		return Result{}, ErrNoAddress
	}
	id, err := c.Gateway.SendFax(ctx, Fax{ID: m.ID, To: to.Phone, ToName: to.Name, Subject: m.Title, Text: m.Body})
	if err != nil {
		return Result{}, err
	}
	return Result{ProviderID: id}, nil
}

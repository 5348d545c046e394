package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SMSRequest is one templated SMS. Chinese providers send only registered content: a
// registered signature (签名) and template with parameters, never free text.
type SMSRequest struct {
	SignName   string            // registered signature, shown as 【SignName】
	TemplateID string            // registered template
	Params     map[string]string // the template's parameters
	Phones     []string          // mobile numbers
	OutID      string            // the caller's id (delivery id), echoed in receipts
}

// SMSProvider sends templated SMS and returns the provider's message id (for delivery
// receipts). SMSGateway is the HTTP implementation; another provider fits behind it.
type SMSProvider interface {
	SendSMS(ctx context.Context, r SMSRequest) (bizID string, err error)
}

// SMS signing modes: where the signature travels.
const (
	SMSSignHeader = "header" // X-Sms-* headers (default)
	SMSSignQuery  = "query"  // query parameters, for gateways behind proxies that drop headers
)

// SMS gateway answer codes (see SMSGateway).
const (
	SMSOK              = "OK"
	SMSInvalidPhone    = "InvalidPhone"
	SMSInvalidTemplate = "InvalidTemplate"
	SMSInvalidSignName = "InvalidSignName"
	SMSInvalidParams   = "InvalidParams"
	SMSAuthFailed      = "AuthFailed"
	SMSRateLimited     = "RateLimited"
	SMSInternalError   = "InternalError"
)

// smsPermanent tells the permanent codes from the retryable ones; unknown codes are judged by
// the HTTP status.
var smsPermanent = map[string]bool{
	SMSInvalidPhone: true, SMSInvalidTemplate: true, SMSInvalidSignName: true,
	SMSInvalidParams: true, SMSAuthFailed: true,
	SMSRateLimited: false, SMSInternalError: false,
}

// SMSConfig configures the SMS channel and its HTTP gateway.
type SMSConfig struct {
	// URL is the gateway's send endpoint, e.g. https://sms.example.gov.cn/v1/sms/send. Required.
	URL string
	// AccessKey identifies the account; Secret keys the request signatures and is never
	// logged. Required.
	AccessKey string
	Secret    string
	// SignName is the registered signature (签名) every message carries. Required.
	SignName string
	// SignMode is SMSSignHeader (default) or SMSSignQuery.
	SignMode string
	// HTTPClient sends the requests; nil means a client bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request when HTTPClient is nil (DefaultTimeout when zero).
	Timeout time.Duration
	// Now is the clock for the signing timestamp; nil means time.Now.
	Now func() time.Time
}

// LogValue keeps the secret out of logs.
func (c SMSConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("access_key", c.AccessKey),
		slog.String("sign_name", c.SignName), slog.String("sign_mode", c.SignMode))
}

// SMSGateway is an SMSProvider speaking one documented HTTP JSON format, so that a small
// adapter in front of any provider (or a provider that adopts it) can serve it:
//
//	POST {URL}
//	Content-Type: application/json; charset=utf-8
//	X-Sms-Access-Key: {AccessKey}
//	X-Sms-Timestamp: {Unix seconds}
//	X-Sms-Nonce: {32 random hex digits, never reused}
//	X-Sms-Signature-Method: HMAC-SHA256
//	X-Sms-Signature: base64(HMAC-SHA256(Secret, METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body))))
//
//	{"sign_name":"…","template_id":"SMS_1","params":{"level":"红色"},"phones":["13800000000"],"out_id":"delivery-1"}
//
// PATH is the URL's path without the query. In SMSSignQuery mode the five X-Sms-* values travel
// instead as the query parameters access_key, timestamp, nonce, signature_method and
// signature. The gateway should refuse a timestamp more than 15 minutes off and a reused nonce.
//
// The answer is JSON {"code":"OK","message":"…","biz_id":"…"}: code OK means accepted and biz_id
// is the provider's message id. Other codes: InvalidPhone, InvalidTemplate, InvalidSignName,
// InvalidParams and AuthFailed are permanent; RateLimited and InternalError retryable; an
// unknown code is retryable only with an HTTP 5xx/429 status.
type SMSGateway struct {
	cfg SMSConfig
	hc  *http.Client
	now func() time.Time
	u   *url.URL
}

// NewSMSGateway returns the HTTP gateway for cfg.
func NewSMSGateway(cfg SMSConfig) (*SMSGateway, error) {
	if cfg.URL == "" || cfg.AccessKey == "" || cfg.Secret == "" {
		return nil, errors.New("notify: sms: URL, access key and secret are required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("notify: sms: bad URL %q", cfg.URL)
	}
	switch cfg.SignMode {
	case "":
		cfg.SignMode = SMSSignHeader
	case SMSSignHeader, SMSSignQuery:
	default:
		return nil, fmt.Errorf("notify: sms: unknown sign mode %q", cfg.SignMode)
	}
	g := &SMSGateway{cfg: cfg, hc: httpClient(cfg.HTTPClient, cfg.Timeout), now: cfg.Now, u: u}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// SMSSign computes the gateway signature (see SMSGateway) of one request.
func SMSSign(secret, method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + "\n" + path + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(sum[:])))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SendSMS posts r to the gateway and returns its biz_id.
func (g *SMSGateway) SendSMS(ctx context.Context, r SMSRequest) (string, error) {
	body, err := json.Marshal(map[string]any{
		"sign_name": r.SignName, "template_id": r.TemplateID, "params": r.Params,
		"phones": r.Phones, "out_id": r.OutID,
	})
	if err != nil {
		return "", fmt.Errorf("notify: sms: %w", err)
	}
	nonceBytes := make([]byte, 16)
	if _, err := rand.Read(nonceBytes); err != nil {
		return "", fmt.Errorf("notify: sms: %w", err)
	}
	ts := strconv.FormatInt(g.now().Unix(), 10)
	nonce := hex.EncodeToString(nonceBytes)
	path := g.u.EscapedPath()
	if path == "" {
		path = "/"
	}
	sig := SMSSign(g.cfg.Secret, http.MethodPost, path, ts, nonce, body)
	u := *g.u
	auth := map[string]string{"access_key": g.cfg.AccessKey, "timestamp": ts, "nonce": nonce,
		"signature_method": "HMAC-SHA256", "signature": sig}
	if g.cfg.SignMode == SMSSignQuery {
		q := u.Query()
		for k, v := range auth {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("notify: sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if g.cfg.SignMode == SMSSignHeader {
		req.Header.Set("X-Sms-Access-Key", auth["access_key"])
		req.Header.Set("X-Sms-Timestamp", ts)
		req.Header.Set("X-Sms-Nonce", nonce)
		req.Header.Set("X-Sms-Signature-Method", auth["signature_method"])
		req.Header.Set("X-Sms-Signature", sig)
	}
	status, answer, err := do(ctx, g.hc, "sms", req)
	if err != nil {
		return "", err
	}
	var a struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		BizID   string `json:"biz_id"`
	}
	if json.Unmarshal(answer, &a) != nil || a.Code == "" {
		return "", statusError("sms", status, answer)
	}
	if a.Code != SMSOK || status/100 != 2 {
		permanent, known := smsPermanent[a.Code]
		if !known || a.Code == SMSOK {
			permanent = !retryableStatus(status)
		}
		return "", &Error{Channel: "sms", Code: a.Code, Message: a.Message, Permanent: permanent}
	}
	return a.BizID, nil
}

// SMS sends Message.SMSTemplate with Message.SMSParams to Receiver.Phone through a provider.
type SMS struct {
	provider SMSProvider
	signName string
}

// NewSMS returns the SMS channel over the HTTP gateway configured by cfg.
func NewSMS(cfg SMSConfig) (*SMS, error) {
	if cfg.SignName == "" {
		return nil, errors.New("notify: sms: sign name is required")
	}
	g, err := NewSMSGateway(cfg)
	if err != nil {
		return nil, err
	}
	return &SMS{provider: g, signName: cfg.SignName}, nil
}

// NewSMSWith returns the SMS channel over another provider, signing with signName.
func NewSMSWith(p SMSProvider, signName string) *SMS { return &SMS{provider: p, signName: signName} }

// Name is "sms".
func (s *SMS) Name() string { return "sms" }

// Send sends the message's template to the receiver's phone; Result.ProviderID is the
// provider's message id. A message without a template is a permanent *Error: SMS carries no
// free text.
func (s *SMS) Send(ctx context.Context, to Receiver, m Message) (Result, error) {
	if to.Phone == "" {
		return Result{}, ErrNoAddress
	}
	if m.SMSTemplate == "" {
		return Result{}, &Error{Channel: "sms", Code: "no_template", Message: "短信须使用已备案的模板", Permanent: true}
	}
	id, err := s.provider.SendSMS(ctx, SMSRequest{
		SignName: s.signName, TemplateID: m.SMSTemplate, Params: m.SMSParams,
		Phones: []string{to.Phone}, OutID: m.ID,
	})
	if err != nil {
		return Result{}, err
	}
	return Result{ProviderID: id}, nil
}

package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ZZDConfig configures the Zhezhengding (浙政钉) open-platform channel.
type ZZDConfig struct {
	// BaseURL is the open-platform domain, e.g. https://openplatform-pro.ding.zj.gov.cn
	// (production) or https://openplatform.dg-work.cn (SaaS/test). Required.
	BaseURL string
	// AppKey and AppSecret are the application's credentials; the secret keys the request
	// signatures and is never logged. Required.
	AppKey    string
	AppSecret string
	// TenantID is the organisation's tenant id sent with every work notification. Required.
	TenantID string
	// IP and MAC fill the X-Hmac-Auth-IP and X-Hmac-Auth-MAC headers; when empty, the first
	// non-loopback interface of this machine is used.
	IP  string
	MAC string
	// HTTPClient sends the requests; nil means a client bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request when HTTPClient is nil (DefaultTimeout when zero).
	Timeout time.Duration
	// Now is the clock (timestamps, token expiry); nil means time.Now.
	Now func() time.Time
}

// LogValue keeps the secret out of logs.
func (c ZZDConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("app_key", c.AppKey),
		slog.String("tenant_id", c.TenantID))
}

// Paths of the open-platform calls the channel makes.
const (
	ZZDTokenPath        = "/gettoken.json"
	ZZDWorkNoticePath   = "/message/workNotification"
	zzdTokenEarly       = 5 * time.Minute // refresh a token this long before it expires
	zzdDefaultTokenLife = 2 * time.Hour   // when the answer gives no expiresIn
)

// ZZD sends Zhezhengding work notifications to Receiver.ZZDAccountID. It is safe for
// concurrent use: the access token is cached until a little before it expires and only one
// refresh runs at a time.
type ZZD struct {
	cfg ZZDConfig
	hc  *http.Client
	now func() time.Time

	tokenSem chan struct{} // held while the token is read or refreshed
	token    string
	expires  time.Time

	nonceMu  sync.Mutex
	nonceSec int64
	nonceSeq int
}

// NewZZD returns the Zhezhengding channel for cfg.
func NewZZD(cfg ZZDConfig) (*ZZD, error) {
	if cfg.BaseURL == "" || cfg.AppKey == "" || cfg.AppSecret == "" || cfg.TenantID == "" {
		return nil, errors.New("notify: zzd: base URL, app key, app secret and tenant id are required")
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("notify: zzd: base URL: %w", err)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.IP == "" || cfg.MAC == "" {
		ip, mac := localAddress()
		if cfg.IP == "" {
			cfg.IP = ip
		}
		if cfg.MAC == "" {
			cfg.MAC = mac
		}
	}
	z := &ZZD{cfg: cfg, hc: httpClient(cfg.HTTPClient, cfg.Timeout), now: cfg.Now, tokenSem: make(chan struct{}, 1)}
	if z.now == nil {
		z.now = time.Now
	}
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return nil, fmt.Errorf("notify: zzd: %w", err)
	}
	z.nonceSeq = int(n.Int64())
	return z, nil
}

// Name is "zzd".
func (z *ZZD) Name() string { return "zzd" }

// Send posts a work notification to the receiver's account. Message.ID travels as bizMsgId, so
// a retry of a delivery the service already accepted is not shown twice. A message with a
// title goes as markdown (title, body, link), one without as text.
func (z *ZZD) Send(ctx context.Context, to Receiver, m Message) (Result, error) {
	if to.ZZDAccountID == "" {
		return Result{}, ErrNoAddress
	}
	msg, err := zzdMsg(m)
	if err != nil {
		return Result{}, err
	}
	params := url.Values{
		"receiverIds": {to.ZZDAccountID},
		"tenantId":    {z.cfg.TenantID},
		"msg":         {msg},
	}
	if m.ID != "" {
		params.Set("bizMsgId", m.ID)
	}
	// A cached token the service refuses (revoked, or forgotten by a restarted service: a
	// permanent failure whose code or message speaks of the token) is dropped and the call made
	// once more with a fresh one; bizMsgId makes the second call safe.
	for attempt := 0; ; attempt++ {
		token, fresh, err := z.accessToken(ctx)
		if err != nil {
			return Result{}, err
		}
		params.Set("access_token", token)
		var content zzdSendContent
		err = z.call(ctx, http.MethodPost, ZZDWorkNoticePath, params, &content)
		if err != nil {
			if e, ok := asError(err); ok && e.Permanent && !fresh && attempt == 0 &&
				strings.Contains(strings.ToLower(e.Code+" "+e.Message), "token") {
				z.dropToken(token)
				continue
			}
			return Result{}, err
		}
		return Result{ProviderID: content.msgID()}, nil
	}
}

// zzdMsg is the msg parameter for m.
func zzdMsg(m Message) (string, error) {
	var v any
	text := m.Body
	if m.Title != "" {
		if m.Link != "" {
			text += "\n\n[查看详情](" + m.Link + ")"
		}
		v = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": m.Title, "text": "### " + m.Title + "\n\n" + text}}
	} else {
		if m.Link != "" {
			text += "\n" + m.Link
		}
		v = map[string]any{"msgtype": "text", "text": map[string]string{"content": text}}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// zzdAnswer is the envelope of every open-platform answer.
type zzdAnswer struct {
	Success   bool            `json:"success"`
	Content   json.RawMessage `json:"content"`
	ErrorCode string          `json:"errorCode"`
	ErrorMsg  string          `json:"errorMsg"`
}

// zzdContent is the part of content every call shares: some answers carry a nested verdict.
type zzdContent struct {
	Success         *bool  `json:"success"`
	ResponseCode    string `json:"responseCode"`
	ResponseMessage string `json:"responseMessage"`
}

type zzdTokenContent struct {
	zzdContent
	Data struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int64  `json:"expiresIn"`
	} `json:"data"`
}

type zzdSendContent struct {
	zzdContent
	MsgID string `json:"msgId"`
	Data  struct {
		MsgID string `json:"msgId"`
	} `json:"data"`
}

func (c zzdSendContent) msgID() string {
	if c.Data.MsgID != "" {
		return c.Data.MsgID
	}
	return c.MsgID
}

// call makes one signed call and decodes the answer's content into out. GET parameters go in
// the query, POST parameters form-encoded in the body.
func (z *ZZD) call(ctx context.Context, method, path string, params url.Values, out any) error {
	var req *http.Request
	var err error
	u := z.cfg.BaseURL + path
	if method == http.MethodGet {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
		req, err = http.NewRequest(method, u, nil)
	} else {
		req, err = http.NewRequest(method, u, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		}
	}
	if err != nil {
		return fmt.Errorf("notify: zzd: %w", err)
	}
	ts := ZZDTimestamp(z.now())
	nonce := z.nonce()
	req.Header.Set("X-Hmac-Auth-Timestamp", ts)
	req.Header.Set("X-Hmac-Auth-Version", "1.0")
	req.Header.Set("X-Hmac-Auth-Nonce", nonce)
	req.Header.Set("apiKey", z.cfg.AppKey)
	req.Header.Set("X-Hmac-Auth-IP", z.cfg.IP)
	req.Header.Set("X-Hmac-Auth-MAC", z.cfg.MAC)
	req.Header.Set("X-Hmac-Auth-Signature", ZZDSign(z.cfg.AppSecret, method, ts, nonce, path, params))

	status, body, err := do(ctx, z.hc, "zzd", req)
	if err != nil {
		return err
	}
	var a zzdAnswer
	if jerr := json.Unmarshal(body, &a); jerr != nil {
		if status/100 != 2 {
			return statusError("zzd", status, body)
		}
		return &Error{Channel: "zzd", Code: "bad_answer", Message: "应答无法解析: " + jerr.Error()}
	}
	var c zzdContent
	if len(a.Content) > 0 && a.Content[0] == '{' {
		json.Unmarshal(a.Content, &c) // optional nested verdict
	}
	if status/100 != 2 || !a.Success || (c.Success != nil && !*c.Success) {
		return zzdError(status, a, c)
	}
	if out != nil && len(a.Content) > 0 {
		if err := json.Unmarshal(a.Content, out); err != nil {
			return &Error{Channel: "zzd", Code: "bad_answer", Message: "应答无法解析: " + err.Error()}
		}
	}
	return nil
}

// zzdError classifies a failed answer. HTTP 5xx/429 and codes that speak of throttling or a
// system fault are retryable; the rest (bad signature, unknown receiver, bad parameter) are
// permanent. The open platform documents no stable code list, so the classification of codes
// is by their words.
func zzdError(status int, a zzdAnswer, c zzdContent) *Error {
	code, msg := a.ErrorCode, a.ErrorMsg
	if code == "" {
		code, msg = c.ResponseCode, c.ResponseMessage
	}
	if code == "" {
		code = fmt.Sprintf("http_%d", status)
	}
	permanent := !retryableStatus(status)
	if permanent {
		up := strings.ToUpper(code)
		for _, w := range []string{"LIMIT", "THROTTL", "BUSY", "SYSTEM", "TIMEOUT", "UNAVAILABLE"} {
			if strings.Contains(up, w) {
				permanent = false
			}
		}
	}
	return &Error{Channel: "zzd", Code: code, Message: msg, Permanent: permanent}
}

// accessToken returns the cached token, or fetches one; fresh says it was just fetched.
func (z *ZZD) accessToken(ctx context.Context) (token string, fresh bool, err error) {
	select {
	case z.tokenSem <- struct{}{}:
	case <-ctx.Done():
		return "", false, fmt.Errorf("notify zzd: %w", ctx.Err())
	}
	defer func() { <-z.tokenSem }()
	now := z.now()
	if z.token != "" && now.Before(z.expires) {
		return z.token, false, nil
	}
	var c zzdTokenContent
	params := url.Values{"appkey": {z.cfg.AppKey}, "appsecret": {z.cfg.AppSecret}}
	if err := z.call(ctx, http.MethodGet, ZZDTokenPath, params, &c); err != nil {
		return "", false, err
	}
	if c.Data.AccessToken == "" {
		return "", false, &Error{Channel: "zzd", Code: "bad_answer", Message: "应答中没有 accessToken"}
	}
	life := time.Duration(c.Data.ExpiresIn) * time.Second
	if life <= 0 {
		life = zzdDefaultTokenLife
	}
	early := zzdTokenEarly
	if early > life/10 {
		early = life / 10
	}
	z.token, z.expires = c.Data.AccessToken, now.Add(life-early)
	return z.token, true, nil
}

// dropToken forgets token if it is still the cached one.
func (z *ZZD) dropToken(token string) {
	z.tokenSem <- struct{}{}
	if z.token == token {
		z.token = ""
	}
	<-z.tokenSem
}

// nonce returns the Unix time in seconds, "000" and four digits. The digits count on from a
// random start within each second, so one client never repeats a nonce unless it makes more
// than 10,000 calls in a second.
func (z *ZZD) nonce() string {
	z.nonceMu.Lock()
	defer z.nonceMu.Unlock()
	sec := z.now().Unix()
	if sec < z.nonceSec {
		sec = z.nonceSec // the clock went back: stay on the last second, keep counting
	}
	z.nonceSec = sec
	z.nonceSeq = (z.nonceSeq + 1) % 10000
	return strconv.FormatInt(sec, 10) + "000" + fmt.Sprintf("%04d", z.nonceSeq)
}

// localAddress returns the IPv4 and MAC address of the first up, non-loopback interface.
func localAddress() (ip, mac string) {
	ip, mac = "127.0.0.1", "00:00:00:00:00:00"
	ifs, err := net.Interfaces()
	if err != nil {
		return ip, mac
	}
	for _, in := range ifs {
		if in.Flags&net.FlagUp == 0 || in.Flags&net.FlagLoopback != 0 || len(in.HardwareAddr) == 0 {
			continue
		}
		addrs, err := in.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String(), in.HardwareAddr.String()
			}
		}
	}
	return ip, mac
}

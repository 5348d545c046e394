package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DingTalkConfig configures the DingTalk group-robot channel. The robots themselves (webhook
// URL and signing secret) are receivers: Receiver.Webhook and Receiver.Secret.
type DingTalkConfig struct {
	// Enabled turns the channel on in Open (it needs no other setting).
	Enabled bool
	// HTTPClient sends the requests; nil means a client bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request when HTTPClient is nil (DefaultTimeout when zero).
	Timeout time.Duration
	// Now is the clock for the signing timestamp; nil means time.Now.
	Now func() time.Time
}

// DingTalk posts to DingTalk custom robots (group webhooks). It is safe for concurrent use.
type DingTalk struct {
	hc  *http.Client
	now func() time.Time
}

// DingTalk error codes with a known meaning.
const (
	dingTalkTooFast = 130101 // more than about 20 messages a minute to one robot
	dingTalkBusy    = -1     // system busy
)

// NewDingTalk returns the DingTalk robot channel.
func NewDingTalk(cfg DingTalkConfig) *DingTalk {
	d := &DingTalk{hc: httpClient(cfg.HTTPClient, cfg.Timeout), now: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Name is "dingtalk".
func (d *DingTalk) Name() string { return "dingtalk" }

// Send posts m to the robot at to.Webhook, as markdown when it has a title and as text
// otherwise, mentioning to.Phone when set. When to.Secret is set the URL is signed:
// &timestamp=T&sign=S with T in Unix milliseconds and S the base64 HMAC-SHA256, keyed by the
// secret, of T+"\n"+secret. A non-zero errcode is an *Error: rate limits (130101) and a busy
// system (-1) are retryable, every other code permanent.
func (d *DingTalk) Send(ctx context.Context, to Receiver, m Message) (Result, error) {
	if to.Webhook == "" {
		return Result{}, ErrNoAddress
	}
	u, err := url.Parse(to.Webhook)
	if err != nil {
		return Result{}, &Error{Channel: "dingtalk", Code: "bad_webhook", Message: "机器人地址无效", Permanent: true}
	}
	if to.Secret != "" {
		ts := strconv.FormatInt(d.now().UnixMilli(), 10)
		q := u.Query()
		q.Set("timestamp", ts)
		q.Set("sign", DingTalkSign(to.Secret, ts))
		u.RawQuery = q.Encode()
	}
	body, err := json.Marshal(dingTalkPayload(to, m))
	if err != nil {
		return Result{}, fmt.Errorf("notify: dingtalk: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Result{}, &Error{Channel: "dingtalk", Code: "bad_webhook", Message: "机器人地址无效", Permanent: true}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	status, answer, err := do(ctx, d.hc, "dingtalk", req)
	if err != nil {
		return Result{}, err
	}
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(answer, &a) != nil || a.ErrCode == nil {
		return Result{}, statusError("dingtalk", status, answer)
	}
	if *a.ErrCode != 0 {
		retry := *a.ErrCode == dingTalkTooFast || *a.ErrCode == dingTalkBusy || retryableStatus(status)
		return Result{}, &Error{Channel: "dingtalk", Code: strconv.Itoa(*a.ErrCode), Message: a.ErrMsg, Permanent: !retry}
	}
	if status/100 != 2 {
		return Result{}, statusError("dingtalk", status, answer)
	}
	return Result{}, nil
}

// DingTalkSign is the sign parameter of a signed robot call (base64, before URL escaping):
// HMAC-SHA256 keyed by secret over timestamp+"\n"+secret, timestamp in Unix milliseconds.
func DingTalkSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// dingTalkPayload is the robot message for m. A mention only works when the text names the
// number too, so it is appended.
func dingTalkPayload(to Receiver, m Message) map[string]any {
	at := map[string]any{}
	mention := ""
	if to.Phone != "" {
		at["atMobiles"] = []string{to.Phone}
		mention = " @" + to.Phone
	}
	p := map[string]any{"at": at}
	if m.Title != "" {
		text := "### " + m.Title + "\n\n" + m.Body
		if m.Link != "" {
			text += "\n\n[查看详情](" + m.Link + ")"
		}
		p["msgtype"] = "markdown"
		p["markdown"] = map[string]string{"title": m.Title, "text": text + mention}
		return p
	}
	text := m.Body
	if m.Link != "" {
		text += "\n" + m.Link
	}
	p["msgtype"] = "text"
	p["text"] = map[string]string{"content": text + mention}
	return p
}

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DingTalk stands in for DingTalk custom robots: POST /robot/send?access_token=... with a JSON
// message. A robot made with a secret requires timestamp (Unix ms, within an hour of the
// stand-in's clock) and sign (base64 HMAC-SHA256 of timestamp+"\n"+secret); each robot takes
// at most 20 messages a minute. Answers are {"errcode":N,"errmsg":"..."}, HTTP 200, as the
// service gives them.
type DingTalk struct {
	URL string

	srv  *httptest.Server
	fail failures

	mu       sync.Mutex
	now      func() time.Time
	robots   map[string]string // access token → secret ("" when unsigned)
	sent     map[string][]time.Time
	messages []DingTalkMessage
	refusals []Refusal
}

// DingTalkMessage is a message a robot accepted.
type DingTalkMessage struct {
	Robot     string // the robot's access token
	MsgType   string // "text", "markdown" or "actionCard"
	Title     string // markdown / actionCard title
	Text      string // text content, or markdown / actionCard text
	AtMobiles []string
	AtAll     bool
}

// DingTalk errcodes the stand-in answers with (as the service does).
const (
	DingTalkBadToken   = 300001 // unknown access_token
	DingTalkBadSign    = 310000 // wrong or missing sign, timestamp too far off
	DingTalkTooFast    = 130101 // more than 20 messages a minute
	DingTalkBadMessage = 40035  // missing or malformed message
)

// NewDingTalk starts a DingTalk robot stand-in; it stops when t ends.
func NewDingTalk(t testing.TB) *DingTalk {
	t.Helper()
	d := &DingTalk{now: time.Now, robots: map[string]string{}, sent: map[string][]time.Time{}}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	d.URL = d.srv.URL
	t.Cleanup(d.srv.Close)
	return d
}

// Robot creates a robot and returns its webhook URL; a non-empty secret turns signing on.
func (d *DingTalk) Robot(secret string) (webhook string) {
	token := randHex(16)
	d.mu.Lock()
	d.robots[token] = secret
	d.mu.Unlock()
	return d.URL + "/robot/send?access_token=" + token
}

// SetNow replaces the stand-in's clock (signing timestamps and the rate limit use it).
func (d *DingTalk) SetNow(now func() time.Time) {
	d.mu.Lock()
	d.now = now
	d.mu.Unlock()
}

// FailNext makes the next n messages that pass the checks fail with errcode f.Code (a number)
// and errmsg f.Message, HTTP f.Status (200 when zero). A failed one is not delivered.
func (d *DingTalk) FailNext(n int, f Failure) { d.fail.set(n, f) }

// Messages returns copies of the messages accepted, in order.
func (d *DingTalk) Messages() []DingTalkMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DingTalkMessage, len(d.messages))
	for i, m := range d.messages {
		m.AtMobiles = append([]string(nil), m.AtMobiles...)
		out[i] = m
	}
	return out
}

// Refusals returns the requests refused by the checks, in order (Code is the errcode).
func (d *DingTalk) Refusals() []Refusal {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Refusal(nil), d.refusals...)
}

func (d *DingTalk) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/robot/send" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	token := q.Get("access_token")
	d.mu.Lock()
	secret, known := d.robots[token]
	now := d.now()
	d.mu.Unlock()
	if !known {
		d.refuse(w, DingTalkBadToken, "token is not exist")
		return
	}
	if secret != "" {
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil {
			d.refuse(w, DingTalkBadSign, "sign not match, timestamp missing")
			return
		}
		if off := now.Sub(time.UnixMilli(ts)); off > time.Hour || off < -time.Hour {
			d.refuse(w, DingTalkBadSign, "invalid timestamp")
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		io.WriteString(mac, q.Get("timestamp")+"\n"+secret)
		got, err := base64.StdEncoding.DecodeString(q.Get("sign")) // Query() already unescaped it
		if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			d.refuse(w, DingTalkBadSign, "sign not match")
			return
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		d.refuse(w, DingTalkBadMessage, "缺少参数 json")
		return
	}
	var body struct {
		MsgType  string                        `json:"msgtype"`
		Text     *struct{ Content string }     `json:"text"`
		Markdown *struct{ Title, Text string } `json:"markdown"`
		Card     *struct{ Title, Text string } `json:"actionCard"`
		At       struct {
			AtMobiles []string `json:"atMobiles"`
			IsAtAll   bool     `json:"isAtAll"`
		} `json:"at"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		d.refuse(w, DingTalkBadMessage, "缺少参数 json")
		return
	}
	m := DingTalkMessage{Robot: token, MsgType: body.MsgType, AtMobiles: body.At.AtMobiles, AtAll: body.At.IsAtAll}
	switch {
	case body.MsgType == "text" && body.Text != nil && body.Text.Content != "":
		m.Text = body.Text.Content
	case body.MsgType == "markdown" && body.Markdown != nil && body.Markdown.Title != "" && body.Markdown.Text != "":
		m.Title, m.Text = body.Markdown.Title, body.Markdown.Text
	case body.MsgType == "actionCard" && body.Card != nil && body.Card.Title != "" && body.Card.Text != "":
		m.Title, m.Text = body.Card.Title, body.Card.Text
	default:
		d.refuse(w, DingTalkBadMessage, "消息内容不完整或类型不支持")
		return
	}
	d.mu.Lock()
	var recent []time.Time
	for _, t := range d.sent[token] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	d.sent[token] = recent
	tooFast := len(recent) >= 20
	d.mu.Unlock()
	if tooFast {
		d.refuse(w, DingTalkTooFast, "send too fast, exceed 20 times per minute")
		return
	}
	if f, ok := d.fail.next(); ok {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		code, _ := strconv.Atoi(f.Code)
		writeJSON(w, status, map[string]any{"errcode": code, "errmsg": f.Message})
		return
	}
	d.mu.Lock()
	d.sent[token] = append(d.sent[token], now)
	d.messages = append(d.messages, m)
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
}

func (d *DingTalk) refuse(w http.ResponseWriter, code int, msg string) {
	d.mu.Lock()
	d.refusals = append(d.refusals, Refusal{Path: "/robot/send", Code: fmt.Sprint(code)})
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}

package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

func newSMS(t *testing.T, s *notifytest.SMS, mod func(*notify.SMSConfig)) *notify.SMS {
	t.Helper()
	cfg := notify.SMSConfig{URL: s.URL, AccessKey: s.AccessKey, Secret: s.Secret, SignName: s.SignName, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := notify.NewSMS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var smsMsg = notify.Message{
	ID: "delivery-7", Title: "暴雨红色预警", Body: "不会作为短信发送",
	SMSTemplate: "SMS_ALERT", SMSParams: map[string]string{"level": "红色", "area": "西湖区"},
}

func TestSMS(t *testing.T) {
	ctx := context.Background()
	to := notify.Receiver{Phone: "13912345678"}

	for _, mode := range []string{"", notify.SMSSignHeader, notify.SMSSignQuery} {
		t.Run("OK"+mode, func(t *testing.T) {
			s := notifytest.NewSMS(t)
			s.Template("SMS_ALERT", "level", "area")
			c := newSMS(t, s, func(c *notify.SMSConfig) { c.SignMode = mode })
			if c.Name() != "sms" {
				t.Fatalf("name %q", c.Name())
			}
			res, err := c.Send(ctx, to, smsMsg)
			if err != nil {
				t.Fatal(err)
			}
			ms := s.Messages()
			if len(ms) != 1 {
				t.Fatalf("%d accepted", len(ms))
			}
			m := ms[0]
			if res.ProviderID == "" || res.ProviderID != m.BizID {
				t.Errorf("provider id %q, stand-in %q", res.ProviderID, m.BizID)
			}
			if m.SignName != "应急管理" || m.TemplateID != "SMS_ALERT" || m.Params["level"] != "红色" ||
				m.Params["area"] != "西湖区" || len(m.Phones) != 1 || m.Phones[0] != "13912345678" || m.OutID != "delivery-7" {
				t.Errorf("accepted %+v", m)
			}
		})
	}

	permanent := []struct {
		name string
		mod  func(*notify.SMSConfig)
		to   notify.Receiver
		msg  func(notify.Message) notify.Message
		code string
	}{
		{"ErrWrongSecret", func(c *notify.SMSConfig) { c.Secret = "wrong" }, to, nil, notify.SMSAuthFailed},
		{"ErrWrongAccessKey", func(c *notify.SMSConfig) { c.AccessKey = "nobody" }, to, nil, notify.SMSAuthFailed},
		{"ErrClockSkew", func(c *notify.SMSConfig) { c.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) } }, to, nil, notify.SMSAuthFailed},
		{"ErrSignName", func(c *notify.SMSConfig) { c.SignName = "未备案" }, to, nil, notify.SMSInvalidSignName},
		{"ErrPhone", nil, notify.Receiver{Phone: "12345"}, nil, notify.SMSInvalidPhone},
		{"ErrTemplate", nil, to, func(m notify.Message) notify.Message { m.SMSTemplate = "SMS_NOPE"; return m }, notify.SMSInvalidTemplate},
		{"ErrParams", nil, to, func(m notify.Message) notify.Message { m.SMSParams = map[string]string{"level": "红色"}; return m }, notify.SMSInvalidParams},
		{"ErrNoTemplate", nil, to, func(m notify.Message) notify.Message { m.SMSTemplate = ""; return m }, "no_template"},
	}
	for _, tc := range permanent {
		t.Run(tc.name, func(t *testing.T) {
			s := notifytest.NewSMS(t)
			s.Template("SMS_ALERT", "level", "area")
			c := newSMS(t, s, tc.mod)
			m := smsMsg
			if tc.msg != nil {
				m = tc.msg(m)
			}
			_, err := c.Send(ctx, tc.to, m)
			var e *notify.Error
			if !errors.As(err, &e) || e.Code != tc.code || !notify.Permanent(err) {
				t.Fatalf("err %v, want permanent %s", err, tc.code)
			}
			if len(s.Messages()) != 0 {
				t.Error("accepted")
			}
		})
	}

	t.Run("ErrRetryable", func(t *testing.T) {
		s := notifytest.NewSMS(t)
		s.Template("SMS_ALERT", "level", "area")
		c := newSMS(t, s, nil)
		for _, f := range []notifytest.Failure{
			{Code: notify.SMSRateLimited, Message: "触发流控"},
			{Status: 500, Code: notify.SMSInternalError, Message: "系统错误"},
			{Status: 503, Code: "SomethingNew", Message: "维护中"},
		} {
			s.FailNext(1, f)
			_, err := c.Send(ctx, to, smsMsg)
			var e *notify.Error
			if !errors.As(err, &e) || e.Code != f.Code || notify.Permanent(err) {
				t.Fatalf("%+v: err %v, want retryable", f, err)
			}
		}
		s.FailNext(1, notifytest.Failure{Code: "SomethingNew"})
		if _, err := c.Send(ctx, to, smsMsg); !notify.Permanent(err) {
			t.Fatalf("unknown code with 200: err %v, want permanent", err)
		}
		if _, err := c.Send(ctx, to, smsMsg); err != nil {
			t.Fatal(err)
		}
		if n := len(s.Messages()); n != 1 {
			t.Errorf("%d accepted", n)
		}
	})

	t.Run("ErrNoAddress", func(t *testing.T) {
		s := notifytest.NewSMS(t)
		c := newSMS(t, s, nil)
		if _, err := c.Send(ctx, notify.Receiver{ZZDAccountID: "x"}, smsMsg); !errors.Is(err, notify.ErrNoAddress) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("ErrConfig", func(t *testing.T) {
		for _, cfg := range []notify.SMSConfig{
			{AccessKey: "a", Secret: "s", SignName: "n"},
			{URL: "http://x/send", Secret: "s", SignName: "n"},
			{URL: "http://x/send", AccessKey: "a", Secret: "s"},
			{URL: "http://x/send", AccessKey: "a", Secret: "s", SignName: "n", SignMode: "body"},
		} {
			if _, err := notify.NewSMS(cfg); err == nil {
				t.Errorf("%+v accepted", cfg)
			}
		}
	})
}

func TestSMSSign(t *testing.T) {
	// printf 'POST\n/v1/sms/send\n1700000000\nabc\n%s' "$(printf '{}' | sha256sum | cut -d' ' -f1)" |
	//   openssl dgst -sha256 -hmac k -binary | base64
	if got := notify.SMSSign("k", "POST", "/v1/sms/send", "1700000000", "abc", []byte("{}")); got != smsVector {
		t.Errorf("signature %s, want %s", got, smsVector)
	}
}

const smsVector = "Qv1HgxqVFzjrH1nSch3RsygHAbqH6e8LhOUuqOhVrio="

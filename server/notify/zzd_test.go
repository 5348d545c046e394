package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

// clock is a settable clock shared by a client and a stand-in.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newZZD(t *testing.T, z *notifytest.ZZD, secret string, now func() time.Time) *notify.ZZD {
	t.Helper()
	c, err := notify.NewZZD(notify.ZZDConfig{
		BaseURL: z.URL, AppKey: z.AppKey, AppSecret: secret, TenantID: z.TenantID,
		IP: "10.1.2.3", MAC: "02:00:00:00:00:01", Timeout: 5 * time.Second, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var alertMsg = notify.Message{
	ID: "delivery-1", Title: "暴雨红色预警", Body: "请立即组织人员转移。", Link: "https://yingji.example/alerts/1",
}

func TestZZD(t *testing.T) {
	ctx := context.Background()
	to := notify.Receiver{ZZDAccountID: "acc-42"}

	t.Run("OK", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		if c.Name() != "zzd" {
			t.Fatalf("name %q", c.Name())
		}
		res, err := c.Send(ctx, to, alertMsg)
		if err != nil {
			t.Fatal(err)
		}
		ms := z.Messages()
		if len(ms) != 1 {
			t.Fatalf("%d messages delivered", len(ms))
		}
		m := ms[0]
		if res.ProviderID == "" || res.ProviderID != m.MsgID {
			t.Errorf("provider id %q, stand-in id %q", res.ProviderID, m.MsgID)
		}
		if m.BizMsgID != "delivery-1" || len(m.ReceiverIDs) != 1 || m.ReceiverIDs[0] != "acc-42" || m.TenantID != z.TenantID {
			t.Errorf("delivered %+v", m)
		}
		if m.MsgType != "markdown" || m.Title != "暴雨红色预警" {
			t.Errorf("msg %q", m.Msg)
		}
		for _, want := range []string{"请立即组织人员转移。", "https://yingji.example/alerts/1"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text %q lacks %q", m.Text, want)
			}
		}
	})

	t.Run("OKText", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		if _, err := c.Send(ctx, to, notify.Message{ID: "d2", Body: "巡查提醒"}); err != nil {
			t.Fatal(err)
		}
		if m := z.Messages()[0]; m.MsgType != "text" || m.Text != "巡查提醒" {
			t.Errorf("delivered %+v", m)
		}
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, "not-the-secret", nil)
		_, err := c.Send(ctx, to, alertMsg)
		if !notify.Permanent(err) {
			t.Fatalf("err %v, want permanent", err)
		}
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != notifytest.ZZDBadSignature {
			t.Errorf("err %#v", err)
		}
		if len(z.Messages()) != 0 {
			t.Error("delivered with a wrong secret")
		}
	})

	t.Run("ErrClockSkew", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, func() time.Time { return time.Now().Add(6 * time.Minute) })
		_, err := c.Send(ctx, to, alertMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != notifytest.ZZDBadTimestamp || !e.Permanent {
			t.Fatalf("err %v", err)
		}
		// Within 5 minutes is accepted.
		c = newZZD(t, z, z.AppSecret, func() time.Time { return time.Now().Add(-4 * time.Minute) })
		if _, err := c.Send(ctx, to, alertMsg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrNoAddress", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		if _, err := c.Send(ctx, notify.Receiver{Phone: "13800000000"}, alertMsg); !errors.Is(err, notify.ErrNoAddress) {
			t.Fatalf("err %v", err)
		}
		if z.TokenRequests() != 0 {
			t.Error("asked for a token for nothing")
		}
	})

	t.Run("TokenCache", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		clk := newClock()
		z.SetNow(clk.Now)
		c := newZZD(t, z, z.AppSecret, clk.Now)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Send(ctx, to, notify.Message{ID: fmt.Sprint("c", i), Body: "测试"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := z.TokenRequests(); n != 1 {
			t.Fatalf("%d token requests for 20 concurrent sends, want 1", n)
		}
		// Still cached shortly before expiry minus the margin; refreshed after.
		clk.Advance(time.Hour)
		if _, err := c.Send(ctx, to, notify.Message{ID: "later", Body: "测试"}); err != nil {
			t.Fatal(err)
		}
		if n := z.TokenRequests(); n != 1 {
			t.Fatalf("%d token requests after 1 h, want 1", n)
		}
		clk.Advance(58 * time.Minute) // 1 h 58 min: within the refresh margin of a 2 h token
		if _, err := c.Send(ctx, to, notify.Message{ID: "near-expiry", Body: "测试"}); err != nil {
			t.Fatal(err)
		}
		if n := z.TokenRequests(); n != 2 {
			t.Fatalf("%d token requests near expiry, want 2", n)
		}
		if n := len(z.Messages()); n != 22 {
			t.Errorf("%d delivered, want 22", n)
		}
	})

	t.Run("TokenRevoked", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		if _, err := c.Send(ctx, to, notify.Message{ID: "a", Body: "一"}); err != nil {
			t.Fatal(err)
		}
		z.RevokeTokens()
		if _, err := c.Send(ctx, to, notify.Message{ID: "b", Body: "二"}); err != nil {
			t.Fatal(err)
		}
		if n := z.TokenRequests(); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})

	t.Run("NonceUnique", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		clk := newClock() // a frozen clock: every call in the same second
		z.SetNow(clk.Now)
		c := newZZD(t, z, z.AppSecret, clk.Now)
		for i := range 300 {
			if _, err := c.Send(ctx, to, notify.Message{ID: fmt.Sprint("n", i), Body: "测试"}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if r := z.Refusals(); len(r) != 0 {
			t.Fatalf("refused %v", r)
		}
	})

	t.Run("Dedupe", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		z.FailNext(1, notifytest.Failure{Status: 503, Code: "ServiceUnavailable", Message: "服务繁忙"})
		_, err := c.Send(ctx, to, alertMsg)
		if err == nil || notify.Permanent(err) {
			t.Fatalf("err %v, want retryable", err)
		}
		r1, err := c.Send(ctx, to, alertMsg) // the retry
		if err != nil {
			t.Fatal(err)
		}
		r2, err := c.Send(ctx, to, alertMsg) // a retry of a delivery that got through
		if err != nil {
			t.Fatal(err)
		}
		if n := len(z.Messages()); n != 1 {
			t.Fatalf("%d delivered, want 1", n)
		}
		if r1.ProviderID != r2.ProviderID {
			t.Errorf("provider ids %q, %q", r1.ProviderID, r2.ProviderID)
		}
	})

	t.Run("ErrBusinessFailure", func(t *testing.T) {
		z := notifytest.NewZZD(t)
		c := newZZD(t, z, z.AppSecret, nil)
		z.FailNext(1, notifytest.Failure{Code: "InvalidReceiver", Message: "接收人不存在"})
		_, err := c.Send(ctx, to, alertMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != "InvalidReceiver" || e.Message != "接收人不存在" || !e.Permanent {
			t.Fatalf("err %v", err)
		}
		z.FailNext(1, notifytest.Failure{Code: "RATE_LIMIT_EXCEEDED", Message: "调用频率超限"})
		if _, err := c.Send(ctx, to, alertMsg); err == nil || notify.Permanent(err) {
			t.Fatalf("err %v, want retryable", err)
		}
	})
}

func TestZZDSign(t *testing.T) {
	// A fixed vector computed independently (openssl dgst -sha256 -hmac secret -binary | base64)
	// over "POST\n2025-07-01T17:30:00.000+08:00\n17513623000001234\n/message/workNotification\nmsg=x&receiverIds=a&receiverIds=b&tenantId=1".
	params := url.Values{"tenantId": {"1"}, "receiverIds": {"b", "a"}, "msg": {"x"}}
	got := notify.ZZDSign("secret", "post", "2025-07-01T17:30:00.000+08:00", "17513623000001234", "/message/workNotification", params)
	if got != zzdVector {
		t.Errorf("signature %s, want %s", got, zzdVector)
	}
	if ts := notify.ZZDTimestamp(time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)); ts != "2025-07-01T17:30:00.000+08:00" {
		t.Errorf("timestamp %s", ts)
	}
}

const zzdVector = "yTE0TDS5Ff/jPThU2XvRHIQaIWmRO2aijIbSbmm4Hio="

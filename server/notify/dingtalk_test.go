package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

func TestDingTalk(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		c := notify.NewDingTalk(notify.DingTalkConfig{Timeout: 5 * time.Second})
		if c.Name() != "dingtalk" {
			t.Fatalf("name %q", c.Name())
		}
		to := notify.Receiver{Webhook: d.Robot("SECxyz"), Secret: "SECxyz", Phone: "13800000001"}
		if _, err := c.Send(ctx, to, alertMsg); err != nil {
			t.Fatal(err)
		}
		ms := d.Messages()
		if len(ms) != 1 {
			t.Fatalf("%d messages", len(ms))
		}
		m := ms[0]
		if m.MsgType != "markdown" || m.Title != "暴雨红色预警" || len(m.AtMobiles) != 1 || m.AtMobiles[0] != "13800000001" {
			t.Errorf("accepted %+v", m)
		}
		for _, want := range []string{"请立即组织人员转移。", "@13800000001", alertMsg.Link} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text %q lacks %q", m.Text, want)
			}
		}
	})

	t.Run("OKUnsignedText", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		c := notify.NewDingTalk(notify.DingTalkConfig{})
		if _, err := c.Send(ctx, notify.Receiver{Webhook: d.Robot("")}, notify.Message{Body: "值班提醒"}); err != nil {
			t.Fatal(err)
		}
		if m := d.Messages()[0]; m.MsgType != "text" || m.Text != "值班提醒" || len(m.AtMobiles) != 0 {
			t.Errorf("accepted %+v", m)
		}
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		c := notify.NewDingTalk(notify.DingTalkConfig{})
		_, err := c.Send(ctx, notify.Receiver{Webhook: d.Robot("right"), Secret: "wrong"}, alertMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != strconv.Itoa(notifytest.DingTalkBadSign) || !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
		// A signed robot refuses an unsigned call too.
		if _, err := c.Send(ctx, notify.Receiver{Webhook: d.Robot("right")}, alertMsg); !notify.Permanent(err) {
			t.Fatalf("unsigned: err %v", err)
		}
		if len(d.Messages()) != 0 {
			t.Error("delivered")
		}
	})

	t.Run("ErrClockSkew", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		to := notify.Receiver{Webhook: d.Robot("s"), Secret: "s"}
		late := notify.NewDingTalk(notify.DingTalkConfig{Now: func() time.Time { return time.Now().Add(-61 * time.Minute) }})
		if _, err := late.Send(ctx, to, alertMsg); !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
		ok := notify.NewDingTalk(notify.DingTalkConfig{Now: func() time.Time { return time.Now().Add(-59 * time.Minute) }})
		if _, err := ok.Send(ctx, to, alertMsg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrUnknownRobot", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		c := notify.NewDingTalk(notify.DingTalkConfig{})
		_, err := c.Send(ctx, notify.Receiver{Webhook: d.URL + "/robot/send?access_token=nope"}, alertMsg)
		if !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("ErrRateLimitRetryable", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		clk := newClock()
		d.SetNow(clk.Now)
		c := notify.NewDingTalk(notify.DingTalkConfig{Now: clk.Now})
		to := notify.Receiver{Webhook: d.Robot("s"), Secret: "s"}
		for i := range 20 {
			if _, err := c.Send(ctx, to, notify.Message{Body: fmt.Sprint("第", i, "条")}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.Send(ctx, to, notify.Message{Body: "第21条"})
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != "130101" || notify.Permanent(err) {
			t.Fatalf("err %v, want retryable 130101", err)
		}
		clk.Advance(time.Minute)
		if _, err := c.Send(ctx, to, notify.Message{Body: "第21条"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrInjected", func(t *testing.T) {
		d := notifytest.NewDingTalk(t)
		c := notify.NewDingTalk(notify.DingTalkConfig{})
		to := notify.Receiver{Webhook: d.Robot("")}
		d.FailNext(1, notifytest.Failure{Code: "-1", Message: "系统繁忙"})
		if _, err := c.Send(ctx, to, alertMsg); err == nil || notify.Permanent(err) {
			t.Fatalf("busy: err %v, want retryable", err)
		}
		d.FailNext(1, notifytest.Failure{Code: "310000", Message: "keywords not in content"})
		if _, err := c.Send(ctx, to, alertMsg); !notify.Permanent(err) {
			t.Fatalf("keywords: err %v, want permanent", err)
		}
		d.FailNext(1, notifytest.Failure{Status: 502, Code: "0"})
		if _, err := c.Send(ctx, to, alertMsg); err == nil || notify.Permanent(err) {
			t.Fatalf("502: err %v, want retryable", err)
		}
		if _, err := c.Send(ctx, to, alertMsg); err != nil {
			t.Fatal(err)
		}
		if n := len(d.Messages()); n != 1 {
			t.Errorf("%d delivered", n)
		}
	})

	t.Run("ErrNoAddress", func(t *testing.T) {
		c := notify.NewDingTalk(notify.DingTalkConfig{})
		if _, err := c.Send(ctx, notify.Receiver{Phone: "13800000000"}, alertMsg); !errors.Is(err, notify.ErrNoAddress) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestDingTalkSign(t *testing.T) {
	// printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64
	if got := notify.DingTalkSign("SECabc", "1700000000000"); got != dingTalkVector {
		t.Errorf("sign %s, want %s", got, dingTalkVector)
	}
}

const dingTalkVector = "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="

package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func TestDeliveries(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{Backoff: func(int) time.Duration { return 200 * time.Millisecond }})
		ctx := context.Background()
		// The enterprise configures one receiver: its safety officer on app, FCM, SMS and
		// Zhezhengding, from level 1.
		if _, err := e.svc.SaveReceiver(ctx, e.users["u-principal"], alert.Receiver{Tier: alert.TierEnterprise, EnterpriseID: entE1,
			UserID: "u-safety", ZZDAccountID: "zzd-001", Channels: []string{"app", "fcm", "sms", "zzd", "dingtalk"}, Enabled: true}); yingji.ErrorKind(err) != yingji.EINVALID {
			t.Fatalf("dingtalk without webhook: %v", err)
		}
		r, err := e.svc.SaveReceiver(ctx, e.users["u-principal"], alert.Receiver{Tier: alert.TierEnterprise, EnterpriseID: entE1,
			UserID: "u-safety", ZZDAccountID: "zzd-001", Channels: []string{"app", "fcm", "sms", "zzd"}, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "用户u-safety" || r.Phone != "13800001234" {
			t.Fatalf("receiver %+v", r)
		}
		if err := e.svc.SetPushToken(ctx, e.users["u-safety"], alert.PushToken{DeviceID: "phone-1", Token: "tok-dead", Platform: "android"}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetPushToken(ctx, e.users["u-safety"], alert.PushToken{DeviceID: "phone-2", Token: "tok-live", Platform: "ios"}); err != nil {
			t.Fatal(err)
		}
		// SMS fails once (retryable), then works; Zhezhengding refuses for good; FCM reports a
		// dead token.
		e.chans["sms"].setFail(func(n int, _ notify.Receiver) (notify.Result, error) {
			if n == 1 {
				return notify.Result{}, &notify.Error{Channel: "sms", Code: "503", Message: "网关繁忙"}
			}
			return notify.Result{ProviderID: "sms-ok"}, nil
		})
		e.chans["zzd"].setFail(func(int, notify.Receiver) (notify.Result, error) {
			return notify.Result{}, &notify.Error{Channel: "zzd", Code: "240111", Message: "接收人不存在", Permanent: true}
		})
		e.chans["fcm"].setFail(func(_ int, to notify.Receiver) (notify.Result, error) {
			return notify.Result{ProviderID: "fcm-ok", Dead: []string{"tok-dead"}}, nil
		})
		e.start(t, e.svc)
		e.apply(t, raise("a", "dv1", "p1", 1, 85, time.Now()))
		id := e.openAlert(t, "a").ID

		byChannel := func() map[string][]alert.Delivery {
			m := map[string][]alert.Delivery{}
			for _, d := range e.deliveries(t, id) {
				m[d.Channel] = append(m[d.Channel], d)
			}
			return m
		}
		waitFor(t, 20*time.Second, "sms retried", func() bool {
			s := byChannel()["sms"]
			return len(s) == 2 && s[1].Status == "sent"
		})
		time.Sleep(time.Second)
		m := byChannel()
		if s := m["sms"]; s[0].Status != "failed" || s[0].Attempt != 1 || s[0].ErrorCode != "503" || s[1].Attempt != 2 || s[1].ProviderID != "sms-ok" ||
			s[0].Address != "138****1234" {
			t.Fatalf("sms %+v", s)
		}
		if z := m["zzd"]; len(z) != 1 || z[0].Status != "failed" || z[0].ErrorMessage != "接收人不存在" || len(e.chans["zzd"].calls()) != 1 {
			t.Fatalf("zzd retried after a permanent failure: %+v", z)
		}
		if f := m["fcm"]; len(f) != 1 || f[0].Status != "sent" || f[0].Address != "2 台设备" {
			t.Fatalf("fcm %+v", f)
		}
		if a := m["app"]; len(a) != 1 || a[0].Address != "scope ent:"+entE1 {
			t.Fatalf("app %+v", a)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM push_tokens WHERE user_id = 'u-safety'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("push tokens left %d %v (the dead one should be gone)", n, err)
		}
		// The same delivery id across retries (the channels' idempotency key).
		calls := e.chans["sms"].calls()
		if len(calls) != 2 || calls[0].M.ID != calls[1].M.ID {
			t.Fatalf("sms calls %+v", calls)
		}
		if gap := calls[1].At.Sub(calls[0].At); gap < 200*time.Millisecond {
			t.Fatalf("retried after %v, before the backoff", gap)
		}
	})
}

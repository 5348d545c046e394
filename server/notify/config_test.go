package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("OKEmpty", func(t *testing.T) {
		chans, err := notify.Open(ctx, notify.Config{})
		if err != nil || len(chans) != 0 {
			t.Fatalf("%v, %v", chans, err)
		}
	})

	t.Run("OKAll", func(t *testing.T) {
		f, s, z, d := notifytest.NewFCM(t), notifytest.NewSMS(t), notifytest.NewZZD(t), notifytest.NewDingTalk(t)
		s.Template("SMS_ALERT", "level", "area")
		cfg := notify.Config{
			FCM:      notify.FCMConfig{ProjectID: f.ProjectID, Endpoint: f.Endpoint(), TokenSource: f.TokenSource()},
			SMS:      notify.SMSConfig{URL: s.URL, AccessKey: s.AccessKey, Secret: s.Secret, SignName: s.SignName},
			ZZD:      notify.ZZDConfig{BaseURL: z.URL, AppKey: z.AppKey, AppSecret: z.AppSecret, TenantID: z.TenantID},
			DingTalk: notify.DingTalkConfig{Enabled: true},
		}
		chans, err := notify.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for name, c := range chans {
			if c.Name() != name {
				t.Errorf("%s named %s", name, c.Name())
			}
			names = append(names, name)
		}
		sort.Strings(names)
		if strings.Join(names, ",") != "dingtalk,fcm,sms,zzd" {
			t.Fatalf("channels %v", names)
		}
		to := notify.Receiver{
			Phone: "13912345678", ZZDAccountID: "acc-1", FCMTokens: []string{"tok"},
			Webhook: d.Robot("sec"), Secret: "sec",
		}
		for name, c := range chans {
			if _, err := c.Send(ctx, to, smsMsg); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if len(f.Messages()) != 1 || len(s.Messages()) != 1 || len(z.Messages()) != 1 || len(d.Messages()) != 1 {
			t.Error("not every stand-in got its message")
		}

		// Secrets stay out of logs.
		cfg.FCM.CredentialsJSON = `{"private_key":"PRIVATE"}`
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("notify", "config", cfg)
		for _, secret := range []string{s.Secret, z.AppSecret, "PRIVATE"} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("log shows a secret: %s", buf.String())
			}
		}
		if !strings.Contains(buf.String(), z.AppKey) {
			t.Errorf("log lacks the app key: %s", buf.String())
		}
	})

	t.Run("ErrIncomplete", func(t *testing.T) {
		for _, cfg := range []notify.Config{
			{SMS: notify.SMSConfig{URL: "http://127.0.0.1:1/send"}},
			{ZZD: notify.ZZDConfig{BaseURL: "http://127.0.0.1:1", AppKey: "k"}},
			{FCM: notify.FCMConfig{CredentialsJSON: "{"}},
		} {
			if _, err := notify.Open(ctx, cfg); err == nil {
				t.Errorf("%+v opened", cfg)
			}
		}
	})
}

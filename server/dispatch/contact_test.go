package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/notify/notifytest"
)

// TestContactZZD: a one-click 浙政钉 work notification to a person goes through the real client
// to a stand-in of the open platform that checks what the platform checks (the HMAC signature
// over the request, the timestamp, a fresh nonce, a live access token, the tenant, the
// receivers and the msg); the platform's answer is recorded and shown: its message id when it
// is delivered, its error code and message when it refuses.
func TestContactZZD(t *testing.T) {
	// one stand-in per engine: the engines run in parallel and a told failure must hit its own
	withZZD := func(z *notifytest.ZZD) apptest.Option {
		return apptest.WithConfig(func(c *config.Config) {
			c.ZZDDomain, c.ZZDAppKey, c.ZZDAppSecret, c.ZZDTenantID = z.URL, z.AppKey, z.AppSecret, z.TenantID
		})
	}
	run := func(t *testing.T, s *apptest.Server, z *notifytest.ZZD) {
		ctx := context.Background()
		engine := s.DB.Engine()
		account := "zzd-leader01"
		var leaderID, ent string
		if err := s.DB.QueryRow(ctx, `SELECT id FROM users WHERE username = 'leader01'`).Scan(&leaderID); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.QueryRow(ctx, `SELECT id FROM enterprises ORDER BY credit_code LIMIT 1`).Scan(&ent); err != nil {
			t.Fatal(err)
		}
		// leader01's 浙政钉 account, registered as an alert receiver (where the platform keeps it)
		r := s.Do(t, http.MethodPost, "/api/v1/alert-receivers", s.Login(t, "admin"), map[string]any{"tier": "enterprise", "enterprise_id": ent,
			"user_id": leaderID, "name": "林志远", "zzd_account_id": account, "channels": []string{"zzd"}, "enabled": true})
		if r.Status != http.StatusCreated {
			t.Fatalf("receiver: %d %s", r.Status, r.Body)
		}
		duty := s.Login(t, "duty01")
		text := "请立即到市应急指挥中心参加会商（" + engine + "）。"

		t.Run("OK", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/contact/zzd", duty, map[string]any{"target_kind": "user", "target_id": leaderID,
				"subject": "应急会商通知", "text": text})
			var m dispatch.ContactMessage
			r.JSON(t, &m)
			if r.Status != http.StatusCreated || m.Status != "sent" || m.Address != account || m.ProviderID == "" || m.ErrorCode != "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var got *notifytest.ZZDMessage
			for _, x := range z.Messages() {
				if x.BizMsgID == m.ID {
					got = &x
				}
			}
			if got == nil {
				t.Fatalf("the platform did not get the notification %s: %+v (refused: %+v)", m.ID, z.Messages(), z.Refusals())
			}
			if got.MsgID != m.ProviderID || len(got.ReceiverIDs) != 1 || got.ReceiverIDs[0] != account || got.TenantID != z.TenantID ||
				got.MsgType != "markdown" || got.Title != "应急会商通知" || !strings.Contains(got.Text, text) {
				t.Errorf("delivered %+v, recorded %+v", got, m)
			}
			var list []dispatch.ContactMessage
			s.Do(t, http.MethodGet, "/api/v1/contact/messages", duty, nil).JSON(t, &list)
			if len(list) == 0 || list[0].ID != m.ID || list[0].Channel != "zzd" || list[0].Status != "sent" || list[0].ProviderID != got.MsgID {
				t.Errorf("recorded messages %+v", list)
			}
		})

		t.Run("ErrPlatformRefuses", func(t *testing.T) {
			z.FailNext(1, notifytest.Failure{Code: "240111", Message: "接收人不在本租户"})
			r := s.Do(t, http.MethodPost, "/api/v1/contact/zzd", duty, map[string]any{"target_kind": "user", "target_id": leaderID, "text": text})
			var m dispatch.ContactMessage
			r.JSON(t, &m)
			if r.Status != http.StatusCreated || m.Status != "failed" || m.ErrorCode != "240111" || m.ErrorMessage != "接收人不在本租户" || m.ProviderID != "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			for _, x := range z.Messages() {
				if x.BizMsgID == m.ID {
					t.Errorf("a refused notification was delivered: %+v", x)
				}
			}
		})

		t.Run("ErrNoAccount", func(t *testing.T) {
			var rescue string
			if err := s.DB.QueryRow(ctx, `SELECT id FROM users WHERE username = 'rescue01'`).Scan(&rescue); err != nil {
				t.Fatal(err)
			}
			apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/contact/zzd", duty, map[string]any{"target_kind": "user", "target_id": rescue, "text": text}),
				http.StatusBadRequest, "contact.no_address")
		})
	}
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		z := notifytest.NewZZD(t)
		run(t, apptest.Start(t, withZZD(z)), z)
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		z := notifytest.NewZZD(t)
		run(t, apptest.StartPostgres(t, withZZD(z)), z)
	})
}

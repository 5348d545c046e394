package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/notify/notifytest"
)

func newFCM(t *testing.T, f *notifytest.FCM, ts oauth2.TokenSource) *notify.FCM {
	t.Helper()
	c, err := notify.NewFCM(context.Background(), notify.FCMConfig{
		ProjectID: f.ProjectID, Endpoint: f.Endpoint(), TokenSource: ts, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var pushMsg = notify.Message{
	ID: "delivery-9", Title: "暴雨红色预警", Body: "请立即组织人员转移。", Link: "https://yingji.example/alerts/1",
	Data: map[string]string{"alert_id": "a-1", "level": "red"},
}

func TestFCM(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c := newFCM(t, f, f.TokenSource())
		if c.Name() != "fcm" {
			t.Fatalf("name %q", c.Name())
		}
		res, err := c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok-a", "tok-b"}}, pushMsg)
		if err != nil {
			t.Fatal(err)
		}
		ms := f.Messages()
		if len(ms) != 2 {
			t.Fatalf("%d accepted", len(ms))
		}
		if res.ProviderID != ms[0].Name+","+ms[1].Name || len(res.Dead) != 0 {
			t.Errorf("result %+v", res)
		}
		for i, tok := range []string{"tok-a", "tok-b"} {
			m := ms[i]
			if m.Token != tok || m.Title != pushMsg.Title || m.Body != pushMsg.Body || m.AndroidPriority != "high" ||
				m.Data["alert_id"] != "a-1" || m.Data["level"] != "red" || m.Data["link"] != pushMsg.Link {
				t.Errorf("accepted %+v", m)
			}
		}
	})

	t.Run("OKServiceAccount", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		path := filepath.Join(t.TempDir(), "sa.json")
		if err := os.WriteFile(path, []byte(f.ServiceAccountJSON()), 0o600); err != nil {
			t.Fatal(err)
		}
		// The project comes from the key file.
		c, err := notify.NewFCM(ctx, notify.FCMConfig{CredentialsFile: path, Endpoint: f.Endpoint()})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok"}}, pushMsg); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.TokenRequests(); n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		if n := len(f.Messages()); n != 3 {
			t.Errorf("%d accepted", n)
		}
	})

	t.Run("ErrServiceAccountRefused", func(t *testing.T) {
		f, other := notifytest.NewFCM(t), notifytest.NewFCM(t)
		// other's key, sent to f's token endpoint: the JWT signature does not verify.
		var sa map[string]string
		if err := json.Unmarshal([]byte(other.ServiceAccountJSON()), &sa); err != nil {
			t.Fatal(err)
		}
		var own map[string]string
		json.Unmarshal([]byte(f.ServiceAccountJSON()), &own)
		sa["token_uri"] = own["token_uri"]
		b, _ := json.Marshal(sa)
		c, err := notify.NewFCM(ctx, notify.FCMConfig{CredentialsJSON: string(b), Endpoint: f.Endpoint()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok"}}, pushMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != "auth" || !notify.Permanent(err) {
			t.Fatalf("err %v, want permanent auth", err)
		}
		if len(f.Messages()) != 0 || f.TokenRequests() != 0 {
			t.Error("accepted")
		}
	})

	t.Run("ErrUnregistered", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c := newFCM(t, f, f.TokenSource())
		f.Unregister("tok-dead")
		res, err := c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok-dead", "tok-live"}}, pushMsg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Dead) != 1 || res.Dead[0] != "tok-dead" || strings.Contains(res.ProviderID, ",") {
			t.Errorf("result %+v", res)
		}
		// Every token dead: a permanent failure that still reports them.
		res, err = c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok-dead"}}, pushMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != "UNREGISTERED" || !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
		if len(res.Dead) != 1 || res.Dead[0] != "tok-dead" {
			t.Errorf("result %+v", res)
		}
		if n := len(f.Messages()); n != 1 {
			t.Errorf("%d accepted", n)
		}
	})

	t.Run("ErrWrongToken", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c := newFCM(t, f, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "stolen"}))
		_, err := c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok"}}, pushMsg)
		var e *notify.Error
		if !errors.As(err, &e) || e.Code != "UNAUTHENTICATED" || !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("ErrWrongProject", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c, err := notify.NewFCM(ctx, notify.FCMConfig{ProjectID: "other", Endpoint: f.Endpoint(), TokenSource: f.TokenSource()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(ctx, notify.Receiver{FCMTokens: []string{"tok"}}, pushMsg); !notify.Permanent(err) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("ErrRetryable", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c := newFCM(t, f, f.TokenSource())
		to := notify.Receiver{FCMTokens: []string{"tok"}}
		for _, fl := range []notifytest.Failure{
			{Status: 500, Code: "INTERNAL"},
			{Status: 429, Code: "QUOTA_EXCEEDED"},
		} {
			f.FailNext(1, fl)
			_, err := c.Send(ctx, to, pushMsg)
			var e *notify.Error
			if !errors.As(err, &e) || e.Code != fl.Code || notify.Permanent(err) {
				t.Fatalf("%+v: err %v, want retryable", fl, err)
			}
		}
		if _, err := c.Send(ctx, to, pushMsg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrNoAddress", func(t *testing.T) {
		f := notifytest.NewFCM(t)
		c := newFCM(t, f, f.TokenSource())
		if _, err := c.Send(ctx, notify.Receiver{Phone: "13800000000"}, pushMsg); !errors.Is(err, notify.ErrNoAddress) {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("ErrCredentials", func(t *testing.T) {
		if _, err := notify.NewFCM(ctx, notify.FCMConfig{CredentialsJSON: `{"type":"authorized_user"}`}); err == nil {
			t.Error("accepted a user credential")
		}
		if _, err := notify.NewFCM(ctx, notify.FCMConfig{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})}); err == nil {
			t.Error("accepted no project")
		}
	})
}

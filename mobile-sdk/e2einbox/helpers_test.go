package e2einbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/notify/notifytest"
)

// The shared end-to-end helpers, under this package's names.
var (
	send = e2etest.Send
	raw  = e2etest.Raw
)

// These tests run the real server (SQLite and PostgreSQL) with local stand-ins for FCM, the
// SMS gateway and Zhezhengding, and real SDK replicas as the phones.

type engine struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}

var engines = []engine{{"sqlite", apptest.Start}, {"postgres", apptest.StartPostgres}}

// Provider template ids the SMS stand-in registers (config keys sms_alert_template and
// sms_reminder_template) with the parameters the server fills.
const (
	smsAlertTemplate    = "SMS_YJ_ALERT_01"
	smsReminderTemplate = "SMS_YJ_REMIND_01"
)

type standIns struct {
	ZZD *notifytest.ZZD
	SMS *notifytest.SMS
	FCM *notifytest.FCM
}

// newStandIns starts the stand-ins and returns the option pointing the server's real notify
// clients at them.
func newStandIns(t *testing.T) (*standIns, apptest.Option) {
	t.Helper()
	st := &standIns{ZZD: notifytest.NewZZD(t), SMS: notifytest.NewSMS(t), FCM: notifytest.NewFCM(t)}
	st.SMS.Template(smsAlertTemplate, "enterprise", "title", "level", "time")
	st.SMS.Template(smsReminderTemplate, "kind", "title", "time")
	creds := filepath.Join(t.TempDir(), "fcm-service-account.json")
	if err := os.WriteFile(creds, []byte(st.FCM.ServiceAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	return st, apptest.WithConfig(func(c *config.Config) {
		c.ZZDDomain, c.ZZDAppKey, c.ZZDAppSecret, c.ZZDTenantID = st.ZZD.URL, st.ZZD.AppKey, st.ZZD.AppSecret, st.ZZD.TenantID
		c.SMSURL, c.SMSAccessKey, c.SMSSecret, c.SMSSignName = st.SMS.URL, st.SMS.AccessKey, st.SMS.Secret, st.SMS.SignName
		c.SMSAlertTemplate, c.SMSReminderTemplate = smsAlertTemplate, smsReminderTemplate
		c.FCMProjectID, c.FCMCredentialsFile, c.FCMEndpoint = st.FCM.ProjectID, creds, st.FCM.Endpoint()
	})
}

// noRefusals fails when a stand-in refused a request the real service would refuse too.
func (st *standIns) noRefusals(t *testing.T) {
	t.Helper()
	for name, n := range map[string]int{"浙政钉": len(st.ZZD.Refusals()), "短信": len(st.SMS.Refusals()), "FCM": len(st.FCM.Refusals())} {
		if n > 0 {
			t.Errorf("the %s stand-in refused %d requests", name, n)
		}
	}
}

// phone is a real SDK replica signed in as a demo user.
type phone struct {
	*sdk.Client
	name string
}

func newPhone(t *testing.T, url, user string) *phone {
	t.Helper()
	return &phone{Client: e2etest.Phone(t, url, user, sdk.Options{}), name: user}
}

func (p *phone) sync(t *testing.T) sdk.SyncStats {
	t.Helper()
	return e2etest.Sync(t, p.Client, p.name)
}

// notifications lists the phone's replica of the notifications collection.
func (p *phone) notifications(t *testing.T) []sdk.Record {
	t.Helper()
	recs, err := p.List(context.Background(), "notifications")
	if err != nil {
		t.Fatalf("%s: list notifications: %v", p.name, err)
	}
	return recs
}

func str(r sdk.Record, name string) string {
	var s string
	json.Unmarshal(r.Fields[name], &s)
	return s
}

type me struct {
	ID           string `json:"id"`
	OrgUnitID    string `json:"org_unit_id"`
	EnterpriseID string `json:"enterprise_id"`
	Phone        string `json:"phone"`
}

func whoami(t *testing.T, s *apptest.Server, token string) me {
	t.Helper()
	var m me
	send(t, s, http.MethodGet, "/api/v1/auth/me", token, nil, http.StatusOK, &m)
	return m
}

// eventually polls cond every 100 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type notification struct {
	ID            string `json:"id"`
	UserID        string `json:"user_id"`
	Kind          string `json:"kind"`
	Title         string `json:"title"`
	Body          string `json:"body"`
	Level         string `json:"level"`
	RefCollection string `json:"ref_collection"`
	RefID         string `json:"ref_id"`
	Link          string `json:"link"`
	CreatedAt     string `json:"created_at"`
	ReadAt        string `json:"read_at"`
}

type notificationPage struct {
	Items []notification `json:"items"`
	Total int            `json:"total"`
}

func unreadCount(t *testing.T, s *apptest.Server, token string) int {
	t.Helper()
	var c struct {
		Count *int `json:"count"`
	}
	send(t, s, http.MethodGet, "/api/v1/notifications/unread-count", token, nil, http.StatusOK, &c)
	if c.Count == nil {
		t.Fatal("unread-count answered without count")
	}
	return *c.Count
}

type (
	notifytestSMS = notifytest.SMSMessage
	notifytestZZD = notifytest.ZZDMessage
)

package e2einbox_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/monitor/rules"
)

// TestEscalationNotifies: an alert not acknowledged in time is escalated to the township; the
// township's receiver (township01, on app, SMS and 浙政钉) gets it in his inbox on his phone,
// and the SMS and 浙政钉 deliveries are recorded and reach the stand-ins. The enterprise's
// safety officer got the dispatch in his inbox before.
func TestEscalationNotifies(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			st, chans := newStandIns(t)
			s := en.start(t, chans, apptest.WithConfig(func(c *config.Config) {
				c.AlertAckTimeout, c.AlertDisposeTimeout, c.AlertCountyTimeout = time.Second, time.Hour, 2*time.Hour
			}))
			testEscalation(t, s, st)
		})
	}
}

func testEscalation(t *testing.T, s *apptest.Server, st *standIns) {
	ctx := context.Background()
	admin, townWeb, safetyWeb := s.Login(t, "admin"), s.Login(t, "township01"), s.Login(t, "safety01")
	town, safety := whoami(t, s, townWeb), whoami(t, s, safetyWeb)
	send(t, s, http.MethodPost, "/api/v1/alert-receivers", admin, map[string]any{"tier": "township", "org_unit_id": town.OrgUnitID,
		"user_id": town.ID, "name": "钱主任", "phone": "13800000001", "zzd_account_id": "zzd-qian-01",
		"channels": []string{"app", "sms", "zzd"}}, http.StatusCreated, nil)

	// A threshold alert at safety01's enterprise's gateway.
	var device, point string
	if err := s.DB.QueryRow(ctx, `SELECT d.id, p.id FROM devices d JOIN monitor_points p ON p.device_id = d.id
		WHERE d.enterprise_id = $1 ORDER BY d.code, p.code LIMIT 1`, safety.EnterpriseID).Scan(&device, &point); err != nil {
		t.Fatalf("a monitoring point of safety01's enterprise: %v", err)
	}
	if err := s.Alerts.Apply(ctx, []rules.Event{{Action: rules.Raise, Kind: rules.KindThreshold, Cause: "threshold:" + point + ":t1",
		DeviceID: device, PointID: point, RuleID: "t1", Level: 2, LevelName: "二级", Value: 92, Threshold: 80,
		Message: "温度超过上限", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	var alertID, escalation string
	eventually(t, 20*time.Second, "the alert escalated to the township, in township01's inbox", func() bool {
		var page notificationPage
		send(t, s, http.MethodGet, "/api/v1/notifications?kind=alert_escalation", townWeb, nil, http.StatusOK, &page)
		if page.Total == 1 {
			alertID, escalation = page.Items[0].RefID, page.Items[0].ID
			n := page.Items[0]
			if n.Link != "/alerts?id="+alertID || n.Level != "二级" || n.RefCollection != "alerts" || !chinese(n.Body) {
				t.Fatalf("escalation notification: %+v", n)
			}
		}
		return page.Total == 1
	})
	var page notificationPage
	send(t, s, http.MethodGet, "/api/v1/notifications?kind=alert_dispatch", safetyWeb, nil, http.StatusOK, &page)
	if page.Total != 1 || page.Items[0].RefID != alertID {
		t.Fatalf("safety01's dispatch notifications: %+v", page)
	}

	// The township's SMS and 浙政钉 deliveries are recorded as sent and reached the stand-ins.
	eventually(t, 20*time.Second, "SMS and 浙政钉 deliveries to the township", func() bool {
		var ds struct {
			Items []alert.Delivery `json:"items"`
		}
		send(t, s, http.MethodGet, "/api/v1/alerts/"+alertID+"/deliveries", admin, nil, http.StatusOK, &ds)
		sent := map[string]bool{}
		for _, d := range ds.Items {
			if d.Tier == alert.TierTownship && d.UserID == town.ID && d.Status == "sent" {
				sent[d.Channel] = true
				if d.Channel == "app" && d.NotificationID != escalation {
					t.Fatalf("the in-app delivery names notification %q, want %s", d.NotificationID, escalation)
				}
			}
		}
		return sent["app"] && sent["sms"] && sent["zzd"]
	})
	if !slices.ContainsFunc(st.SMS.Messages(), func(m notifytestSMS) bool {
		return m.TemplateID == smsAlertTemplate && slices.Contains(m.Phones, "13800000001")
	}) {
		t.Fatalf("no alert SMS to the township's receiver: %+v", st.SMS.Messages())
	}
	if !slices.ContainsFunc(st.ZZD.Messages(), func(m notifytestZZD) bool { return slices.Contains(m.ReceiverIDs, "zzd-qian-01") }) {
		t.Fatalf("no 浙政钉 work notification to the township's receiver: %+v", st.ZZD.Messages())
	}
	st.noRefusals(t)

	// On township01's phone after a sync.
	townPhone := newPhone(t, s.URL, "township01")
	townPhone.sync(t)
	found := false
	for _, r := range townPhone.notifications(t) {
		if str(r, "kind") == "alert_escalation" && str(r, "ref_id") == alertID {
			found = true
		}
	}
	if !found {
		t.Fatalf("township01's phone lacks the escalation: %v", townPhone.notifications(t))
	}
}

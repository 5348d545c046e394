// Package e2emonitor_test is the monitoring issue's end-to-end test ("Done when" of issue 7):
// a device publishes readings over MQTT crossing a threshold, the alert reaches the safety
// officer's phone, nobody handles it, the township is notified over every channel (real notify
// clients against local stand-ins of Zhezhengding, the SMS gateway, FCM and DingTalk), the
// officer disposes of it offline with a photo, and after sync escalation stops. Also: two
// server instances sharing an external Mosquitto broker, and an escalation timer surviving a
// server restart. The real server, real SDK clients.
//
//	go test -race -count=1 ./mobile-sdk/e2emonitor/
package e2emonitor_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// Short deadlines for the end-to-end run: not acknowledged in 3 s → township; not closed in
// 6 s → township (already there); not closed in 14 s → county.
const (
	ackTimeout     = 3 * time.Second
	disposeTimeout = 6 * time.Second
	countyTimeout  = 14 * time.Second
)

func shortDeadlines(c *config.Config) {
	c.AlertAckTimeout, c.AlertDisposeTimeout, c.AlertCountyTimeout = ackTimeout, disposeTimeout, countyTimeout
}

// TestMonitoringDoneWhen is issue 7's first "Done when", on SQLite and on PostgreSQL.
func TestMonitoringDoneWhen(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		st, chans := newStandIns(t)
		runDoneWhen(t, apptest.Start(t, chans, apptest.WithConfig(shortDeadlines)), st)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		st, chans := newStandIns(t)
		runDoneWhen(t, apptest.StartPostgres(t, chans, apptest.WithConfig(shortDeadlines)), st)
	})
}

// bizMsgID is the idempotency key a delivery carries to Zhezhengding: stable for the delivery
// (alert, tier, level, receiver, channel), so a retry is not delivered twice.
func bizMsgID(alertID, tier string, level int, receiver, channel string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{alertID, tier, fmt.Sprint(level), receiver, channel}, "\x00")))
	return hex.EncodeToString(h[:16])
}

func runDoneWhen(t *testing.T, s *apptest.Server, st *standIns) {
	ctx := context.Background()
	if s.MQTTAddr == "" {
		t.Fatal("the server runs no embedded MQTT broker (Main.MQTTAddr is empty)")
	}
	d := demo(t, s)
	admin := d.admin

	// ---- configuration: the device, its point and threshold, the township's receiver ----
	dev := createTempDevice(t, s, admin, d.enterprise.ID, "E2E-TT-"+randHex(t, 4))
	robot := "SEC" + randHex(t, 16)
	webhook := st.DingTalk.Robot(robot)
	const townPhone = "13712345678"
	zzdAccount := "zzd-" + randHex(t, 6)
	var rcv alert.Receiver
	send(t, s, http.MethodPost, "/api/v1/alert-receivers", admin, map[string]any{"tier": "township", "org_unit_id": d.township.OrgUnitID,
		"user_id": d.township.ID, "name": "临港街道应急值班", "phone": townPhone, "zzd_account_id": zzdAccount,
		"dingtalk_webhook": webhook, "dingtalk_secret": robot, "channels": []string{"app", "sms", "zzd", "dingtalk"}, "min_level": 1},
		http.StatusCreated, &rcv)
	if rcv.ID == "" || rcv.Tier != "township" || rcv.DingTalkSecret != "******" || !slices.Equal(rcv.Channels, []string{"app", "sms", "zzd", "dingtalk"}) {
		t.Fatalf("receiver: %+v", rcv)
	}

	// ---- the safety officer's phone: signed in through a proxy that can be cut, push token ----
	proxy := apptest.NewCutProxy(t, s.URL)
	officer := newPhone(t, proxy.URL, "safety01", sdk.Options{RetryBudget: 300 * time.Millisecond})
	pushToken := "fcm-token-" + randHex(t, 12)
	if err := officer.SetPushToken(context.Background(), pushToken, "android"); err != nil {
		t.Fatalf("register the FCM token: %v", err)
	}
	officer.sync(t)

	// ---- the device publishes readings over MQTT; the last one crosses 80 ℃ ----
	mc := mqttDevice(t, s.MQTTAddr, dev.Code, dev.Code, dev.Secret)
	start := time.Now()
	publish(t, mc, readingsTopic(dev.Code), payload(pointCode, 25.5, start.Add(-2*time.Second)))
	publish(t, mc, readingsTopic(dev.Code), payload(pointCode, 41, start.Add(-time.Second)))
	t0 := time.Now().Truncate(time.Millisecond)
	publish(t, mc, readingsTopic(dev.Code), payload(pointCode, 95.5, t0))
	ackDue, countyDue := t0.Add(ackTimeout), t0.Add(countyTimeout)

	// ---- the alert appears on the officer's phone after sync ----
	var rec sdk.Record
	eventually(t, 2500*time.Millisecond, func() string {
		officer.sync(t)
		list, err := officer.List(ctx, "alerts", sdk.Filter{Field: "device_id", Value: dev.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			return "no alert of the device on the safety officer's phone"
		}
		if len(list) > 1 {
			t.Fatalf("%d alerts of the device on the phone, want one: %s", len(list), raw(list))
		}
		rec = list[0]
		return ""
	})
	if time.Now().After(ackDue) {
		t.Fatalf("the alert reached the phone only %v after the reading (ack deadline %v)", time.Since(t0), ackTimeout)
	}
	if got := field[string](t, rec, "status"); got != "new" || field[float64](t, rec, "level") != 1 ||
		field[string](t, rec, "level_name") != "一级" || field[float64](t, rec, "value") != 95.5 ||
		field[float64](t, rec, "threshold") != 80 || field[string](t, rec, "enterprise_id") != d.enterprise.ID ||
		field[string](t, rec, "point_id") != dev.Point.ID || rec.State != sdk.StateSynced {
		t.Fatalf("alert on the phone: %s", raw(rec))
	}
	alertID := rec.ID
	a := getAlert(t, s, admin, alertID)
	if started := parseAt(t, "started_at", a.StartedAt); !started.Equal(t0) {
		t.Errorf("alert started_at %s, want the crossing reading's time %s", a.StartedAt, t0.UTC().Format(time.RFC3339Nano))
	}
	if a.Kind != "threshold" || a.Unit != "℃" {
		t.Errorf("alert: %+v", a)
	}

	// ---- the enterprise tier: in-app for its officer and principal, FCM to the registered phone ----
	eventually(t, 3*time.Second, func() string {
		for _, m := range st.FCM.Messages() {
			if m.Token == pushToken && m.Data["alert_id"] == alertID && m.Data["tier"] == "enterprise" {
				return ""
			}
		}
		return fmt.Sprintf("no FCM push of the alert to the officer's token: %+v (deliveries %+v)", st.FCM.Messages(), deliveries(t, s, admin, alertID))
	})
	var entApp bool
	for _, dl := range deliveries(t, s, admin, alertID) {
		if dl.Tier == "enterprise" && dl.Channel == "app" && dl.UserID == d.safety.ID && dl.Status == "sent" {
			entApp = true
		}
	}
	if !entApp {
		t.Errorf("no in-app delivery to the safety officer at the enterprise tier: %+v", deliveries(t, s, admin, alertID))
	}

	// ---- nobody handles it: after the ack deadline the township tier ----
	eventually(t, ackTimeout+3*time.Second, func() string {
		if a = getAlert(t, s, admin, alertID); a.Tier != "township" {
			return fmt.Sprintf("alert tier %s %v after the reading (ack deadline %v)", a.Tier, time.Since(t0), ackTimeout)
		}
		return ""
	})
	if seen := time.Now(); seen.Before(ackDue.Add(-time.Second)) {
		t.Errorf("escalated %v before the ack deadline", ackDue.Sub(seen))
	}
	esc := parseAt(t, "escalated_at", a.EscalatedAt)
	if late := esc.Sub(ackDue); late < -time.Second || late > 1500*time.Millisecond {
		t.Errorf("escalated at %s, %v from the ack deadline %s (want within a second)", a.EscalatedAt, late, ackDue.UTC().Format(time.RFC3339Nano))
	}
	if a.Status != "new" {
		t.Fatalf("alert status %s at escalation, want new", a.Status)
	}

	// ---- a delivery record per channel for the township receiver, all sent ----
	var town map[string]alert.Delivery
	eventually(t, 5*time.Second, func() string {
		town = map[string]alert.Delivery{}
		for _, dl := range deliveries(t, s, admin, alertID) {
			if dl.Tier == "township" && dl.ReceiverKey == "rcv:"+rcv.ID {
				if prev, ok := town[dl.Channel]; ok && prev.Status == "sent" {
					t.Fatalf("two deliveries on %s for the township receiver: %+v and %+v", dl.Channel, prev, dl)
				}
				town[dl.Channel] = dl
			}
		}
		for _, ch := range []string{"app", "sms", "zzd", "dingtalk"} {
			if town[ch].Status != "sent" {
				return fmt.Sprintf("township deliveries: %+v (missing or not sent: %s)", town, ch)
			}
		}
		return ""
	})
	if len(town) != 4 {
		t.Errorf("township deliveries on %d channels, want 4 (app, sms, zzd, dingtalk): %+v", len(town), town)
	}
	for ch, dl := range town {
		if dl.Level != 1 || dl.ReceiverName != "临港街道应急值班" || dl.AlertID != alertID {
			t.Errorf("township %s delivery: %+v", ch, dl)
		}
		if at := parseAt(t, "delivery at", dl.At); at.Before(esc) {
			t.Errorf("township %s delivery at %s, before the escalation %s", ch, dl.At, a.EscalatedAt)
		}
	}
	if town["app"].UserID != d.township.ID {
		t.Errorf("township in-app delivery to %s, want township01 %s", town["app"].UserID, d.township.ID)
	}
	if town["sms"].Address != "137****5678" {
		t.Errorf("SMS delivery address %q, want the masked phone 137****5678", town["sms"].Address)
	}

	// Zhezhengding saw a correctly signed work notification (the stand-in verifies the HMAC
	// headers, the nonce, the access token and the tenant itself) to the receiver's account.
	wantBiz := bizMsgID(alertID, "township", 1, "rcv:"+rcv.ID, "zzd")
	var zzd []string
	for _, m := range st.ZZD.Messages() {
		zzd = append(zzd, fmt.Sprintf("%+v", m))
		if !slices.Equal(m.ReceiverIDs, []string{zzdAccount}) {
			continue
		}
		if m.BizMsgID != wantBiz || m.TenantID != st.ZZD.TenantID || !strings.Contains(m.Text+m.Title, d.enterprise.Name) ||
			!strings.Contains(m.Text+m.Title, "乡镇") {
			t.Errorf("Zhezhengding work notification: %+v (want bizMsgId %s, tenant %s, the enterprise and the township named)", m, wantBiz, st.ZZD.TenantID)
		}
		if town["zzd"].ProviderID != m.MsgID {
			t.Errorf("zzd delivery provider id %q, want the platform's msgId %q", town["zzd"].ProviderID, m.MsgID)
		}
	}
	if n := countZZD(st, zzdAccount); n != 1 {
		t.Errorf("Zhezhengding delivered %d work notifications to %s, want 1: %v", n, zzdAccount, zzd)
	}
	if st.ZZD.TokenRequests() < 1 {
		t.Error("no Zhezhengding access token was asked for")
	}
	// The SMS gateway got the template and its parameters for the receiver's phone.
	var sms []string
	nSMS := 0
	for _, m := range st.SMS.Messages() {
		sms = append(sms, fmt.Sprintf("%+v", m))
		if !slices.Equal(m.Phones, []string{townPhone}) {
			continue
		}
		nSMS++
		if m.TemplateID != smsTemplate || m.SignName != st.SMS.SignName || m.Params["enterprise"] != d.enterprise.Name ||
			m.Params["level"] != "一级" || m.Params["title"] != a.Title || m.Params["time"] == "" {
			t.Errorf("SMS: %+v (want template %s with enterprise %s, level 一级, title %s, time)", m, smsTemplate, d.enterprise.Name, a.Title)
		}
	}
	if nSMS != 1 {
		t.Errorf("the SMS gateway got %d messages for %s, want 1: %v", nSMS, townPhone, sms)
	}
	// The DingTalk robot (signed) got one message.
	var dt []string
	for _, m := range st.DingTalk.Messages() {
		dt = append(dt, fmt.Sprintf("%+v", m))
	}
	if n := len(st.DingTalk.Messages()); n != 1 || !strings.Contains(st.DingTalk.Messages()[0].Text+st.DingTalk.Messages()[0].Title, d.enterprise.Name) {
		t.Errorf("DingTalk robot messages: %v, want one naming %s", dt, d.enterprise.Name)
	}
	st.noRefusals(t)

	// The phone sees the escalation too.
	officer.sync(t)
	if rec, err := officer.Get(ctx, "alerts", alertID); err != nil || field[string](t, rec, "tier") != "township" {
		t.Errorf("alert on the phone after escalation: %s %v", raw(rec), err)
	}

	// ---- the officer disposes offline: reason, measures, a photo; status closed ----
	jpeg := photo(t, 7)
	file := filepath.Join(t.TempDir(), "IMG_2001.jpg")
	if err := os.WriteFile(file, jpeg, 0o600); err != nil {
		t.Fatal(err)
	}
	const reason, measures = "1号储罐冷却水阀门误关，罐温升高", "恢复冷却水供给，现场测温降至 40 ℃，加强巡检"
	proxy.SetDown(true)
	before := len(proxy.Requests())
	att, err := officer.Attach(ctx, "alerts", alertID, "photos", file)
	if err != nil || att.SHA256 != sum(jpeg) {
		t.Fatalf("attach the photo offline: %+v %v", att, err)
	}
	if err := officer.Update(ctx, "alerts", alertID, map[string]json.RawMessage{"status": raw("closed"),
		"disposal_reason": raw(reason), "disposal_measures": raw(measures)}); err != nil {
		t.Fatalf("close offline: %v", err)
	}
	if r, _ := officer.Get(ctx, "alerts", alertID); field[string](t, r, "status") != "closed" || r.State != sdk.StatePending {
		t.Fatalf("local view after closing offline: %s", raw(r))
	}
	if _, err := officer.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("sync offline: %v, want unreachable", err)
	}
	if n := len(proxy.Requests()); n != before {
		t.Fatalf("offline work reached the server: %d requests", n-before)
	}
	if got := getAlert(t, s, admin, alertID); got.Status != "new" {
		t.Fatalf("the server saw the offline close: %+v", got)
	}
	proxy.SetDown(false)
	stats := officer.sync(t)
	if stats.MediaUploaded != 1 || stats.Pushed < 1 {
		t.Errorf("the officer's sync: %+v, want the close pushed and one photo uploaded", stats)
	}
	if pend, _ := officer.Pending(ctx); len(pend) != 0 {
		t.Errorf("outbox after sync: %+v", pend)
	}
	closedAt := time.Now()
	if !closedAt.Before(countyDue.Add(-time.Second)) {
		t.Fatalf("the close reached the server %v after the reading, too close to the county deadline %v: the test ran too slowly to judge",
			closedAt.Sub(t0), countyTimeout)
	}

	// ---- the server: closed, disposal recorded, the photo uploaded and referenced ----
	a = getAlert(t, s, admin, alertID)
	if a.Status != "closed" || a.DisposalReason != reason || a.DisposalMeasures != measures || !slices.Equal(a.Photos, []string{att.SHA256}) ||
		a.DisposedBy != d.safety.ID || a.ClosedAt == "" || a.Tier != "township" {
		t.Fatalf("alert after the officer's sync: %+v", a)
	}
	if r := s.Do(t, http.MethodGet, "/api/v1/media/"+att.SHA256, admin, nil); r.Status != http.StatusOK || sum(r.Body) != att.SHA256 {
		t.Fatalf("the disposal photo on the server: %d", r.Status)
	}
	if r := s.Do(t, http.MethodGet, "/api/v1/media/"+att.SHA256, s.Login(t, "township01"), nil); r.Status != http.StatusOK {
		t.Errorf("the township cannot see the disposal photo of an alert in its scope: %d %s", r.Status, r.Body)
	}

	// ---- escalation stops: past the county deadline, no county tier and no county delivery ----
	time.Sleep(time.Until(countyDue.Add(1500 * time.Millisecond)))
	a = getAlert(t, s, admin, alertID)
	if a.Tier != "township" || a.Status != "closed" {
		t.Errorf("after the county deadline: tier %s status %s, want township closed", a.Tier, a.Status)
	}
	ds := deliveries(t, s, admin, alertID)
	for _, dl := range ds {
		if dl.Tier == "county" {
			t.Errorf("a county delivery after the alert was closed: %+v", dl)
		}
		if dl.Tier == "township" && dl.ReceiverKey == "rcv:"+rcv.ID && dl.Status != "sent" {
			t.Errorf("township delivery not sent: %+v", dl)
		}
	}
	if n := countZZD(st, zzdAccount); n != 1 {
		t.Errorf("Zhezhengding delivered %d notifications to the township receiver by the end, want 1", n)
	}
	st.noRefusals(t)

	// ---- the timeline: raised, escalated to the township, its deliveries, closed — in order ----
	tl := timeline(t, s, admin, alertID)
	idx := func(match func(alert.TimelineItem) bool) []int {
		var out []int
		for i, it := range tl {
			if match(it) {
				out = append(out, i)
			}
		}
		return out
	}
	raised := idx(func(it alert.TimelineItem) bool { return it.Kind == "raised" })
	escalated := idx(func(it alert.TimelineItem) bool { return it.Kind == "escalated" })
	townDel := idx(func(it alert.TimelineItem) bool {
		return it.Kind == "delivery" && it.Delivery != nil && it.Delivery.Tier == "township" && it.Delivery.ReceiverKey == "rcv:"+rcv.ID
	})
	closed := idx(func(it alert.TimelineItem) bool { return it.Kind == "status" && strings.Contains(it.Text, "已关闭") })
	dump, _ := json.MarshalIndent(tl, "", " ")
	switch {
	case len(raised) != 1 || raised[0] != 0:
		t.Errorf("timeline: raised at %v, want one, first:\n%s", raised, dump)
	case len(escalated) != 1 || tl[escalated[0]].Tier != "township":
		t.Errorf("timeline: escalations %v, want one to the township:\n%s", escalated, dump)
	case len(townDel) != 4 || townDel[0] < escalated[0]:
		t.Errorf("timeline: township deliveries at %v, want four after the escalation at %d:\n%s", townDel, escalated[0], dump)
	case len(closed) != 1 || closed[0] < townDel[len(townDel)-1] || closed[0] != len(tl)-1:
		t.Errorf("timeline: closed at %v, want one, last, after the deliveries:\n%s", closed, dump)
	case !strings.Contains(tl[closed[0]].Text, reason) || tl[closed[0]].By != d.safety.ID || tl[closed[0]].ByName == "":
		t.Errorf("timeline: the closure %+v should name the reason and the officer", tl[closed[0]])
	}
	for i := 1; i < len(tl); i++ {
		if tl[i].At < tl[i-1].At {
			t.Errorf("timeline out of time order at %d:\n%s", i, dump)
			break
		}
	}
}

func countZZD(st *standIns, account string) int {
	n := 0
	for _, m := range st.ZZD.Messages() {
		if slices.Equal(m.ReceiverIDs, []string{account}) {
			n++
		}
	}
	return n
}

package e2emonitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// Deadlines of the offline run: acknowledge within 3 s; escalation waits 4 s after a deadline
// for steps taken offline in time to sync (alert_sync_grace); disposal and county deadlines
// far beyond the test.
const (
	offAck   = 3 * time.Second
	offGrace = 4 * time.Second
)

func offlineDeadlines(c *config.Config) {
	c.AlertAckTimeout, c.AlertDisposeTimeout, c.AlertCountyTimeout = offAck, time.Minute, 2*time.Minute
	c.AlertSyncGrace = offGrace
}

// TestOfflineAckKeepsItsTime: the safety officer acknowledges alert A offline before the ack
// deadline and alert B offline after it, and syncs both after the deadline. A was handled in
// time — it is not escalated (no township delivery), counts as acknowledged in time in the
// statistics, and its timeline shows when he acknowledged and when the server received it.
// B was acknowledged late: its timer, re-checking by the time of the acknowledgement, escalates
// it although it was acknowledged when the timer ran.
func TestOfflineAckKeepsItsTime(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		runOfflineAck(t, apptest.Start(t, apptest.WithConfig(offlineDeadlines)))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		runOfflineAck(t, apptest.StartPostgres(t, apptest.WithConfig(offlineDeadlines)))
	})
}

func runOfflineAck(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	d := demo(t, s)
	admin := d.admin
	devA := createTempDevice(t, s, admin, d.enterprise.ID, "E2E-OA-"+randHex(t, 4))
	devB := createTempDevice(t, s, admin, d.enterprise.ID, "E2E-OB-"+randHex(t, 4))

	proxy := apptest.NewCutProxy(t, s.URL)
	officer := newPhone(t, proxy.URL, "safety01", sdk.Options{RetryBudget: 300 * time.Millisecond})
	officer.sync(t)

	mcA := mqttDevice(t, s.MQTTAddr, devA.Code, devA.Code, devA.Secret)
	mcB := mqttDevice(t, s.MQTTAddr, devB.Code, devB.Code, devB.Secret)
	t0 := time.Now().Truncate(time.Millisecond)
	publish(t, mcA, readingsTopic(devA.Code), payload(pointCode, 92, t0))
	publish(t, mcB, readingsTopic(devB.Code), payload(pointCode, 93, t0))
	ackDue := t0.Add(offAck)

	// Both alerts reach the phone; then it loses the network.
	ids := map[string]string{}
	eventually(t, 2500*time.Millisecond, func() string {
		officer.sync(t)
		for name, dev := range map[string]tempDevice{"A": devA, "B": devB} {
			list, err := officer.List(ctx, "alerts", sdk.Filter{Field: "device_id", Value: dev.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				return fmt.Sprintf("alert %s: %d on the phone", name, len(list))
			}
			ids[name] = list[0].ID
		}
		return ""
	})
	proxy.SetDown(true)

	// A: acknowledged offline before the deadline.
	if err := officer.Update(ctx, "alerts", ids["A"], map[string]json.RawMessage{"status": raw("acknowledged")}); err != nil {
		t.Fatalf("acknowledge A offline: %v", err)
	}
	ackedA := time.Now()
	if !ackedA.Before(ackDue.Add(-500 * time.Millisecond)) {
		t.Fatalf("A acknowledged %v after the reading, too close to the ack deadline %v: the test ran too slowly to judge", ackedA.Sub(t0), offAck)
	}
	// B: acknowledged offline after the deadline.
	time.Sleep(time.Until(ackDue.Add(500 * time.Millisecond)))
	if err := officer.Update(ctx, "alerts", ids["B"], map[string]json.RawMessage{"status": raw("acknowledged")}); err != nil {
		t.Fatalf("acknowledge B offline: %v", err)
	}
	ackedB := time.Now()

	// Back online after the deadline (before the grace ends): both acknowledgements sync.
	time.Sleep(time.Until(ackDue.Add(time.Second)))
	if a := getAlert(t, s, admin, ids["A"]); a.Status != "new" {
		t.Fatalf("the server saw the offline acknowledgement before the sync: %+v", a)
	}
	proxy.SetDown(false)
	if st := officer.sync(t); st.Pushed != 2 {
		t.Fatalf("sync after the deadline pushed %d changes, want 2", st.Pushed)
	}
	synced := time.Now()
	if !synced.Before(ackDue.Add(offGrace - time.Second)) {
		t.Fatalf("synced %v after the deadline, too close to the end of the grace %v: the test ran too slowly to judge", synced.Sub(ackDue), offGrace)
	}

	// The server keeps the time he acknowledged, and the receipt beside it.
	a := getAlert(t, s, admin, ids["A"])
	ackAt := parseAt(t, "acknowledged_at", a.AcknowledgedAt)
	rcvAt := parseAt(t, "acknowledged_received_at", a.AcknowledgedReceivedAt)
	if a.Status != "acknowledged" || a.AcknowledgedBy != d.safety.ID {
		t.Fatalf("alert A after the sync: %+v", a)
	}
	if d := ackAt.Sub(ackedA); d < -time.Second || d > 200*time.Millisecond || ackAt.After(ackDue) {
		t.Errorf("A acknowledged_at %s, want the time of the offline acknowledgement %s (before the deadline %s)",
			a.AcknowledgedAt, ackedA.UTC().Format(time.RFC3339Nano), ackDue.UTC().Format(time.RFC3339Nano))
	}
	if rcvAt.Before(ackDue) || rcvAt.After(synced.Add(200*time.Millisecond)) {
		t.Errorf("A acknowledged_received_at %s, want the sync time (after the deadline %s, by %s)", a.AcknowledgedReceivedAt,
			ackDue.UTC().Format(time.RFC3339Nano), synced.UTC().Format(time.RFC3339Nano))
	}
	b := getAlert(t, s, admin, ids["B"])
	if at := parseAt(t, "B acknowledged_at", b.AcknowledgedAt); at.Before(ackDue) || at.Sub(ackedB) > 200*time.Millisecond {
		t.Errorf("B acknowledged_at %s, want its late acknowledgement %s", b.AcknowledgedAt, ackedB.UTC().Format(time.RFC3339Nano))
	}

	// The timers run at the deadline plus the grace: A stays with its enterprise, B (late) is
	// escalated to the township.
	eventually(t, offGrace+3*time.Second, func() string {
		if b = getAlert(t, s, admin, ids["B"]); b.Tier != alert.TierTownship {
			return fmt.Sprintf("B, acknowledged after the deadline, is at tier %s %v after the deadline", b.Tier, time.Since(ackDue))
		}
		return ""
	})
	time.Sleep(time.Until(ackDue.Add(offGrace + 1500*time.Millisecond)))
	if a = getAlert(t, s, admin, ids["A"]); a.Tier != alert.TierEnterprise || a.EscalatedAt != "" {
		t.Errorf("A, acknowledged offline in time, escalated: tier %s at %s", a.Tier, a.EscalatedAt)
	}
	for _, dl := range deliveries(t, s, admin, ids["A"]) {
		if dl.Tier != alert.TierEnterprise {
			t.Errorf("A, acknowledged offline in time, delivered to the %s tier: %+v", dl.Tier, dl)
		}
	}
	town := 0
	for _, dl := range deliveries(t, s, admin, ids["B"]) {
		if dl.Tier == alert.TierTownship {
			town++
		}
	}
	if town == 0 {
		t.Errorf("B escalated without a township delivery: %+v", deliveries(t, s, admin, ids["B"]))
	}

	// Statistics: two alerts of the enterprise, one acknowledged in time.
	var stats alert.Stats
	q := url.Values{"group_by": {"enterprise"}, "from": {t0.Add(-24 * time.Hour).Format("2006-01-02")}}
	get(t, s, "/api/v1/stats/alerts?"+q.Encode(), admin, &stats)
	var row *alert.StatsRow
	for i := range stats.Rows {
		if stats.Rows[i].Key == d.enterprise.ID {
			row = &stats.Rows[i]
		}
	}
	if row == nil || row.Count != 2 || row.AcknowledgedInTime != 1 || row.Escalated != 1 {
		t.Errorf("statistics of the enterprise: %+v, want 2 alerts, 1 acknowledged in time, 1 escalated", row)
	}
	if r := s.Do(t, http.MethodGet, "/api/v1/stats/alerts?"+q.Encode(), admin, nil); !strings.Contains(string(r.Body), `"acknowledged_in_time":1`) {
		t.Errorf("statistics body without acknowledged_in_time 1: %s", r.Body)
	}

	// A's timeline: the acknowledgement at the time he acted, received at the sync.
	tl := timeline(t, s, admin, ids["A"])
	var ack *alert.TimelineItem
	for i := range tl {
		if tl[i].Kind == alert.EventStatus && tl[i].By == d.safety.ID {
			ack = &tl[i]
		}
	}
	dump, _ := json.MarshalIndent(tl, "", " ")
	switch {
	case ack == nil:
		t.Errorf("A's timeline has no acknowledgement:\n%s", dump)
	case ack.At != a.AcknowledgedAt || ack.ReceivedAt != a.AcknowledgedReceivedAt:
		t.Errorf("A's timeline acknowledgement at %s received %s, want %s received %s", ack.At, ack.ReceivedAt, a.AcknowledgedAt, a.AcknowledgedReceivedAt)
	case !strings.Contains(ack.Text, "已确认") || !strings.Contains(ack.Text, "离线操作") || !strings.Contains(ack.Text, "同步到服务器"):
		t.Errorf("A's timeline acknowledgement text %q should say it was made offline and when it synced", ack.Text)
	}
	for i := 1; i < len(tl); i++ {
		if tl[i].At < tl[i-1].At {
			t.Errorf("A's timeline out of time order at %d:\n%s", i, dump)
			break
		}
	}
}

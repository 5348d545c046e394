package e2emonitor_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
)

// TestMonitoringRestartKeepsTimer raises an alert on a server process, kills the process
// (SIGKILL: no shutdown) before the alert's acknowledgement deadline, starts it again on the
// same data directory and port, and checks that the escalation to the township still happens
// within about a second of the deadline.
func TestMonitoringRestartKeepsTimer(t *testing.T) {
	t.Parallel()
	const ack = 8 * time.Second
	env := []string{"YINGJI_ALERT_ACK_TIMEOUT=" + ack.String(), "YINGJI_ALERT_DISPOSE_TIMEOUT=30s", "YINGJI_ALERT_COUNTY_TIMEOUT=60s"}
	dir := t.TempDir()
	p := apptest.StartProcess(t, dir, "", env...)
	s := api(p.URL)
	d := demo(t, s)
	dev := createTempDevice(t, s, d.admin, d.enterprise.ID, "E2E-RS-"+randHex(t, 4))

	// The crossing reading, over the HTTP ingest the device authenticates to.
	t0 := time.Now().Truncate(time.Millisecond)
	req, err := http.NewRequest(http.MethodPost, p.URL+"/api/v1/ingest/readings", strings.NewReader(payload(pointCode, 96, t0)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(dev.Code, dev.Secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"accepted":1`) {
		t.Fatalf("ingest: %d %s", res.StatusCode, body)
	}
	due := t0.Add(ack)

	// The alert is raised and dispatched to the enterprise (its timers were inserted with it).
	var alertID string
	eventually(t, 3*time.Second, func() string {
		list := alertsOfDevice(t, s, d.admin, d.enterprise.ID, dev.ID)
		if len(list) != 1 {
			return fmt.Sprintf("%d alerts of the device, want 1", len(list))
		}
		alertID = list[0].ID
		if len(deliveries(t, s, d.admin, alertID)) == 0 {
			return "the alert was not dispatched to the enterprise"
		}
		return ""
	})

	// Kill the server well before the deadline and start it again.
	p.Kill()
	if left := time.Until(due); left < 3*time.Second {
		t.Fatalf("only %v left before the deadline when the server was killed: the test ran too slowly to judge", left)
	}
	p = apptest.StartProcess(t, dir, p.Addr(), env...)
	if time.Now().After(due.Add(-time.Second)) {
		t.Fatalf("the server took until %v before the deadline to start again: the test ran too slowly to judge", time.Until(due))
	}
	if a := getAlert(t, s, d.admin, alertID); a.Tier != "enterprise" || a.Status != "new" {
		t.Fatalf("after the restart, before the deadline: %+v", a)
	}

	// The timer survived: escalation within about a second of the deadline.
	var seen time.Time
	eventually(t, time.Until(due)+3*time.Second, func() string {
		if a := getAlert(t, s, d.admin, alertID); a.Tier != "township" {
			return fmt.Sprintf("alert tier %s, %v after the deadline", a.Tier, time.Since(due))
		}
		seen = time.Now()
		return ""
	})
	a := getAlert(t, s, d.admin, alertID)
	esc := parseAt(t, "escalated_at", a.EscalatedAt)
	t.Logf("escalated %v from the deadline, seen %v after it", esc.Sub(due), seen.Sub(due))
	if off := esc.Sub(due); off < -time.Second || off > time.Second {
		t.Errorf("escalated at %s, %v from the deadline %s; want within a second", a.EscalatedAt, off, due.UTC().Format(time.RFC3339Nano))
	}
	if late := seen.Sub(due); late > 1500*time.Millisecond {
		t.Errorf("the escalation was visible only %v after the deadline", late)
	}
	var escalations int
	for _, it := range timeline(t, s, d.admin, alertID) {
		if it.Kind == "escalated" {
			escalations++
		}
	}
	if escalations != 1 {
		t.Errorf("%d escalations on the timeline, want 1", escalations)
	}
}

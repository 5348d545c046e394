package e2emonitor_test

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/monitor"
)

// mosquitto is the external broker; YINGJI_TEST_MQTT_ADDR overrides it.
func mosquitto(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("YINGJI_TEST_MQTT_ADDR")
	if addr == "" {
		addr = "127.0.0.1:1883"
	}
	mustReach(t, "MQTT broker", addr)
	return addr
}

// TestMonitoringTwoInstancesExternalBroker runs two server instances on one PostgreSQL schema,
// both subscribed to Mosquitto in the same shared-subscription group: every reading a device
// publishes is handled by exactly one of them and stored once, and a threshold crossing seen by
// both yields one alert.
func TestMonitoringTwoInstancesExternalBroker(t *testing.T) {
	t.Parallel()
	addr := mosquitto(t)
	run := randHex(t, 5)
	external := func(id string) apptest.Option {
		return apptest.WithConfig(func(c *config.Config) {
			c.MQTTBrokerURL, c.MQTTShareGroup, c.MQTTClientID = "mqtt://"+addr, "yingji-e2e-"+run, "yingji-e2e-"+run+"-"+id
			c.MQTTListen = ""
		})
	}
	s1 := apptest.StartPostgres(t, external("a"))
	s2 := apptest.Start(t, external("b"), apptest.WithConfig(func(c *config.Config) { c.DatabaseURL = s1.Config.DatabaseURL }))
	if s1.Config.DatabaseURL == "" || s2.Config.DatabaseURL != s1.Config.DatabaseURL {
		t.Fatalf("the instances do not share a PostgreSQL schema: %q, %q", s1.Config.DatabaseURL, s2.Config.DatabaseURL)
	}
	if s1.MQTTAddr != "" || s2.MQTTAddr != "" {
		t.Fatalf("an instance runs the embedded broker beside the external one: %q %q", s1.MQTTAddr, s2.MQTTAddr)
	}
	d := demo(t, s1)
	dev := createTempDevice(t, s1, d.admin, d.enterprise.ID, "E2E-MQ-"+run, "PROBE")
	// In external mode Mosquitto authenticates devices; this one allows anonymous clients.
	mc := mqttDevice(t, addr, dev.Code, "", "")
	topic := readingsTopic(dev.Code)
	accepted := func(s *apptest.Server) float64 {
		return counter(t, s.Registry, "yingji_monitor_readings_accepted_total", "", "")
	}

	// A device provisioned through one instance publishes at once: the other instance must not
	// refuse its readings as of an unknown device (they were acknowledged to the device, so
	// they would be lost).
	probeAt := time.Now().Add(-time.Minute)
	const early = 10
	for i := 0; i < early; i++ {
		probeAt = probeAt.Add(time.Millisecond)
		publish(t, mc, topic, payload("PROBE", 20, probeAt))
	}
	probeQ := url.Values{"from": {probeAt.Add(-time.Minute).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)},
		"resolution": {"raw"}, "max_points": {"10000"}}
	deadline := time.Now().Add(3 * time.Second)
	for {
		var probes monitor.Series
		get(t, s1, "/api/v1/monitor-points/"+probeID(t, s1, d.admin, dev.ID)+"/readings?"+probeQ.Encode(), d.admin, &probes)
		if len(probes.Items) == early {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("BUG: of %d readings published right after the device was created through instance a, %d were stored; "+
				"instance b refused %v readings as of an unknown device (metric yingji_monitor_ingest_rejects_total{reason=unknown_device}) "+
				"because it learns of new devices and points only by its periodic table reload (monitor.Config.ReloadInterval, 5 s; "+
				"server/monitor/table.go Reload, service.go housekeeping loop), not when another instance changes them. The readings "+
				"were acknowledged to the device (QoS 1) and are lost; threshold changes likewise take up to 5 s on other instances, "+
				"while PUT /monitor-points/:id/thresholds promises 1 s", early, len(probes.Items),
				counter(t, s2.Registry, "yingji_monitor_ingest_rejects_total", "reason", "unknown_device")+
					counter(t, s1.Registry, "yingji_monitor_ingest_rejects_total", "reason", "unknown_device"))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Both instances subscribed and knowing the device: probe readings (on another point)
	// until each has taken some. The subscriber's state is not exported by app.Main, so this
	// is how a test can tell.
	eventually(t, 15*time.Second, func() string {
		probeAt = probeAt.Add(time.Millisecond)
		publish(t, mc, topic, payload("PROBE", 20, probeAt))
		if a, b := accepted(s1), accepted(s2); a == 0 || b == 0 {
			return fmt.Sprintf("probe readings accepted by the instances: %v and %v; both should be subscribed", a, b)
		}
		return ""
	})
	// Wait for the probes in flight to land, then take the baseline.
	var base1, base2 float64
	eventually(t, 5*time.Second, func() string {
		a, b := accepted(s1), accepted(s2)
		time.Sleep(300 * time.Millisecond)
		base1, base2 = accepted(s1), accepted(s2)
		if a != base1 || b != base2 {
			return "probe readings still arriving"
		}
		return ""
	})

	// N readings, QoS 1, distinct times: 20 below 80 ℃, then above it.
	const n, below = 120, 20
	t0 := time.Now().Add(-10 * time.Second).Truncate(time.Millisecond)
	for i := 0; i < n; i++ {
		v := 30 + float64(i%7)
		if i >= below {
			v = 90 + float64(i%5)
		}
		publish(t, mc, topic, payload(pointCode, v, t0.Add(time.Duration(i)*50*time.Millisecond)))
	}
	eventually(t, 10*time.Second, func() string {
		if got := accepted(s1) + accepted(s2) - base1 - base2; got != n {
			return fmt.Sprintf("readings accepted by the two instances: %v, want %d", got, n)
		}
		return ""
	})
	got1, got2 := accepted(s1)-base1, accepted(s2)-base2
	if got1 == 0 || got2 == 0 {
		t.Errorf("the readings were not split between the instances: %v and %v", got1, got2)
	}
	t.Logf("instance a took %v readings, instance b %v", got1, got2)

	// Every reading stored exactly once (raw readings of the point, through either instance).
	q := url.Values{"from": {t0.Add(-time.Second).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)},
		"resolution": {"raw"}, "max_points": {"10000"}}
	var series monitor.Series
	eventually(t, 10*time.Second, func() string {
		get(t, s2, "/api/v1/monitor-points/"+dev.Point.ID+"/readings?"+q.Encode(), d.admin, &series)
		if len(series.Items) < n {
			return fmt.Sprintf("%d readings stored, want %d", len(series.Items), n)
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond) // a duplicate written late would show now
	get(t, s1, "/api/v1/monitor-points/"+dev.Point.ID+"/readings?"+q.Encode(), d.admin, &series)
	seen := map[int64]int{}
	for _, r := range series.Items {
		seen[r.At.UnixMilli()]++
	}
	if series.Resolution != "raw" || len(series.Items) != n || len(seen) != n {
		t.Fatalf("stored readings: %d (%d distinct times, resolution %s), want %d, each once", len(series.Items), len(seen), series.Resolution, n)
	}
	for i := 0; i < n; i++ {
		if ts := t0.Add(time.Duration(i) * 50 * time.Millisecond).UnixMilli(); seen[ts] != 1 {
			t.Fatalf("reading %d (at %d) stored %d times", i, ts, seen[ts])
		}
	}

	// One alert for the crossing, though both instances saw readings beyond the threshold.
	var alerts []string
	eventually(t, 5*time.Second, func() string {
		if len(alertsOfDevice(t, s1, d.admin, d.enterprise.ID, dev.ID)) == 0 {
			return "no alert of the device"
		}
		return ""
	})
	time.Sleep(time.Second) // a second alert raised late would show now
	for _, s := range []*apptest.Server{s1, s2} {
		list := alertsOfDevice(t, s, d.admin, d.enterprise.ID, dev.ID)
		alerts = alerts[:0]
		for _, a := range list {
			alerts = append(alerts, fmt.Sprintf("%s %s level %d value %g status %s", a.ID, a.Cause, a.Level, a.Value, a.Status))
		}
		if len(list) != 1 || list[0].Level != 1 || list[0].Status != "new" || list[0].Kind != "threshold" ||
			!strings.Contains(list[0].Cause, dev.Point.ID) || list[0].Threshold != 80 {
			t.Fatalf("alerts of the device via %s: %d, want exactly one level-1 threshold alert:\n%s", s.URL, len(list), strings.Join(alerts, "\n"))
		}
		if started := list[0].StartedAt; started != t0.Add(below*50*time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z") {
			t.Logf("alert started_at %s (first crossing at %s): the instance that raised it saw a later crossing first",
				started, t0.Add(below*50*time.Millisecond).UTC().Format(time.RFC3339Nano))
		}
	}
}

// probeID finds the id of the device's PROBE point.
func probeID(t *testing.T, s *apptest.Server, token, deviceID string) string {
	t.Helper()
	var page struct {
		Items []monitor.Point `json:"items"`
	}
	get(t, s, "/api/v1/monitor-points?device_id="+deviceID+"&q=PROBE", token, &page)
	for _, p := range page.Items {
		if p.Code == "PROBE" {
			return p.ID
		}
	}
	t.Fatalf("the device has no PROBE point: %+v", page.Items)
	return ""
}

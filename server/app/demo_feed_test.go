package app_test

import (
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/demo"
)

// switchClock runs with the wall clock from base until fast is called, then speed times faster
// (so the demo history loads at normal speed and the hours after it pass in seconds).
type switchClock struct {
	mu     sync.Mutex
	base   time.Time
	t0     time.Time
	speed  time.Duration
	fastAt time.Time
}

func newSwitchClock(base time.Time, speed time.Duration) *switchClock {
	return &switchClock{base: base, t0: time.Now(), speed: speed}
}

func (c *switchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.fastAt.IsZero() {
		return c.base.Add(now.Sub(c.t0))
	}
	return c.base.Add(c.fastAt.Sub(c.t0) + now.Sub(c.fastAt)*c.speed)
}

func (c *switchClock) fast() {
	c.mu.Lock()
	c.fastAt = time.Now()
	c.mu.Unlock()
}

func offlineAlerts(t *testing.T, s *apptest.Server, token string) int {
	t.Helper()
	var alerts page
	get(t, s, token, "/alerts?kind=offline", &alerts)
	return alerts.Total
}

// TestDemoFeed: a fresh demo server with its history, run past the 5-minute heartbeat timeout
// (on a clock 100 times faster once started), keeps every demo device online with new readings
// on its points and raises no new alert (设备离线 or other), on both engines; with demo_feed off
// the same devices do go offline (so the feeder, not the clock, keeps them alive).
func TestDemoFeed(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, demo.Zone)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			// a reading every 500 ms real = 50 s simulated, under the 60 s sampling period
			clock := newSwitchClock(base, 100)
			opts := []apptest.Option{apptest.WithDemoHistory(), apptest.WithClock(clock.Now), apptest.WithDemoFeed(500 * time.Millisecond)}
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t, opts...)
			} else {
				s = apptest.StartPostgres(t, opts...)
			}
			admin := s.Login(t, "admin")
			var before page
			get(t, s, admin, "/alerts", &before)
			offBefore := offlineAlerts(t, s, admin)
			clock.fast()
			time.Sleep(6 * time.Second) // 600 s simulated: past the 300 s timeout
			var devs page
			get(t, s, admin, "/devices?page_size=50", &devs)
			if len(devs.Items) != len(demo.FeederDevices()) {
				t.Fatalf("%d demo devices, feeder publishes for %d", len(devs.Items), len(demo.FeederDevices()))
			}
			for _, d := range devs.Items {
				if d["online"] != true {
					t.Errorf("device %s offline %v after start with the feeder", str(d, "code"), d["last_seen_at"])
				}
			}
			var pts page
			get(t, s, admin, "/monitor-points?page_size=50", &pts)
			for _, p := range pts.Items {
				latest, _ := p["latest"].(map[string]any)
				if latest == nil {
					t.Errorf("point %s has no reading", str(p, "code"))
					continue
				}
				at, _ := time.Parse(time.RFC3339Nano, str(latest, "at"))
				if s.Now().Sub(at) > 2*time.Minute {
					t.Errorf("point %s: latest reading at %v, now %v", str(p, "code"), at, s.Now())
				}
			}
			if n := offlineAlerts(t, s, admin); n != offBefore {
				t.Errorf("%d offline alerts on a fed demo, %d in its history", n, offBefore)
			}
			var after page
			get(t, s, admin, "/alerts", &after)
			if after.Total != before.Total {
				t.Errorf("the feeder's normal readings raised %d alerts", after.Total-before.Total)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		clock := newSwitchClock(base, 100)
		s := apptest.Start(t, apptest.WithDemoHistory(), apptest.WithClock(clock.Now))
		admin := s.Login(t, "admin")
		offBefore := offlineAlerts(t, s, admin)
		clock.fast()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if offlineAlerts(t, s, admin) > offBefore {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("without the feeder the silent demo devices never went offline: the test proves nothing")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

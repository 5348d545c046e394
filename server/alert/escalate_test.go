package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func TestEscalation(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{AckTimeout: 2 * time.Second, DisposeTimeout: 4 * time.Second, CountyTimeout: time.Hour})
		e.start(t, e.svc)
		ctx := context.Background()

		// Alert A: nobody handles it. Alert B: acknowledged and closed in time.
		start := time.Now()
		e.apply(t, raise("a", "dv1", "p1", 1, 85, start), raise("b", "dv2", "p2", 1, 85, start))
		a, b := e.openAlert(t, "a").ID, e.openAlert(t, "b").ID
		if _, err := e.svc.Handle(ctx, e.users["u-safety2"], b, alert.HandleInput{Status: alert.StatusAcknowledged}); err != nil {
			t.Fatal(err)
		}
		// The enterprise is told at once (its safety officer and principal by default).
		waitFor(t, 5*time.Second, "enterprise deliveries", func() bool { return len(e.deliveries(t, a)) >= 5 })

		waitFor(t, 5*time.Second, "escalation of A", func() bool { return e.get(t, a).Tier == alert.TierTownship })
		took := time.Since(start)
		if took < 2*time.Second || took >= 3*time.Second {
			t.Fatalf("escalated after %v, want within [2s, 3s)", took)
		}
		if _, err := e.svc.Handle(ctx, e.users["u-safety2"], b, alert.HandleInput{Status: alert.StatusClosed, Reason: "误触发，已复位"}); err != nil {
			t.Fatal(err)
		}
		// The township admin is notified on every default channel: app (the synced alert), FCM
		// (no token: skipped) and SMS (sent, masked number).
		waitFor(t, 5*time.Second, "township deliveries", func() bool {
			n := 0
			for _, d := range e.deliveries(t, a) {
				if d.Tier == alert.TierTownship {
					n++
				}
			}
			return n == 3
		})
		got := map[string]alert.Delivery{}
		for _, d := range e.deliveries(t, a) {
			if d.Tier == alert.TierTownship {
				got[d.Channel] = d
			}
		}
		if d := got["app"]; d.Status != "sent" || d.Address != "scope org:t1" || d.UserID != "u-town1" {
			t.Fatalf("app delivery %+v", d)
		}
		if d := got["sms"]; d.Status != "sent" || d.Address != "137****1111" || d.ProviderID == "" {
			t.Fatalf("sms delivery %+v", d)
		}
		if d := got["fcm"]; d.Status != "skipped" {
			t.Fatalf("fcm delivery %+v", d)
		}
		var smsBody string
		for _, c := range e.chans["sms"].calls() {
			if c.To.Phone == "13700001111" {
				smsBody = c.M.Body
			}
		}
		if !strings.Contains(smsBody, "已上报乡镇（街道）") {
			t.Fatalf("township sms body %q", smsBody)
		}
		// Past the dispose deadline: B stays with its enterprise; A was already at the township.
		time.Sleep(time.Until(start.Add(4500 * time.Millisecond)))
		if tb := e.get(t, b).Tier; tb != alert.TierEnterprise {
			t.Fatalf("B handled in time escalated to %s", tb)
		}
		if ta := e.get(t, a).Tier; ta != alert.TierTownship {
			t.Fatalf("A at %s", ta)
		}
		items, err := e.svc.Timeline(ctx, yingji.System, a)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, it := range items {
			if it.Kind == alert.EventEscalated && it.Text == "2 秒内未确认，已上报乡镇（街道）" {
				found = true
			}
		}
		if !found {
			t.Fatalf("timeline without the escalation: %+v", items)
		}
	})
}

func TestTimerSurvivesRestart(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		cfg := alert.Config{AckTimeout: 2 * time.Second, DisposeTimeout: time.Hour, CountyTimeout: 2 * time.Hour}
		e := newEnv(t, db, cfg)
		stop := e.start(t, e.svc)
		start := time.Now()
		e.apply(t, raise("a", "dv1", "p1", 1, 85, start))
		id := e.openAlert(t, "a").ID
		stop()
		if tier := e.get(t, id).Tier; tier != alert.TierEnterprise {
			t.Fatalf("escalated before the restart: %s", tier)
		}
		// A new instance (new service, new runner) on the same database fires the timer.
		svc2 := e.newService(cfg, nil)
		e.start(t, svc2)
		waitFor(t, 10*time.Second, "escalation after restart", func() bool { return e.get(t, id).Tier == alert.TierTownship })
		if took := time.Since(start); took < 2*time.Second {
			t.Fatalf("escalated early: %v", took)
		}
	})
}

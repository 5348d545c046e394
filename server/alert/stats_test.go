package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func TestStats(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{})
		ctx := context.Background()
		cst := time.FixedZone("CST", 8*3600)
		var now time.Time
		e.svc.Now = func() time.Time { return now }
		handle := func(cause string, at time.Time, status string) {
			t.Helper()
			now = at
			if _, err := e.svc.Handle(ctx, yingji.System, e.openAlert(t, cause).ID, alert.HandleInput{Status: status, Reason: "已处置"}); err != nil {
				t.Fatal(err)
			}
		}
		// A: e1, threshold level 2, 2 March, closed after 20 min (in time).
		a := time.Date(2026, 3, 2, 10, 0, 0, 0, cst)
		now = a
		e.apply(t, raise("a", "dv1", "p1", 2, 95, a))
		handle("a", a.Add(20*time.Minute), alert.StatusClosed)
		// B: e1, offline level 1, 10 March, false alarm after 40 min (late).
		b := time.Date(2026, 3, 10, 9, 0, 0, 0, cst)
		e.apply(t, rules.Event{Action: rules.Raise, Kind: rules.KindOffline, Cause: "b", DeviceID: "dv1", Level: 1, LevelName: "离线", At: b})
		handle("b", b.Add(40*time.Minute), alert.StatusFalseAlarm)
		// C: e2, threshold level 1, 1 April (Beijing) = 31 March UTC, open.
		c := time.Date(2026, 4, 1, 7, 0, 0, 0, cst)
		e.apply(t, raise("c", "dv2", "p2", 1, 85, c))

		get := func(a *yingji.Actor, q alert.StatsQuery) alert.Stats {
			t.Helper()
			s, err := e.svc.Stats(ctx, a, q)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := get(yingji.System, alert.StatsQuery{GroupBy: alert.ByPeriod, Period: "month"})
		if len(s.Rows) != 2 || s.Rows[0].Key != "2026-03" || s.Rows[0].Count != 2 || s.Rows[0].HandledInTime != 1 || s.Rows[0].FalseAlarms != 1 ||
			s.Rows[1].Key != "2026-04" || s.Rows[1].Open != 1 || s.Total.Count != 3 || s.Total.HandledInTime != 1 {
			t.Fatalf("by month %+v", s)
		}
		if r := s.Total.InTimeRate; r < 0.333 || r > 0.334 {
			t.Fatalf("in-time rate %v", r)
		}
		s = get(yingji.System, alert.StatsQuery{GroupBy: alert.ByPeriod, Period: "week"})
		if len(s.Rows) != 3 || s.Rows[0].Key != "2026-03-02" || s.Rows[1].Key != "2026-03-09" || s.Rows[2].Key != "2026-03-30" {
			t.Fatalf("by week %+v", s.Rows)
		}
		s = get(yingji.System, alert.StatsQuery{GroupBy: alert.ByIndustry})
		if len(s.Rows) != 2 || s.Rows[0].Label != "仓储" || s.Rows[0].Count != 1 || s.Rows[1].Label != "化工" || s.Rows[1].Count != 2 {
			t.Fatalf("by industry %+v", s.Rows)
		}
		s = get(yingji.System, alert.StatsQuery{GroupBy: alert.ByKind})
		if len(s.Rows) != 2 || s.Rows[0].Label != "设备离线" || s.Rows[1].Label != "超限报警" || s.Rows[1].Count != 2 {
			t.Fatalf("by kind %+v", s.Rows)
		}
		s = get(yingji.System, alert.StatsQuery{GroupBy: alert.ByLevel})
		if len(s.Rows) != 2 || s.Rows[0].Count != 2 || s.Rows[1].Label != "2级" || s.Rows[1].HandledInTime != 1 {
			t.Fatalf("by level %+v", s.Rows)
		}
		// A township sees its own: two alerts of e1, by township.
		s = get(e.users["u-town1"], alert.StatsQuery{GroupBy: alert.ByTownship})
		if len(s.Rows) != 1 || s.Rows[0].Key != "t1" || s.Rows[0].Label != "单位t1" || s.Total.Count != 2 {
			t.Fatalf("township t1 %+v", s)
		}
		// A range: March only (Beijing dates).
		s = get(yingji.System, alert.StatsQuery{GroupBy: alert.ByEnterprise, From: time.Date(2026, 3, 1, 0, 0, 0, 0, cst), To: time.Date(2026, 4, 1, 0, 0, 0, 0, cst)})
		if len(s.Rows) != 1 || s.Rows[0].Label != "甲化工" || s.Total.Count != 2 {
			t.Fatalf("march by enterprise %+v", s)
		}
		// Home numbers: the officer of e2 has C open and unconfirmed; township t1 has none open.
		now = c.Add(time.Hour)
		h, err := e.svc.Home(ctx, e.users["u-safety2"])
		if err != nil {
			t.Fatal(err)
		}
		if h.Open != 1 || h.ByLevel[1] != 1 || h.Unconfirmed != 1 || h.Mine != 1 || h.TodayRaised != 1 {
			t.Fatalf("home %+v", h)
		}
		if h, _ := e.svc.Home(ctx, e.users["u-town2"]); h.Open != 1 || h.Mine != 0 {
			t.Fatalf("township home %+v", h)
		}
	})
}

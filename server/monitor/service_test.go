package monitor_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

func TestDevicesAndPoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		d, secret, gas, temp := e.device(t, s, "GW-001")
		t.Run("OK", func(t *testing.T) {
			if len(secret) != 43 || d.OrgPath != e.entA.OrgPath || d.HeartbeatTimeoutS != 300 {
				t.Fatalf("device %+v secret %q", d, secret)
			}
			if !s.AuthDevice(ctx, "GW-001", secret) || s.AuthDevice(ctx, "GW-001", secret+"x") {
				t.Fatal("secret check")
			}
			if len(gas.Thresholds) != 1 || gas.Thresholds[0].Levels[0].Value != 25 || gas.Thresholds[0].Levels[1].Value != 50 ||
				gas.Unit != "%LEL" || gas.Quality.StuckMinutes != 0 {
				t.Fatalf("gas point defaults %+v", gas)
			}
			if temp.Unit != "℃" || temp.Thresholds[0].Levels[0].Name != "一级" {
				t.Fatalf("temp point %+v", temp)
			}
			page, err := s.ListPoints(ctx, e.townAdminA, monitor.PointFilter{DeviceID: d.ID, Kind: "temperature"}, yingji.ListParams{})
			if err != nil || page.Total != 1 || page.Items[0].ID != temp.ID {
				t.Fatalf("list %+v %v", page, err)
			}
			up, err := s.UpdateDevice(ctx, e.townAdminA, d.ID, monitor.Device{Code: "GW-001", Name: "罐区网关", Category: "hazchem", Kind: "gateway", HeartbeatTimeoutS: 180})
			if err != nil || up.Name != "罐区网关" || up.HeartbeatTimeoutS != 180 {
				t.Fatalf("update %+v %v", up, err)
			}
			newSecret, err := s.ResetSecret(ctx, e.officerA, d.ID)
			if err != nil || !s.AuthDevice(ctx, "GW-001", newSecret) || s.AuthDevice(ctx, "GW-001", secret) {
				t.Fatalf("reset secret %v", err)
			}
		})
		t.Run("ErrScope", func(t *testing.T) {
			_, err := s.GetDevice(ctx, e.townAdminB, d.ID)
			wantKind(t, err, yingji.EFORBIDDEN)
			page, err := s.ListDevices(ctx, e.townAdminB, monitor.DeviceFilter{}, yingji.ListParams{})
			if err != nil || page.Total != 0 {
				t.Fatalf("other township sees %+v %v", page, err)
			}
			page, err = s.ListDevices(ctx, e.townAdminA, monitor.DeviceFilter{Q: "GW"}, yingji.ListParams{})
			if err != nil || page.Total != 1 {
				t.Fatalf("own township sees %+v %v", page, err)
			}
			_, _, err = s.CreateDevice(ctx, e.townAdminB, monitor.Device{Code: "GW-X", Name: "x", EnterpriseID: e.entA.ID, Category: "hazchem", Kind: "sensor"})
			wantKind(t, err, yingji.EFORBIDDEN)
			_, err = s.UpdatePoint(ctx, e.townAdminB, gas.ID, gas)
			wantKind(t, err, yingji.EFORBIDDEN)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.CreatePoint(ctx, e.officerA, monitor.Point{DeviceID: d.ID, Code: "PT-1", Name: "压力", Kind: "pressure", Unit: "bar"})
			if wantKind(t, err, yingji.EINVALID); yingji.ErrorCode(err) != "monitor.bad_unit" || !strings.Contains(err.Error(), "MPa") {
				t.Fatalf("bad unit: %v", err)
			}
			_, err = s.CreatePoint(ctx, e.officerA, monitor.Point{DeviceID: d.ID, Code: "PT-1", Name: "压力", Kind: "pressure", RangeMin: f64(5), RangeMax: f64(1)})
			wantKind(t, err, yingji.EINVALID)
			_, err = s.SetThresholds(ctx, e.officerA, temp.ID, []monitor.ThresholdRule{{ID: "hi", Direction: "high",
				Levels: []monitor.ThresholdLevel{{Level: 1, Value: 50}, {Level: 2, Value: 40}}}})
			if wantKind(t, err, yingji.EINVALID); !strings.Contains(err.Error(), "逐级升高") {
				t.Fatalf("thresholds order: %v", err)
			}
			_, err = s.SetThresholds(ctx, e.officerA, temp.ID, []monitor.ThresholdRule{{ID: "lo", Direction: "low",
				Levels: []monitor.ThresholdLevel{{Level: 1, Value: 5}, {Level: 2, Value: 0}}, Hysteresis: 6}})
			wantKind(t, err, yingji.EINVALID)
			_, err = s.CreatePoint(ctx, e.officerA, monitor.Point{DeviceID: d.ID, Code: "GT-101", Name: "重复", Kind: "flammable_gas"})
			wantKind(t, err, yingji.ECONFLICT)
			_, _, err = s.CreateDevice(ctx, e.officerA, monitor.Device{Code: "GW-001", Name: "重复", EnterpriseID: e.entA.ID, Category: "hazchem", Kind: "sensor"})
			wantKind(t, err, yingji.ECONFLICT)
		})
		t.Run("Import", func(t *testing.T) {
			items := []monitor.ImportItem{
				{Device: monitor.Device{Code: "GW-IMP", Name: "导入网关", EnterpriseID: e.entA.ID, Category: "hazchem", Kind: "gateway"},
					Point: monitor.Point{Code: "LT-1", Name: "液位", Kind: "level", Unit: "m"}},
				{Device: monitor.Device{Code: "GW-IMP", Name: "导入网关", EnterpriseID: e.entA.ID, Category: "hazchem", Kind: "gateway"},
					Point: monitor.Point{Code: "LT-2", Name: "液位2", Kind: "level", Unit: "kg"}},
			}
			_, err := s.ImportPoints(ctx, e.officerA, items)
			if wantKind(t, err, yingji.EINVALID); !strings.HasPrefix(yingji.ErrorCode(err), "monitor.bad_unit") || !strings.Contains(err.Error(), "第 2 条") {
				t.Fatalf("import bad row: %v", err)
			}
			if n := count(t, e.db, `SELECT COUNT(*) FROM devices WHERE code = 'GW-IMP'`); n != 0 {
				t.Fatal("a refused import stored its device")
			}
			items[1].Point.Unit = "%"
			devs, err := s.ImportPoints(ctx, e.officerA, items)
			if err != nil || len(devs) != 1 || devs[0].Code != "GW-IMP" || !s.AuthDevice(ctx, "GW-IMP", devs[0].Secret) {
				t.Fatalf("import %+v %v", devs, err)
			}
			if n := count(t, e.db, `SELECT COUNT(*) FROM monitor_points p JOIN devices d ON d.id = p.device_id WHERE d.code = 'GW-IMP'`); n != 2 {
				t.Fatalf("imported %d points", n)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			if err := s.DeletePoint(ctx, e.townAdminB, temp.ID); yingji.ErrorKind(err) != yingji.EFORBIDDEN {
				t.Fatalf("delete other township: %v", err)
			}
			if err := s.DeleteDevice(ctx, e.officerA, d.ID); err != nil {
				t.Fatal(err)
			}
			_, err := s.GetPoint(ctx, e.officerA, gas.ID)
			wantKind(t, err, yingji.ENOTFOUND)
		})
	})
}

func msg(ts time.Time, readings ...string) []byte {
	return []byte(fmt.Sprintf(`{"ts": %q, "readings": [%s]}`, ts.Format(time.RFC3339Nano), strings.Join(readings, ",")))
}

func TestIngest(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		d, _, gas, temp := e.device(t, s, "GW-001")
		now := e.clock.Now()
		cases := []struct {
			device  string
			payload string
			reason  string
		}{
			{"GW-404", `{"readings": [{"point": "GT-101", "value": 1}]}`, monitor.RejectUnknownDevice},
			{"GW-001", `{"readings": [`, monitor.RejectMalformed},
			{"GW-001", `{"readings": [{"point": "XX-1", "value": 1}]}`, monitor.RejectUnknownPoint},
			{"GW-001", `{"readings": [{"point": "TI-101", "value": 1, "unit": "K"}]}`, monitor.RejectWrongUnit},
			{"GW-001", `{"readings": [{"point": "TI-101", "value": "NaN"}]}`, monitor.RejectBadValue},
			{"GW-001", `{"readings": [{"point": "TI-101", "value": 1e999}]}`, monitor.RejectBadValue},
			{"GW-001", `{"readings": [{"point": "TI-101"}]}`, monitor.RejectBadValue},
			{"GW-001", `{"readings": [{"point": "TI-101", "value": 1, "ts": "yesterday"}]}`, monitor.RejectBadTime},
			{"GW-001", fmt.Sprintf(`{"readings": [{"point": "TI-101", "value": 1, "ts": %d}]}`, now.Add(6*time.Minute).UnixMilli()), monitor.RejectFutureTime},
			{"GW-001", fmt.Sprintf(`{"ts": %q, "readings": [{"point": "TI-101", "value": 1}]}`, now.Add(-8*24*time.Hour).Format(time.RFC3339)), monitor.RejectStaleTime},
		}
		for _, c := range cases {
			s.Deliver(ctx, c.device, "readings", []byte(c.payload))
		}
		// good readings of the same device and message still count
		s.Deliver(ctx, "GW-001", "readings", msg(now, `{"point": "TI-101", "value": 35.5, "unit": "°C"}`, `{"point": "GT-101", "value": 3}`, `{"point": "nope", "value": 1}`))
		s.Deliver(ctx, "GW-001", "readings", []byte(fmt.Sprintf(`{"readings": [{"point": "TI-101", "value": 36, "ts": %d}]}`, now.Add(time.Second).UnixMilli())))
		s.Deliver(ctx, "GW-001", "heartbeat", nil)
		if l, ok := s.Latest(temp.ID); !ok || l.Value != 36 || !l.At.Equal(now.Add(time.Second)) {
			t.Fatalf("latest %+v %v", l, ok)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		page, err := s.Rejects(ctx, e.townAdminA, "", yingji.ListParams{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range page.Items {
			got[r.Reason] += r.Count
		}
		for _, c := range cases {
			if c.reason == monitor.RejectUnknownDevice {
				continue // not a device of the township admin
			}
			if got[c.reason] == 0 {
				t.Errorf("reason %s not counted: %+v", c.reason, got)
			}
		}
		if got[monitor.RejectBadValue] != 3 || got[monitor.RejectUnknownPoint] != 2 {
			t.Fatalf("counts %+v", got)
		}
		city := &yingji.Actor{Role: yingji.RoleCityAdmin, OrgPath: "/"}
		all, err := s.Rejects(ctx, city, "", yingji.ListParams{PageSize: 100})
		if err != nil || !hasReject(all.Items, "GW-404", monitor.RejectUnknownDevice) {
			t.Fatalf("city admin rejects %+v %v", all, err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM readings`); n != 3 {
			t.Fatalf("%d readings stored", n)
		}
		var seen *time.Time
		if err := e.db.QueryRow(ctx, `SELECT last_seen_at FROM devices WHERE id = $1`, d.ID).Scan(&seen); err != nil || seen == nil || !seen.Equal(now) {
			t.Fatalf("last seen %v %v", seen, err)
		}
		e.sink.waitEvent(t, rules.KindOffline, rules.Clear) // first message: online
		_ = gas
	})
}

func hasReject(rs []monitor.RejectCount, device, reason string) bool {
	for _, r := range rs {
		if r.Device == device && r.Reason == reason {
			return true
		}
	}
	return false
}

func TestStorageAndRollups(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{FlushInterval: time.Hour})
		_, _, _, temp := e.device(t, s, "GW-001")
		base := e.clock.Now().Add(-3 * time.Hour).Truncate(time.Hour)
		// minute 0: 10, 20, 30; minute 1: 5; next hour: 7
		vals := []struct {
			off time.Duration
			v   float64
		}{{0, 10}, {20 * time.Second, 30}, {40 * time.Second, 20}, {70 * time.Second, 5}, {time.Hour + time.Second, 7}}
		for _, x := range vals {
			s.Deliver(ctx, "GW-001", "readings", msg(base.Add(x.off), fmt.Sprintf(`{"point": "TI-101", "value": %g}`, x.v)))
		}
		// split over two flushes: the rollups merge
		s.Deliver(ctx, "GW-001", "readings", msg(base.Add(50*time.Second), `{"point": "TI-101", "value": 40}`))
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s.Deliver(ctx, "GW-001", "readings", msg(base.Add(10*time.Second), `{"point": "TI-101", "value": 0}`))
		// readings accepted before Close are stored by Close
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM readings WHERE point_id = $1`, temp.ID); n != 7 {
			t.Fatalf("%d readings after close", n)
		}
		s2 := e.service(t, monitor.Config{})
		ser, err := s2.Readings(ctx, e.townAdminA, temp.ID, base, base.Add(2*time.Hour), monitor.ResolutionMinute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser.Items) != 3 {
			t.Fatalf("minute series %+v", ser)
		}
		m0 := ser.Items[0]
		if m0.N != 5 || m0.Min != 0 || m0.Max != 40 || math.Abs(m0.Value-20) > 1e-9 || m0.Last != 40 || !m0.At.Equal(base) {
			t.Fatalf("minute 0 %+v", m0)
		}
		if ser.Items[1].N != 1 || ser.Items[1].Value != 5 {
			t.Fatalf("minute 1 %+v", ser.Items[1])
		}
		hr, err := s2.Readings(ctx, e.townAdminA, temp.ID, base, base.Add(2*time.Hour), monitor.ResolutionHour, 0)
		if err != nil || len(hr.Items) != 2 || hr.Items[0].N != 6 || hr.Items[0].Max != 40 || hr.Items[1].Value != 7 {
			t.Fatalf("hour series %+v %v", hr, err)
		}
		raw, err := s2.Readings(ctx, e.townAdminA, temp.ID, base, base.Add(2*time.Hour), monitor.ResolutionAuto, 3)
		if err != nil || raw.Resolution != monitor.ResolutionHour {
			t.Fatalf("auto %+v %v", raw, err)
		}
		raw, err = s2.Readings(ctx, e.townAdminA, temp.ID, base, base.Add(time.Minute), monitor.ResolutionAuto, 0)
		if err != nil || raw.Resolution != monitor.ResolutionRaw || len(raw.Items) != 5 || raw.Items[0].Value != 10 {
			t.Fatalf("raw %+v %v", raw, err)
		}
		if _, err := s2.Readings(ctx, e.townAdminB, temp.ID, base, base.Add(time.Hour), "", 0); yingji.ErrorKind(err) != yingji.EFORBIDDEN {
			t.Fatalf("other township reads series: %v", err)
		}

		t.Run("Prune", func(t *testing.T) {
			// 95 days later: raw readings and minute rollups go, hour rollups stay
			res, err := s2.Prune(ctx, base.Add(95*24*time.Hour))
			if err != nil || res.Readings != 7 || res.MinuteRollups != 3 {
				t.Fatalf("prune %+v %v", res, err)
			}
			if n := count(t, e.db, `SELECT COUNT(*) FROM reading_rollups WHERE resolution = 'hour'`); n != 2 {
				t.Fatalf("%d hour rollups left", n)
			}
		})
	})
}

func TestRuleStateSurvivesRestart(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		_, _, _, temp := e.device(t, s, "GW-001")
		t0 := e.clock.Now()
		// 45 ℃ reaches level 1 (40), which must last 60 s
		s.Deliver(ctx, "GW-001", "readings", msg(t0, `{"point": "TI-101", "value": 45}`))
		s.Deliver(ctx, "GW-001", "readings", msg(t0.Add(30*time.Second), `{"point": "TI-101", "value": 46}`))
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.sink.find(rules.KindThreshold, rules.Raise); ok {
			t.Fatal("raised before the minimum duration")
		}
		e.clock.Add(61 * time.Second)
		s2 := e.service(t, monitor.Config{})
		if l, ok := s2.Latest(temp.ID); !ok || l.Value != 46 {
			t.Fatalf("latest after restart %+v", l)
		}
		s2.Deliver(ctx, "GW-001", "readings", msg(t0.Add(61*time.Second), `{"point": "TI-101", "value": 47}`))
		ev := e.sink.waitEvent(t, rules.KindThreshold, rules.Raise)
		if ev.PointID != temp.ID || ev.Level != 1 || ev.Threshold != 40 {
			t.Fatalf("event %+v", ev)
		}

		t.Run("RulesChangeAtOnce", func(t *testing.T) {
			// lowering the level 2 limit below the value raises level 2 on the next reading
			_, err := s2.SetThresholds(ctx, e.officerA, temp.ID, []monitor.ThresholdRule{{ID: "hi", Direction: "high",
				Levels: []monitor.ThresholdLevel{{Level: 1, Value: 40}, {Level: 2, Value: 45}}}})
			if err != nil {
				t.Fatal(err)
			}
			s2.Deliver(ctx, "GW-001", "readings", msg(t0.Add(62*time.Second), `{"point": "TI-101", "value": 47}`))
			ev := e.sink.waitEvent(t, rules.KindThreshold, rules.Update)
			if ev.Level != 2 {
				t.Fatalf("update %+v", ev)
			}
		})
	})
}

func TestDeviceHealth(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{HealthTick: 20 * time.Millisecond})
		d, _, _, _ := e.device(t, s, "GW-001")
		if _, err := s.UpdateDevice(ctx, e.officerA, d.ID, monitor.Device{Code: d.Code, Name: d.Name, Category: d.Category, Kind: d.Kind, HeartbeatTimeoutS: 60}); err != nil {
			t.Fatal(err)
		}
		t0 := e.clock.Now()
		s.Deliver(ctx, "GW-001", "heartbeat", nil)
		e.sink.waitEvent(t, rules.KindOffline, rules.Clear)
		e.clock.Add(61 * time.Second)
		off := e.sink.waitEvent(t, rules.KindOffline, rules.Raise)
		if off.DeviceID != d.ID || !off.At.Equal(t0.Add(60*time.Second)) || !strings.Contains(off.Message, "已离线") {
			t.Fatalf("offline %+v", off)
		}
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if n := count(t, e.db, `SELECT COUNT(*) FROM device_status_log WHERE device_id = $1`, d.ID); n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("status log not written")
			}
		}
		e.clock.Add(59 * time.Second) // offline from t0+60 to t0+120
		h, err := s.DeviceHealth(ctx, e.townAdminA, d.ID, t0, t0.Add(120*time.Second))
		if err != nil || len(h.Changes) != 2 || math.Abs(h.OnlineRate-0.5) > 1e-6 {
			t.Fatalf("health %+v %v", h, err)
		}
		got, err := s.GetDevice(ctx, e.officerA, d.ID)
		if err != nil || got.Online {
			t.Fatalf("device still online: %+v %v", got, err)
		}
	})
}

func TestAnomalies(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		_, _, gas, _ := e.device(t, s, "GW-001")
		s.Deliver(ctx, "GW-001", "readings", msg(e.clock.Now(), `{"point": "GT-101", "value": 120}`)) // out of range 0–100
		e.sink.waitEvent(t, rules.KindQuality, rules.Raise)
		var page yingji.Page[monitor.Anomaly]
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			var err error
			if page, err = s.Anomalies(ctx, e.officerA, monitor.AnomalyFilter{PointID: gas.ID}, yingji.ListParams{}); err != nil {
				t.Fatal(err)
			}
			if page.Total > 0 {
				break
			}
		}
		if page.Total != 1 || page.Items[0].Kind != rules.CheckRange || page.Items[0].Value != 120 {
			t.Fatalf("anomalies %+v", page)
		}
		if p, _ := s.Anomalies(ctx, e.townAdminB, monitor.AnomalyFilter{}, yingji.ListParams{}); p.Total != 0 {
			t.Fatalf("other township sees anomalies %+v", p)
		}
	})
}

// TestManyRuleStatesSurviveRestart: more rule states than one save statement holds are saved
// and restored (the pending minimum durations of 1,100 points continue after a restart).
func TestManyRuleStatesSurviveRestart(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(t, monitor.Config{})
		const n = 1100
		items := make([]monitor.ImportItem, n)
		readings := make([]string, n)
		for i := range items {
			items[i] = monitor.ImportItem{
				Device: monitor.Device{Code: "GW-MANY", Name: "多点网关", EnterpriseID: e.entA.ID, Category: monitor.CategoryHazchem, Kind: "gateway"},
				Point: monitor.Point{Code: fmt.Sprintf("T-%d", i), Name: fmt.Sprintf("%d号温度", i), Kind: "temperature", Unit: "℃",
					Thresholds: []monitor.ThresholdRule{{ID: "hi", Direction: "high", Levels: []monitor.ThresholdLevel{{Level: 1, Value: 40}}, MinDurationS: 60}}},
			}
		}
		if _, err := s.ImportPoints(ctx, e.officerA, items); err != nil {
			t.Fatal(err)
		}
		t0 := e.clock.Now()
		for i := range readings {
			readings[i] = fmt.Sprintf(`{"point": "T-%d", "value": 45}`, i)
		}
		s.Deliver(ctx, "GW-MANY", "readings", msg(t0, readings...))
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got := count(t, e.db, `SELECT COUNT(*) FROM rule_states`); got < n {
			t.Fatalf("%d rule states saved, want %d", got, n)
		}
		e.clock.Add(61 * time.Second)
		s2 := e.service(t, monitor.Config{})
		for i := range readings {
			readings[i] = fmt.Sprintf(`{"point": "T-%d", "value": 46}`, i)
		}
		s2.Deliver(ctx, "GW-MANY", "readings", msg(t0.Add(61*time.Second), readings...))
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			raised := 0
			e.sink.mu.Lock()
			for _, ev := range e.sink.evs {
				if ev.Kind == rules.KindThreshold && ev.Action == rules.Raise {
					raised++
				}
			}
			e.sink.mu.Unlock()
			if raised == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d points raised after the restart", raised, n)
			}
		}
	})
}

package demo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

// ---- a week of readings, the alerts they raised, the devices' offline periods ----

// signal is a point's normal behaviour: a level, a daily swing and noise.
type signal struct {
	base, amp, noise float64
	period           time.Duration // of the swing; a day by default
	positive         bool          // gas and weather values stay above zero
}

var signals = map[string]signal{
	"LGSH-GW01/TI-101": {base: 32, amp: 4, noise: 0.25},
	"LGSH-GW01/LI-101": {base: 11.5, amp: 1.5, noise: 0.03, period: 11 * time.Hour},
	"LGSH-GW01/PI-101": {base: 0.85, amp: 0.08, noise: 0.006},
	"LGSH-GW01/GA-101": {base: 1.2, amp: 0.4, noise: 0.2, positive: true},
	"LJLJ-GW01/GT-201": {base: 0.12, amp: 0.05, noise: 0.02, positive: true},
	"LJLJ-GW01/TI-201": {base: 82, amp: 3, noise: 0.2},
	"LGYQ-GD01/GA-301": {base: 0.8, amp: 0.3, noise: 0.15, positive: true},
	"LXSD-ST01/WL-01":  {base: 116.2, amp: 0.6, noise: 0.01, period: 13 * time.Hour},
	"LXSD-ST01/RN-01":  {base: 0.3, amp: 0.2, noise: 0.06, positive: true},
	"LXSD-ST01/WS-01":  {base: 4, amp: 2, noise: 0.4, positive: true},
}

// handling is what a person did about an alert, some time after it was raised.
type handling struct {
	after    time.Duration
	user     string
	status   string // acknowledged, disposing, closed, false_alarm; "" for feedback only
	reason   string
	measures string
	feedback string
}

// episode is a value leaving its normal band (ramp up, hold, ramp down) that the rules turn
// into an alert, and how the alert was handled.
type episode struct {
	point            string // device/point code
	ago              time.Duration
	rise, hold, fall time.Duration
	peak             float64
	handle           []handling
}

// outage is a device that sent nothing for a while.
type outage struct {
	device string
	ago    time.Duration
	dur    time.Duration
	handle []handling
}

const (
	minute = time.Minute
	hour   = time.Hour
	oneDay = 24 * time.Hour
)

var episodes = []episode{
	{"LGSH-GW01/TI-101", 6*oneDay + 3*hour, 8 * minute, 20 * minute, 15 * minute, 84, []handling{
		{after: 7 * minute, user: "safety01", status: alert.StatusAcknowledged},
		{after: 11 * minute, user: "safety01", status: alert.StatusDisposing, measures: "开启储罐喷淋降温，降低进料量"},
		{after: 27 * minute, user: "safety01", status: alert.StatusClosed, reason: "喷淋降温后罐温恢复正常，原因为进料温度偏高"},
	}},
	{"LGSH-GW01/PI-101", 4*oneDay + 5*hour, 10 * minute, 6 * minute, 10 * minute, 1.75, []handling{
		{after: 6 * minute, user: "safety01", status: alert.StatusFalseAlarm, reason: "压力变送器校验时误触发，现场压力表读数正常"},
	}},
	{"LJLJ-GW01/GT-201", 3*oneDay + 2*hour, 6 * minute, 25 * minute, 15 * minute, 2.3, []handling{
		{after: 18 * minute, user: "township01", status: alert.StatusAcknowledged},
		{after: 21 * minute, user: "township01", feedback: "已电话通知企业值班长到场处置"},
		{after: 26 * minute, user: "township01", status: alert.StatusDisposing, measures: "启动事故氯吸收装置，关闭液氯储罐出口阀"},
		{after: 54 * minute, user: "township01", status: alert.StatusClosed, reason: "泄漏点（阀门填料）已紧固，现场氯气浓度恢复正常"},
	}},
	{"LXSD-ST01/WL-01", 4*oneDay + 8*hour, 3 * hour, 2 * hour, 4 * hour, 120.1, []handling{
		{after: 10 * minute, user: "admin", status: alert.StatusAcknowledged},
		{after: 15 * minute, user: "admin", feedback: "已通知临溪镇和水电站值班人员加密巡查"},
		{after: 70 * minute, user: "admin", status: alert.StatusDisposing, measures: "开启泄洪闸降低库区水位，通知下游群众注意安全"},
		{after: 8 * hour, user: "admin", status: alert.StatusClosed, reason: "泄洪后库区水位回落至警戒水位以下"},
	}},
	// Still open: three new alerts at 临港石化 that wait for safety01 (with the gateway's outage
	// below; 1号储罐温度 is left free for the README's example) ...
	{"LGSH-GW01/LI-101", 20 * hour, 15 * minute, 20 * minute, 20 * minute, 16.8, nil},
	{"LGSH-GW01/PI-101", 9 * hour, 8 * minute, 10 * minute, 10 * minute, 2.12, nil},
	// ... one acknowledged and one being disposed of at 临江氯碱, handled by the township.
	{"LJLJ-GW01/GT-201", 5 * hour, 8 * minute, 10 * minute, 10 * minute, 1.4, []handling{
		{after: 20 * minute, user: "township01", status: alert.StatusAcknowledged},
		{after: 22 * minute, user: "township01", feedback: "企业设备员正在排查氯气检测点附近管线"},
	}},
	{"LJLJ-GW01/TI-201", 3 * hour, 6 * minute, 12 * minute, 12 * minute, 96, []handling{
		{after: 6 * minute, user: "township01", status: alert.StatusAcknowledged},
		{after: 10 * minute, user: "township01", status: alert.StatusDisposing, measures: "降低电解电流负荷，加大冷却水量"},
	}},
	// The chlorine leak that became the demo's past incident (history_incidents.go).
	chainEpisode,
}

// outages: handling, as for episodes, counts from the offline alert (the heartbeat timeout
// after the last message).
var outages = []outage{
	{"LGSH-GW01", 30 * hour, 40 * minute, nil}, // nobody acknowledged it
	{"LJLJ-GW01", 6*oneDay + 6*hour, 35 * minute, []handling{
		{after: 15 * minute, user: "township01", status: alert.StatusAcknowledged},
		{after: 43 * minute, user: "township01", status: alert.StatusClosed, reason: "厂区检修停电导致网关离线，已恢复供电"},
	}},
	{"LGYQ-GD01", 2*oneDay + 4*hour, 50 * minute, []handling{
		{after: 65 * minute, user: "township01", status: alert.StatusClosed, reason: "充装站例行断电检修，网关已恢复上报"},
	}},
	{"LXSD-ST01", 5*oneDay + 2*hour, 2 * hour, []handling{
		{after: 175 * minute, user: "admin", status: alert.StatusClosed, reason: "水电站通信光缆被施工挖断，已抢修恢复"},
	}},
}

type histPoint struct {
	code string // device/point
	p    monitor.Point
	rp   rules.Point
	st   rules.PointState
	sig  signal
	ar   float64
}

type histDevice struct {
	d      monitor.Device
	points []*histPoint
	offset time.Duration
	hist   monitor.DeviceHistory
}

// monitoring generates the readings, evaluates them with the rule engine and the heartbeat
// tracker, stores them, and schedules the alert events they caused and their handling.
func (s *sim) monitoring() error {
	ctx, mon := s.ctx, s.h.Monitor
	devs, err := mon.ListDevices(ctx, yingji.System, monitor.DeviceFilter{}, yingji.ListParams{PageSize: 100, Sort: "code"})
	if err != nil {
		return err
	}
	slices.SortFunc(devs.Items, func(a, b monitor.Device) int { return strings.Compare(a.Code, b.Code) })
	var list []*histDevice
	byCode := map[string]*histDevice{}
	for i, d := range devs.Items {
		hd := &histDevice{d: d, offset: time.Duration(7*i+3) * time.Second}
		pts, err := mon.ListPoints(ctx, yingji.System, monitor.PointFilter{DeviceID: d.ID}, yingji.ListParams{PageSize: 100, Sort: "code"})
		if err != nil {
			return err
		}
		slices.SortFunc(pts.Items, func(a, b monitor.Point) int { return strings.Compare(a.Code, b.Code) })
		for _, p := range pts.Items {
			code := d.Code + "/" + p.Code
			sig, ok := signals[code]
			if !ok {
				continue // not a demo point
			}
			hd.points = append(hd.points, &histPoint{code: code, p: p, rp: p.RulePoint(), sig: sig})
		}
		if len(hd.points) > 0 {
			list = append(list, hd)
			byCode[d.Code] = hd
		}
	}
	if len(list) == 0 {
		return nil
	}
	tracker := rules.NewTracker(s.clock)
	tracker.Label = func(id string) string {
		for _, hd := range list {
			if hd.d.ID == id {
				return hd.d.Name + "（" + hd.d.Code + "）"
			}
		}
		return id
	}
	end := s.end.Truncate(time.Minute).Add(-time.Minute)
	start := end.Add(-ReadingDays * oneDay)
	down := func(hd *histDevice, t time.Time) bool {
		for _, o := range outages {
			from := s.end.Add(-o.ago).Truncate(time.Minute)
			if o.device == hd.d.Code && !t.Before(from) && t.Before(from.Add(o.dur)) {
				return true
			}
		}
		return false
	}
	t0 := time.Now()
	var readings []rules.Reading
	var events []rules.Event
	for t := start; !t.After(end); t = t.Add(time.Minute) {
		for _, hd := range list {
			at := t.Add(hd.offset)
			if at.After(end) || down(hd, at) {
				continue
			}
			if hd.hist.LastSeen.IsZero() {
				hd.hist.Changes = append(hd.hist.Changes, monitor.StatusChange{Online: true, At: at, Reason: "message"})
			}
			tracker.Seen(hd.d.ID, time.Duration(hd.d.HeartbeatTimeoutS)*time.Second, at)
			hd.hist.LastSeen = at
			if !s.dense(hd, t, end) && t.Minute()%5 != 0 {
				continue // a heartbeat only
			}
			for _, hp := range hd.points {
				v := s.value(hp, at)
				r := rules.Reading{PointID: hp.p.ID, At: at, Value: v}
				readings = append(readings, r)
				for _, ev := range rules.Evaluate(&hp.rp, &hp.st, r) {
					if ev.Kind == rules.KindQuality {
						s.stats.QualityEvents++
						continue
					}
					events = append(events, ev)
				}
			}
		}
		for _, ev := range tracker.Due(t.Add(time.Minute - time.Nanosecond)) {
			hd := list[0]
			for _, x := range list {
				if x.d.ID == ev.DeviceID {
					hd = x
				}
			}
			online := ev.Action == rules.Clear
			reason := "heartbeat_timeout"
			if online {
				reason = "message"
			}
			hd.hist.Changes = append(hd.hist.Changes, monitor.StatusChange{Online: online, At: ev.At.UTC(), Reason: reason})
			events = append(events, ev)
		}
	}
	s.stats.Readings = len(readings)

	h := monitor.History{Readings: readings, States: map[string]rules.PointState{}}
	for _, hd := range list {
		hd.hist.DeviceID, hd.hist.Online = hd.d.ID, true
		if n := len(hd.hist.Changes); n > 0 {
			hd.hist.Online = hd.hist.Changes[n-1].Online
		}
		hd.hist.Since = start.Add(-time.Hour)
		h.Devices = append(h.Devices, hd.hist)
		for _, hp := range hd.points {
			h.States[hp.p.ID] = hp.st
		}
	}
	s.took["readings:generate"] = time.Since(t0)
	t1 := time.Now()
	if err := mon.ImportHistory(ctx, h); err != nil {
		return err
	}
	s.took["readings:store"] = time.Since(t1)

	// 临港化工园区街道 and 江南区 name their alert receivers (the others use the defaults by
	// role): the township's and the district's administrators, in the app and by SMS.
	s.at(s.day(HistoryDays).Add(15*time.Hour), "alert receivers", func() error {
		e := s.ents[0]
		units := strings.Split(strings.Trim(e.OrgPath, "/"), "/")
		if len(units) < 3 {
			return fmt.Errorf("%w: org path %s", errDesign, e.OrgPath)
		}
		for _, r := range []alert.Receiver{
			{Tier: alert.TierTownship, OrgUnitID: e.TownshipID, UserID: s.users["township01"].UserID},
			{Tier: alert.TierCounty, OrgUnitID: units[1], UserID: s.users["district01"].UserID},
		} {
			r.Channels, r.MinLevel, r.Enabled = []string{alert.ChannelApp, alert.ChannelSMS}, 1, true
			if _, err := s.alerts.SaveReceiver(s.ctx, s.users["admin"], r); err != nil {
				return err
			}
		}
		return nil
	})
	// The events reach the alert service when they happened, as the monitor hands them over.
	for _, ev := range events {
		ev := ev
		s.at(ev.At.UTC(), "alert event", func() error { return s.alerts.Apply(s.ctx, []rules.Event{ev}) })
	}
	for _, ep := range episodes {
		hd := byCode[ep.point[:len("LGSH-GW01")]]
		if hd == nil {
			return fmt.Errorf("%w: device of %s", errDesign, ep.point)
		}
		var pid string
		for _, hp := range hd.points {
			if hp.code == ep.point {
				pid = hp.p.ID
			}
		}
		from := s.end.Add(-ep.ago).Truncate(time.Minute)
		if err := s.handle(events, from, from.Add(ep.rise+ep.hold+ep.fall), hd.d.ID, pid, rules.KindThreshold, ep.handle); err != nil {
			return err
		}
	}
	for _, o := range outages {
		hd := byCode[o.device]
		if hd == nil {
			return fmt.Errorf("%w: device %s", errDesign, o.device)
		}
		from := s.end.Add(-o.ago).Truncate(time.Minute)
		if err := s.handle(events, from, from.Add(o.dur+time.Hour), hd.d.ID, "", rules.KindOffline, o.handle); err != nil {
			return err
		}
	}
	// The leak's alert becomes the past incident.
	hd := byCode[chainEpisode.point[:len("LJLJ-GW01")]]
	if hd == nil {
		return fmt.Errorf("%w: device of %s", errDesign, chainEpisode.point)
	}
	for _, hp := range hd.points {
		if hp.code == chainEpisode.point {
			return s.incidentChain(events, hd.d.ID, hp.p.ID)
		}
	}
	return fmt.Errorf("%w: point %s", errDesign, chainEpisode.point)
}

// dense reports whether a device's history has a reading a minute at t: over the last day and
// around its alerts and outages. Before, it has one every five minutes (and a heartbeat a
// minute): the week's charts read hour rollups anyway, and the history loads in a second.
func (s *sim) dense(hd *histDevice, t, end time.Time) bool {
	if t.After(end.Add(-oneDay)) {
		return true
	}
	near := func(from time.Time, d time.Duration) bool {
		return !t.Before(from.Add(-30*minute)) && t.Before(from.Add(d+30*minute))
	}
	for _, ep := range episodes {
		if strings.HasPrefix(ep.point, hd.d.Code+"/") && near(s.end.Add(-ep.ago).Truncate(time.Minute), ep.rise+ep.hold+ep.fall) {
			return true
		}
	}
	for _, o := range outages {
		if o.device == hd.d.Code && near(s.end.Add(-o.ago).Truncate(time.Minute), o.dur) {
			return true
		}
	}
	return false
}

// value is a point's reading at t: its normal signal plus the episodes under way.
func (s *sim) value(hp *histPoint, t time.Time) float64 {
	sg := hp.sig
	hp.ar = 0.85*hp.ar + sg.noise*s.rnd.NormFloat64()
	normal := normalValue(sg, t, hp.ar) // the same curve the live Feeder continues
	v := normal
	for _, ep := range episodes {
		if ep.point != hp.code {
			continue
		}
		from := s.end.Add(-ep.ago).Truncate(time.Minute)
		d := t.Sub(from)
		var w float64
		switch {
		case d < 0 || d >= ep.rise+ep.hold+ep.fall:
			continue
		case d < ep.rise:
			w = float64(d) / float64(ep.rise)
		case d < ep.rise+ep.hold:
			w = 1
		default:
			w = 1 - float64(d-ep.rise-ep.hold)/float64(ep.fall)
		}
		v = normal + w*(ep.peak-normal)
	}
	if hp.p.RangeMin != nil {
		v = math.Max(v, *hp.p.RangeMin)
	}
	if hp.p.RangeMax != nil {
		v = math.Min(v, *hp.p.RangeMax)
	}
	return math.Round(v*1000) / 1000
}

// handle schedules what people did about the alert raised on a device (and point) between
// from and to, each step some time after the alert was raised.
func (s *sim) handle(events []rules.Event, from, to time.Time, deviceID, pointID string, kind rules.Kind, steps []handling) error {
	raised, err := raisedAt(events, from, to, deviceID, pointID, kind)
	if err != nil {
		return err
	}
	for _, h := range steps {
		h := h
		kind := string(kind)
		s.at(raised.Add(h.after).Truncate(time.Second), "handle alert", func() error {
			id, err := s.openAlertID(deviceID, pointID, kind)
			if err != nil {
				return err
			}
			a := s.users[h.user]
			if h.feedback != "" {
				_, err := s.alerts.AddAction(s.ctx, a, id, "feedback", h.feedback)
				return err
			}
			_, err = s.alerts.Handle(s.ctx, a, id, alert.HandleInput{Status: h.status, Reason: h.reason, Measures: h.measures})
			return err
		})
	}
	return nil
}

// openAlertID is the open alert of kind of a device (and point).
func (s *sim) openAlertID(deviceID, pointID, kind string) (string, error) {
	var id string
	err := s.h.DB.QueryRow(s.ctx, `SELECT id FROM alerts WHERE device_id = $1 AND point_id = $2 AND kind = $3
		AND status NOT IN ('closed', 'false_alarm')`, deviceID, pointID, kind).Scan(&id)
	if errors.Is(err, yingji.ErrNotFound) {
		return "", fmt.Errorf("%w: no open %s alert of device %s point %s", errDesign, kind, deviceID, pointID)
	}
	return id, err
}

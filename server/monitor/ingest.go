package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

// Ingest: the payload devices send over MQTT (topic kind "readings") and HTTP:
//
//	{"ts": "2026-11-28T08:00:00+08:00" | 1795824000000 (unix ms, optional, default now),
//	 "readings": [{"point": "TI-101", "value": 35.2, "unit": "℃" (optional), "ts": ... (optional)}]}
//
// A reading's time is its own ts, else the message's, else the time of arrival. Readings are
// checked one by one; the good ones of a message are accepted even when others are not.

// Reject reasons, counted per device (ingest_rejects, metric yingji_monitor_ingest_rejects_total).
const (
	RejectMalformed      = "malformed"       // not JSON of the expected shape
	RejectUnknownDevice  = "unknown_device"  // no device with that code
	RejectDeviceDisabled = "device_disabled" // the device is disabled
	RejectAuth           = "auth_failed"     // wrong device secret
	RejectUnknownPoint   = "unknown_point"   // the device has no point with that code
	RejectPointDisabled  = "point_disabled"  // the point is disabled
	RejectWrongUnit      = "wrong_unit"      // the reading's unit differs from the point's
	RejectBadValue       = "bad_value"       // missing, not a number, NaN or ±Inf
	RejectBadTime        = "bad_time"        // ts neither RFC 3339 nor unix milliseconds
	RejectFutureTime     = "future_time"     // later than now + Config.MaxFuture
	RejectStaleTime      = "stale_time"      // earlier than now - Config.MaxAge
	RejectOverloaded     = "overloaded"      // the storage queue stayed full (dropped)
	RejectShuttingDown   = "shutting_down"   // arrived while the service was closing
)

var rejectMessages = map[string]string{
	RejectMalformed:      "消息格式错误：应为包含 readings 数组的 JSON 对象",
	RejectUnknownDevice:  "设备不存在",
	RejectDeviceDisabled: "设备已停用",
	RejectAuth:           "设备编码或密钥错误",
	RejectUnknownPoint:   "该设备没有此监测点",
	RejectPointDisabled:  "监测点已停用",
	RejectWrongUnit:      "单位与监测点的单位不一致",
	RejectBadValue:       "读数缺失或不是有限数字",
	RejectBadTime:        "时间格式错误：应为 RFC 3339 时间或 Unix 毫秒数",
	RejectFutureTime:     "时间晚于服务器当前时间过多",
	RejectStaleTime:      "时间早于允许的最早时间",
	RejectOverloaded:     "服务器繁忙，数据未能保存，请稍后重发",
	RejectShuttingDown:   "服务器正在停止，请稍后重发",
}

// RejectReasons lists every reject reason with its Chinese description.
func RejectReasons() map[string]string {
	out := make(map[string]string, len(rejectMessages))
	for k, v := range rejectMessages {
		out[k] = v
	}
	return out
}

// IngestResult answers an HTTP batch: how many readings were accepted and rejected, and why.
type IngestResult struct {
	Accepted int             `json:"accepted"`
	Rejected int             `json:"rejected"`
	Rejects  []ReadingReject `json:"rejects"`
}

// ReadingReject is one refused reading (Reading -1: the whole message).
type ReadingReject struct {
	Message int    `json:"message"`
	Reading int    `json:"reading"`
	Point   string `json:"point,omitempty"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
}

// jsonNum is a reading's value: any JSON value, judged per reading.
type jsonNum struct {
	v  float64
	ok bool
}

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	n.v, n.ok = v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	return nil
}

// jsonTime is a timestamp: an RFC 3339 string or unix milliseconds.
type jsonTime struct {
	t   time.Time
	set bool
	bad bool
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	t.set = true
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			t.bad = true
			return nil
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		// Judged like Unix milliseconds, which cannot be negative: not before 1970.
		t.t, t.bad = v, err != nil || v.Before(time.Unix(0, 0))
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(ms) || ms < 0 || ms > 1e15 { // Unix ms: from 1970 to year 33658
		t.bad = true
		return nil
	}
	t.t = time.UnixMilli(int64(ms))
	return nil
}

type inReading struct {
	Point string   `json:"point"`
	Value jsonNum  `json:"value"`
	Unit  string   `json:"unit"`
	TS    jsonTime `json:"ts"`
}

type inMessage struct {
	TS       jsonTime    `json:"ts"`
	Readings []inReading `json:"readings"`
}

type inBatch struct {
	TS       jsonTime    `json:"ts"`
	Readings []inReading `json:"readings"`
	Messages []inMessage `json:"messages"`
}

// row is one reading on its way to storage.
type row struct {
	point string
	ts    int64 // unix ms
	value float64
}

// Deliver takes a message a device published (kind "readings" or "heartbeat"); it implements
// the MQTT bridge's sink. Every message marks the device seen. It returns once the readings
// are validated, evaluated and queued for storage; it waits only when the storage queue is
// full (at most Config.EnqueueWait).
func (s *Service) Deliver(ctx context.Context, deviceCode, kind string, payload []byte) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed.Load() || !s.started.Load() {
		s.reject(deviceCode, RejectShuttingDown, "", 1)
		return
	}
	dev, reason := s.device(deviceCode)
	if reason != "" {
		s.reject(deviceCode, reason, "", 1)
		return
	}
	now := s.Now()
	s.markSeen(dev, now)
	if kind == "heartbeat" {
		return
	}
	msgs, err := decodePayload(payload)
	if err != nil {
		s.reject(deviceCode, RejectMalformed, err.Error(), 1)
		return
	}
	for i := range msgs {
		s.ingest(ctx, dev, &msgs[i], now, nil, i)
	}
}

// decodePayload is the one decoder of the readings payload, MQTT's and HTTP's: one JSON
// object, either a message {"ts", "readings"} or a batch {"messages": [...]} (a message given
// beside "messages" comes first). Anything after the object is malformed. Values and times
// are judged per reading later (jsonNum, jsonTime), so one bad reading never spoils the rest.
func decodePayload(payload []byte) ([]inMessage, error) {
	var b inBatch
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&b); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	msgs := b.Messages
	if len(b.Readings) > 0 || b.TS.set || msgs == nil {
		msgs = append([]inMessage{{TS: b.TS, Readings: b.Readings}}, msgs...)
	}
	return msgs, nil
}

var errTrailing = errors.New("trailing data after the JSON object")

// AuthDevice checks a device's code and secret; it implements the MQTT broker's
// authentication. A failure is counted as a reject of the device.
func (s *Service) AuthDevice(_ context.Context, code, secret string) bool {
	dev, reason := s.device(code)
	if reason == "" && !secretMatches(secret, dev.dev.secretHash) {
		reason = RejectAuth
	}
	if reason != "" {
		s.reject(code, reason, "", 1)
		return false
	}
	return true
}

// IngestHTTP handles the HTTP batch endpoint: the device authenticates with its code and
// secret; body is one message or {"messages": [...]}. A wrong code or secret is EUNAUTHORIZED;
// a body that is not JSON of that shape is EINVALID; otherwise the answer counts the accepted
// and rejected readings.
func (s *Service) IngestHTTP(ctx context.Context, code, secret string, body []byte) (IngestResult, error) {
	if !s.AuthDevice(ctx, code, secret) {
		return IngestResult{}, yingji.Errorf(yingji.EUNAUTHORIZED, "monitor.device_auth_failed", "设备认证失败：设备编码或密钥错误，或设备已停用")
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed.Load() || !s.started.Load() {
		return IngestResult{}, yingji.Errorf(yingji.EINTERNAL, "monitor.closed", "监测服务未运行")
	}
	dev, reason := s.device(code)
	if reason != "" {
		return IngestResult{}, yingji.Errorf(yingji.EUNAUTHORIZED, "monitor.device_auth_failed", "设备认证失败：%s", rejectMessages[reason])
	}
	now := s.Now()
	s.markSeen(dev, now)
	msgs, err := decodePayload(body)
	if err != nil {
		s.reject(code, RejectMalformed, err.Error(), 1)
		return IngestResult{}, yingji.Errorf(yingji.EINVALID, "monitor.bad_payload", "%s", rejectMessages[RejectMalformed])
	}
	res := IngestResult{Rejects: []ReadingReject{}}
	for i := range msgs {
		s.ingest(ctx, dev, &msgs[i], now, &res, i)
	}
	return res, nil
}

// device finds an enabled device by code.
func (s *Service) device(code string) (*devEntry, string) {
	d := s.table.Load().byCode[code]
	if d == nil {
		s.reloadOnMiss()
		d = s.table.Load().byCode[code]
	}
	switch {
	case d == nil:
		return nil, RejectUnknownDevice
	case d.dev.Disabled:
		return nil, RejectDeviceDisabled
	}
	return d, ""
}

// missReloadEvery bounds the reloads an unknown device or point causes.
const missReloadEvery = 100 * time.Millisecond

// reloadOnMiss reloads the device table when a message names a device or point this instance
// does not know (it may have been created through another instance a moment ago), at most
// every missReloadEvery; a message arriving meanwhile waits for a reload in progress. Callers
// look the device up again afterwards.
func (s *Service) reloadOnMiss() {
	now := time.Now().UnixNano()
	last := s.missAt.Load()
	if now-last < int64(missReloadEvery) || !s.missAt.CompareAndSwap(last, now) {
		s.reload.Lock() // wait for a reload in progress, if any
		s.reload.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.reloadTable(ctx, false); err != nil {
		s.log.Warn("monitor: reload for an unknown device", "err", err)
	}
}

// ingest validates, evaluates and queues one message's readings; res, when set, collects the
// outcome per reading.
func (s *Service) ingest(ctx context.Context, dev *devEntry, m *inMessage, now time.Time, res *IngestResult, mi int) {
	code := dev.dev.Code
	fail := func(ri int, point, reason string) {
		s.reject(code, reason, point, 1)
		if res != nil {
			res.Rejected++
			res.Rejects = append(res.Rejects, ReadingReject{Message: mi, Reading: ri, Point: point, Reason: reason, Error: rejectMessages[reason]})
		}
	}
	if m.TS.bad {
		for i, r := range m.Readings {
			fail(i, r.Point, RejectBadTime)
		}
		return
	}
	type accepted struct {
		rt *pointRT
		r  rules.Reading
	}
	var one [8]accepted
	acc := one[:0]
	dups := 0
	rows := make([]row, 0, len(m.Readings))
	earliest, latest := now.Add(-s.cfg.MaxAge), now.Add(s.cfg.MaxFuture)
	for i := range m.Readings {
		r := &m.Readings[i]
		rt := dev.points[r.Point]
		if rt == nil {
			s.reloadOnMiss()
			if nd := s.table.Load().byCode[code]; nd != nil {
				dev = nd
				rt = dev.points[r.Point]
			}
		}
		if rt == nil {
			fail(i, r.Point, RejectUnknownPoint)
			continue
		}
		def := rt.def.Load()
		if def.disabled {
			fail(i, r.Point, RejectPointDisabled)
			continue
		}
		if r.Unit != "" && r.Unit != def.unit && NormalizeUnit(r.Unit) != def.unit {
			fail(i, r.Point, RejectWrongUnit)
			continue
		}
		if !r.Value.ok {
			fail(i, r.Point, RejectBadValue)
			continue
		}
		at := now
		switch {
		case r.TS.bad:
			fail(i, r.Point, RejectBadTime)
			continue
		case r.TS.set:
			at = r.TS.t
		case m.TS.set:
			at = m.TS.t
		}
		if at.After(latest) {
			fail(i, r.Point, RejectFutureTime)
			continue
		}
		if at.Before(earliest) {
			fail(i, r.Point, RejectStaleTime)
			continue
		}
		at = at.UTC().Truncate(time.Millisecond)
		rt.mu.Lock()
		dup := rt.seen(at.UnixMilli())
		rt.mu.Unlock()
		if dup { // sent again: stored and evaluated once; answered as accepted
			s.metrics.duplicates.Inc()
			dups++
			continue
		}
		acc = append(acc, accepted{rt, rules.Reading{PointID: rt.id, At: at, Value: r.Value.v}})
		rows = append(rows, row{point: rt.id, ts: at.UnixMilli(), value: r.Value.v})
	}
	if res != nil {
		res.Accepted += dups
	}
	if len(rows) == 0 {
		return
	}
	if reason := s.writer.add(ctx, rows); reason != "" {
		for i := range acc {
			acc[i].rt.mu.Lock()
			acc[i].rt.forget(acc[i].r.At.UnixMilli()) // not stored: the device may send it again
			acc[i].rt.mu.Unlock()
			fail(-1, rt0(acc[i].rt), reason)
		}
		return
	}
	s.metrics.accepted.Add(float64(len(rows)))
	if res != nil {
		res.Accepted += len(rows)
	}
	for _, a := range acc {
		def := a.rt.def.Load()
		a.rt.mu.Lock()
		evs := rules.Evaluate(&def.engine, &a.rt.state, a.r)
		if !a.r.At.Before(a.rt.latest.At) {
			a.rt.latest = Latest{Value: a.r.Value, At: a.r.At}
		}
		a.rt.dirty = true
		a.rt.mu.Unlock()
		for _, ev := range evs {
			s.sendEvent(ev)
		}
	}
}

func rt0(rt *pointRT) string {
	if d := rt.def.Load(); d != nil {
		return d.code
	}
	return ""
}

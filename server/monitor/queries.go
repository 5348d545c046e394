package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Resolutions of a reading series.
const (
	ResolutionAuto   = "auto"
	ResolutionRaw    = "raw"
	ResolutionMinute = "minute"
	ResolutionHour   = "hour"
)

// Series bounds.
const (
	DefaultSeriesPoints = 1000
	MaxSeriesPoints     = 10000
)

// Series is a point's readings over a time range: raw, or minute/hour rollups for charts.
type Series struct {
	PointID    string        `json:"point_id"`
	Unit       string        `json:"unit"`
	Resolution string        `json:"resolution"`
	From       time.Time     `json:"from"`
	To         time.Time     `json:"to"`
	Truncated  bool          `json:"truncated"` // more data than max_points: the newest were left out
	Items      []SeriesPoint `json:"items"`
}

// SeriesPoint is a raw reading (N 1, Value = Min = Max = Last) or a bucket's aggregate (Value
// is the mean).
type SeriesPoint struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Last  float64   `json:"last"`
	N     int64     `json:"n"`
}

// Readings returns a point's readings in [from, to). Resolution auto picks raw readings when
// the range holds at most maxPoints samples at the point's sampling period, else minute
// rollups when it spans at most maxPoints minutes, else hour rollups.
func (s *Service) Readings(ctx context.Context, a *yingji.Actor, pointID string, from, to time.Time, resolution string, maxPoints int) (Series, error) {
	p, err := s.GetPoint(ctx, a, pointID)
	if err != nil {
		return Series{}, err
	}
	if maxPoints <= 0 {
		maxPoints = DefaultSeriesPoints
	}
	if maxPoints > MaxSeriesPoints {
		return Series{}, yingji.Invalid("request.bad_query", "max_points", "max_points 不能超过 %d", MaxSeriesPoints)
	}
	if !to.After(from) {
		return Series{}, yingji.Invalid("request.bad_query", "to", "结束时间应晚于开始时间")
	}
	span := to.Sub(from)
	switch resolution {
	case "", ResolutionAuto:
		switch {
		case span/time.Duration(p.SamplingPeriodS)/time.Second <= time.Duration(maxPoints):
			resolution = ResolutionRaw
		case span/time.Minute <= time.Duration(maxPoints):
			resolution = ResolutionMinute
		default:
			resolution = ResolutionHour
		}
	case ResolutionRaw, ResolutionMinute, ResolutionHour:
	default:
		return Series{}, yingji.Invalid("request.bad_query", "resolution", "resolution 应为 auto、raw、minute 或 hour")
	}
	out := Series{PointID: p.ID, Unit: p.Unit, Resolution: resolution, From: from.UTC(), To: to.UTC(), Items: []SeriesPoint{}}
	var rows sqldb.Rows
	if resolution == ResolutionRaw {
		rows, err = s.db.Query(ctx, `SELECT ts, value FROM readings WHERE point_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4`,
			p.ID, from.UnixMilli(), to.UnixMilli(), maxPoints+1)
	} else {
		size := int64(60_000)
		if resolution == ResolutionHour {
			size = 3_600_000
		}
		rows, err = s.db.Query(ctx, `SELECT bucket, n, sum, min, max, last FROM reading_rollups
			WHERE point_id = $1 AND resolution = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket LIMIT $5`,
			p.ID, resolution, floorDiv(from.UnixMilli(), size)*size, to.UnixMilli(), maxPoints+1)
	}
	if err != nil {
		return Series{}, fmt.Errorf("monitor: readings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms int64
		var sp SeriesPoint
		if resolution == ResolutionRaw {
			err = rows.Scan(&ms, &sp.Value)
			sp.Min, sp.Max, sp.Last, sp.N = sp.Value, sp.Value, sp.Value, 1
		} else {
			var sum float64
			err = rows.Scan(&ms, &sp.N, &sum, &sp.Min, &sp.Max, &sp.Last)
			sp.Value = sum / float64(max(sp.N, 1))
		}
		if err != nil {
			return Series{}, fmt.Errorf("monitor: readings: %w", err)
		}
		sp.At = time.UnixMilli(ms).UTC()
		if len(out.Items) == maxPoints {
			out.Truncated = true
			break
		}
		out.Items = append(out.Items, sp)
	}
	return out, rows.Err()
}

// StatusChange is one online/offline change of a device.
type StatusChange struct {
	Online bool      `json:"online"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // heartbeat_timeout | message
}

// DeviceHealth is a device's online history over a period and its online rate (online time /
// total time; time before the device existed does not count, nor time before its first
// message as online).
type DeviceHealth struct {
	DeviceID      string         `json:"device_id"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	OnlineSeconds float64        `json:"online_seconds"`
	TotalSeconds  float64        `json:"total_seconds"`
	OnlineRate    float64        `json:"online_rate"`
	Changes       []StatusChange `json:"changes"`
}

// DeviceHealth returns a device's status changes in [from, to) and its online rate.
func (s *Service) DeviceHealth(ctx context.Context, a *yingji.Actor, deviceID string, from, to time.Time) (DeviceHealth, error) {
	d, err := s.GetDevice(ctx, a, deviceID)
	if err != nil {
		return DeviceHealth{}, err
	}
	if now := s.Now(); to.After(now) {
		to = now
	}
	if from.Before(d.CreatedAt) {
		from = d.CreatedAt
	}
	h := DeviceHealth{DeviceID: d.ID, From: from.UTC(), To: to.UTC(), Changes: []StatusChange{}}
	if !to.After(from) {
		return h, nil
	}
	online := false
	var before StatusChange
	err = s.db.QueryRow(ctx, `SELECT online, at, reason FROM device_status_log WHERE device_id = $1 AND at < $2 ORDER BY at DESC LIMIT 1`,
		d.ID, from.UTC()).Scan(&before.Online, &before.At, &before.Reason)
	if err == nil {
		online = before.Online
	}
	rows, err := s.db.Query(ctx, `SELECT online, at, reason FROM device_status_log WHERE device_id = $1 AND at >= $2 AND at < $3 ORDER BY at`,
		d.ID, from.UTC(), to.UTC())
	h.Changes, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (StatusChange, error) {
		var c StatusChange
		err := r.Scan(&c.Online, &c.At, &c.Reason)
		c.At = c.At.UTC()
		return c, err
	})
	if err != nil {
		return DeviceHealth{}, fmt.Errorf("monitor: device health: %w", err)
	}
	var on time.Duration
	at := from
	for _, c := range h.Changes {
		if online {
			on += c.At.Sub(at)
		}
		online, at = c.Online, c.At
	}
	if online {
		on += to.Sub(at)
	}
	h.OnlineSeconds, h.TotalSeconds = on.Seconds(), to.Sub(from).Seconds()
	if h.TotalSeconds > 0 {
		h.OnlineRate = h.OnlineSeconds / h.TotalSeconds
	}
	return h, nil
}

// Anomaly is a recorded data-quality anomaly.
type Anomaly struct {
	ID       string    `json:"id"`
	DeviceID string    `json:"device_id"`
	PointID  string    `json:"point_id"`
	Kind     string    `json:"kind"` // range | stuck | jump | fluctuation
	Value    float64   `json:"value"`
	Message  string    `json:"message"`
	At       time.Time `json:"at"`
}

// AnomalyFilter narrows the anomaly list (sorted newest first).
type AnomalyFilter struct {
	EnterpriseID, DeviceID, PointID, Kind string
	From, To                              *time.Time
}

// Anomalies lists data-quality anomalies of the devices the actor may read.
func (s *Service) Anomalies(ctx context.Context, a *yingji.Actor, f AnomalyFilter, lp yingji.ListParams) (yingji.Page[Anomaly], error) {
	page := yingji.Page[Anomaly]{Items: []Anomaly{}}
	if err := s.require(ctx, a, yingji.PermMonitorRead, "monitor_anomaly.list", ObjectDevice, ""); err != nil {
		return page, err
	}
	scope := a.ReadScope()
	if scope.EnterpriseID == "" && scope.OrgPrefix == "" {
		return page, nil
	}
	lp.Normalize()
	var w sqldb.Where
	if scope.EnterpriseID != "" {
		w.Add("d.enterprise_id = ?", scope.EnterpriseID)
	}
	w.Prefix("d.org_path", scope.OrgPrefix)
	if f.EnterpriseID != "" {
		w.Add("d.enterprise_id = ?", f.EnterpriseID)
	}
	if f.DeviceID != "" {
		w.Add("x.device_id = ?", f.DeviceID)
	}
	if f.PointID != "" {
		w.Add("x.point_id = ?", f.PointID)
	}
	if f.Kind != "" {
		w.Add("x.kind = ?", f.Kind)
	}
	if f.From != nil {
		w.Add("x.at >= ?", f.From.UTC())
	}
	if f.To != nil {
		w.Add("x.at < ?", f.To.UTC())
	}
	from := ` FROM anomalies x JOIN devices d ON d.id = x.device_id`
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+from+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("monitor: count anomalies: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT x.id, x.device_id, x.point_id, x.kind, x.value, x.message, x.at`+from+w.SQL()+
		` ORDER BY x.at DESC, x.id DESC LIMIT `+w.Next(lp.PageSize)+` OFFSET `+w.Next(lp.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Anomaly, error) {
		var x Anomaly
		err := r.Scan(&x.ID, &x.DeviceID, &x.PointID, &x.Kind, &x.Value, &x.Message, &x.At)
		x.At = x.At.UTC()
		return x, err
	})
	if err != nil {
		return page, fmt.Errorf("monitor: list anomalies: %w", err)
	}
	return page, nil
}

// RejectCount is the number of refused messages or readings of a device for one reason.
type RejectCount struct {
	Device     string    `json:"device"`    // the code the device sent
	DeviceID   string    `json:"device_id"` // "" for an unknown code
	Reason     string    `json:"reason"`
	ReasonText string    `json:"reason_text"`
	Count      int64     `json:"count"`
	LastAt     time.Time `json:"last_at"`
	LastError  string    `json:"last_error"`
}

// Rejects lists the ingest reject counters of the devices the actor may read (counted up to
// the last flush, at most Config.RejectInterval ago); city administrators also see codes of no
// device. deviceID narrows to one device.
func (s *Service) Rejects(ctx context.Context, a *yingji.Actor, deviceID string, lp yingji.ListParams) (yingji.Page[RejectCount], error) {
	page := yingji.Page[RejectCount]{Items: []RejectCount{}}
	if err := s.require(ctx, a, yingji.PermMonitorRead, "monitor_reject.list", ObjectDevice, ""); err != nil {
		return page, err
	}
	scope := a.ReadScope()
	if scope.EnterpriseID == "" && scope.OrgPrefix == "" {
		return page, nil
	}
	lp.Normalize()
	var w sqldb.Where
	cond, args := "", []any{}
	if scope.EnterpriseID != "" {
		cond, args = "d.enterprise_id = ?", []any{scope.EnterpriseID}
	} else {
		cond, args = "d.org_path >= ? AND d.org_path < ?", []any{scope.OrgPrefix, sqldb.PrefixEnd(scope.OrgPrefix)}
	}
	if a.Role == yingji.RoleCityAdmin {
		cond = "(d.id IS NULL OR (" + cond + "))"
	}
	w.Add(cond, args...)
	if deviceID != "" {
		w.Add("d.id = ?", deviceID)
	}
	from := ` FROM ingest_rejects r LEFT JOIN devices d ON d.code = r.device`
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+from+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("monitor: count rejects: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT r.device, COALESCE(d.id, ''), r.reason, r.count, r.last_at, r.last_error`+from+w.SQL()+
		` ORDER BY r.last_at DESC, r.device, r.reason LIMIT `+w.Next(lp.PageSize)+` OFFSET `+w.Next(lp.Offset()), w.Args...)
	page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (RejectCount, error) {
		var x RejectCount
		err := r.Scan(&x.Device, &x.DeviceID, &x.Reason, &x.Count, &x.LastAt, &x.LastError)
		x.LastAt, x.ReasonText = x.LastAt.UTC(), rejectMessages[x.Reason]
		return x, err
	})
	if err != nil {
		return page, fmt.Errorf("monitor: list rejects: %w", err)
	}
	return page, nil
}

// PruneResult counts what Prune deleted.
type PruneResult struct {
	Readings      int64 `json:"readings"`
	MinuteRollups int64 `json:"minute_rollups"`
}

// Prune deletes raw readings older than Config.RetainRaw and minute rollups older than
// Config.RetainMinute before now; hour rollups are kept. It deletes in chunks so the
// writer is never blocked long. The service calls it every Config.PruneInterval.
func (s *Service) Prune(ctx context.Context, now time.Time) (PruneResult, error) {
	var res PruneResult
	id := "rowid"
	if s.db.Engine() == sqldb.Postgres {
		id = "ctid"
	}
	del := func(q string, args ...any) (int64, error) {
		var total int64
		for {
			n, err := s.db.Exec(ctx, q, args...)
			total += n
			if err != nil || n < 20000 {
				return total, err
			}
		}
	}
	var err error
	res.Readings, err = del(`DELETE FROM readings WHERE `+id+` IN (SELECT `+id+` FROM readings WHERE ts < $1 LIMIT 20000)`,
		now.Add(-s.cfg.RetainRaw).UnixMilli())
	if err != nil {
		return res, fmt.Errorf("monitor: prune readings: %w", err)
	}
	res.MinuteRollups, err = del(`DELETE FROM reading_rollups WHERE `+id+` IN (SELECT `+id+` FROM reading_rollups
		WHERE resolution = 'minute' AND bucket < $1 LIMIT 20000)`, now.Add(-s.cfg.RetainMinute).UnixMilli())
	if err != nil {
		return res, fmt.Errorf("monitor: prune rollups: %w", err)
	}
	if res.Readings > 0 || res.MinuteRollups > 0 {
		s.log.Info("monitor: pruned", "readings", res.Readings, "minute_rollups", res.MinuteRollups)
	}
	return res, nil
}

// Flush stores everything pending now: readings, rule states, last-seen times and reject
// counters (the background loops do so on their own; tests and shutdown call it).
func (s *Service) Flush(ctx context.Context) error {
	var werr error
	if s.started.Load() {
		werr = s.writer.flushAll(ctx)
	}
	return errors.Join(werr, s.saveStates(ctx), s.flushSeen(ctx), s.flushRejects(ctx))
}

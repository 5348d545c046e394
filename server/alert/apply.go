package alert

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// source is what an alert says about the device and point that caused it.
type source struct {
	enterpriseID, orgPath string
	device, point, unit   string
}

// open is the open alert of a cause, as Apply needs it.
type openAlert struct {
	id, tier, clearedAt string
	level               int
}

// dispatchWork is what to enqueue once Apply's transaction committed.
type dispatchWork struct {
	alertID string
	tiers   []string
	level   int
	timers  bool // a new alert: schedule its escalation timers
}

// Apply turns rule events into alerts, all in one transaction: one open alert per cause (not
// closed, not a false alarm). Raise or Update with an open alert raises its level when higher
// (the peak level stays) and updates value and last time; without one, it raises a new alert.
// Clear sets cleared_at: the alert stays open until someone handles it. New alerts and level
// rises are dispatched after the commit. Events of unknown devices are skipped and logged.
func (s *Service) Apply(ctx context.Context, events []rules.Event) error {
	if len(events) == 0 {
		return nil
	}
	var work []dispatchWork
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		err = s.DB.InTx(ctx, func(tx sqldb.Querier) error {
			var err error
			work, err = s.apply(ctx, tx, events)
			return err
		})
		// The change-log lock serialises writers, so two instances see each other's alert;
		// the unique index is the backstop: retry on it.
		if !errors.Is(err, yingji.ErrDuplicate) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("alert: apply: %w", err)
	}
	for _, w := range work {
		s.handOver(ctx, w)
	}
	return nil
}

// postQueue bounds the dispatch work waiting for the background goroutine; beyond it the
// sweep dispatches (within Config.Sweep).
const postQueue = 4096

// handOver inserts the jobs of w, or with Async queues them for the background goroutine.
func (s *Service) handOver(ctx context.Context, w dispatchWork) {
	if !s.Async {
		s.enqueue(ctx, w)
		return
	}
	s.post.RLock()
	defer s.post.RUnlock()
	if s.post.closed {
		s.enqueue(ctx, w)
		return
	}
	s.post.once.Do(func() {
		s.post.work, s.post.done = make(chan dispatchWork, postQueue), make(chan struct{})
		go func(work <-chan dispatchWork, done chan<- struct{}) {
			defer close(done)
			for w := range work {
				s.enqueue(context.Background(), w)
			}
		}(s.post.work, s.post.done)
	})
	select {
	case s.post.work <- w:
	default:
		s.Log.Warn("alert: dispatch queue full; the sweep dispatches", "alert_id", w.alertID)
	}
}

func (s *Service) apply(ctx context.Context, tx sqldb.Querier, events []rules.Event) ([]dispatchWork, error) {
	if err := s.Sync.Lock(ctx, tx); err != nil {
		return nil, err
	}
	sources := map[string]*source{}
	changed := map[string]bool{}
	var ids []string
	work := map[string]*dispatchWork{}
	var order []string
	note := func(id string) {
		if !changed[id] {
			changed[id] = true
			ids = append(ids, id)
		}
	}
	for _, e := range events {
		if e.Cause == "" {
			continue
		}
		at := e.At
		if at.IsZero() {
			at = s.Now()
		}
		now := fmtTime(at)
		cur, err := openByCause(ctx, tx, e.Cause)
		if err != nil {
			return nil, err
		}
		if e.Action == rules.Clear {
			if cur == nil || cur.clearedAt != "" {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE alerts SET cleared_at = $2, last_at = $2, updated_at = $3 WHERE id = $1`,
				cur.id, now, s.Now().UTC()); err != nil {
				return nil, fmt.Errorf("clear: %w", err)
			}
			if err := addEvent(ctx, tx, event{AlertID: cur.id, Kind: EventCleared, Level: cur.level, Tier: cur.tier, At: now,
				Message: e.Message}); err != nil {
				return nil, err
			}
			note(cur.id)
			continue
		}
		level := max(e.Level, 1)
		if cur == nil {
			src, err := s.sourceOf(ctx, tx, sources, e)
			if err != nil {
				return nil, err
			}
			if src == nil {
				s.Log.Warn("alert: event of an unknown device skipped", "device_id", e.DeviceID, "cause", e.Cause)
				continue
			}
			id := yingji.NewID()
			title := alertTitle(src, e)
			_, err = tx.Exec(ctx, `INSERT INTO alerts (id, enterprise_id, org_path, device_id, point_id, rule_id, cause, kind, level,
				level_name, title, message, value, threshold, unit, started_at, last_at, tier, status, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19, $19)`,
				id, src.enterpriseID, src.orgPath, e.DeviceID, e.PointID, e.RuleID, e.Cause, string(e.Kind), strconv.Itoa(level),
				e.LevelName, title, e.Message, num(e.Value), num(e.Threshold), src.unit, now, TierEnterprise, StatusNew, s.Now().UTC())
			if err != nil {
				return nil, fmt.Errorf("raise: %w", err)
			}
			if err := addEvent(ctx, tx, event{AlertID: id, Kind: EventRaised, Level: level, Tier: TierEnterprise, At: now,
				Message: e.Message}); err != nil {
				return nil, err
			}
			note(id)
			work[id] = &dispatchWork{alertID: id, tiers: []string{TierEnterprise}, level: level, timers: true}
			order = append(order, id)
			continue
		}
		// The open alert goes on: a higher level raises it, the peak stays. Events can arrive
		// out of order (readings of one point handled by two instances): the earliest time
		// starts the alert, the latest gives its value.
		sets := []string{"value = CASE WHEN last_at <= $3 THEN $2 ELSE value END",
			"started_at = CASE WHEN started_at > $3 THEN $3 ELSE started_at END",
			"last_at = CASE WHEN last_at < $3 THEN $3 ELSE last_at END", "updated_at = $4"}
		args := []any{cur.id, num(e.Value), now, s.Now().UTC()}
		if level > cur.level {
			args = append(args, strconv.Itoa(level), e.LevelName, num(e.Threshold), e.Message)
			sets = append(sets, "level = $5", "level_name = $6", "threshold = $7", "message = $8")
		}
		if cur.clearedAt != "" {
			sets = append(sets, "cleared_at = ''")
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET `+strings.Join(sets, ", ")+` WHERE id = $1`, args...); err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
		if cur.clearedAt != "" {
			if err := addEvent(ctx, tx, event{AlertID: cur.id, Kind: EventRecurred, Level: max(level, cur.level), Tier: cur.tier,
				At: now, Message: e.Message}); err != nil {
				return nil, err
			}
		}
		if level > cur.level {
			if err := addEvent(ctx, tx, event{AlertID: cur.id, Kind: EventLevel, Level: level, Tier: cur.tier, At: now,
				Message: e.Message}); err != nil {
				return nil, err
			}
			w := work[cur.id]
			if w == nil {
				w = &dispatchWork{alertID: cur.id}
				work[cur.id] = w
				order = append(order, cur.id)
			}
			w.level = level
			w.tiers = tiersUpTo(cur.tier)
		}
		note(cur.id)
	}
	if err := s.Sync.Changed(ctx, tx, "alerts", ids...); err != nil {
		return nil, err
	}
	out := make([]dispatchWork, 0, len(order))
	for _, id := range order {
		out = append(out, *work[id])
	}
	return out, nil
}

// tiersUpTo lists the tiers from the enterprise up to t.
func tiersUpTo(t string) []string {
	for i, x := range Tiers {
		if x == t {
			return append([]string(nil), Tiers[:i+1]...)
		}
	}
	return []string{TierEnterprise}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func openByCause(ctx context.Context, q sqldb.Querier, cause string) (*openAlert, error) {
	var a openAlert
	var level string
	err := q.QueryRow(ctx, `SELECT id, level, tier, cleared_at FROM alerts WHERE cause = $1 AND status NOT IN ('closed', 'false_alarm')`,
		cause).Scan(&a.id, &level, &a.tier, &a.clearedAt)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open alert: %w", err)
	}
	a.level, _ = strconv.Atoi(level)
	return &a, nil
}

// sourceOf reads the device (and point) of an event: its enterprise and place, names and
// unit. nil for an unknown device.
func (s *Service) sourceOf(ctx context.Context, q sqldb.Querier, cache map[string]*source, e rules.Event) (*source, error) {
	key := e.DeviceID + "\x00" + e.PointID
	if src, ok := cache[key]; ok {
		return src, nil
	}
	src := &source{}
	err := q.QueryRow(ctx, `SELECT name, enterprise_id, org_path FROM devices WHERE id = $1`, e.DeviceID).Scan(&src.device, &src.enterpriseID, &src.orgPath)
	if errors.Is(err, yingji.ErrNotFound) {
		cache[key] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if src.enterpriseID != "" {
		if err := q.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, src.enterpriseID).Scan(&src.orgPath); err != nil {
			return nil, fmt.Errorf("enterprise of device: %w", err)
		}
	}
	if e.PointID != "" {
		err := q.QueryRow(ctx, `SELECT name, unit FROM monitor_points WHERE id = $1`, e.PointID).Scan(&src.point, &src.unit)
		if err != nil && !errors.Is(err, yingji.ErrNotFound) {
			return nil, fmt.Errorf("point: %w", err)
		}
	}
	cache[key] = src
	return src, nil
}

// alertTitle names the alert: what, where, which level, e.g. "1号储罐温度 超限报警（二级）".
func alertTitle(src *source, e rules.Event) string {
	subject := src.point
	if subject == "" {
		subject = src.device
	} else if src.device != "" && !strings.Contains(subject, src.device) {
		subject = src.device + " " + subject
	}
	t := strings.TrimSpace(subject + " " + KindName(string(e.Kind)))
	if e.LevelName != "" {
		t += "（" + e.LevelName + "）"
	}
	r := []rune(t)
	if len(r) > 200 {
		t = string(r[:200])
	}
	return t
}

// enqueue puts a committed change's dispatch and timers on the job queue. A failure is logged:
// the sweep inserts what is missing.
func (s *Service) enqueue(ctx context.Context, w dispatchWork) {
	if s.Jobs == nil {
		return
	}
	for _, t := range w.tiers {
		if err := s.insertDispatch(ctx, w.alertID, t, w.level); err != nil {
			s.Log.Warn("alert: enqueue dispatch failed; the sweep retries", "alert_id", w.alertID, "tier", t, "err", err)
		}
	}
	if w.timers {
		a, err := s.load(ctx, s.DB, w.alertID)
		if err == nil {
			err = s.scheduleTimers(ctx, a)
		}
		if err != nil {
			s.Log.Warn("alert: schedule timers failed; the sweep retries", "alert_id", w.alertID, "err", err)
		}
	}
}

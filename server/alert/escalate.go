package alert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/sqldb"
)

// Escalation steps: not acknowledged by AckTimeout → township; not closed by DisposeTimeout →
// township; not closed by CountyTimeout → county.
const (
	StepAck     = "ack"
	StepDispose = "dispose"
	StepCounty  = "county"
)

// stepTier is the tier a step escalates to.
var stepTier = map[string]string{StepAck: TierTownship, StepDispose: TierTownship, StepCounty: TierCounty}

// Due returns the deadline of a step for an alert that started at started.
func (c Config) Due(started time.Time, step string) time.Time {
	switch step {
	case StepAck:
		return started.Add(c.AckTimeout)
	case StepDispose:
		return started.Add(c.DisposeTimeout)
	}
	return started.Add(c.CountyTimeout)
}

func tierRank(t string) int { return slices.Index(Tiers, t) }

// handled reports whether the step's timer has nothing left to do: the alert is closed (or a
// false alarm), or the step was taken by its deadline by the time the person took it (an
// acknowledgement made offline before the deadline counts, however late it synced).
func (s *Service) handled(a Alert, step string) bool {
	return !Open(a.Status) || s.stepInTime(a, step)
}

// scheduleTimers inserts the timers an open alert still needs (unique per alert and step, so
// inserting twice is harmless). They are river jobs: they survive restarts.
func (s *Service) scheduleTimers(ctx context.Context, a Alert) error {
	if s.Jobs == nil || !Open(a.Status) {
		return nil
	}
	started := parseTime(a.StartedAt)
	for _, step := range []string{StepAck, StepDispose, StepCounty} {
		if tierRank(a.Tier) >= tierRank(stepTier[step]) || s.handled(a, step) {
			continue
		}
		at := s.Config.Due(started, step).Add(s.Config.SyncGrace)
		_, err := s.Jobs.Insert(ctx, TimerArgs{AlertID: a.ID, Step: step}, &river.InsertOpts{ScheduledAt: at,
			UniqueOpts: *unique(), MaxAttempts: 10})
		if err != nil {
			return fmt.Errorf("alert: timer: %w", err)
		}
	}
	return nil
}

// escalate runs a step's deadline (after Config.SyncGrace): an alert handled in time stays
// where it is ("escalation stops"); otherwise it moves to the step's tier, which is then
// dispatched to. "In time" is judged by the time the person acted, re-read here: a step taken
// offline before the deadline and synced since counts, one taken after the deadline does not,
// whenever the timer happens to run.
func (s *Service) escalate(ctx context.Context, id, step string) error {
	target, ok := stepTier[step]
	if !ok {
		return nil
	}
	var moved *Alert
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if err := s.Sync.Lock(ctx, tx); err != nil {
			return err
		}
		a, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if s.handled(a, step) || tierRank(a.Tier) >= tierRank(target) {
			return nil
		}
		now := s.Now()
		if due := s.Config.Due(parseTime(a.StartedAt), step).Add(s.Config.SyncGrace); now.Before(due.Add(-time.Second)) {
			return river.JobSnooze(due.Sub(now))
		}
		at := fmtTime(now)
		if _, err := tx.Exec(ctx, `UPDATE alerts SET tier = $2, escalated_at = $3, updated_at = $4 WHERE id = $1`,
			id, target, at, now.UTC()); err != nil {
			return fmt.Errorf("alert: escalate: %w", err)
		}
		msg := map[string]string{StepAck: fmt.Sprintf("%s内未确认", minutes(s.Config.AckTimeout)),
			StepDispose: fmt.Sprintf("%s内未处置完毕", minutes(s.Config.DisposeTimeout)),
			StepCounty:  fmt.Sprintf("%s内未处置完毕", minutes(s.Config.CountyTimeout))}[step]
		if err := addEvent(ctx, tx, event{AlertID: id, Kind: EventEscalated, Level: a.Level, Tier: target, Status: step,
			Message: msg, At: at}); err != nil {
			return err
		}
		a.Tier, a.EscalatedAt = target, at
		moved = &a
		return s.Sync.Changed(ctx, tx, "alerts", id)
	})
	if err != nil || moved == nil {
		return err
	}
	s.Log.Info("alert escalated", "alert_id", id, "tier", target, "step", step)
	if err := s.insertDispatch(ctx, id, target, moved.Level); err != nil {
		return err
	}
	return s.scheduleTimers(ctx, *moved)
}

func minutes(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d 小时", d/time.Hour)
	}
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d 分钟", d/time.Minute)
	}
	return fmt.Sprintf("%d 秒", d/time.Second)
}

// Sweep re-inserts what a crash between a commit and the job insert may have lost: the
// timers of open alerts and the dispatch of their current tier and level when no delivery
// was recorded for it. Unique jobs make it idempotent.
func (s *Service) Sweep(ctx context.Context) error {
	if s.Jobs == nil {
		return nil
	}
	rows, err := s.DB.Query(ctx, `SELECT `+alertCols+alertFrom+` WHERE a.status NOT IN ('closed', 'false_alarm')`)
	open, err := sqldb.CollectRows(rows, err, scanAlert)
	if err != nil {
		return fmt.Errorf("alert: sweep: %w", err)
	}
	for _, a := range open {
		if err := s.scheduleTimers(ctx, a); err != nil {
			return err
		}
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM alert_deliveries WHERE alert_id = $1 AND tier = $2 AND level = $3`,
			a.ID, a.Tier, a.Level).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if err := s.insertDispatch(ctx, a.ID, a.Tier, a.Level); err != nil {
				return err
			}
		}
	}
	return nil
}

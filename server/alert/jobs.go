package alert

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job kinds of the alert service.
const (
	KindDispatch = "alert_dispatch"
	KindDelivery = "alert_delivery"
	KindTimer    = "alert_timer"
	KindSweep    = "alert_sweep"
)

// DispatchArgs dispatches an alert at a level to the receivers of one tier: in-app and
// skipped deliveries are recorded at once, each outside delivery becomes a DeliveryArgs job.
type DispatchArgs struct {
	AlertID string `json:"alert_id"`
	Tier    string `json:"tier"`
	Level   int    `json:"level"`
}

func (DispatchArgs) Kind() string { return KindDispatch }

// DeliveryArgs sends an alert to one receiver on one channel; river retries it with backoff.
type DeliveryArgs struct {
	AlertID  string `json:"alert_id"`
	Tier     string `json:"tier"`
	Level    int    `json:"level"`
	Receiver string `json:"receiver"` // "rcv:<alert_receivers id>" or "user:<users id>"
	Channel  string `json:"channel"`
}

func (DeliveryArgs) Kind() string { return KindDelivery }

// TimerArgs is an escalation deadline of an alert: Step is "ack", "dispose" or "county".
type TimerArgs struct {
	AlertID string `json:"alert_id"`
	Step    string `json:"step"`
}

func (TimerArgs) Kind() string { return KindTimer }

// Plugins makes timers punctual (see punctual).
func (TimerArgs) Plugins() []rivertype.Plugin { return []rivertype.Plugin{&punctual{}} }

// SweepArgs is the periodic sweep that re-inserts missing timers and dispatches.
type SweepArgs struct{}

func (SweepArgs) Kind() string { return KindSweep }

// punctual inserts a job scheduled in the future as available rather than scheduled. River's
// fetch only takes available jobs whose scheduled_at has come, so the job runs within one fetch
// poll of its time; a scheduled job would wait for river's scheduler, which runs every 5 s on
// the leader only. Uniqueness is unaffected (available is one of the unique states).
type punctual struct{ river.MiddlewareDefaults }

func (*punctual) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, inner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	for _, p := range params {
		if p.State == rivertype.JobStateScheduled {
			p.State = rivertype.JobStateAvailable
		}
	}
	return inner(ctx)
}

// Workers adds the alert workers to river's (pass it to jobs.Options.Register).
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &dispatchWorker{s: s})
	river.AddWorker(w, &deliveryWorker{s: s})
	river.AddWorker(w, &timerWorker{s: s})
	river.AddWorker(w, &sweepWorker{s: s})
}

// PeriodicJobs is the sweep, on start and every Config.Sweep (pass it to jobs.Options.Periodic).
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.Config.Sweep),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

func unique() *river.UniqueOpts { return &river.UniqueOpts{ByArgs: true} }

func (s *Service) insertDispatch(ctx context.Context, id, tier string, level int) error {
	_, err := s.Jobs.Insert(ctx, DispatchArgs{AlertID: id, Tier: tier, Level: level}, &river.InsertOpts{UniqueOpts: *unique(), MaxAttempts: 10})
	return err
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

func (w *dispatchWorker) Work(ctx context.Context, j *river.Job[DispatchArgs]) error {
	return w.s.dispatch(ctx, j.Args)
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	s *Service
}

func (w *deliveryWorker) Work(ctx context.Context, j *river.Job[DeliveryArgs]) error {
	return w.s.deliver(ctx, j.Args, j.Attempt, j.MaxAttempts)
}

// NextRetry is the configured backoff.
func (w *deliveryWorker) NextRetry(j *river.Job[DeliveryArgs]) time.Time {
	return time.Now().Add(w.s.Config.Backoff(j.Attempt))
}

type timerWorker struct {
	river.WorkerDefaults[TimerArgs]
	s *Service
}

func (w *timerWorker) Work(ctx context.Context, j *river.Job[TimerArgs]) error {
	return w.s.escalate(ctx, j.Args.AlertID, j.Args.Step)
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return w.s.Sweep(ctx)
}

package timeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/sqldb"
)

// AnchorWindow is how long after its termination an incident is still anchored by the
// periodic job (late feedback and recordings still land on its timeline).
const AnchorWindow = 7 * 24 * time.Hour

// AnchorOpen anchors the timeline of every incident still open or terminated within
// AnchorWindow: the periodic anchoring, so reading a timeline never writes. It returns how
// many events joined the chains.
func AnchorOpen(ctx context.Context, db sqldb.DB, now time.Time) (int, error) {
	cutoff := now.Add(-AnchorWindow).UTC().Format("2006-01-02T15:04:05Z")
	var ids []string
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		rows, err := q.Query(ctx, `SELECT id FROM incidents WHERE status <> 'terminated' OR terminated_at >= $1 ORDER BY id`, cutoff)
		ids, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("timeline: anchor: %w", err)
	}
	total := 0
	for _, id := range ids {
		n, err := Anchor(ctx, db, id, now)
		if err != nil {
			return total, fmt.Errorf("timeline: anchor %s: %w", id, err)
		}
		total += n
	}
	return total, nil
}

// AnchorArgs is the periodic anchoring job.
type AnchorArgs struct{}

func (AnchorArgs) Kind() string { return "timeline_anchor" }

// Anchorer runs the periodic anchoring on the jobs runner (river).
type Anchorer struct {
	DB    sqldb.DB
	Now   func() time.Time
	Log   *slog.Logger
	Every time.Duration // a minute when zero; negative: no periodic job
}

type anchorWorker struct {
	river.WorkerDefaults[AnchorArgs]
	a *Anchorer
}

func (w *anchorWorker) Work(ctx context.Context, _ *river.Job[AnchorArgs]) error {
	now := time.Now
	if w.a.Now != nil {
		now = w.a.Now
	}
	n, err := AnchorOpen(ctx, w.a.DB, now())
	if err == nil && n > 0 && w.a.Log != nil {
		w.a.Log.Debug("timeline anchored", "events", n)
	}
	return err
}

// Workers adds the anchoring worker (pass to jobs.Options.Register).
func (a *Anchorer) Workers(w *river.Workers) { river.AddWorker(w, &anchorWorker{a: a}) }

// PeriodicJobs is the anchoring, on start and every Every (pass to jobs.Options.Periodic).
func (a *Anchorer) PeriodicJobs() []*river.PeriodicJob {
	every := a.Every
	if every < 0 {
		return nil
	}
	if every == 0 {
		every = time.Minute
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return AnchorArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

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

// AnchorSweep is how often the periodic job derives an incident whose part of the change log
// has not moved: the sources outside the change log (alert deliveries, recordings, readings)
// reach the chain within it.
const AnchorSweep = 10 * time.Minute

// AnchorOpen anchors the timeline of every incident still open or terminated within
// AnchorWindow that is due (see AnchorDue, with AnchorSweep): the periodic anchoring, so
// reading a timeline never writes. It returns how many events joined the chains.
func AnchorOpen(ctx context.Context, db sqldb.DB, now time.Time) (int, error) {
	r, err := AnchorDue(ctx, db, now, AnchorSweep)
	return r.Events, err
}

// AnchorRun is what one periodic anchoring did.
type AnchorRun struct {
	Open    int // incidents still open or terminated within AnchorWindow
	Derived int // of them, those whose timelines were derived (due)
	Events  int // events that joined the chains
}

// AnchorDue derives and anchors the timelines of the open incidents (and those terminated
// within AnchorWindow) that are due: never anchored by it, changed in the change log since
// their last anchoring (a task, check-in, feedback, order, message or the incident itself:
// the newest change of the incident's scope), or last derived sweep ago or more. The others
// cost one row of one query.
func AnchorDue(ctx context.Context, db sqldb.DB, now time.Time, sweep time.Duration) (AnchorRun, error) {
	var run AnchorRun
	cutoff := now.Add(-AnchorWindow).UTC().Format("2006-01-02T15:04:05Z")
	swept := now.Add(-sweep).UTC().Format(timeLayout)
	type due struct {
		id   string
		head int64 // the newest change of the incident's scope when listed
	}
	var todo []due
	err := db.ReadTx(ctx, func(q sqldb.Querier) error {
		rows, err := q.Query(ctx, `SELECT i.id, COALESCE(s.last_seq, 0), COALESCE(m.change_seq, -1), COALESCE(m.swept_at, '')
			FROM incidents i
			LEFT JOIN sync_sums s ON s.scope = 'inc:' || i.id
			LEFT JOIN timeline_anchor_marks m ON m.incident_id = i.id
			WHERE i.status <> 'terminated' OR i.terminated_at >= $1 ORDER BY i.id`, cutoff)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d due
			var marked int64
			var at string
			if err := rows.Scan(&d.id, &d.head, &marked, &at); err != nil {
				return err
			}
			run.Open++
			if marked < 0 || d.head > marked || at <= swept {
				todo = append(todo, d)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return run, fmt.Errorf("timeline: anchor: %w", err)
	}
	stamp := now.UTC().Format(timeLayout)
	for _, d := range todo {
		n, err := Anchor(ctx, db, d.id, now)
		if err != nil {
			return run, fmt.Errorf("timeline: anchor %s: %w", d.id, err)
		}
		run.Derived++
		run.Events += n
		// A change committed after the listing has a newer number than d.head: the next run
		// derives the incident again.
		if _, err := db.Exec(ctx, `INSERT INTO timeline_anchor_marks (incident_id, change_seq, swept_at) VALUES ($1, $2, $3)
			ON CONFLICT (incident_id) DO UPDATE SET change_seq = $2, swept_at = $3`, d.id, d.head, stamp); err != nil {
			return run, fmt.Errorf("timeline: anchor mark %s: %w", d.id, err)
		}
	}
	return run, nil
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
	Sweep time.Duration // AnchorSweep when zero
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
	sweep := w.a.Sweep
	if sweep <= 0 {
		sweep = AnchorSweep
	}
	r, err := AnchorDue(ctx, w.a.DB, now(), sweep)
	if err == nil && r.Derived > 0 && w.a.Log != nil {
		w.a.Log.Debug("timeline anchored", "open", r.Open, "derived", r.Derived, "events", r.Events)
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

package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/yingji/yingji/server/postgres"
)

// AnalyzeEvery is how often the PostgreSQL statistics job looks for tables that changed a
// lot since their last ANALYZE (one catalog query when none did).
const AnalyzeEvery = 15 * time.Second

// AnalyzeArgs is the periodic statistics job on PostgreSQL (see postgres.AnalyzeStale): where
// autovacuum is off, a bulk import or an initial seeding would otherwise leave the planner
// with no statistics, and sync pages ran ten times slower until somebody ran ANALYZE.
type AnalyzeArgs struct{}

func (AnalyzeArgs) Kind() string { return "pg_analyze" }

type analyzeWorker struct {
	river.WorkerDefaults[AnalyzeArgs]
	r  *Runner
	db *postgres.DB
}

func (w *analyzeWorker) Work(ctx context.Context, _ *river.Job[AnalyzeArgs]) error {
	t0 := time.Now()
	tables, err := w.db.AnalyzeStale(ctx)
	if len(tables) > 0 {
		w.r.Log.Info("analyzed tables autovacuum would have", "tables", tables, "ms", time.Since(t0).Milliseconds())
	}
	return err
}

// analyzeJob registers the statistics job on PostgreSQL: run on start (after migrations, a
// restored or imported database) and every every.
func analyzeJob(r *Runner, db *postgres.DB, workers *river.Workers, every time.Duration) *river.PeriodicJob {
	river.AddWorker(workers, &analyzeWorker{r: r, db: db})
	return river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			// One at a time: a slow ANALYZE is not queued again behind itself.
			return AnalyzeArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		},
		&river.PeriodicJobOpts{RunOnStart: true})
}

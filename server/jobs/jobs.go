// Package jobs runs background work on riverqueue/river on the configured engine: riverpgxv5 on
// PostgreSQL, riversqlite on its own one-connection database/sql handle on SQLite. River's
// tables are migrated with rivermigrate when the runner starts (on both engines; river's
// migrations are versioned and idempotent). The periodic job "reminders" writes deadline
// reminders and escalations.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/yingji"
)

// Options tune Start.
type Options struct {
	Now   func() time.Time // the reminders' clock; time.Now when nil
	Log   *slog.Logger
	Audit yingji.Auditor
	// Inbox gets a notification for every reminder (the user's inbox and channels).
	Inbox Inbox
	// Interval of the periodic reminders job: a minute when zero, none when negative.
	Interval time.Duration
	// FetchPollInterval is how often river looks for jobs when it is not told (SQLite); river's
	// default when zero.
	FetchPollInterval time.Duration
	// Register adds more workers (the alert service's, tests').
	Register func(*river.Workers)
	// Periodic adds more periodic jobs (the alert service's sweep); river runs them on the
	// leader only.
	Periodic []*river.PeriodicJob
	// AnalyzeEvery is the interval of the statistics job on PostgreSQL (see AnalyzeArgs):
	// AnalyzeEvery when zero, none when negative.
	AnalyzeEvery time.Duration
}

// client is what the runner uses of a river client of either engine.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Runner is a started river client plus the reminder logic.
type Runner struct {
	DB    sqldb.DB
	Audit yingji.Auditor
	Now   func() time.Time
	Log   *slog.Logger
	Inbox Inbox

	client client
	handle *sql.DB // river's own SQLite handle, closed by Stop
}

// Inbox puts notifications in users' inboxes: *inbox.Service implements it.
type Inbox interface {
	Put(ctx context.Context, it inbox.Item) (bool, error)
}

// ReminderArgs is the periodic reminders job.
type ReminderArgs struct{}

func (ReminderArgs) Kind() string { return "reminders" }

type reminderWorker struct {
	river.WorkerDefaults[ReminderArgs]
	r *Runner
}

func (w *reminderWorker) Work(ctx context.Context, _ *river.Job[ReminderArgs]) error {
	_, err := w.r.RunReminders(ctx)
	return err
}

// Start migrates river's tables and starts a river client on db's engine.
func Start(ctx context.Context, db sqldb.DB, opt Options) (*Runner, error) {
	r := &Runner{DB: db, Audit: opt.Audit, Now: opt.Now, Log: opt.Log, Inbox: opt.Inbox}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &reminderWorker{r: r})
	if opt.Register != nil {
		opt.Register(workers)
	}
	cfg := &river.Config{
		Logger:            r.Log.With("component", "river"),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		FetchPollInterval: opt.FetchPollInterval,
	}
	if opt.Interval >= 0 {
		every := opt.Interval
		if every == 0 {
			every = time.Minute
		}
		cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return ReminderArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})}
	}
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, opt.Periodic...)
	var err error
	switch d := db.(type) {
	case *sqlite.DB:
		if r.handle, err = openSQLite(d.Path()); err != nil {
			return nil, err
		}
		r.client, err = newClient(ctx, riversqlite.New(r.handle), cfg)
	case *postgres.DB:
		if opt.AnalyzeEvery >= 0 {
			every := opt.AnalyzeEvery
			if every == 0 {
				every = AnalyzeEvery
			}
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, analyzeJob(r, d, workers, every))
		}
		r.client, err = newClient(ctx, riverpgxv5.New(d.Pool()), cfg)
	default:
		err = fmt.Errorf("jobs: unsupported engine %s", db.Engine())
	}
	if err == nil {
		// The client lives until Stop, not until the caller's context ends.
		err = r.client.Start(context.WithoutCancel(ctx))
	}
	if err != nil {
		if r.handle != nil {
			r.handle.Close()
		}
		return nil, fmt.Errorf("启动后台任务失败 (start jobs): %w", err)
	}
	return r, nil
}

// openSQLite opens river's handle on the database file: one connection with a busy timeout,
// immediate transactions, WAL like the server's own handles.
func openSQLite(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	h, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("jobs: open sqlite: %w", err)
	}
	h.SetMaxOpenConns(1)
	h.SetMaxIdleConns(1)
	h.SetConnMaxLifetime(0)
	return h, nil
}

func newClient[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], cfg *river.Config) (*river.Client[TTx], error) {
	mig, err := rivermigrate.New(drv, nil)
	if err != nil {
		return nil, err
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	return river.NewClient(drv, cfg)
}

// Insert enqueues a job (ScheduledAt in opts delays it; it survives a restart).
func (r *Runner) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	res, err := r.client.Insert(ctx, args, opts)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// Subscribe follows river's events (tests wait for completions with it).
func (r *Runner) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return r.client.Subscribe(kinds...)
}

// Stop lets running jobs finish (until ctx ends) and releases river's handle.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if r.handle != nil {
		err = errors.Join(err, r.handle.Close())
	}
	return err
}

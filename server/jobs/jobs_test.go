package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/yingji"
)

type pingArgs struct{}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	n *atomic.Int64
}

func (w *pingWorker) Work(context.Context, *river.Job[pingArgs]) error { w.n.Add(1); return nil }

func TestSQLite(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	run(t, db)
}

func TestPostgres(t *testing.T) {
	run(t, pgtest.Open(t))
}

func run(t *testing.T, db sqldb.DB) {
	ctx := context.Background()
	base := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(base.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	var audited atomic.Int64
	audit := yingji.AuditFunc(func(_ context.Context, _ *yingji.Actor, e yingji.Event) {
		if e.Action == "reminder.create" {
			audited.Add(1)
		}
	})
	var pings atomic.Int64
	opt := jobs.Options{Now: now, Log: slog.New(slog.DiscardHandler), Audit: audit, Interval: -1, FetchPollInterval: 200 * time.Millisecond,
		Register: func(w *river.Workers) { river.AddWorker(w, &pingWorker{n: &pings}) }}

	ts := base.Add(-time.Hour)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO org_units (id, level, code, name, path, created_at, updated_at) VALUES ('t1', 'township', 't1', '城关镇', '/t1/', $1, $1)`, ts)
	exec(`INSERT INTO enterprises (id, name, credit_code, township_id, org_path, created_at, updated_at) VALUES ('e1', '甲企业', 'C1', 't1', '/t1/', $1, $1)`, ts)
	deadline := base.Add(2 * time.Hour).Format(time.RFC3339)
	exec(`INSERT INTO hazards (id, enterprise_id, org_path, title, status, deadline, rectifier_id, reported_by, created_at, updated_at)
		VALUES ('h1', 'e1', '/t1/', '消防通道堵塞', 'rectifying', $1, 'u-rect', 'u-grid', $2, $2)`, deadline, ts)
	// Hazards submitted for acceptance or accepted are neither due nor overdue for their rectifier.
	for i, h := range []struct{ status, deadline string }{{"submitted", deadline}, {"submitted", base.Add(-time.Hour).Format(time.RFC3339)},
		{"accepted", base.Add(-time.Hour).Format(time.RFC3339)}} {
		exec(`INSERT INTO hazards (id, enterprise_id, org_path, title, status, deadline, rectifier_id, reported_by, created_at, updated_at)
			VALUES ($1, 'e1', '/t1/', '配电箱未接地', $2, $3, 'u-done', 'u-grid', $4, $4)`, fmt.Sprintf("hd%d", i), h.status, h.deadline, ts)
	}

	r, err := jobs.Start(ctx, db, opt)
	if err != nil {
		t.Fatal(err)
	}
	completed, cancel := r.Subscribe(river.EventKindJobCompleted)
	// The reminders job runs twice through river; one reminder results.
	for range 2 {
		if _, err := r.Insert(ctx, jobs.ReminderArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		waitKind(t, completed, "reminders")
	}
	cancel()
	page, err := jobs.List(ctx, db, "u-rect", yingji.ListParams{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || page.Items[0].Kind != jobs.KindBeforeDeadline || page.Items[0].ObjectID != "h1" {
		t.Fatalf("before deadline: %+v", page)
	}
	if want := "隐患“消防通道堵塞”将于 2026-11-29 18:00 到期，请及时整改"; page.Items[0].Message != want {
		t.Fatalf("message %q, want %q", page.Items[0].Message, want)
	}
	if audited.Load() != 1 {
		t.Fatalf("audited %d, want 1", audited.Load())
	}

	// Past the deadline: one overdue escalation (no township admin: the rectifier gets it).
	clock.Store(base.Add(3 * time.Hour).UnixNano())
	for range 2 {
		if _, err := r.RunReminders(ctx); err != nil {
			t.Fatal(err)
		}
	}
	page, err = jobs.List(ctx, db, "u-rect", yingji.ListParams{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || page.Items[0].Kind != jobs.KindOverdue {
		t.Fatalf("overdue: %+v", page)
	}
	if page, err = jobs.List(ctx, db, "u-done", yingji.ListParams{Page: 1, PageSize: 20}); err != nil || page.Total != 0 {
		t.Fatalf("reminders of submitted and accepted hazards: %+v %v", page, err)
	}

	// A job scheduled before a restart runs after it.
	if _, err := r.Insert(ctx, pingArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	if err := r.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	scancel()
	if pings.Load() != 0 {
		t.Fatal("scheduled job ran before the restart")
	}
	r2, err := jobs.Start(ctx, db, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		r2.Stop(sctx)
	}()
	deadlineAt := time.Now().Add(20 * time.Second)
	for pings.Load() == 0 {
		if time.Now().After(deadlineAt) {
			t.Fatal("scheduled job did not run after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitKind(t *testing.T, ch <-chan *river.Event, kind string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Job != nil && ev.Job.Kind == kind {
				return
			}
		case <-timeout:
			t.Fatalf("job %s did not complete", kind)
		}
	}
}

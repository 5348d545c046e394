package alert_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

func TestApply(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{})
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Second)
		const cause = "threshold:p1:r1"

		e.apply(t, raise(cause, "dv1", "p1", 1, 85, at))
		a := e.openAlert(t, cause)
		if a == nil || a.Level != 1 || a.Status != alert.StatusNew || a.Tier != alert.TierEnterprise || a.EnterpriseID != entE1 ||
			a.OrgPath != "/c/d/t1/" || a.Unit != "°C" || a.Title != "dv1号采集器 储罐温度 超限报警（一级）" {
			t.Fatalf("raised: %+v", a)
		}
		first := a.ID

		// A worsening value raises the level of the same alert; a lower one keeps the peak.
		e.apply(t, raise(cause, "dv1", "p1", 2, 95, at.Add(time.Minute)))
		up := rules.Event{Action: rules.Update, Kind: rules.KindThreshold, Cause: cause, DeviceID: "dv1", PointID: "p1", Level: 1, Value: 86,
			At: at.Add(2 * time.Minute)}
		e.apply(t, up)
		a = e.openAlert(t, cause)
		if a.ID != first || a.Level != 2 || a.LevelName != "二级" || a.Value != 86 || a.LastAt == a.StartedAt {
			t.Fatalf("after rise and update: %+v", a)
		}
		// An event older than the alert (another instance's reading, late) moves its start
		// earlier but does not replace the latest value.
		e.apply(t, rules.Event{Action: rules.Raise, Kind: rules.KindThreshold, Cause: cause, DeviceID: "dv1", PointID: "p1", Level: 1, Value: 81,
			At: at.Add(-time.Second)})
		a = e.openAlert(t, cause)
		if a.ID != first || a.Value != 86 || !strings.HasPrefix(a.StartedAt, at.Add(-time.Second).Format("2006-01-02T15:04:05")) {
			t.Fatalf("after a late event: %+v", a)
		}
		// Clear: recovered, still open until handled.
		e.apply(t, rules.Event{Action: rules.Clear, Kind: rules.KindThreshold, Cause: cause, DeviceID: "dv1", PointID: "p1", At: at.Add(3 * time.Minute)})
		a = e.openAlert(t, cause)
		if a == nil || a.ClearedAt == "" || a.Status != alert.StatusNew {
			t.Fatalf("after clear: %+v", a)
		}
		// The change log knows the alert in the enterprise's scope.
		var path, ent string
		if err := db.QueryRow(ctx, `SELECT org_path, enterprise_id FROM sync_records WHERE collection = 'alerts' AND record_id = $1`, first).Scan(&path, &ent); err != nil {
			t.Fatal(err)
		}
		if path != "/c/d/t1/" || ent != entE1 {
			t.Fatalf("change log place %s %s", path, ent)
		}

		// Closing needs a reason; after closing, the cause raises a new alert.
		if _, err := e.svc.Handle(ctx, e.users["u-safety"], first, alert.HandleInput{Status: alert.StatusClosed}); yingji.ErrorKind(err) != yingji.EINVALID {
			t.Fatalf("close without reason: %v", err)
		}
		if _, err := e.svc.Handle(ctx, e.users["u-safety"], first, alert.HandleInput{Status: alert.StatusClosed, Reason: "传感器进水，已更换"}); err != nil {
			t.Fatal(err)
		}
		e.apply(t, raise(cause, "dv1", "p1", 1, 84, at.Add(10*time.Minute)))
		a = e.openAlert(t, cause)
		if a == nil || a.ID == first || a.Level != 1 {
			t.Fatalf("new alert after close: %+v", a)
		}

		// Two instances raising the same new cause at once make one alert.
		other := e.newService(alert.Config{}, nil)
		const cause2 = "threshold:p2:r1"
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 10 {
			s := e.svc
			if i%2 == 1 {
				s = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Apply(ctx, []rules.Event{raise(cause2, "dv2", "p2", 1+i%2, 90, at)})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE cause = $1`, cause2).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if a := e.openAlert(t, cause2); n != 1 || a.Level != 2 {
			t.Fatalf("concurrent raises: %d alerts, %+v", n, a)
		}
		// Unknown devices are skipped, not fatal.
		e.apply(t, raise("threshold:px:r1", "nope", "px", 1, 1, at))
	})
}

func TestTimeline(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{})
		ctx := context.Background()
		at := time.Now().UTC().Add(-time.Minute)
		e.apply(t, raise("c", "dv1", "p1", 1, 85, at))
		e.apply(t, raise("c", "dv1", "p1", 2, 95, at.Add(time.Second)))
		id := e.openAlert(t, "c").ID
		if _, err := e.svc.Handle(ctx, e.users["u-safety"], id, alert.HandleInput{Status: alert.StatusAcknowledged}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddAction(ctx, e.users["u-town1"], id, "feedback", "已电话督促企业处置"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Handle(ctx, e.users["u-safety"], id, alert.HandleInput{Status: alert.StatusFalseAlarm, Reason: "仪表校准"}); err != nil {
			t.Fatal(err)
		}
		items, err := e.svc.Timeline(ctx, e.users["u-town1"], id)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for i, it := range items {
			if i > 0 && it.At < items[i-1].At {
				t.Fatalf("not in time order: %+v", items)
			}
			texts = append(texts, it.Kind+"|"+it.Text)
		}
		want := []string{"raised|产生1级预警：dv1号采集器 储罐温度 超限报警（一级）（温度超过上限）", "level|预警升级为2级（温度超过上限）",
			"status|预警已确认", "action|乡镇（街道）反馈：已电话督促企业处置", "status|预警误报，处置原因：仪表校准"}
		if len(texts) != len(want) {
			t.Fatalf("timeline %q", texts)
		}
		for i := range want {
			if texts[i] != want[i] {
				t.Fatalf("timeline[%d] = %q, want %q", i, texts[i], want[i])
			}
		}
		if items[2].ByName != "用户u-safety" {
			t.Fatalf("by name %+v", items[2])
		}
		// Another township sees nothing of it.
		if _, err := e.svc.Timeline(ctx, e.users["u-town2"], id); yingji.ErrorKind(err) != yingji.EFORBIDDEN {
			t.Fatalf("other township: %v", err)
		}
	})
}

// recorder is an Inserter that records what it is given.
type recorder struct {
	mu    sync.Mutex
	kinds []string
}

func (r *recorder) Insert(_ context.Context, args river.JobArgs, _ *river.InsertOpts) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds = append(r.kinds, args.Kind())
	return int64(len(r.kinds)), nil
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.kinds...)
}

// TestApplyAsync: with Async, Apply returns before the jobs are inserted; Close waits for
// them; after Close, Apply inserts them itself.
func TestApplyAsync(t *testing.T) {
	engines(t, func(t *testing.T, db sqldb.DB) {
		e := newEnv(t, db, alert.Config{})
		rec := &recorder{}
		e.svc.Jobs, e.svc.Async = rec, true
		at := time.Now().UTC()
		e.apply(t, raise("threshold:p1:async", "dv1", "p1", 1, 85, at))
		if err := e.svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := rec.list()
		if !slices.Contains(got, alert.KindDispatch) || len(got) < 2 {
			t.Fatalf("jobs after Close: %v", got)
		}
		e.apply(t, raise("threshold:p2:async", "dv2", "p2", 1, 85, at))
		if n := len(rec.list()); n <= len(got) {
			t.Fatalf("Apply after Close inserted nothing: %v", rec.list())
		}
	})
}

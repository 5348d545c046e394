package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var quiet = slog.New(slog.DiscardHandler)

// engines runs fn on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, db sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "y.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, pgtest.Open(t))
	})
}

// Fixture ids: city c > district d > townships t1, t2; enterprise e1 in t1, e2 in t2; devices
// dv1 (e1, point p1) and dv2 (e2, point p2).
const (
	entE1 = "0190a000-0000-7000-8000-0000000000e1"
	entE2 = "0190a000-0000-7000-8000-0000000000e2"
)

type env struct {
	db    sqldb.DB
	sync  *syncsvc.Service
	svc   *alert.Service
	chans map[string]*fakeChannel
	users map[string]*yingji.Actor
}

func exec(t *testing.T, db sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func newEnv(t *testing.T, db sqldb.DB, cfg alert.Config) *env {
	t.Helper()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, u := range [][4]string{{"c", "", "city", "/c/"}, {"d", "c", "district", "/c/d/"}, {"t1", "d", "township", "/c/d/t1/"},
		{"t2", "d", "township", "/c/d/t2/"}} {
		var parent any
		if u[1] != "" {
			parent = u[1]
		}
		exec(t, db, `INSERT INTO org_units (id, parent_id, level, code, name, path, created_at, updated_at) VALUES ($1, $2, $3, $1, $4, $5, $6, $6)`,
			u[0], parent, u[2], "单位"+u[0], u[3], ts)
	}
	exec(t, db, `INSERT INTO enterprises (id, name, credit_code, industry, township_id, org_path, created_at, updated_at)
		VALUES ($1, '甲化工', 'C1', '化工', 't1', '/c/d/t1/', $3, $3), ($2, '乙仓储', 'C2', '仓储', 't2', '/c/d/t2/', $3, $3)`, entE1, entE2, ts)
	e := &env{db: db, chans: map[string]*fakeChannel{}, users: map[string]*yingji.Actor{}}
	for _, u := range []struct {
		id, role, unit, ent, path, phone string
	}{
		{"u-safety", "safety_officer", "t1", entE1, "/c/d/t1/", "13800001234"},
		{"u-principal", "enterprise_principal", "t1", entE1, "/c/d/t1/", ""},
		{"u-safety2", "safety_officer", "t2", entE2, "/c/d/t2/", "13900005678"},
		{"u-town1", "township_admin", "t1", "", "/c/d/t1/", "13700001111"},
		{"u-town2", "township_admin", "t2", "", "/c/d/t2/", "13700002222"},
		{"u-district", "district_admin", "d", "", "/c/d/", "13600003333"},
	} {
		var ent any
		if u.ent != "" {
			ent = u.ent
		}
		exec(t, db, `INSERT INTO users (id, username, name, phone, role, org_unit_id, enterprise_id, org_path, password_hash,
			password_changed_at, created_at, updated_at) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, 'x', $8, $8, $8)`,
			u.id, "用户"+u.id, u.phone, u.role, u.unit, ent, u.path, ts)
		e.users[u.id] = &yingji.Actor{UserID: u.id, Username: u.id, Role: yingji.Role(u.role), OrgPath: u.path, OrgUnitID: u.unit, EnterpriseID: u.ent}
	}
	for _, d := range [][3]string{{"dv1", entE1, "/c/d/t1/"}, {"dv2", entE2, "/c/d/t2/"}} {
		exec(t, db, `INSERT INTO devices (id, code, name, enterprise_id, org_path, category, kind, secret_hash, created_at, updated_at)
			VALUES ($1, $1, $1 || '号采集器', $2, $3, 'hazchem', 'gateway', 'x', $4, $4)`, d[0], d[1], d[2], ts)
		p := "p" + d[0][2:]
		exec(t, db, `INSERT INTO monitor_points (id, device_id, enterprise_id, org_path, code, name, kind, unit, sampling_period_s, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $1, '储罐温度', 'temperature', '°C', 10, $5, $5)`, p, d[0], d[1], d[2], ts)
	}
	e.sync = syncsvc.New(db, yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {}), quiet)
	chans := map[string]notify.Channel{}
	for _, name := range []string{"fcm", "sms", "zzd"} {
		c := &fakeChannel{name: name}
		e.chans[name] = c
		chans[name] = c
	}
	e.svc = e.newService(cfg, chans)
	for _, c := range e.svc.Collections() {
		e.sync.Register(c)
	}
	return e
}

// newService returns another instance of the service on the same database (a second server).
func (e *env) newService(cfg alert.Config, chans map[string]notify.Channel) *alert.Service {
	return alert.New(e.db, e.sync, nil, quiet, cfg, chans)
}

// start runs a jobs runner for svc until the test ends (or stop is called).
func (e *env) start(t *testing.T, svc *alert.Service) (stop func()) {
	t.Helper()
	r, err := jobs.Start(context.Background(), e.db, jobs.Options{Log: quiet, Interval: -1, FetchPollInterval: 100 * time.Millisecond,
		Register: svc.Workers, Periodic: svc.PeriodicJobs()})
	if err != nil {
		t.Fatal(err)
	}
	svc.Jobs = r
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			r.Stop(ctx)
		})
	}
	t.Cleanup(stop)
	return stop
}

func raise(cause, device, point string, level int, value float64, at time.Time) rules.Event {
	return rules.Event{Action: rules.Raise, Kind: rules.KindThreshold, Cause: cause, DeviceID: device, PointID: point, RuleID: "r1",
		Level: level, LevelName: []string{"", "一级", "二级", "三级"}[level], Value: value, Threshold: 80, Message: "温度超过上限", At: at}
}

func (e *env) apply(t *testing.T, evs ...rules.Event) {
	t.Helper()
	if err := e.svc.Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// openAlert returns the open alert of a cause, nil when none.
func (e *env) openAlert(t *testing.T, cause string) *alert.Alert {
	t.Helper()
	page, err := e.svc.List(context.Background(), yingji.System, alert.Filter{OpenOnly: true}, yingji.ListParams{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	var found *alert.Alert
	for i, a := range page.Items {
		if a.Cause == cause {
			if found != nil {
				t.Fatalf("two open alerts for %s", cause)
			}
			found = &page.Items[i]
		}
	}
	return found
}

func (e *env) get(t *testing.T, id string) alert.Alert {
	t.Helper()
	a, err := e.svc.Get(context.Background(), yingji.System, id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// push sends one update of an alert as a phone user.
func (e *env) push(t *testing.T, user, coll, id, op string, kv map[string]any) syncproto.Result {
	t.Helper()
	f := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	clock := syncproto.NewClock("phone-"+user, nil)
	resp, err := e.sync.Push(context.Background(), e.users[user], syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-" + user,
		Mutations: []syncproto.Mutation{{MutationID: yingji.NewID(), Collection: coll, ID: id, Op: op, HLC: clock.Now().String(), Fields: f}}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Results[0]
}

func (e *env) deliveries(t *testing.T, id string) []alert.Delivery {
	t.Helper()
	ds, err := e.svc.Deliveries(context.Background(), yingji.System, id)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// waitFor polls cond every 20 ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeChannel records what it is asked to send; fail decides each call's answer.
type fakeChannel struct {
	name string
	mu   sync.Mutex
	sent []sentMsg
	fail func(n int, to notify.Receiver) (notify.Result, error)
}

type sentMsg struct {
	To notify.Receiver
	M  notify.Message
	At time.Time
}

func (c *fakeChannel) Name() string { return c.name }

func (c *fakeChannel) Send(_ context.Context, to notify.Receiver, m notify.Message) (notify.Result, error) {
	c.mu.Lock()
	c.sent = append(c.sent, sentMsg{To: to, M: m, At: time.Now()})
	n := len(c.sent)
	f := c.fail
	c.mu.Unlock()
	if f != nil {
		return f(n, to)
	}
	return notify.Result{ProviderID: "msg-" + m.ID[:8]}, nil
}

func (c *fakeChannel) calls() []sentMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sentMsg(nil), c.sent...)
}

func (c *fakeChannel) setFail(f func(n int, to notify.Receiver) (notify.Result, error)) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

var errBusy = errors.New("gateway busy")

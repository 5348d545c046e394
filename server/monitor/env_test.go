package monitor_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sink collects the events it is given.
type sink struct {
	mu  sync.Mutex
	evs []rules.Event
}

func (s *sink) Apply(_ context.Context, evs []rules.Event) error {
	s.mu.Lock()
	s.evs = append(s.evs, evs...)
	s.mu.Unlock()
	return nil
}

func (s *sink) find(kind rules.Kind, action rules.Action) (rules.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.evs {
		if e.Kind == kind && e.Action == action {
			return e, true
		}
	}
	return rules.Event{}, false
}

// waitEvent waits up to 3 s for an event.
func (s *sink) waitEvent(t *testing.T, kind rules.Kind, action rules.Action) rules.Event {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if e, ok := s.find(kind, action); ok {
			return e
		}
	}
	t.Fatalf("no %s %s event; have %+v", kind, action, s.evs)
	return rules.Event{}
}

type env struct {
	db                     sqldb.DB
	clock                  *clock
	entA, entB             org.Enterprise
	townAdminA, townAdminB *yingji.Actor
	officerA               *yingji.Actor
	sink                   *sink
}

// eachEngine runs fn on SQLite and on PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "y.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, newEnv(t, db))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, newEnv(t, pgtest.Open(t)))
	})
}

func newEnv(t testing.TB, db sqldb.DB) *env {
	t.Helper()
	ctx := context.Background()
	os := org.NewService(store.New(db), nil)
	unit := func(parent *org.Unit, level org.Level, code, name string) org.Unit {
		t.Helper()
		u := org.Unit{Level: level, Code: code, Name: name}
		if parent != nil {
			u.ParentID = parent.ID
		}
		got, err := os.CreateUnit(ctx, yingji.System, u)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	city := unit(nil, org.LevelCity, "330100", "杭州市")
	district := unit(&city, org.LevelDistrict, "330102", "上城区")
	townA := unit(&district, org.LevelTownship, "330102001", "清波街道")
	townB := unit(&district, org.LevelTownship, "330102002", "湖滨街道")
	e := &env{db: db, clock: &clock{t: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)}, sink: &sink{}}
	var err error
	if e.entA, err = os.CreateEnterprise(ctx, yingji.System, org.Enterprise{Name: "清波化工有限公司", CreditCode: "91330106MA27XL0E27", TownshipID: townA.ID}); err != nil {
		t.Fatal(err)
	}
	if e.entB, err = os.CreateEnterprise(ctx, yingji.System, org.Enterprise{Name: "湖滨食品有限公司", CreditCode: "91330110MA2CFXHW83", TownshipID: townB.ID}); err != nil {
		t.Fatal(err)
	}
	e.townAdminA = &yingji.Actor{UserID: "ta", Role: yingji.RoleTownshipAdmin, OrgPath: townA.Path}
	e.townAdminB = &yingji.Actor{UserID: "tb", Role: yingji.RoleTownshipAdmin, OrgPath: townB.Path}
	e.officerA = &yingji.Actor{UserID: "oa", Role: yingji.RoleSafetyOfficer, OrgPath: e.entA.OrgPath, EnterpriseID: e.entA.ID}
	return e
}

// service returns a started service on the env's database and clock, closed at the end.
func (e *env) service(t testing.TB, cfg monitor.Config) *monitor.Service {
	t.Helper()
	s := monitor.New(e.db, nil, nil, cfg)
	s.Now = e.clock.Now
	s.SetAlertSink(e.sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func f64(v float64) *float64 { return &v }

// device creates a device with a flammable gas point GT-101 (range 0–100 %LEL, default rules)
// and a temperature point TI-101.
func (e *env) device(t testing.TB, s *monitor.Service, code string) (monitor.Device, string, monitor.Point, monitor.Point) {
	t.Helper()
	ctx := context.Background()
	d, secret, err := s.CreateDevice(ctx, e.officerA, monitor.Device{Code: code, Name: "1号罐区网关", EnterpriseID: e.entA.ID,
		Category: monitor.CategoryHazchem, Kind: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	gas, err := s.CreatePoint(ctx, e.officerA, monitor.Point{DeviceID: d.ID, Code: "GT-101", Name: "1号罐可燃气体", Kind: "flammable_gas",
		RangeMin: f64(0), RangeMax: f64(100)})
	if err != nil {
		t.Fatal(err)
	}
	temp, err := s.CreatePoint(ctx, e.officerA, monitor.Point{DeviceID: d.ID, Code: "TI-101", Name: "1号罐温度", Kind: "temperature", Unit: "°C",
		Thresholds: []monitor.ThresholdRule{{ID: "hi", Direction: "high", Levels: []monitor.ThresholdLevel{{Level: 1, Value: 40}, {Level: 2, Value: 50}}, MinDurationS: 60}}})
	if err != nil {
		t.Fatal(err)
	}
	return d, secret, gas, temp
}

func count(t testing.TB, db sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantKind(t *testing.T, err error, kind string) {
	t.Helper()
	if yingji.ErrorKind(err) != kind {
		t.Fatalf("err %v, want kind %s", err, kind)
	}
}

package demo

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// The demo city's month of history: what a month of daily work leaves behind. Risk points in
// the four colours with their measures at the hazardous-chemicals enterprises, checklists and a
// month of patrols (a few late or synced late, one with a forged QR code, one with a revoked
// one, one too fast, one far from its point), hidden dangers in every state of the
// rectification loop (some overdue), a week of readings of every demo monitoring point, the
// alerts they raised in every status with their escalations and delivery records, and the
// devices' offline periods; and the response side (history_incidents.go): one past incident
// with its whole chain from a chlorine alarm to the final assessment, and one still under way.
//
// It is made by the real services, not by rows written beside them: the risk service, the
// checklist service, sync pushes of patrols, hazards and hazard actions as the phones and the
// portal send them (so patrol flags, credit scores, raised hazards, timelines and the change
// log follow the same rules), the rule engine and heartbeat tracker over the generated
// readings, and the alert service applying their events, handling alerts as people did and
// running its dispatch and escalation jobs. Everything runs on a simulated clock that walks
// from a month ago to the first start, so every record carries the time it would have. Only
// the readings are bulk-loaded (monitor.ImportHistory: the writer's rows and rollups).
//
// The services run on their own instances (a sync service, an audit log, an alert service
// whose jobs go to an in-memory queue run in simulated time) so nothing of the live server —
// river's timers, the monitor's rule engine, the live pokes — sees the history being made.
// When it is done, open alerts have been escalated as far as their age takes them, so the live
// sweep finds no timer and no dispatch missing.
//
// The same seed and end time give the same records (their ids aside: the services make UUIDv7
// ids), on SQLite and on PostgreSQL.

// History makes the demo city's history; Load it once, right after Load and the demo devices.
type History struct {
	DB      sqldb.DB
	Store   *store.Store
	Media   *mediasvc.Service
	Monitor *monitor.Service
	// Alerts are the live alert settings: the history escalates by the same deadlines.
	Alerts alert.Config
	Log    *slog.Logger
	// Seed picks the details (times, values, which patrol is late); End is when the history
	// ends, usually the first start.
	Seed uint64
	End  time.Time
}

// HistoryStats counts what Load made.
type HistoryStats struct {
	RiskPoints int `json:"risk_points"`
	Checklists int `json:"checklists"`
	Patrols    int `json:"patrols"`
	Hazards    int `json:"hazards"`
	Readings   int `json:"readings"`
	Alerts     int `json:"alerts"`
	// QualityEvents counts data-quality events the generated readings caused; they are not
	// turned into alerts, and the demo data is meant to cause none.
	QualityEvents int `json:"quality_events"`
}

// Zone is the demo city's time zone: days, shifts and office hours are Beijing time.
var Zone = mustZone()

func mustZone() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}

// Days of history of the prevention side; the readings cover the last ReadingDays.
const (
	HistoryDays = 30
	ReadingDays = 7
)

// sim is one run of the history.
type sim struct {
	h     *History
	ctx   context.Context
	now   time.Time
	end   time.Time
	rnd   *rand.Rand
	stats HistoryStats

	audit  *audit.Service
	sync   *syncsvc.Service
	risk   *risk.Service
	checks *patrol.Service
	alerts *alert.Service
	jobs   *jobQueue
	resp   *responders // the response side (history_incidents.go)
	// auditLog holds the services' audit entries until they are written in batches.
	auditLog *auditBuffer
	quiet    *slog.Logger

	users map[string]*yingji.Actor // by username
	ents  []org.Enterprise         // in the order of the enterprises table above
	town  map[string]*yingji.Actor // enterprise id → who supervises it (township, district or city admin)

	actions []action
	took    map[string]time.Duration // by the action's first word, for the log
	dirty   bool
	nseq    int
	hlc     map[string]uint32 // counter per device and millisecond
}

type action struct {
	at   time.Time
	seq  int
	name string
	do   func() error
}

// at schedules f at t; actions run in time order, the order of scheduling breaking ties.
func (s *sim) at(t time.Time, name string, f func() error) {
	s.nseq++
	s.actions = append(s.actions, action{at: t, seq: s.nseq, name: name, do: f})
	s.dirty = true
}

func (s *sim) clock() time.Time { return s.now }

// Load makes the history. The database must hold the demo city (Load) and its devices.
func (h *History) Load(ctx context.Context) (HistoryStats, error) {
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	// The history's services write through historyDB (see there); the caller's DB is back after.
	defer func(db sqldb.DB) { h.DB = db }(h.DB)
	h.DB = newHistoryDB(h.DB)
	end := h.End.UTC().Truncate(time.Second)
	s := &sim{h: h, ctx: ctx, end: end, now: end.AddDate(0, 0, -HistoryDays-2),
		rnd: rand.New(rand.NewPCG(h.Seed, 0x9e3779b97f4a7c15)), users: map[string]*yingji.Actor{}, town: map[string]*yingji.Actor{},
		hlc: map[string]uint32{}, took: map[string]time.Duration{}}
	if err := s.setup(ctx); err != nil {
		return s.stats, err
	}
	if err := s.prevention(); err != nil {
		return s.stats, err
	}
	t0 := time.Now()
	if err := s.monitoring(); err != nil {
		return s.stats, err
	}
	s.took["readings"] = time.Since(t0)
	if err := s.activeIncident(); err != nil {
		return s.stats, err
	}
	s.reminders()
	t0 = time.Now()
	if err := s.run(); err != nil {
		return s.stats, err
	}
	s.took["all"] = time.Since(t0)
	t0 = time.Now()
	if err := s.auditLog.flush(ctx); err != nil {
		return s.stats, err
	}
	s.took["audit"] = time.Since(t0)
	var parts []any
	for _, k := range slices.Sorted(maps.Keys(s.took)) {
		parts = append(parts, k, s.took[k].Round(time.Millisecond).String())
	}
	h.Log.Debug("demo history: time spent", parts...)
	return s.stats, s.count(ctx)
}

// setup builds the services on the simulated clock and loads the demo people and enterprises.
func (s *sim) setup(ctx context.Context) error {
	h := s.h
	// The services' own info lines ("alert escalated" …) would read as live events in the
	// start log: the history's services log warnings and errors only.
	quiet := slog.New(minLevel{h.Log.Handler(), slog.LevelWarn})
	s.quiet = quiet
	s.auditLog = &auditBuffer{db: h.DB, store: h.Store}
	s.audit = audit.NewService(s.auditLog, quiet)
	s.audit.Now = s.clock
	s.sync = syncsvc.New(h.DB, s.audit, quiet)
	s.sync.Now = s.clock
	hz := hazard.NewCollection()
	hz.Now = s.clock
	ha := hazard.NewActions()
	ha.Now = s.clock
	s.sync.Register(hz)
	s.sync.Register(ha)
	s.risk = risk.NewService(h.Store, s.audit)
	s.risk.Now = s.clock
	if err := s.risk.Open(ctx); err != nil {
		return err
	}
	pc := patrol.NewCollection(s.sync)
	pc.Now = s.clock
	pc.QRKey = func() ed25519.PublicKey { pub, _ := s.risk.PublicKey(); return pub }
	s.sync.Register(pc)
	s.sync.Register(patrol.NewChecklists())
	s.sync.Register(h.Store.RiskCollection())
	s.checks = &patrol.Service{DB: h.DB, Audit: s.audit, Now: s.clock, Changes: s.sync}
	s.jobs = &jobQueue{s: s}
	s.alerts = alert.New(h.DB, s.sync, s.audit, quiet, h.Alerts, nil)
	s.alerts.Now = s.clock
	s.alerts.Jobs = s.jobs
	for _, c := range s.alerts.Collections() {
		s.sync.Register(c)
	}
	if err := s.openResponders(); err != nil {
		return err
	}

	for _, a := range Accounts {
		u, err := h.Store.GetUserByUsername(ctx, a.Username)
		if err != nil {
			return fmt.Errorf("demo history: user %s: %w", a.Username, err)
		}
		s.users[a.Username] = &yingji.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, OrgPath: u.OrgPath,
			OrgUnitID: u.OrgUnitID, EnterpriseID: u.EnterpriseID, TeamID: u.TeamID, IP: "127.0.0.1"}
	}
	page, err := h.Store.ListEnterprises(ctx, org.EnterpriseFilter{}, yingji.ListParams{PageSize: 500})
	if err != nil {
		return err
	}
	byName := map[string]org.Enterprise{}
	for _, e := range page.Items {
		byName[e.Name] = e
	}
	for _, spec := range enterprises {
		e, ok := byName[spec.name]
		if !ok {
			return fmt.Errorf("demo history: enterprise %s missing", spec.name)
		}
		s.ents = append(s.ents, e)
		// The township administrators supervise their townships, the district one 滨江街道;
		// the city administrator the rest (青山县 has no district account).
		switch spec.township {
		case "339901002":
			s.town[e.ID] = s.users["township01"]
		case "339902001":
			s.town[e.ID] = s.users["township02"]
		case "339901001":
			s.town[e.ID] = s.users["district01"]
		default:
			s.town[e.ID] = s.users["admin"]
		}
	}
	return nil
}

// minLevel drops records below its level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(as), m.min}
}
func (m minLevel) WithGroup(n string) slog.Handler { return minLevel{m.Handler.WithGroup(n), m.min} }

// run executes the scheduled actions in time order, running the alert jobs that fall due
// between them, then the jobs due by the end.
func (s *sim) run() error {
	for len(s.actions) > 0 {
		if s.dirty { // actions may schedule later ones
			sort.SliceStable(s.actions, func(i, j int) bool {
				if !s.actions[i].at.Equal(s.actions[j].at) {
					return s.actions[i].at.Before(s.actions[j].at)
				}
				return s.actions[i].seq < s.actions[j].seq
			})
			s.dirty = false
		}
		a := s.actions[0]
		s.actions = s.actions[1:]
		if a.at.After(s.end) {
			continue
		}
		if a.at.Before(s.now) {
			return fmt.Errorf("demo history: %s scheduled in the past (%s < %s)", a.name, a.at, s.now)
		}
		if err := s.jobs.runUntil(a.at); err != nil {
			return err
		}
		s.now = a.at
		t0 := time.Now()
		err := a.do()
		s.took[strings.Fields(a.name)[0]] += time.Since(t0)
		if err != nil {
			return fmt.Errorf("demo history: %s at %s: %w", a.name, a.at.In(Zone).Format("2006-01-02 15:04"), err)
		}
	}
	if err := s.jobs.runUntil(s.end); err != nil {
		return err
	}
	s.now = s.end
	return nil
}

func (s *sim) count(ctx context.Context) error {
	for _, c := range []struct {
		n     *int
		table string
	}{{&s.stats.RiskPoints, "risk_points"}, {&s.stats.Checklists, "checklists"}, {&s.stats.Patrols, "patrols"},
		{&s.stats.Hazards, "hazards"}, {&s.stats.Alerts, "alerts"}} {
		if err := s.h.DB.QueryRow(ctx, `SELECT COUNT(*) FROM `+c.table).Scan(c.n); err != nil {
			return err
		}
	}
	return nil
}

// reminders runs the reminders job as the server ran it (overdue hazards and checklist periods,
// deadlines coming) every morning, and late in the evening of the last days, so reminders
// have their times.
func (s *sim) reminders() {
	r := &jobs.Runner{DB: s.h.DB, Audit: s.audit, Now: s.clock}
	for n := HistoryDays; n >= 0; n-- {
		s.at(s.day(n).Add(8*time.Hour), "reminders", func() error { _, err := r.RunReminders(s.ctx); return err })
		if n < 3 { // and late in the evening of the last days: the checklists due at midnight
			s.at(s.day(n).Add(22*time.Hour+30*time.Minute), "reminders", func() error { _, err := r.RunReminders(s.ctx); return err })
		}
	}
}

// ---- the alert jobs, in simulated time ----

// jobQueue takes the alert service's jobs (alert.Inserter) and runs them when the simulated
// clock reaches them, unique by kind and arguments as river's ByArgs uniqueness.
type jobQueue struct {
	s       *sim
	pending []queued
	seen    map[string]bool
	n       int
}

type queued struct {
	at   time.Time
	seq  int
	key  string
	args river.JobArgs
}

func (q *jobQueue) Insert(_ context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	at := q.s.now
	if opts != nil && !opts.ScheduledAt.IsZero() {
		at = opts.ScheduledAt
	}
	b, _ := json.Marshal(args)
	key := args.Kind() + string(b)
	if q.seen[key] {
		return 0, nil
	}
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	q.seen[key] = true
	q.n++
	q.pending = append(q.pending, queued{at: at, seq: q.n, key: key, args: args})
	return int64(q.n), nil
}

// runUntil runs the jobs due at or before t, earliest first.
func (q *jobQueue) runUntil(t time.Time) error {
	for {
		i := -1
		for k, p := range q.pending {
			if p.at.After(t) {
				continue
			}
			if i < 0 || p.at.Before(q.pending[i].at) || (p.at.Equal(q.pending[i].at) && p.seq < q.pending[i].seq) {
				i = k
			}
		}
		if i < 0 {
			return nil
		}
		p := q.pending[i]
		q.pending = slices.Delete(q.pending, i, i+1)
		if p.at.After(q.s.now) {
			q.s.now = p.at
		}
		t0 := time.Now()
		err := q.s.alerts.RunJob(q.s.ctx, p.args)
		q.s.took["job:"+p.args.Kind()] += time.Since(t0)
		if err != nil {
			return fmt.Errorf("demo history: alert job %s: %w", p.key, err)
		}
	}
}

// ---- sync pushes as a phone or the portal sends them ----

type mutation struct {
	coll, id, op string
	fields       map[string]any
	base         map[string]any
	token        *tokenSpec // a patrol's QR token, signed when it is pushed
}

// push sends mutations as the user from his device at the simulated time; any rejection is
// an error (the history is meant to be valid).
func (s *sim) push(a *yingji.Actor, device string, ms ...mutation) error {
	req := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: device}
	for _, m := range ms {
		wall := s.now.UnixMilli()
		key := fmt.Sprintf("%s/%d", device, wall)
		c := s.hlc[key]
		s.hlc[key] = c + 1
		mu := syncproto.Mutation{MutationID: s.uuid(), Collection: m.coll, ID: m.id, Op: m.op,
			HLC: syncproto.HLC{Wall: wall, Counter: c, Node: device}.String(), Fields: map[string]json.RawMessage{}}
		for k, v := range m.fields {
			mu.Fields[k] = syncsvc.JSON(v)
		}
		if len(m.base) > 0 {
			mu.Base = map[string]json.RawMessage{}
			for k, v := range m.base {
				mu.Base[k] = syncsvc.JSON(v)
			}
		}
		req.Mutations = append(req.Mutations, mu)
	}
	resp, err := s.sync.Push(s.ctx, a, req)
	if err != nil {
		return err
	}
	for i, r := range resp.Results {
		if r.Status == syncproto.StatusRejected {
			return fmt.Errorf("%s %s rejected: %s %s", ms[i].coll, ms[i].op, r.Code, r.Message)
		}
	}
	return nil
}

// uuid is a random-looking UUID (version 4 layout) from the seeded generator: the ids the
// history's devices make are as repeatable as the rest.
func (s *sim) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rnd.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// day is the start of the local day n days before the end (0: today).
func (s *sim) day(n int) time.Time {
	e := s.end.In(Zone)
	return time.Date(e.Year(), e.Month(), e.Day()-n, 0, 0, 0, 0, Zone)
}

// between is a time in [from, from+d) picked by the generator, to the second.
func (s *sim) between(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	return from.Add(time.Duration(s.rnd.Int64N(int64(d/time.Second))) * time.Second)
}

func rfc(t time.Time) string { return t.In(Zone).Format(time.RFC3339) }

var errDesign = errors.New("demo history: the generated data does not hold what it was designed for")

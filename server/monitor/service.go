package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// AlertSink receives the rule engine's events: threshold, data-quality and device
// offline/online changes. The alert service implements it. Events that arrive together are
// passed in one call; Apply is called from one goroutine at a time.
type AlertSink interface {
	Apply(ctx context.Context, events []rules.Event) error
}

// Service manages devices and points on behalf of actors (permissions, data scope, audit) and
// runs the ingest pipeline: Deliver and IngestHTTP validate messages, evaluate the rules under
// a per-point lock, hand readings to the bulk writer and events to the AlertSink.
//
// Goroutines started by Start: the bulk writer, the event dispatcher, the heartbeat tracker,
// and one housekeeping loop (reload of the point table every Config.ReloadInterval, rule state
// saves, last_seen_at and reject counter flushes, Prune every Config.PruneInterval). Close stops
// them after storing everything accepted.
type Service struct {
	// Now is the clock (tests replace it before Start).
	Now func() time.Time
	// OnChange, when set, is called after a device or point was written through this
	// instance, so other instances can reload at once (the server sends a PostgreSQL NOTIFY
	// whose listeners call Reload).
	OnChange func()

	db    sqldb.DB
	audit yingji.Auditor
	log   *slog.Logger
	cfg   Config

	sink    atomic.Pointer[sinkBox]
	missAt  atomic.Int64 // unix ns of the last reload caused by an unknown device or point
	table   atomic.Pointer[table]
	reload  sync.Mutex // serialises table rebuilds
	tracker *rules.Tracker
	writer  *writer
	events  chan rules.Event
	rejects rejectCounters
	metrics *metrics

	seenMu sync.Mutex
	seen   map[string]time.Time // device id → last message, not yet written

	gate            sync.RWMutex // Deliver holds it shared; Close exclusively, to stop ingest
	started, closed atomic.Bool
	stop            context.CancelFunc
	wg              sync.WaitGroup
	eventsDone      chan struct{}
	closeOnce       sync.Once
}

type sinkBox struct{ s AlertSink }

// New returns a service on db; a nil audit records nothing, a nil log discards. Call Start
// before delivering readings.
func New(db sqldb.DB, audit yingji.Auditor, log *slog.Logger, cfg Config) *Service {
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{Now: time.Now, db: db, audit: audit, log: log.With("component", "monitor"), cfg: cfg.withDefaults(),
		events: make(chan rules.Event, 65536), seen: map[string]time.Time{}, eventsDone: make(chan struct{})}
	s.metrics = newMetrics()
	s.rejects.m = map[rejectKey]*rejectStat{}
	s.table.Store(&table{byCode: map[string]*devEntry{}, byID: map[string]*devEntry{}, points: map[string]*pointRT{}})
	s.writer = newWriter(s)
	return s
}

// SetAlertSink sets where rule events go; before it is set they are only logged (data-quality
// events are still recorded as anomalies, offline changes in the device history).
func (s *Service) SetAlertSink(sink AlertSink) { s.sink.Store(&sinkBox{sink}) }

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Start loads devices, points and rule states, restores the tracker from the devices' last
// contact, and starts the pipeline's goroutines. ctx bounds only the loading.
func (s *Service) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("monitor: already started")
	}
	s.tracker = rules.NewTracker(s.Now)
	s.tracker.Interval = s.cfg.HealthTick
	s.tracker.Label = s.deviceLabel
	s.tracker.Confirm = s.confirmOffline
	if err := s.Reload(ctx); err != nil {
		return err
	}
	if err := s.loadStates(ctx); err != nil {
		return err
	}
	devs, err := allDevices(ctx, s.db)
	if err != nil {
		return fmt.Errorf("monitor: load devices: %w", err)
	}
	states := make([]rules.DeviceState, 0, len(devs))
	for _, d := range devs {
		if d.Disabled || d.LastSeenAt == nil {
			continue // never seen: tracked from its first message
		}
		states = append(states, rules.DeviceState{ID: d.ID, LastSeen: *d.LastSeenAt,
			Timeout: time.Duration(d.HeartbeatTimeoutS) * time.Second, Offline: !d.Online})
	}
	s.tracker.Restore(states)

	runCtx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.writer.run(runCtx) }()
	go func() { defer s.wg.Done(); s.tracker.Run(runCtx, s.emit) }()
	go func() { defer s.wg.Done(); s.housekeeping(runCtx) }()
	go s.dispatch()
	return nil
}

// Close stops the pipeline: no more messages are accepted, every accepted reading is stored,
// pending events reach the AlertSink, and rule states, last-seen times and reject counters are
// saved. ctx bounds the final writes.
func (s *Service) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.gate.Lock()
		s.closed.Store(true)
		s.gate.Unlock()
		if !s.started.Load() {
			return
		}
		s.stop()
		s.wg.Wait() // the writer has flushed its queue on the way out
		close(s.events)
		select {
		case <-s.eventsDone:
		case <-ctx.Done():
		}
		err = errors.Join(s.writer.flushAll(ctx), s.saveStates(ctx), s.flushSeen(ctx), s.flushRejects(ctx))
	})
	return err
}

// housekeeping runs the periodic jobs until ctx ends.
func (s *Service) housekeeping(ctx context.Context) {
	reload := time.NewTicker(s.cfg.ReloadInterval)
	state := time.NewTicker(s.cfg.StateInterval)
	seen := time.NewTicker(s.cfg.SeenInterval)
	rej := time.NewTicker(s.cfg.RejectInterval)
	defer reload.Stop()
	defer state.Stop()
	defer seen.Stop()
	defer rej.Stop()
	var prune <-chan time.Time
	if s.cfg.PruneInterval > 0 {
		t := time.NewTicker(s.cfg.PruneInterval)
		defer t.Stop()
		prune = t.C
	}
	for {
		var err error
		what := ""
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			what, err = "reload", s.Reload(ctx)
		case <-state.C:
			what, err = "save rule states", s.saveStates(ctx)
		case <-seen.C:
			what, err = "flush last seen", s.flushSeen(ctx)
		case <-rej.C:
			what, err = "flush rejects", s.flushRejects(ctx)
		case <-prune:
			what = "prune"
			_, err = s.Prune(ctx, s.Now())
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("monitor housekeeping failed", "job", what, "err", err)
		}
	}
}

// deviceLabel names a device in offline messages: its name and code.
func (s *Service) deviceLabel(id string) string {
	if d := s.table.Load().byID[id]; d != nil {
		return d.dev.Name + "（" + d.dev.Code + "）"
	}
	return ""
}

// confirmOffline is the tracker's veto: the device's last_seen_at as another instance may have
// written it.
func (s *Service) confirmOffline(id string, _ time.Time) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var at *time.Time
	if err := s.db.QueryRow(ctx, `SELECT last_seen_at FROM devices WHERE id = $1`, id).Scan(&at); err != nil || at == nil {
		return time.Time{}
	}
	return *at
}

// ---- permissions and audit ----

func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, objType, id string, detail any) {
	audit.OK(ctx, s.audit, a, action, objType, id, detail)
}

// deny records a refusal and returns err.
func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, objType, id string, err error) error {
	return audit.Deny(ctx, s.audit, a, action, objType, id, err)
}

func (s *Service) require(ctx context.Context, a *yingji.Actor, perm, action, objType, id string) error {
	return audit.Require(ctx, s.audit, a, perm, action, objType, id)
}

// CanWrite reports whether the actor may change the devices of an enterprise: administrators
// over it, and its own safety officer and principal.
func CanWrite(a *yingji.Actor, enterpriseID, orgPath string) bool {
	if !a.Can(yingji.PermMonitorWrite) {
		return false
	}
	switch a.Role.ScopeKind() {
	case yingji.ScopeEnterprise:
		return a.EnterpriseID != "" && a.EnterpriseID == enterpriseID
	case yingji.ScopeOrg:
		return a.Role.AdminRank() > 0 && a.InSubtree(orgPath)
	}
	return false
}

func deviceNotFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "monitor.device_not_found", Message: "监测设备不存在", Err: err}
	}
	return err
}

func pointNotFound(err error) error {
	if errors.Is(err, yingji.ErrNotFound) {
		return &yingji.Error{Kind: yingji.ENOTFOUND, Code: "monitor.point_not_found", Message: "监测点不存在", Err: err}
	}
	return err
}

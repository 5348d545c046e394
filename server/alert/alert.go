// Package alert holds alerts (预警): one open alert per cause (device + rule) raised by the
// monitoring rules, synced to the phones of its enterprise and the units above it and handled
// offline (acknowledge, dispose with reason, measures and photos, or mark a false alarm);
// tiered dispatch (enterprise → township → county) with escalation timers on river; a
// delivery record for every attempt on every channel; receiver configuration; the timeline;
// statistics.
//
// In-app delivery is the synced alert itself: the alert record lands in the receiver's scope
// (the enterprise, its township and county) and the live WebSocket pokes on every change;
// each receiver who is a user also gets a notification in his inbox (package inbox), which the
// "app" delivery row names.
package alert

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// Statuses of an alert.
const (
	StatusNew          = "new"
	StatusAcknowledged = "acknowledged"
	StatusDisposing    = "disposing"
	StatusClosed       = "closed"
	StatusFalseAlarm   = "false_alarm"
)

// Tiers an alert is dispatched to, in escalation order.
const (
	TierEnterprise = "enterprise"
	TierTownship   = "township"
	TierCounty     = "county"
)

// Tiers lists the tiers in escalation order.
var Tiers = []string{TierEnterprise, TierTownship, TierCounty}

// Channels a receiver may be reached by. "app" is the synced alert (in-app).
const (
	ChannelApp      = "app"
	ChannelFCM      = "fcm"
	ChannelSMS      = "sms"
	ChannelZZD      = "zzd"
	ChannelDingTalk = "dingtalk"
)

// AllChannels lists the channels in display order.
var AllChannels = []string{ChannelApp, ChannelFCM, ChannelSMS, ChannelZZD, ChannelDingTalk}

var tierNames = map[string]string{TierEnterprise: "企业", TierTownship: "乡镇（街道）", TierCounty: "区县"}
var statusNames = map[string]string{StatusNew: "待确认", StatusAcknowledged: "已确认", StatusDisposing: "处置中",
	StatusClosed: "已关闭", StatusFalseAlarm: "误报"}
var kindNames = map[string]string{"threshold": "超限报警", "offline": "设备离线", "quality": "数据异常"}
var channelNames = map[string]string{ChannelApp: "应用内", ChannelFCM: "手机推送", ChannelSMS: "短信", ChannelZZD: "浙政钉",
	ChannelDingTalk: "钉钉群机器人"}

// TierName, StatusName, KindName and ChannelName are the Chinese names.
func TierName(t string) string    { return nameOr(tierNames, t) }
func StatusName(s string) string  { return nameOr(statusNames, s) }
func KindName(k string) string    { return nameOr(kindNames, k) }
func ChannelName(c string) string { return nameOr(channelNames, c) }

func nameOr(m map[string]string, k string) string {
	if n, ok := m[k]; ok {
		return n
	}
	return k
}

// Open reports whether an alert in this status still needs handling.
func Open(status string) bool { return status != StatusClosed && status != StatusFalseAlarm }

// Alert is an alert as the API shows it.
type Alert struct {
	ID               string   `json:"id"`
	EnterpriseID     string   `json:"enterprise_id"`
	EnterpriseName   string   `json:"enterprise_name"`
	OrgPath          string   `json:"org_path"`
	DeviceID         string   `json:"device_id"`
	PointID          string   `json:"point_id"`
	RuleID           string   `json:"rule_id"`
	Cause            string   `json:"cause"`
	Kind             string   `json:"kind"`
	Level            int      `json:"level"`
	LevelName        string   `json:"level_name"`
	Title            string   `json:"title"`
	Message          string   `json:"message"`
	Value            float64  `json:"value"`
	Threshold        float64  `json:"threshold"`
	Unit             string   `json:"unit"`
	StartedAt        string   `json:"started_at"`
	LastAt           string   `json:"last_at"`
	ClearedAt        string   `json:"cleared_at"`
	Tier             string   `json:"tier"`
	EscalatedAt      string   `json:"escalated_at"`
	Status           string   `json:"status"`
	DisposalReason   string   `json:"disposal_reason"`
	DisposalMeasures string   `json:"disposal_measures"`
	Photos           []string `json:"photos"`
	AcknowledgedBy   string   `json:"acknowledged_by"`
	// AcknowledgedAt, DisposedAt and ClosedAt are when the person took the step (on a phone
	// offline: the device's time, bounded by what the server trusts); the *ReceivedAt beside
	// them are when the server received the step. Deadlines and statistics use the former.
	AcknowledgedAt         string `json:"acknowledged_at"`
	DisposedBy             string `json:"disposed_by"`
	DisposedAt             string `json:"disposed_at"`
	ClosedAt               string `json:"closed_at"`
	AcknowledgedReceivedAt string `json:"acknowledged_received_at"`
	DisposedReceivedAt     string `json:"disposed_received_at"`
	ClosedReceivedAt       string `json:"closed_received_at"`
	// IncidentID is the incident the alert was turned into ("" while none).
	IncidentID string `json:"incident_id"`
}

// Config are the dispatch and escalation settings.
type Config struct {
	// AckTimeout: not acknowledged this long after it started → the township (default 15 min).
	AckTimeout time.Duration
	// DisposeTimeout: not closed this long after it started → the township (default 30 min);
	// it is also the "handled in time" deadline of the statistics.
	DisposeTimeout time.Duration
	// CountyTimeout: not closed this long after it started → the county (default 2 h).
	CountyTimeout time.Duration
	// SyncGrace is how long after a deadline its escalation waits for a step taken in time on
	// a phone that was offline to sync (default 0: escalate at the deadline). Whatever it is,
	// a step counts as taken when the person took it: the timer escalates only when the step
	// was not taken by the deadline.
	SyncGrace time.Duration
	// MaxAttempts of one delivery (default 6).
	MaxAttempts int
	// Backoff before retry n (n ≥ 1) of a failed delivery; default 10 s · 3^(n-1), at most 30 min.
	Backoff func(attempt int) time.Duration
	// Sweep is the interval of the sweep that re-inserts missing timers and dispatches (default
	// a minute).
	Sweep time.Duration
	// Link, when set, is the portal URL of an alert: fmt.Sprintf(Link, id).
	Link string
}

// DefaultConfig returns the reference defaults (hazchem-flood.md: acknowledge within 15 min,
// county after 30 min not cleared … here the township; the county after 2 h).
func DefaultConfig() Config {
	return Config{AckTimeout: 15 * time.Minute, DisposeTimeout: 30 * time.Minute, CountyTimeout: 2 * time.Hour, MaxAttempts: 6,
		Sweep: time.Minute}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.AckTimeout <= 0 {
		c.AckTimeout = d.AckTimeout
	}
	if c.DisposeTimeout <= 0 {
		c.DisposeTimeout = d.DisposeTimeout
	}
	if c.CountyTimeout <= 0 {
		c.CountyTimeout = d.CountyTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.Sweep <= 0 {
		c.Sweep = d.Sweep
	}
	if c.Backoff == nil {
		c.Backoff = func(n int) time.Duration {
			d := 10 * time.Second
			for i := 1; i < n && d < 30*time.Minute; i++ {
				d *= 3
			}
			return min(d, 30*time.Minute)
		}
	}
}

// ChangeLog records server-side writes to synced collections in the writing transaction:
// *syncsvc.Service implements it.
type ChangeLog interface {
	Lock(ctx context.Context, q sqldb.Querier) error
	Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
}

// Inserter enqueues river jobs: *jobs.Runner implements it.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Service is the alert service.
type Service struct {
	DB       sqldb.DB
	Sync     ChangeLog
	Audit    yingji.Auditor
	Log      *slog.Logger
	Now      func() time.Time
	Config   Config
	Channels map[string]notify.Channel // by name: "fcm", "sms", "zzd", "dingtalk"
	// Jobs enqueues dispatch, delivery and timer jobs; set it once the runner started (see
	// Workers). Until then nothing is dispatched (the sweep catches up).
	Jobs Inserter
	// Async makes Apply hand the jobs of new alerts to a background goroutine instead of
	// inserting them before it returns, so the monitor's event path is not held up by the job
	// queue (on SQLite its inserts wait for the write lock behind bulk reading flushes). Close
	// waits for that goroutine; a crash before it inserted is covered by the sweep.
	Async bool
	// Inbox, when set, gets a notification for every in-app delivery to a user.
	Inbox Inbox

	alerts  *Collection
	actions *Actions

	post struct {
		sync.RWMutex
		once   sync.Once
		closed bool
		work   chan dispatchWork
		done   chan struct{}
	}
}

// New returns the service. Register Collections with the sync service, pass Workers and
// PeriodicJobs to the jobs runner, then set Jobs.
func New(db sqldb.DB, sync ChangeLog, audit yingji.Auditor, log *slog.Logger, cfg Config, channels map[string]notify.Channel) *Service {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	if channels == nil {
		channels = map[string]notify.Channel{}
	}
	s := &Service{DB: db, Sync: sync, Audit: audit, Log: log.With("component", "alert"), Now: time.Now, Config: cfg, Channels: channels}
	s.alerts = NewCollection()
	s.alerts.Now = func() time.Time { return s.Now() }
	s.actions = NewActions()
	s.actions.Now = func() time.Time { return s.Now() }
	return s
}

// Close stops the background dispatch of an Async service after it inserted what it was
// given (until ctx ends). Apply afterwards inserts its jobs itself.
func (s *Service) Close(ctx context.Context) error {
	s.post.Lock()
	started := s.post.work != nil && !s.post.closed
	s.post.closed = true
	if started {
		close(s.post.work)
	}
	s.post.Unlock()
	if !started {
		return nil
	}
	select {
	case <-s.post.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Collections are the synced collections of alerts ("alerts", "alert_actions"): register them
// with the sync service.
func (s *Service) Collections() []syncsvc.Collection {
	return []syncsvc.Collection{s.alerts, s.actions}
}

// timeLayout is how the server writes times: UTC, milliseconds, fixed width (sorts as text).
const timeLayout = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

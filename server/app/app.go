// Package app wires the server together: Main opens the database, builds the services and
// the HTTP API, and runs until stopped. End-to-end tests start a Main on port 0.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/media/local"
	"github.com/yingji/yingji/media/s3store"
	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/jobs"
	"github.com/yingji/yingji/server/mediasvc"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/mqtt"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/wake"
	"github.com/yingji/yingji/server/web"
)

// Version is set at build time with -ldflags "-X github.com/yingji/yingji/server/app.Version=...".
var Version = "dev"

// Main is one running server.
type Main struct {
	Config   config.Config
	Log      *slog.Logger
	DB       sqldb.DB
	API      *api.Server
	Accounts *account.Service
	Org      *org.Service
	Audit    *audit.Service
	Sync     *syncsvc.Service
	Media    *mediasvc.Service
	Risk     *risk.Service
	Jobs     *jobs.Runner
	Monitor  *monitor.Service
	Alerts   *alert.Service
	Inbox    *inbox.Service
	Registry *prometheus.Registry

	// Resources are the emergency resources and their spatial index (resources.go).
	Resources *resource.Service

	// Incidents are the incidents and the response (incidents.go).
	Incidents *incident.Service
	// Dispatch, Contacts and Router are dispatch, one-click contact and route planning
	// (dispatch.go). Router and Fax, when set before Open, replace the configured ones.
	Dispatch *dispatch.Service
	Contacts *dispatch.Contacts
	Router   route.Router
	Fax      notify.FaxGateway
	// Recorder records every published video stream (recordings.go); it is the SFU's
	// video.TrackSink.
	Recorder *record.Recorder
	// Video is live video: the SFU and the streams' metadata (video.go).
	Video *video.Service
	// VideoSink receives every publisher track (the recorder); nil: nothing is recorded.
	VideoSink video.TrackSink

	// Channels are the outside notification channels; when nil, Open builds them from the
	// configuration (tests set them to clients of local stand-ins).
	Channels map[string]notify.Channel

	// MQTTAddr is the embedded MQTT broker's address once Open returns ("" when not running).
	MQTTAddr string

	// MediaStore keeps the media objects; when nil, Open uses the local folder MediaDir.
	MediaStore media.Store

	// Extend, when set, is called by Open once the sync collections are registered and before
	// anything reads or writes them: tests add their own collections and scope sources.
	Extend func(m *Main) error

	// Now is the clock of every service; tests replace it. Defaults to time.Now.
	Now func() time.Time

	// DemoFeedEvery is the demo feeder's period (0: a minute, the demo points' sampling period).
	DemoFeedEvery time.Duration

	// TimelineAnchorEvery is the period of the timeline anchoring job (0: a minute; negative:
	// none, for tests that anchor themselves).
	TimelineAnchorEvery time.Duration

	// URL is the base address the server listens on, with the real port, once Open returns.
	URL string

	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc // stops background work (the PostgreSQL listener)
	store  *store.Store

	wake       *wake.Waker
	mqttBroker *mqtt.Broker
	mqttSub    *mqtt.Subscriber
	demoLoaded bool // the demo city was loaded by this start: add its monitoring too
	feedStop   func()
}

// NewLogger returns the logger the configuration asks for.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenDB opens the configured database. SQLite migrates itself; PostgreSQL must already be at
// the schema this program knows (the `migrate` command brings it there).
func OpenDB(ctx context.Context, cfg config.Config) (sqldb.DB, error) {
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("创建数据目录失败 (create data dir): %w", err)
		}
		return sqlite.Open(ctx, cfg.SQLitePath())
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("无法连接 PostgreSQL (cannot reach PostgreSQL): %w", err)
	}
	return db, nil
}

// Open prepares everything and starts listening; Run serves.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = NewLogger(m.Config, os.Stderr)
	}
	if err := os.MkdirAll(m.Config.MediaDir(), 0o750); err != nil {
		return fmt.Errorf("创建媒体目录失败 (create media dir): %w", err)
	}
	db, err := OpenDB(ctx, m.Config)
	if err != nil {
		return err
	}
	m.DB = db
	if err := sqldb.CheckSchema(ctx, db); err != nil {
		return err
	}
	st := store.New(db)
	m.store = st
	m.Sync = syncsvc.New(db, nil, m.Log)
	for _, c := range st.Collections() {
		m.Sync.Register(c)
	}
	m.Sync.Register(hazard.NewCollection())
	m.Sync.Register(hazard.NewActions())
	m.Sync.Register(st.RiskCollection())
	patrols := patrol.NewCollection(m.Sync)
	patrols.QRKey = func() ed25519.PublicKey { pub, _ := m.Risk.PublicKey(); return pub }
	m.Sync.Register(patrols)
	m.Sync.Register(patrol.NewChecklists())
	m.registerPlans()
	m.Sync.Register(st.ResourceCollection())
	m.registerTasks()
	m.registerVideoFixes()
	st.Changes = m.Sync
	if m.Channels == nil {
		if m.Channels, err = openChannels(ctx, m.Config); err != nil {
			return err
		}
	}
	m.Alerts = alert.New(db, m.Sync, nil, m.Log, alertConfig(m.Config), m.Channels)
	for _, c := range m.Alerts.Collections() {
		m.Sync.Register(c)
	}
	m.openInbox()
	m.openIncidents()
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerDBMetrics(m.Registry, db)

	m.Audit = audit.NewService(st, m.Log)
	m.Sync.Audit = m.Audit
	m.Alerts.Audit = m.Audit
	m.Inbox.Audit = m.Audit
	m.Incidents.Audit = m.Audit
	m.Org = org.NewService(st, m.Audit)
	m.Accounts = account.NewService(st, m.Org, m.Audit, account.Config{
		Policy:           account.Policy{MinLength: m.Config.PasswordMinLength},
		LockoutThreshold: m.Config.LockoutThreshold,
		LockoutDuration:  m.Config.LockoutDuration,
		SessionTTLWeb:    m.Config.SessionTTLWeb,
		SessionTTLMobile: m.Config.SessionTTLMobile,
	})
	m.Accounts.Log = m.Log.With("component", "account")
	if m.MediaStore == nil {
		if m.MediaStore, err = openMediaStore(ctx, m.Config); err != nil {
			return err
		}
	}
	m.Media, err = mediasvc.New(ctx, db, m.MediaStore, m.Audit, m.Log, mediasvc.Config{
		MaxPhoto: m.Config.MediaMaxPhoto, MaxVideo: m.Config.MediaMaxVideo, MaxAudio: m.Config.MediaMaxAudio,
		MaxPDF: m.Config.MediaMaxPDF, UploadDir: m.Config.MediaUploadDir(), UploadTTL: m.Config.MediaUploadTTL})
	if err != nil {
		return fmt.Errorf("启动媒体服务失败 (start media service): %w", err)
	}
	if err := m.openRecorder(ctx); err != nil {
		return err
	}
	m.Risk = risk.NewService(st, m.Audit)
	m.Resources = resource.NewService(st, m.Audit, m.Log)
	if err := m.Risk.Open(ctx); err != nil {
		return fmt.Errorf("载入风险点二维码签名密钥失败 (load risk QR key): %w", err)
	}
	if m.Now != nil {
		m.Risk.Now = m.Now
		m.Audit.Now, m.Org.Now, m.Accounts.Now, m.Sync.Now, m.Media.Now = m.Now, m.Now, m.Now, m.Now, m.Now
		m.Alerts.Now, m.Inbox.Now, m.Incidents.Now = m.Now, m.Now, m.Now
	}
	if pg, ok := db.(*postgres.DB); ok {
		if err := m.listen(ctx, pg); err != nil {
			return err
		}
	}
	if m.Extend != nil {
		if err := m.Extend(m); err != nil {
			return err
		}
	}
	// Records whose places follow new rules (a migration names their collections) move to
	// their new scopes before anyone pulls.
	if err := m.Sync.Reconcile(ctx); err != nil {
		return fmt.Errorf("同步范围更新失败 (reconcile sync scopes): %w", err)
	}

	if m.Config.Demo {
		if err := m.loadDemo(ctx); err != nil {
			return fmt.Errorf("载入演示数据失败 (load demo data): %w", err)
		}
	}

	if err := m.openResources(ctx); err != nil {
		return err
	}
	if err := m.openDispatch(); err != nil {
		return err
	}
	if m.VideoSink == nil && m.Recorder != nil {
		m.VideoSink = m.Recorder // every published stream is recorded
	}
	if err := m.openVideo(ctx); err != nil {
		return err
	}

	m.Monitor = monitor.New(db, m.Audit, m.Log, monitorConfig(m.Config))
	if m.Now != nil {
		m.Monitor.Now = m.Now
	}
	m.Monitor.SetAlertSink(m.Alerts)
	if pg, ok := db.(*postgres.DB); ok {
		m.listenMonitor(ctx, pg)
	}
	m.Registry.MustRegister(m.Monitor.Collectors()...)
	// The demo's devices and history go in before the jobs and the monitor start, so the alert
	// sweep never sees a history half made and the monitor starts from where it ends.
	if m.demoLoaded {
		if err := m.loadDemoMonitoring(ctx); err != nil {
			return fmt.Errorf("载入演示监测设备失败 (load demo devices): %w", err)
		}
		if m.Config.DemoHistory {
			if err := m.loadDemoHistory(ctx); err != nil {
				return fmt.Errorf("载入演示历史数据失败 (load demo history): %w", err)
			}
		}
	}
	// Alert timers fire within a poll of their deadline (see alert's punctual insert).
	m.startWake()
	jopt := jobs.Options{Now: m.Now, Log: m.Log, Audit: m.Audit, FetchPollInterval: 200 * time.Millisecond,
		Register: m.workers, Periodic: m.Alerts.PeriodicJobs(), Inbox: m.Inbox}
	jopt.Periodic = append(jopt.Periodic, m.timelineAnchorer().PeriodicJobs()...)
	if m.Jobs, err = jobs.Start(ctx, db, jopt); err != nil {
		return err
	}
	m.Alerts.Jobs = m.Jobs
	m.Inbox.SetJobs(m.Jobs)
	m.Alerts.Async = true
	if err := m.Monitor.Start(ctx); err != nil {
		return fmt.Errorf("启动监测服务失败 (start monitor): %w", err)
	}
	if err := m.startMQTT(ctx); err != nil {
		return err
	}
	if err := m.startDemoFeed(ctx); err != nil {
		return err
	}

	m.API = api.New(api.Config{MaxBodyBytes: m.Config.MaxBodyBytes, MaxImportBytes: m.Config.MaxImportBytes,
		MaxSyncBytes: m.Config.MaxSyncBytes, Version: Version, MapTileURL: m.Config.MapTileURL},
		api.Deps{DB: db, Accounts: m.Accounts, Org: m.Org, Audit: m.Audit, Sync: m.Sync, Registry: m.Registry, Log: m.Log})
	if err := m.API.MountMedia(m.Media); err != nil {
		return err
	}
	if err := m.API.MountRisk(m.Risk); err != nil {
		return err
	}
	m.API.MountReminders()
	m.API.MountNotifications(m.Inbox)
	m.API.MountPatrols()
	m.API.MountMonitor(m.Monitor)
	m.API.MountAlerts(m.Alerts)
	m.API.MountDashboard(m.Monitor, m.Alerts)
	if err := m.mountPlans(ctx); err != nil {
		return err
	}
	m.API.MountResources(m.Resources)
	m.API.MountIncidents(m.Incidents)
	m.API.MountDispatch(m.Dispatch, m.Contacts, m.Router)
	m.API.MountTasks()
	m.API.MountAssessments(m.newAssessments())
	m.API.MountRecordings(m.Recorder)
	m.API.MountVideo(m.Video)
	web.Mount(m.API.Echo, web.Handler()) // the portal: after every API route, so they keep precedence

	ln, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("无法监听 %s (listen): %w", m.Config.HTTPAddr, err)
	}
	m.ln = ln
	m.URL = "http://" + ln.Addr().String()
	m.srv = &http.Server{Handler: m.API.Echo, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	return nil
}

// Run serves until ctx is cancelled, then shuts down gracefully: stops accepting, lets
// in-flight requests finish (up to shutdown_timeout) and closes the database.
func (m *Main) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	m.Log.Info("应急平台已启动 Yingji serving at "+m.URL, "url", m.URL, "engine", m.DB.Engine(), "mqtt", m.MQTTAddr, "version", Version)
	select {
	case err := <-errc:
		m.Close()
		return err
	case <-ctx.Done():
	}
	m.Log.Info("正在停止 shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	err := m.srv.Shutdown(sctx)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	m.Log.Info("已停止 stopped")
	return err
}

// Close stops the jobs, releases the database (and the listener if Run never started).
func (m *Main) Close() error {
	if m.cancel != nil {
		m.cancel()
	}
	if m.srv == nil && m.ln != nil {
		m.ln.Close()
	}
	d := m.Config.ShutdownTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := m.stopMonitoring(ctx); err != nil {
		m.Log.Warn("停止监测服务出错 (stop monitoring)", "err", err)
	}
	m.Monitor = nil
	if m.wake != nil {
		m.wake.Close()
		m.wake = nil
	}
	if m.Alerts != nil {
		if err := m.Alerts.Close(ctx); err != nil {
			m.Log.Warn("停止预警派发出错 (stop alert dispatch)", "err", err)
		}
	}
	if m.Resources != nil {
		m.Resources.Close()
	}
	m.closeVideo() // the SFU first: it stops writing into the recorder
	m.closeRecorder(ctx)
	if m.Jobs != nil {
		if err := m.Jobs.Stop(ctx); err != nil {
			m.Log.Warn("停止后台任务出错 (stop jobs)", "err", err)
		}
		m.Jobs = nil
	}
	if m.DB != nil {
		err := m.DB.Close()
		m.DB = nil
		return err
	}
	return nil
}

func registerDBMetrics(reg *prometheus.Registry, db sqldb.DB) {
	switch d := db.(type) {
	case *sqlite.DB:
		reg.MustRegister(collectors.NewDBStatsCollector(d.WriteDB(), "sqlite_write"), collectors.NewDBStatsCollector(d.ReadDB(), "sqlite_read"))
	case *postgres.DB:
		reg.MustRegister(postgres.NewPoolCollector(d.Pool()))
	}
}

// maskURL hides the password in a database URL for logs.
func maskURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 {
			cred := u[i+3 : i+3+j]
			if k := strings.Index(cred, ":"); k >= 0 {
				return u[:i+3] + cred[:k] + ":***" + u[i+3+j:]
			}
		}
	}
	return u
}

// openMediaStore opens MinIO/S3 when configured, else the local media folder.
func openMediaStore(ctx context.Context, cfg config.Config) (media.Store, error) {
	if cfg.MediaS3Endpoint == "" {
		st, err := local.New(cfg.MediaDir())
		if err != nil {
			return nil, fmt.Errorf("打开媒体目录失败 (open media dir): %w", err)
		}
		return st, nil
	}
	st, err := s3store.New(ctx, s3store.Config{Endpoint: cfg.MediaS3Endpoint, AccessKey: cfg.MediaS3AccessKey,
		SecretKey: cfg.MediaS3SecretKey, Bucket: cfg.MediaS3Bucket, UseSSL: cfg.MediaS3UseSSL})
	if err != nil {
		return nil, fmt.Errorf("无法连接 MinIO/S3 %s (open media store): %w", cfg.MediaS3Endpoint, err)
	}
	return st, nil
}

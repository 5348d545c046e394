// Package inbox is the per-user inbox (站内消息): notifications the server writes for one
// user — an alert dispatched or escalated to him, a hazard assigned to him, a deadline or
// checklist reminder — synced to his phones in his user scope ("user:ID") and shown in the
// portal with an unread badge. The user marks them read, on the phone offline (read_at,
// last-writer-wins) or in the portal.
//
// Other modules write notifications with Put (in their own transaction, or in one of Put's):
// the id is derived from the notification's key, so a job that runs twice writes one. A
// notification may also go out on the user's outside channels (FCM, SMS, 浙政钉, DingTalk)
// with a delivery record per attempt (deliver.go); alert dispatches keep using the alert's own
// deliveries and only write the in-app notification. A new kind (a response task given to a
// person) is one entry in Kinds and a Put where the task is given.
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Kinds of notifications.
const (
	KindAlertDispatch    = "alert_dispatch"    // an alert reached the user's tier
	KindAlertEscalation  = "alert_escalation"  // an alert not handled in time was escalated to the user's tier
	KindHazardAssigned   = "hazard_assigned"   // a hazard was assigned to the user for rectification
	KindHazardDeadline   = "hazard_deadline"   // a hazard the user rectifies is due within a day
	KindHazardOverdue    = "hazard_overdue"    // a hazard under the user's supervision is past its deadline
	KindChecklistDue     = "checklist_due"     // a checklist period the user patrols ends soon
	KindChecklistOverdue = "checklist_overdue" // a checklist period the user patrols ended unpatrolled
	KindResponseProposed = "response_proposed" // a response step awaits the user's approval (he is the designated leader)
	KindResponseDecided  = "response_decided"  // the leader approved or rejected a response step the user proposed
	KindIncidentGroup    = "incident_group"    // the user joined an incident's command group, or its response changed
	KindIncidentEnded    = "incident_ended"    // the response to an incident the user is in was terminated
)

// Kinds lists every kind, with its Chinese name.
var Kinds = []string{KindAlertDispatch, KindAlertEscalation, KindHazardAssigned, KindHazardDeadline, KindHazardOverdue,
	KindChecklistDue, KindChecklistOverdue, KindResponseProposed, KindResponseDecided, KindIncidentGroup, KindIncidentEnded}

var kindNames = map[string]string{KindAlertDispatch: "预警通知", KindAlertEscalation: "预警上报", KindHazardAssigned: "隐患交办",
	KindHazardDeadline: "隐患到期提醒", KindHazardOverdue: "隐患逾期", KindChecklistDue: "巡查提醒", KindChecklistOverdue: "巡查逾期",
	KindResponseProposed: "响应待审批", KindResponseDecided: "响应审批结果", KindIncidentGroup: "应急响应", KindIncidentEnded: "响应终止"}

// KindName is a kind's Chinese name.
func KindName(k string) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return k
}

// Notification is one message in a user's inbox, as the API and the synced record show it.
type Notification struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Kind   string `json:"kind"`  // one of Kinds
	Title  string `json:"title"` // Chinese, short
	Body   string `json:"body"`  // Chinese
	// Level is a display label of the urgency, in Chinese, when the item has one: the alert's
	// level name (二级, 红色, …) or the hazard's (一般隐患, 重大隐患).
	Level         string `json:"level"`
	RefCollection string `json:"ref_collection"` // the synced collection of the item: alerts, hazards, checklists
	RefID         string `json:"ref_id"`
	Link          string `json:"link"`       // the portal path that opens the item: /alerts?id=…
	CreatedAt     string `json:"created_at"` // UTC RFC 3339
	ReadAt        string `json:"read_at"`    // "" while unread
}

// Item is what a module asks to put in a user's inbox. Key names the occasion (an alert's
// dispatch to this user at this tier and level, a reminder of this period): the same key
// always gives the same notification, so writing it again changes nothing.
type Item struct {
	Key           string
	UserID        string
	Kind          string
	Title, Body   string
	Level         string
	RefCollection string
	RefID         string
	Link          string
	// Deliver sends it on the user's outside channels too (reminders, assignments); alerts
	// have their own deliveries and leave it false.
	Deliver bool
}

// ID is the id of the notification an item with this key becomes.
func ID(key string) string { return uuid.NewSHA1(namespace, []byte(key)).String() }

var namespace = uuid.MustParse("7a1c3e0c-2f4e-5b7a-9c1d-6e0f5a4b3c21")

// Links to the portal's pages of an item (the portal opens its drawer from ?id=).
func AlertLink(id string) string     { return "/alerts?id=" + id }
func HazardLink(id string) string    { return "/hazards?id=" + id }
func ChecklistLink(id string) string { return "/checklists?id=" + id }
func IncidentLink(id string) string  { return "/command?id=" + id }

// ChangeLog records server-side writes to synced collections in the writing transaction:
// *syncsvc.Service implements it.
type ChangeLog interface {
	Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
}

// Inserter enqueues river jobs: *jobs.Runner implements it.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Service is the inbox.
type Service struct {
	DB       sqldb.DB
	Sync     ChangeLog
	Audit    yingji.Auditor
	Log      *slog.Logger
	Now      func() time.Time
	Channels map[string]notify.Channel // outside channels by name: "fcm", "sms", "zzd", "dingtalk"
	// MaxAttempts of one outside delivery (default 6); Backoff before retry n (default
	// 10 s · 3^(n-1), at most 30 min).
	MaxAttempts int
	Backoff     func(attempt int) time.Duration

	coll *Collection
	jobs atomic.Value // jobsRef: enqueues the outside deliveries (see SetJobs)
}

type jobsRef struct{ Inserter }

// SetJobs gives the inbox the job runner once it started; until then notifications are written
// in-app only. It may be called while notifications are being written.
func (s *Service) SetJobs(j Inserter) { s.jobs.Store(jobsRef{j}) }

func (s *Service) jobsRunner() Inserter {
	r, _ := s.jobs.Load().(jobsRef)
	return r.Inserter
}

// New returns the inbox service; register Collection with the sync service, pass Workers to
// the jobs runner, then SetJobs.
func New(db sqldb.DB, sync ChangeLog, audit yingji.Auditor, log *slog.Logger, channels map[string]notify.Channel) *Service {
	if log == nil {
		log = slog.Default()
	}
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	if channels == nil {
		channels = map[string]notify.Channel{}
	}
	s := &Service{DB: db, Sync: sync, Audit: audit, Log: log.With("component", "inbox"), Now: time.Now, Channels: channels,
		MaxAttempts: 6}
	s.Backoff = func(n int) time.Duration {
		d := 10 * time.Second
		for i := 1; i < n && d < 30*time.Minute; i++ {
			d *= 3
		}
		return min(d, 30*time.Minute)
	}
	s.coll = NewCollection()
	return s
}

// Collection is the synced collection "notifications": register it with the sync service.
func (s *Service) Collection() *Collection { return s.coll }

// timeLayout is how the server writes times: UTC, milliseconds, fixed width (sorts as text).
const timeLayout = "2006-01-02T15:04:05.000Z"

func (s *Service) now() string { return s.Now().UTC().Format(timeLayout) }

func (it Item) validate() error {
	switch {
	case it.Key == "" || it.UserID == "":
		return fmt.Errorf("inbox: put: key and user are required")
	case !slices.Contains(Kinds, it.Kind):
		return fmt.Errorf("inbox: put: unknown kind %q", it.Kind)
	case strings.TrimSpace(it.Title) == "":
		return fmt.Errorf("inbox: put: a title is required")
	}
	return nil
}

// Put writes an item into its user's inbox in its own transaction (see PutTx).
func (s *Service) Put(ctx context.Context, it Item) (bool, error) {
	var created bool
	err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		var err error
		created, err = s.PutTx(ctx, tx, it)
		return err
	})
	return created, err
}

// PutTx writes an item into its user's inbox in the caller's transaction, unless the
// notification of its key exists; it reports whether it wrote one. The change log gets it in
// the same transaction (the user's phones pull it, his live sockets are poked), and the
// outside deliveries of a Deliver item are enqueued after the commit.
func (s *Service) PutTx(ctx context.Context, q sqldb.Querier, it Item) (bool, error) {
	if err := it.validate(); err != nil {
		return false, err
	}
	id := ID(it.Key)
	n, err := q.Exec(ctx, `INSERT INTO notifications (id, user_id, kind, title, body, level, ref_collection, ref_id, link, created_at, read_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '') ON CONFLICT (id) DO NOTHING`,
		id, it.UserID, it.Kind, truncate(it.Title, 200), truncate(it.Body, 2000), it.Level, it.RefCollection, it.RefID, it.Link, s.now())
	if err != nil {
		return false, fmt.Errorf("inbox: put: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if err := s.Sync.Changed(ctx, q, CollectionName, id); err != nil {
		return false, fmt.Errorf("inbox: put: %w", err)
	}
	if it.Deliver {
		q.AfterCommit(func() {
			if err := s.dispatch(context.WithoutCancel(ctx), id); err != nil {
				s.Log.Warn("inbox: dispatch; the sweep retries", "notification_id", id, "err", err)
			}
		})
	}
	return true, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

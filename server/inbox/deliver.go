package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Outside deliveries of a notification: the user's configured channels — the channels of
// the alert receiver entries that name him (the same configuration alerts go by), else in-app
// and FCM, plus SMS when he has a phone number. The in-app delivery is the notification
// itself; every other channel is a river job retried with backoff, each attempt a row of
// notification_deliveries, sent through notify.Attempt like the alert deliveries.

// ChannelApp is the in-app channel: the synced notification.
const ChannelApp = "app"

// SMSTemplate is the platform's name of the reminder SMS template (parameters kind, title,
// time); the server maps it to the provider's template id (sms_reminder_template).
const SMSTemplate = "reminder"

// Job kinds of the inbox.
const (
	KindDispatchJob = "notification_dispatch"
	KindDeliveryJob = "notification_delivery"
)

// DispatchArgs sends a notification on its user's configured channels.
type DispatchArgs struct {
	NotificationID string `json:"notification_id"`
}

func (DispatchArgs) Kind() string { return KindDispatchJob }

// DeliveryArgs sends a notification on one outside channel; river retries it with backoff.
type DeliveryArgs struct {
	NotificationID string `json:"notification_id"`
	Channel        string `json:"channel"`
}

func (DeliveryArgs) Kind() string { return KindDeliveryJob }

// Delivery is one attempt, as the API shows it.
type Delivery struct {
	ID             string `json:"id"`
	NotificationID string `json:"notification_id"`
	Channel        string `json:"channel"`
	UserID         string `json:"user_id"`
	ReceiverName   string `json:"receiver_name"`
	Address        string `json:"address"`
	Attempt        int    `json:"attempt"`
	Status         string `json:"status"` // sent, failed, skipped
	ProviderID     string `json:"provider_id"`
	ErrorCode      string `json:"error_code"`
	ErrorMessage   string `json:"error_message"`
	At             string `json:"at"`
}

// Workers adds the inbox workers to river's (pass it to jobs.Options.Register).
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &dispatchWorker{s: s})
	river.AddWorker(w, &deliveryWorker{s: s})
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

func (w *dispatchWorker) Work(ctx context.Context, j *river.Job[DispatchArgs]) error {
	return w.s.dispatchNow(ctx, j.Args.NotificationID)
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	s *Service
}

func (w *deliveryWorker) Work(ctx context.Context, j *river.Job[DeliveryArgs]) error {
	return w.s.deliver(ctx, j.Args, j.Attempt)
}

// NextRetry is the configured backoff.
func (w *deliveryWorker) NextRetry(j *river.Job[DeliveryArgs]) time.Time {
	return time.Now().Add(w.s.Backoff(j.Attempt))
}

func unique() river.UniqueOpts { return river.UniqueOpts{ByArgs: true} }

// dispatch enqueues the dispatch of a new notification. Before the job runner started (the
// demo city loading) a notification stays in-app only.
func (s *Service) dispatch(ctx context.Context, id string) error {
	jobs := s.jobsRunner()
	if jobs == nil {
		return nil
	}
	_, err := jobs.Insert(ctx, DispatchArgs{NotificationID: id}, &river.InsertOpts{UniqueOpts: unique(), MaxAttempts: 10})
	return err
}

// recipient is a user with his addresses and channels.
type recipient struct {
	notify.Receiver
	Channels []string
}

// recipient resolves the user's channels and addresses; nil when the user is gone or disabled.
func (s *Service) recipient(ctx context.Context, q sqldb.Querier, userID string) (*recipient, error) {
	r := &recipient{Receiver: notify.Receiver{UserID: userID}}
	var disabled bool
	err := q.QueryRow(ctx, `SELECT name, phone, disabled FROM users WHERE id = $1`, userID).Scan(&r.Name, &r.Phone, &disabled)
	if errors.Is(err, yingji.ErrNotFound) || disabled {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: recipient: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT phone, zzd_account_id, dingtalk_webhook, dingtalk_secret, channels FROM alert_receivers
		WHERE user_id = $1 AND enabled = $2 ORDER BY created_at, id`, userID, true)
	type entry struct{ phone, zzd, webhook, secret, channels string }
	entries, err := sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (entry, error) {
		var e entry
		return e, rs.Scan(&e.phone, &e.zzd, &e.webhook, &e.secret, &e.channels)
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: recipient channels: %w", err)
	}
	for _, e := range entries {
		var chs []string
		json.Unmarshal([]byte(e.channels), &chs)
		for _, c := range chs {
			if !slices.Contains(r.Channels, c) {
				r.Channels = append(r.Channels, c)
			}
		}
		if r.Phone == "" {
			r.Phone = e.phone
		}
		if r.ZZDAccountID == "" {
			r.ZZDAccountID = e.zzd
		}
		if r.Webhook == "" {
			r.Webhook, r.Secret = e.webhook, e.secret
		}
	}
	if len(entries) == 0 {
		r.Channels = []string{ChannelApp, notify.ChannelFCM}
		if r.Phone != "" {
			r.Channels = append(r.Channels, notify.ChannelSMS)
		}
	}
	if !slices.Contains(r.Channels, ChannelApp) {
		// The notification is in his inbox whatever the configuration says.
		r.Channels = append([]string{ChannelApp}, r.Channels...)
	}
	return r, nil
}

func deliveryID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// dispatchNow records the in-app delivery and starts one delivery per outside channel.
func (s *Service) dispatchNow(ctx context.Context, id string) error {
	n, err := s.load(ctx, id)
	if err != nil || n == nil {
		return err
	}
	r, err := s.recipient(ctx, s.DB, n.UserID)
	if err != nil {
		return err
	}
	if r == nil {
		return s.record(ctx, Delivery{ID: deliveryID(id, ChannelApp), NotificationID: id, Channel: ChannelApp, UserID: n.UserID,
			Status: "skipped", ErrorCode: "no_receiver", ErrorMessage: "接收人已删除或停用"})
	}
	for _, ch := range r.Channels {
		d := Delivery{ID: deliveryID(id, ch), NotificationID: id, Channel: ch, UserID: n.UserID, ReceiverName: r.Name}
		switch {
		case ch == ChannelApp:
			d.Status, d.Address = "sent", "user:"+n.UserID
		case s.Channels[ch] == nil:
			d.Status, d.ErrorCode, d.ErrorMessage = "skipped", "not_configured", "未配置"+notify.ChannelName(ch)+"通道"
		default:
			if _, err := s.jobsRunner().Insert(ctx, DeliveryArgs{NotificationID: id, Channel: ch},
				&river.InsertOpts{UniqueOpts: unique(), MaxAttempts: s.MaxAttempts}); err != nil {
				return fmt.Errorf("inbox: enqueue delivery: %w", err)
			}
			continue
		}
		if err := s.record(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// deliver makes one attempt on an outside channel and records it. A permanent failure
// cancels the job; a retryable one returns the error so river retries with backoff.
func (s *Service) deliver(ctx context.Context, a DeliveryArgs, attempt int) error {
	n, err := s.load(ctx, a.NotificationID)
	if err != nil || n == nil {
		return err
	}
	d := Delivery{NotificationID: n.ID, Channel: a.Channel, UserID: n.UserID, Attempt: attempt}
	r, err := s.recipient(ctx, s.DB, n.UserID)
	if err != nil {
		return err
	}
	if r == nil {
		d.ID, d.Status, d.ErrorCode, d.ErrorMessage = deliveryID(n.ID, a.Channel, fmt.Sprint(attempt)), "skipped", "no_receiver", "接收人已删除或停用"
		return s.record(ctx, d)
	}
	d.ReceiverName = r.Name
	to := r.Receiver
	if a.Channel == notify.ChannelFCM && s.Channels[a.Channel] != nil {
		rows, err := s.DB.Query(ctx, `SELECT token FROM push_tokens WHERE user_id = $1 ORDER BY updated_at DESC`, n.UserID)
		if to.FCMTokens, err = sqldb.CollectRows(rows, err, func(rs sqldb.Rows) (string, error) {
			var t string
			return t, rs.Scan(&t)
		}); err != nil {
			return err
		}
	}
	o := notify.Attempt(ctx, s.Channels[a.Channel], a.Channel, to, s.message(*n))
	if len(o.Dead) > 0 {
		if err := sqldb.InChunks(o.Dead, nil, func(args []any, in string) error {
			_, err := s.DB.Exec(ctx, `DELETE FROM push_tokens WHERE token IN (`+in+`)`, args...)
			return err
		}); err != nil {
			s.Log.Warn("inbox: forget dead push tokens", "err", err)
		}
	}
	d.Address, d.Status, d.ProviderID, d.ErrorCode, d.ErrorMessage = o.Address, o.Status, o.ProviderID, o.Code, o.Message
	if o.Status == "skipped" {
		d.ID = deliveryID(n.ID, a.Channel, fmt.Sprint(attempt))
	}
	if err := s.record(ctx, d); err != nil || o.Err == nil {
		return err
	}
	if notify.Permanent(o.Err) {
		return river.JobCancel(o.Err)
	}
	return o.Err
}

// message is what an outside delivery says: the notification's title and text, its portal
// link and machine-readable fields for the phone app.
func (s *Service) message(n Notification) notify.Message {
	created, _ := time.Parse(time.RFC3339, n.CreatedAt)
	return notify.Message{ID: deliveryID(n.ID), Title: n.Title, Body: n.Body, Link: n.Link,
		Data:        map[string]string{"notification_id": n.ID, "kind": n.Kind, "ref_collection": n.RefCollection, "ref_id": n.RefID},
		SMSTemplate: SMSTemplate, SMSParams: map[string]string{"kind": KindName(n.Kind), "title": n.Title,
			"time": created.In(beijing).Format("01-02 15:04")}}
}

var beijing = time.FixedZone("CST", 8*3600)

func (s *Service) load(ctx context.Context, id string) (*Notification, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+cols+` FROM notifications WHERE id = $1`, id)
	list, err := sqldb.CollectRows(rows, err, scan)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

func (s *Service) record(ctx context.Context, d Delivery) error {
	if d.ID == "" {
		d.ID = yingji.NewID()
	}
	_, err := s.DB.Exec(ctx, `INSERT INTO notification_deliveries (id, notification_id, channel, receiver_key, receiver_name, user_id,
		address, attempt, status, provider_id, error_code, error_message, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.NotificationID, d.Channel, "user:"+d.UserID, d.ReceiverName, d.UserID, d.Address, max(d.Attempt, 1), d.Status,
		d.ProviderID, d.ErrorCode, truncate(d.ErrorMessage, 500), s.now())
	if err != nil {
		return fmt.Errorf("inbox: record delivery: %w", err)
	}
	return nil
}

// Deliveries lists the delivery attempts of one of the actor's notifications.
func (s *Service) Deliveries(ctx context.Context, a *yingji.Actor, id string) ([]Delivery, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.Query(ctx, `SELECT id, notification_id, channel, user_id, receiver_name, address, attempt, status, provider_id,
		error_code, error_message, at FROM notification_deliveries WHERE notification_id = $1 ORDER BY at, id`, id)
	list, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Delivery, error) {
		var d Delivery
		return d, r.Scan(&d.ID, &d.NotificationID, &d.Channel, &d.UserID, &d.ReceiverName, &d.Address, &d.Attempt, &d.Status,
			&d.ProviderID, &d.ErrorCode, &d.ErrorMessage, &d.At)
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: deliveries: %w", err)
	}
	if list == nil {
		list = []Delivery{}
	}
	return list, nil
}

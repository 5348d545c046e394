package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// target is one receiver of a tier, resolved from the configuration or the defaults.
type target struct {
	Key      string // "rcv:<id>" or "user:<id>"
	Name     string
	UserID   string
	Phone    string
	ZZD      string
	Webhook  string
	Secret   string
	Channels []string
	MinLevel int
}

// tierUnit returns the unit an alert's tier is anchored on: the enterprise for the enterprise
// tier, the township (or district) org unit for the others; "" when there is none. scope is
// the sync scope the alert reaches that unit by.
func tierUnit(ctx context.Context, q sqldb.Querier, al Alert, tier string) (unit, scope string, err error) {
	if tier == TierEnterprise {
		if al.EnterpriseID == "" {
			return "", "", nil
		}
		return al.EnterpriseID, "ent:" + al.EnterpriseID, nil
	}
	level := "township"
	if tier == TierCounty {
		level = "district"
	}
	ids := strings.Split(strings.Trim(al.OrgPath, "/"), "/")
	err = sqldb.InChunks(ids, []any{level}, func(args []any, in string) error {
		return q.QueryRow(ctx, `SELECT id FROM org_units WHERE level = $1 AND id IN (`+in+`)`, args...).Scan(&unit)
	})
	if errors.Is(err, yingji.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("alert: %s unit: %w", tier, err)
	}
	return unit, "org:" + unit, nil
}

// receivers resolves who receives an alert at a tier: the configured receivers of the unit,
// else by role (enterprise: its safety officers and principals; township: the township's
// administrators; county: the district's administrators) on app, FCM and SMS.
func (s *Service) receivers(ctx context.Context, q sqldb.Querier, al Alert, tier string) ([]target, string, error) {
	unit, scope, err := tierUnit(ctx, q, al, tier)
	if err != nil || unit == "" {
		return nil, scope, err
	}
	col := "org_unit_id"
	if tier == TierEnterprise {
		col = "enterprise_id"
	}
	rows, err := q.Query(ctx, `SELECT `+receiverCols+` FROM alert_receivers WHERE tier = $1 AND `+col+` = $2 ORDER BY created_at, id`, tier, unit)
	configured, err := sqldb.CollectRows(rows, err, scanReceiver)
	if err != nil {
		return nil, scope, fmt.Errorf("alert: receivers: %w", err)
	}
	var out []target
	for _, r := range configured {
		if r.Enabled {
			out = append(out, r.target())
		}
	}
	if len(configured) > 0 {
		return out, scope, nil
	}
	var where string
	var args []any
	switch tier {
	case TierEnterprise:
		where, args = `enterprise_id = $1 AND role IN ('safety_officer', 'enterprise_principal')`, []any{unit}
	case TierTownship:
		where, args = `org_unit_id = $1 AND role = 'township_admin'`, []any{unit}
	default:
		where, args = `org_unit_id = $1 AND role = 'district_admin'`, []any{unit}
	}
	rows, err = q.Query(ctx, `SELECT id, name, phone FROM users WHERE NOT disabled AND `+where+` ORDER BY username`, args...)
	users, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (target, error) {
		var t target
		err := r.Scan(&t.UserID, &t.Name, &t.Phone)
		return t, err
	})
	if err != nil {
		return nil, scope, fmt.Errorf("alert: default receivers: %w", err)
	}
	for _, t := range users {
		t.Key, t.MinLevel = "user:"+t.UserID, 1
		t.Channels = []string{ChannelApp, ChannelFCM}
		if t.Phone != "" {
			t.Channels = append(t.Channels, ChannelSMS)
		}
		out = append(out, t)
	}
	return out, scope, nil
}

// targetByKey loads one receiver for a delivery.
func (s *Service) targetByKey(ctx context.Context, q sqldb.Querier, key string) (*target, error) {
	kind, id, _ := strings.Cut(key, ":")
	switch kind {
	case "rcv":
		rows, err := q.Query(ctx, `SELECT `+receiverCols+` FROM alert_receivers WHERE id = $1`, id)
		list, err := sqldb.CollectRows(rows, err, scanReceiver)
		if err != nil || len(list) == 0 {
			return nil, err
		}
		t := list[0].target()
		return &t, nil
	case "user":
		t := target{Key: key, UserID: id, MinLevel: 1}
		err := q.QueryRow(ctx, `SELECT name, phone FROM users WHERE id = $1`, id).Scan(&t.Name, &t.Phone)
		if errors.Is(err, yingji.ErrNotFound) {
			return nil, nil
		}
		return &t, err
	}
	return nil, nil
}

// deliveryID is the stable id of one delivery (alert, tier, level, receiver, channel): the
// idempotency key the channels see, and the id of rows written once.
func deliveryID(a DeliveryArgs) string {
	h := sha256.Sum256([]byte(strings.Join([]string{a.AlertID, a.Tier, fmt.Sprint(a.Level), a.Receiver, a.Channel}, "\x00")))
	return hex.EncodeToString(h[:16])
}

// delivery is one row of alert_deliveries.
type delivery struct {
	ID                    string
	Args                  DeliveryArgs
	NotificationID        string // the in-app delivery's notification
	Name, UserID, Addr    string
	Attempt               int
	Status                string
	ProviderID, Code, Msg string
}

func (s *Service) record(ctx context.Context, q sqldb.Querier, d delivery) error {
	if d.ID == "" {
		d.ID = yingji.NewID()
	}
	_, err := q.Exec(ctx, `INSERT INTO alert_deliveries (id, alert_id, tier, level, channel, receiver_key, receiver_name, user_id,
		address, attempt, status, provider_id, error_code, error_message, at, notification_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Args.AlertID, d.Args.Tier, d.Args.Level, d.Args.Channel, d.Args.Receiver, d.Name, d.UserID, d.Addr, max(d.Attempt, 1),
		d.Status, d.ProviderID, d.Code, truncate(d.Msg, 500), fmtTime(s.Now()), d.NotificationID)
	if err != nil {
		return fmt.Errorf("alert: record delivery: %w", err)
	}
	return nil
}

// dispatch resolves the receivers of a tier and starts a delivery per receiver and channel.
func (s *Service) dispatch(ctx context.Context, d DispatchArgs) error {
	al, err := s.load(ctx, s.DB, d.AlertID)
	if yingji.ErrorKind(err) == yingji.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	targets, scope, err := s.receivers(ctx, s.DB, al, d.Tier)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if t.MinLevel > d.Level {
			continue
		}
		for _, ch := range t.Channels {
			a := DeliveryArgs{AlertID: d.AlertID, Tier: d.Tier, Level: d.Level, Receiver: t.Key, Channel: ch}
			row := delivery{ID: deliveryID(a), Args: a, Name: t.Name, UserID: t.UserID}
			switch {
			case ch == ChannelApp && t.UserID == "":
				row.Status, row.Code, row.Msg = "skipped", "not_a_user", "接收人不是系统用户，无法在应用内接收"
			case ch == ChannelApp:
				// In-app is the synced alert, already in the scope this user holds, and a
				// notification in his inbox.
				row.Status, row.Addr = "sent", "scope "+scope
				if row.NotificationID, err = s.notifyInApp(ctx, al, d, t.UserID); err != nil {
					return err
				}
			case s.Channels[ch] == nil:
				row.Status, row.Code, row.Msg = "skipped", "not_configured", "未配置"+ChannelName(ch)+"通道"
			default:
				if _, err := s.Jobs.Insert(ctx, a, &river.InsertOpts{UniqueOpts: *unique(), MaxAttempts: s.Config.MaxAttempts}); err != nil {
					return fmt.Errorf("alert: enqueue delivery: %w", err)
				}
				continue
			}
			if err := s.record(ctx, s.DB, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// deliver sends one delivery and records the attempt. A permanent failure cancels the job; a
// retryable one returns the error so river retries with backoff.
func (s *Service) deliver(ctx context.Context, a DeliveryArgs, attempt, maxAttempts int) error {
	row := delivery{Args: a, Attempt: attempt}
	skip := func(code, msg string) error {
		row.ID, row.Status, row.Code, row.Msg = deliveryID(a)+fmt.Sprintf("-%d", attempt), "skipped", code, msg
		return s.record(ctx, s.DB, row)
	}
	al, err := s.load(ctx, s.DB, a.AlertID)
	if yingji.ErrorKind(err) == yingji.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	t, err := s.targetByKey(ctx, s.DB, a.Receiver)
	if err != nil {
		return err
	}
	if t == nil {
		return skip("no_receiver", "接收人已删除")
	}
	row.Name, row.UserID = t.Name, t.UserID
	if !Open(al.Status) {
		return skip("handled", "预警已处置，不再发送")
	}
	to := notify.Receiver{UserID: t.UserID, Name: t.Name, Phone: t.Phone, ZZDAccountID: t.ZZD, Webhook: t.Webhook, Secret: t.Secret}
	if a.Channel == ChannelFCM && t.UserID != "" && s.Channels[a.Channel] != nil {
		if to.FCMTokens, err = userTokens(ctx, s.DB, t.UserID); err != nil {
			return err
		}
	}
	o := notify.Attempt(ctx, s.Channels[a.Channel], a.Channel, to, s.message(al, a))
	if len(o.Dead) > 0 {
		if derr := s.forgetTokens(ctx, o.Dead); derr != nil {
			s.Log.Warn("alert: forget dead push tokens", "err", derr)
		}
	}
	row.Addr = o.Address
	if o.Status == "skipped" {
		return skip(o.Code, o.Message)
	}
	row.Status, row.ProviderID, row.Code, row.Msg = o.Status, o.ProviderID, o.Code, o.Message
	if rerr := s.record(ctx, s.DB, row); rerr != nil || o.Err == nil {
		return rerr
	}
	err = o.Err
	if notify.Permanent(err) {
		return river.JobCancel(err)
	}
	return err
}

func (s *Service) forgetTokens(ctx context.Context, tokens []string) error {
	return sqldb.InChunks(tokens, nil, func(args []any, in string) error {
		_, err := s.DB.Exec(ctx, `DELETE FROM push_tokens WHERE token IN (`+in+`)`, args...)
		return err
	})
}

// message is what a delivery says.
func (s *Service) message(al Alert, a DeliveryArgs) notify.Message {
	level := al.LevelName
	if level == "" {
		level = fmt.Sprintf("%d级", al.Level)
	}
	where := al.EnterpriseName
	if where == "" {
		where = "监测点"
	}
	started := parseTime(al.StartedAt).In(zone).Format("01-02 15:04")
	body := fmt.Sprintf("%s%s：%s", where, started, al.Title)
	if al.Kind == "threshold" {
		body += fmt.Sprintf("，当前值 %s%s（阈值 %s%s）", num(al.Value), al.Unit, num(al.Threshold), al.Unit)
	}
	if a.Tier != TierEnterprise {
		body += fmt.Sprintf("。企业未在规定时间内处置，已上报%s", TierName(a.Tier))
	}
	body += "。请及时处置。"
	m := notify.Message{ID: deliveryID(a), Title: "【" + level + "预警】" + al.Title, Body: body,
		Data:        map[string]string{"alert_id": al.ID, "level": fmt.Sprint(al.Level), "tier": a.Tier, "kind": al.Kind},
		SMSTemplate: "alert", SMSParams: map[string]string{"enterprise": where, "title": al.Title, "level": level, "time": started}}
	if s.Config.Link != "" {
		m.Link = fmt.Sprintf(s.Config.Link, al.ID)
	}
	return m
}

// MaskPhone hides the middle of a mobile number: 138****1234.
func MaskPhone(p string) string { return notify.MaskPhone(p) }

// userTokens are the FCM tokens of a user's phones, newest first.
func userTokens(ctx context.Context, q sqldb.Querier, userID string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT token FROM push_tokens WHERE user_id = $1 ORDER BY updated_at DESC`, userID)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (string, error) {
		var tok string
		return tok, r.Scan(&tok)
	})
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func channelsJSON(ch []string) string {
	b, _ := json.Marshal(ch)
	return string(b)
}

package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// TimelineItem is one moment of an alert's life.
type TimelineItem struct {
	// At is when it happened; for a step taken on a phone, when the person took it.
	At string `json:"at"`
	// ReceivedAt is when the server received a step taken on a phone, when it came later
	// than At (the phone was offline); absent otherwise.
	ReceivedAt string `json:"received_at,omitempty"`
	Kind       string `json:"kind"` // raised, level, cleared, recurred, escalated, status, action, delivery
	Text       string `json:"text"` // Chinese description
	By         string `json:"by,omitempty"`
	ByName     string `json:"by_name,omitempty"`
	Tier       string `json:"tier,omitempty"`
	// Delivery is set on delivery items; Action on action items.
	Delivery *Delivery `json:"delivery,omitempty"`
	Action   *Action   `json:"action,omitempty"`
}

// Delivery is one delivery attempt.
type Delivery struct {
	ID           string `json:"id"`
	AlertID      string `json:"alert_id"`
	Tier         string `json:"tier"`
	Level        int    `json:"level"`
	Channel      string `json:"channel"`
	ReceiverKey  string `json:"receiver_key"`
	ReceiverName string `json:"receiver_name"`
	UserID       string `json:"user_id"`
	Address      string `json:"address"`
	Attempt      int    `json:"attempt"`
	Status       string `json:"status"` // sent, failed, skipped
	ProviderID   string `json:"provider_id"`
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
	At           string `json:"at"`
	// NotificationID is the inbox notification an in-app delivery wrote ("" otherwise).
	NotificationID string `json:"notification_id"`
}

// Action is a comment, acknowledgement, disposal or feedback on an alert.
type Action struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Text   string   `json:"text"`
	Photos []string `json:"photos"`
	Tier   string   `json:"tier"`
	By     string   `json:"by_user"`
	At     string   `json:"at"` // when the person acted
	// ReceivedAt is when the server received the action ("" for actions older than this field).
	ReceivedAt string `json:"received_at"`
}

// Deliveries lists an alert's delivery attempts in time order.
func (s *Service) Deliveries(ctx context.Context, a *yingji.Actor, alertID string) ([]Delivery, error) {
	if _, err := s.Get(ctx, a, alertID); err != nil {
		return nil, err
	}
	return s.deliveries(ctx, alertID)
}

func (s *Service) deliveries(ctx context.Context, alertID string) ([]Delivery, error) {
	rows, err := s.DB.Query(ctx, `SELECT id, alert_id, tier, level, channel, receiver_key, receiver_name, user_id, address, attempt,
		status, provider_id, error_code, error_message, at, notification_id FROM alert_deliveries WHERE alert_id = $1 ORDER BY at, id`, alertID)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.AlertID, &d.Tier, &d.Level, &d.Channel, &d.ReceiverKey, &d.ReceiverName, &d.UserID, &d.Address,
			&d.Attempt, &d.Status, &d.ProviderID, &d.ErrorCode, &d.ErrorMessage, &d.At, &d.NotificationID)
		return d, err
	})
}

// receivedLater returns received when it is a second or more after at (a step synced by a
// phone that was offline), else "".
func receivedLater(at, received string) string {
	if received == "" || parseTime(received).Sub(parseTime(at)) < time.Second {
		return ""
	}
	return received
}

// syncedNote tells on a timeline that a step was taken offline and when it reached the server
// (Beijing time).
func syncedNote(received string) string {
	if received == "" {
		return ""
	}
	return "（离线操作，" + parseTime(received).In(zone).Format("01-02 15:04:05") + " 同步到服务器）"
}

var actionNames = map[string]string{"comment": "评论", "acknowledge": "确认", "dispose": "处置", "feedback": "反馈"}

// Timeline merges what happened to an alert in time order: raised, level changes, cleared,
// escalations, status changes with the disposal, actions and deliveries.
func (s *Service) Timeline(ctx context.Context, a *yingji.Actor, alertID string) ([]TimelineItem, error) {
	al, err := s.Get(ctx, a, alertID)
	if err != nil {
		return nil, err
	}
	var out []TimelineItem
	rows, err := s.DB.Query(ctx, `SELECT kind, level, tier, status, by_user, message, at, received_at FROM alert_events WHERE alert_id = $1`, alertID)
	evs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (event, error) {
		var e event
		err := r.Scan(&e.Kind, &e.Level, &e.Tier, &e.Status, &e.By, &e.Message, &e.At, &e.ReceivedAt)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("alert: timeline: %w", err)
	}
	for _, e := range evs {
		it := TimelineItem{At: e.At, ReceivedAt: receivedLater(e.At, e.ReceivedAt), Kind: e.Kind, By: e.By, Tier: e.Tier}
		switch e.Kind {
		case EventRaised:
			it.Text = fmt.Sprintf("产生%d级预警：%s", e.Level, al.Title)
		case EventLevel:
			it.Text = fmt.Sprintf("预警升级为%d级", e.Level)
		case EventCleared:
			it.Text = "监测值恢复正常（预警仍待处置）"
		case EventRecurred:
			it.Text = "监测值再次异常"
		case EventEscalated:
			it.Text = fmt.Sprintf("%s，已上报%s", e.Message, TierName(e.Tier))
		case EventIncident:
			it.Text = e.Message
		case EventStatus:
			it.Text = "预警" + StatusName(e.Status)
			if !Open(e.Status) && e.Message != "" {
				it.Text += "，处置原因：" + e.Message
			}
		}
		if e.Message != "" && (e.Kind == EventRaised || e.Kind == EventLevel) {
			it.Text += "（" + e.Message + "）"
		}
		it.Text += syncedNote(it.ReceivedAt)
		out = append(out, it)
	}
	rows, err = s.DB.Query(ctx, `SELECT id, kind, text, photos, tier, by_user, at, received_at FROM alert_actions WHERE alert_id = $1`, alertID)
	acts, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Action, error) {
		var x Action
		var photos string
		err := r.Scan(&x.ID, &x.Kind, &x.Text, &photos, &x.Tier, &x.By, &x.At, &x.ReceivedAt)
		x.Photos = []string{}
		json.Unmarshal([]byte(photos), &x.Photos)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("alert: timeline actions: %w", err)
	}
	for i := range acts {
		x := acts[i]
		text := TierName(x.Tier) + nameOr(actionNames, x.Kind)
		if x.Text != "" {
			text += "：" + x.Text
		}
		if len(x.Photos) > 0 {
			text += fmt.Sprintf("（%d 张照片）", len(x.Photos))
		}
		rcv := receivedLater(x.At, x.ReceivedAt)
		text += syncedNote(rcv)
		out = append(out, TimelineItem{At: x.At, ReceivedAt: rcv, Kind: "action", Text: text, By: x.By, Tier: x.Tier, Action: &x})
	}
	ds, err := s.deliveries(ctx, alertID)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		d := ds[i]
		who := d.ReceiverName
		text := fmt.Sprintf("通过%s通知%s %s", ChannelName(d.Channel), TierName(d.Tier), who)
		switch d.Status {
		case "sent":
			text += "：已发送"
		case "failed":
			text += fmt.Sprintf("：第 %d 次发送失败（%s）", d.Attempt, d.ErrorMessage)
		case "skipped":
			text += "：未发送（" + d.ErrorMessage + "）"
		}
		out = append(out, TimelineItem{At: d.At, Kind: "delivery", Text: text, By: d.UserID, Tier: d.Tier, Delivery: &d})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	names := map[string]string{}
	for _, it := range out {
		if it.By != "" && it.Kind != "delivery" {
			names[it.By] = ""
		}
	}
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	err = sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := s.DB.Query(ctx, `SELECT id, name FROM users WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			names[id] = name
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Kind != "delivery" {
			out[i].ByName = names[out[i].By]
		}
	}
	return out, nil
}

package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Receiver is a configured receiver of alerts at a tier: for the enterprise tier an
// enterprise's, for the township and county tiers an org unit's (township, district).
type Receiver struct {
	ID              string    `json:"id"`
	Tier            string    `json:"tier"`
	EnterpriseID    string    `json:"enterprise_id"`
	OrgUnitID       string    `json:"org_unit_id"`
	OrgPath         string    `json:"org_path"`
	UserID          string    `json:"user_id"`
	Name            string    `json:"name"`
	Phone           string    `json:"phone"`
	ZZDAccountID    string    `json:"zzd_account_id"`
	DingTalkWebhook string    `json:"dingtalk_webhook"`
	DingTalkSecret  string    `json:"dingtalk_secret,omitempty"` // never answered; "******" when set
	Channels        []string  `json:"channels"`
	MinLevel        int       `json:"min_level"`
	Enabled         bool      `json:"enabled"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

const receiverCols = `id, tier, enterprise_id, org_unit_id, org_path, user_id, name, phone, zzd_account_id, dingtalk_webhook,
	dingtalk_secret, channels, min_level, enabled, created_at, updated_at`

func scanReceiver(r sqldb.Rows) (Receiver, error) {
	var x Receiver
	var ch string
	err := r.Scan(&x.ID, &x.Tier, &x.EnterpriseID, &x.OrgUnitID, &x.OrgPath, &x.UserID, &x.Name, &x.Phone, &x.ZZDAccountID,
		&x.DingTalkWebhook, &x.DingTalkSecret, &ch, &x.MinLevel, &x.Enabled, &x.CreatedAt, &x.UpdatedAt)
	x.Channels = []string{}
	json.Unmarshal([]byte(ch), &x.Channels)
	return x, err
}

func (r Receiver) target() target {
	return target{Key: "rcv:" + r.ID, Name: r.Name, UserID: r.UserID, Phone: r.Phone, ZZD: r.ZZDAccountID, Webhook: r.DingTalkWebhook,
		Secret: r.DingTalkSecret, Channels: r.Channels, MinLevel: r.MinLevel}
}

// public hides the secret.
func (r Receiver) public() Receiver {
	if r.DingTalkSecret != "" {
		r.DingTalkSecret = "******"
	}
	return r
}

var mobile = regexp.MustCompile(`^1[3-9]\d{9}$`)

// validate normalises and checks a receiver, and resolves its unit's org path.
func (s *Service) validateReceiver(ctx context.Context, a *yingji.Actor, r *Receiver) error {
	r.Name, r.Phone = strings.TrimSpace(r.Name), strings.TrimSpace(r.Phone)
	r.ZZDAccountID, r.DingTalkWebhook = strings.TrimSpace(r.ZZDAccountID), strings.TrimSpace(r.DingTalkWebhook)
	if !slices.Contains(Tiers, r.Tier) {
		return yingji.Invalid("alert.bad_tier", "tier", "层级只能是 enterprise（企业）、township（乡镇街道）或 county（区县）")
	}
	switch r.Tier {
	case TierEnterprise:
		r.OrgUnitID = ""
		if r.EnterpriseID == "" {
			return yingji.Invalid("alert.missing_enterprise", "enterprise_id", "企业层级的接收人须指定企业")
		}
		err := s.DB.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, r.EnterpriseID).Scan(&r.OrgPath)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("alert.bad_enterprise", "enterprise_id", "企业不存在")
		}
		if err != nil {
			return err
		}
		if !a.CanReadEnterprise(r.EnterpriseID, r.OrgPath) {
			return yingji.Forbidden("企业")
		}
	default:
		r.EnterpriseID = ""
		want, name := "township", "乡镇（街道）"
		if r.Tier == TierCounty {
			want, name = "district", "区县"
		}
		var level string
		err := s.DB.QueryRow(ctx, `SELECT level, path FROM org_units WHERE id = $1`, r.OrgUnitID).Scan(&level, &r.OrgPath)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("alert.bad_unit", "org_unit_id", "组织机构不存在")
		}
		if err != nil {
			return err
		}
		if level != want {
			return yingji.Invalid("alert.bad_unit", "org_unit_id", "%s层级的接收人须指定一个%s", TierName(r.Tier), name)
		}
		if a.Role.ScopeKind() == yingji.ScopeEnterprise || !a.InSubtree(r.OrgPath) {
			return yingji.Forbidden("组织机构")
		}
	}
	if r.UserID != "" {
		var name, phone string
		err := s.DB.QueryRow(ctx, `SELECT name, phone FROM users WHERE id = $1`, r.UserID).Scan(&name, &phone)
		if errors.Is(err, yingji.ErrNotFound) {
			return yingji.Invalid("alert.bad_user", "user_id", "用户不存在")
		}
		if err != nil {
			return err
		}
		if r.Name == "" {
			r.Name = name
		}
		if r.Phone == "" {
			r.Phone = phone
		}
	}
	if r.Name == "" || len([]rune(r.Name)) > 50 {
		return yingji.Invalid("alert.bad_name", "name", "接收人姓名不能为空，且不超过 50 个字")
	}
	if r.Phone != "" && !mobile.MatchString(r.Phone) {
		return yingji.Invalid("alert.bad_phone", "phone", "手机号应为 11 位中国大陆手机号")
	}
	if len(r.ZZDAccountID) > 64 {
		return yingji.Invalid("alert.bad_zzd", "zzd_account_id", "浙政钉账号不超过 64 个字符")
	}
	if r.DingTalkWebhook != "" {
		u, err := url.Parse(r.DingTalkWebhook)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return yingji.Invalid("alert.bad_webhook", "dingtalk_webhook", "钉钉机器人地址应为 http(s) 网址")
		}
	}
	if len(r.Channels) == 0 {
		return yingji.Invalid("alert.no_channel", "channels", "请至少选择一种通知方式")
	}
	seen := map[string]bool{}
	var chans []string
	for _, c := range r.Channels {
		if !slices.Contains(AllChannels, c) {
			return yingji.Invalid("alert.bad_channel", "channels", "未知的通知方式“%s”（可选 app、fcm、sms、zzd、dingtalk）", c)
		}
		if !seen[c] {
			seen[c] = true
			chans = append(chans, c)
		}
	}
	r.Channels = chans
	need := map[string]struct {
		ok  bool
		msg string
	}{
		ChannelApp:      {r.UserID != "", "应用内通知和手机推送只能发给系统用户，请选择用户"},
		ChannelFCM:      {r.UserID != "", "应用内通知和手机推送只能发给系统用户，请选择用户"},
		ChannelSMS:      {r.Phone != "", "短信通知需要手机号"},
		ChannelZZD:      {r.ZZDAccountID != "", "浙政钉通知需要浙政钉账号"},
		ChannelDingTalk: {r.DingTalkWebhook != "", "钉钉群机器人通知需要机器人地址"},
	}
	for _, c := range r.Channels {
		if n := need[c]; !n.ok {
			return yingji.Invalid("alert.channel_address", "channels", "%s", n.msg)
		}
	}
	if r.MinLevel == 0 {
		r.MinLevel = 1
	}
	if r.MinLevel < 1 || r.MinLevel > 4 {
		return yingji.Invalid("alert.bad_min_level", "min_level", "最低预警级别应为 1–4")
	}
	return nil
}

// Receivers lists the configured receivers in the actor's scope; tier, enterprise and unit
// narrow it.
func (s *Service) Receivers(ctx context.Context, a *yingji.Actor, tier, enterpriseID, orgUnitID string) ([]Receiver, error) {
	page, err := s.ReceiverPage(ctx, a, ReceiverFilter{Tier: tier, EnterpriseID: enterpriseID, OrgUnitID: orgUnitID}, yingji.ListParams{})
	return page.Items, err
}

// ReceiverFilter selects receivers: Q matches the name or the phone number.
type ReceiverFilter struct {
	Tier, EnterpriseID, OrgUnitID, Q string
	Enabled                          *bool
}

// ReceiverPage returns a page of the receivers in the actor's scope (all of them when p has no
// page size), by tier and creation unless p sorts by name, phone, min_level or created_at.
func (s *Service) ReceiverPage(ctx context.Context, a *yingji.Actor, f ReceiverFilter, p yingji.ListParams) (yingji.Page[Receiver], error) {
	page := yingji.Page[Receiver]{Items: []Receiver{}}
	if err := a.Require(yingji.PermAlertConfig); err != nil {
		return page, err
	}
	var w sqldb.Where
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		w.Add("enterprise_id = ?", a.EnterpriseID)
	} else {
		w.Prefix("org_path", a.OrgPath)
	}
	if f.Tier != "" {
		w.Add("tier = ?", f.Tier)
	}
	if f.EnterpriseID != "" {
		w.Add("enterprise_id = ?", f.EnterpriseID)
	}
	if f.OrgUnitID != "" {
		w.Add("org_unit_id = ?", f.OrgUnitID)
	}
	if f.Enabled != nil {
		w.Add("enabled = ?", *f.Enabled)
	}
	if f.Q != "" {
		w.Add(`(name LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\')`, sqldb.Like(f.Q), sqldb.Like(f.Q))
	}
	order, err := p.OrderBy(map[string]string{"name": "name", "phone": "phone", "min_level": "min_level", "created_at": "created_at"},
		"tier, created_at, id")
	if err != nil {
		return page, err
	}
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM alert_receivers`+w.SQL(), w.Args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("alert: receivers: %w", err)
	}
	q := `SELECT ` + receiverCols + ` FROM alert_receivers` + w.SQL() + ` ORDER BY ` + order
	if p.PageSize > 0 {
		q += " LIMIT " + w.Next(p.PageSize) + " OFFSET " + w.Next(p.Offset())
	}
	rows, err := s.DB.Query(ctx, q, w.Args...)
	list, err := sqldb.CollectRows(rows, err, scanReceiver)
	if err != nil {
		return page, fmt.Errorf("alert: receivers: %w", err)
	}
	for i := range list {
		list[i] = list[i].public()
	}
	page.Items = list
	return page, nil
}

func (s *Service) receiver(ctx context.Context, a *yingji.Actor, id string) (Receiver, error) {
	if err := a.Require(yingji.PermAlertConfig); err != nil {
		return Receiver{}, err
	}
	rows, err := s.DB.Query(ctx, `SELECT `+receiverCols+` FROM alert_receivers WHERE id = $1`, id)
	list, err := sqldb.CollectRows(rows, err, scanReceiver)
	if err != nil {
		return Receiver{}, err
	}
	if len(list) == 0 {
		return Receiver{}, yingji.Errorf(yingji.ENOTFOUND, "alert.receiver_not_found", "接收人不存在")
	}
	r := list[0]
	ok := a.InSubtree(r.OrgPath)
	if a.Role.ScopeKind() == yingji.ScopeEnterprise {
		ok = r.EnterpriseID != "" && r.EnterpriseID == a.EnterpriseID
	}
	if !ok {
		return Receiver{}, yingji.Forbidden("接收人")
	}
	return r, nil
}

// Receiver returns one configured receiver in scope.
func (s *Service) Receiver(ctx context.Context, a *yingji.Actor, id string) (Receiver, error) {
	r, err := s.receiver(ctx, a, id)
	return r.public(), err
}

// SaveReceiver creates (empty ID) or replaces a receiver. An update that sends the masked
// secret back keeps the stored one.
func (s *Service) SaveReceiver(ctx context.Context, a *yingji.Actor, r Receiver) (Receiver, error) {
	if err := a.Require(yingji.PermAlertConfig); err != nil {
		return Receiver{}, err
	}
	now := s.Now().UTC()
	created := r.ID == ""
	if !created {
		old, err := s.receiver(ctx, a, r.ID)
		if err != nil {
			return Receiver{}, err
		}
		if r.DingTalkSecret == "******" {
			r.DingTalkSecret = old.DingTalkSecret
		}
		r.CreatedAt = old.CreatedAt
	} else {
		r.ID, r.CreatedAt = yingji.NewID(), now
	}
	if err := s.validateReceiver(ctx, a, &r); err != nil {
		return Receiver{}, err
	}
	r.UpdatedAt = now
	args := []any{r.ID, r.Tier, r.EnterpriseID, r.OrgUnitID, r.OrgPath, r.UserID, r.Name, r.Phone, r.ZZDAccountID, r.DingTalkWebhook,
		r.DingTalkSecret, channelsJSON(r.Channels), r.MinLevel, r.Enabled, r.CreatedAt, r.UpdatedAt}
	var err error
	if created {
		_, err = s.DB.Exec(ctx, `INSERT INTO alert_receivers (`+receiverCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, args...)
	} else {
		_, err = s.DB.Exec(ctx, `UPDATE alert_receivers SET tier = $2, enterprise_id = $3, org_unit_id = $4, org_path = $5, user_id = $6,
			name = $7, phone = $8, zzd_account_id = $9, dingtalk_webhook = $10, dingtalk_secret = $11, channels = $12, min_level = $13,
			enabled = $14, created_at = $15, updated_at = $16 WHERE id = $1`, args...)
	}
	if err != nil {
		return Receiver{}, fmt.Errorf("alert: save receiver: %w", err)
	}
	action := "alert_receiver.update"
	if created {
		action = "alert_receiver.create"
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: "alert_receiver", ObjectID: r.ID, Result: "ok", Detail: r.public()})
	return r.public(), nil
}

// DeleteReceiver removes a receiver.
func (s *Service) DeleteReceiver(ctx context.Context, a *yingji.Actor, id string) error {
	if _, err := s.receiver(ctx, a, id); err != nil {
		return err
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM alert_receivers WHERE id = $1`, id); err != nil {
		return fmt.Errorf("alert: delete receiver: %w", err)
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: "alert_receiver.delete", ObjectType: "alert_receiver", ObjectID: id, Result: "ok"})
	return nil
}

// PushToken is a phone's FCM registration token.
type PushToken struct {
	DeviceID string `json:"device_id"`
	Token    string `json:"token"`
	Platform string `json:"platform"` // android, ios
}

// SetPushToken registers the current user's token for a device; a token registered by
// another user before (same phone, new login) moves to this one.
func (s *Service) SetPushToken(ctx context.Context, a *yingji.Actor, t PushToken) error {
	t.DeviceID, t.Token = strings.TrimSpace(t.DeviceID), strings.TrimSpace(t.Token)
	if t.DeviceID == "" || len(t.DeviceID) > 128 {
		return yingji.Invalid("push.bad_device", "device_id", "设备编号不能为空，且不超过 128 个字符")
	}
	if t.Token == "" || len(t.Token) > 4096 {
		return yingji.Invalid("push.bad_token", "token", "推送令牌不能为空，且不超过 4096 个字符")
	}
	if t.Platform != "" && t.Platform != "android" && t.Platform != "ios" {
		return yingji.Invalid("push.bad_platform", "platform", "平台只能是 android 或 ios")
	}
	if a == nil || a.UserID == "" {
		return yingji.Errorf(yingji.EUNAUTHORIZED, "auth.required", "请先登录")
	}
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if _, err := tx.Exec(ctx, `DELETE FROM push_tokens WHERE token = $1 AND NOT (user_id = $2 AND device_id = $3)`, t.Token, a.UserID, t.DeviceID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO push_tokens (user_id, device_id, token, platform, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id, device_id) DO UPDATE SET token = excluded.token, platform = excluded.platform, updated_at = excluded.updated_at`,
			a.UserID, t.DeviceID, t.Token, t.Platform, s.Now().UTC())
		return err
	})
}

// DeletePushToken forgets the current user's token of a device (logout).
func (s *Service) DeletePushToken(ctx context.Context, a *yingji.Actor, deviceID string) error {
	if a == nil || a.UserID == "" {
		return yingji.Errorf(yingji.EUNAUTHORIZED, "auth.required", "请先登录")
	}
	_, err := s.DB.Exec(ctx, `DELETE FROM push_tokens WHERE user_id = $1 AND device_id = $2`, a.UserID, deviceID)
	return err
}

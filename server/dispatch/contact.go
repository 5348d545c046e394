package dispatch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Contact channels.
const (
	ChannelSMS = "sms"
	ChannelZZD = "zzd"
	ChannelFax = "fax"
)

// ObjectContactMessage is the object of a one-click message's audit entry.
const ObjectContactMessage = "contact_message"

// SMSTemplate is the platform's name of the one-click SMS template (parameters sender, text);
// the configuration maps it to the provider's template id.
const SMSTemplate = "contact"

// Contacts sends one-click messages (一键短信、浙政钉工作通知、传真) to a resource's contact, a
// user or a number, and records each with what the channel answered (contact_messages).
type Contacts struct {
	DB        sqldb.DB
	Channels  map[string]notify.Channel // "sms", "zzd"
	Fax       notify.FaxGateway         // nil: no fax gateway configured
	Resources *resource.Service
	Audit     yingji.Auditor
	Now       func() time.Time
	Timeout   time.Duration // per send; 15s when zero
}

// ContactInput is one message: to whom (a resource, a user, or just an address), about which
// incident, and what.
type ContactInput struct {
	TargetKind string `json:"target_kind"` // resource, user or address
	TargetID   string `json:"target_id"`
	Name       string `json:"name"`    // for target_kind address: who
	Address    string `json:"address"` // phone, 浙政钉 account or fax number; overrides the target's
	IncidentID string `json:"incident_id"`
	Subject    string `json:"subject"` // fax cover subject
	Text       string `json:"text"`
}

// ContactMessage is a sent (or failed) message.
type ContactMessage struct {
	ID           string `json:"id"`
	Channel      string `json:"channel"`
	TargetKind   string `json:"target_kind"`
	TargetID     string `json:"target_id"`
	TargetName   string `json:"target_name"`
	Address      string `json:"address"`
	IncidentID   string `json:"incident_id"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	Status       string `json:"status"` // sent or failed
	ProviderID   string `json:"provider_id"`
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
	SentBy       string `json:"sent_by"`
	SentByName   string `json:"sent_by_name"`
	At           string `json:"at"`
}

var mobileRe = regexp.MustCompile(`^(\+?86)?1[3-9][0-9]{9}$`)

// Send sends one message on channel and records it. A channel's refusal is recorded and
// returned as the record with status failed and the channel's error code and message.
func (c *Contacts) Send(ctx context.Context, a *yingji.Actor, channel string, in ContactInput) (ContactMessage, error) {
	action := "contact." + channel
	deny := func(err error) error {
		return audit.Refused(ctx, c.Audit, a, action, orDefault(in.TargetKind, "address"), in.TargetID, err)
	}
	if err := a.Require(yingji.PermContactSend); err != nil {
		return ContactMessage{}, deny(err)
	}
	if channel != ChannelSMS && channel != ChannelZZD && channel != ChannelFax {
		return ContactMessage{}, yingji.Errorf(yingji.ENOTFOUND, "contact.bad_channel", "联系方式应为 sms、zzd 或 fax")
	}
	in.Text, in.Subject, in.Address = strings.TrimSpace(in.Text), strings.TrimSpace(in.Subject), strings.TrimSpace(in.Address)
	limit := map[string]int{ChannelSMS: 300, ChannelZZD: 2000, ChannelFax: 5000}[channel]
	if in.Text == "" || len([]rune(in.Text)) > limit {
		return ContactMessage{}, yingji.Invalid("contact.bad_text", "text", "内容不能为空，且不超过 %d 个字", limit)
	}
	if len([]rune(in.Subject)) > 100 {
		return ContactMessage{}, yingji.Invalid("contact.bad_subject", "subject", "标题不超过 100 个字")
	}
	m := ContactMessage{ID: yingji.NewID(), Channel: channel, TargetKind: in.TargetKind, TargetID: in.TargetID, IncidentID: in.IncidentID,
		Subject: in.Subject, Body: in.Text, SentBy: a.UserID, SentByName: a.Name}
	orgPath := a.OrgPath
	if in.IncidentID != "" {
		inc, err := loadIncident(ctx, c.DB, in.IncidentID)
		if err != nil {
			return m, err
		}
		if !a.InSubtree(inc.OrgPath) {
			return m, deny(yingji.Forbidden("事件"))
		}
		orgPath = inc.OrgPath
	}
	var zzd string
	switch in.TargetKind {
	case "resource":
		r, err := c.Resources.Get(ctx, a, in.TargetID)
		if err != nil {
			return m, deny(err)
		}
		m.TargetName, m.Address = r.Name, r.Phone
		if r.Contact != "" {
			m.TargetName = r.Name + "（" + r.Contact + "）"
		}
	case "user":
		var path string
		err := c.DB.QueryRow(ctx, `SELECT name, phone, org_path FROM users WHERE id = $1`, in.TargetID).Scan(&m.TargetName, &m.Address, &path)
		if errors.Is(err, yingji.ErrNotFound) {
			return m, yingji.Errorf(yingji.ENOTFOUND, "contact.no_user", "联系人不存在")
		}
		if err != nil {
			return m, err
		}
		member := false
		if in.IncidentID != "" {
			if member, err = isMember(ctx, c.DB, in.IncidentID, in.TargetID); err != nil {
				return m, err
			}
		}
		if !member && !a.InSubtree(path) {
			return m, deny(yingji.Forbidden("人员"))
		}
		if channel == ChannelZZD {
			err := c.DB.QueryRow(ctx, `SELECT zzd_account_id FROM alert_receivers WHERE user_id = $1 AND zzd_account_id <> '' ORDER BY id LIMIT 1`, in.TargetID).Scan(&zzd)
			if err != nil && !errors.Is(err, yingji.ErrNotFound) {
				return m, err
			}
			m.Address = zzd
		}
	case "address", "":
		m.TargetKind, m.TargetName = "address", strings.TrimSpace(in.Name)
	default:
		return m, yingji.Invalid("contact.bad_target", "target_kind", "联系对象应为 resource、user 或 address")
	}
	if in.Address != "" {
		m.Address = in.Address
	}
	switch channel {
	case ChannelSMS:
		if !mobileRe.MatchString(m.Address) {
			return m, yingji.Invalid("contact.no_address", "address", "没有可发短信的手机号码")
		}
	case ChannelFax:
		if !notify.ValidFaxNumber(m.Address) {
			return m, yingji.Invalid("contact.no_address", "address", "没有有效的传真号码")
		}
	case ChannelZZD:
		if m.Address == "" {
			return m, yingji.Invalid("contact.no_address", "address", "对方没有登记浙政钉账号")
		}
	}
	tctx, cancel := context.WithTimeout(ctx, orDur(c.Timeout, 15*time.Second))
	defer cancel()
	var res notify.Result
	var err error
	switch channel {
	case ChannelFax:
		if c.Fax == nil {
			return m, yingji.Errorf(yingji.ECONFLICT, "contact.no_channel", "未配置传真网关（fax_url）")
		}
		var id string
		id, err = c.Fax.SendFax(tctx, notify.Fax{ID: m.ID, To: m.Address, ToName: m.TargetName, Subject: orDefault(m.Subject, "应急指挥传真"), Text: m.Body})
		res.ProviderID = id
	default:
		ch := c.Channels[channel]
		if ch == nil {
			return m, yingji.Errorf(yingji.ECONFLICT, "contact.no_channel", "未配置%s", map[string]string{ChannelSMS: "短信网关（sms_url）", ChannelZZD: "浙政钉（zzd_domain）"}[channel])
		}
		to := notify.Receiver{Name: m.TargetName, Phone: m.Address, ZZDAccountID: m.Address}
		if in.TargetKind == "user" {
			to.UserID = in.TargetID
		}
		res, err = ch.Send(tctx, to, notify.Message{ID: m.ID, Title: orDefault(m.Subject, "应急指挥通知"), Body: m.Body,
			SMSTemplate: SMSTemplate, SMSParams: map[string]string{"sender": orDefault(a.Name, "应急指挥中心"), "text": m.Body}})
	}
	m.At = fmtTime(c.Now())
	m.Status, m.ProviderID = "sent", res.ProviderID
	if err != nil {
		m.Status = "failed"
		m.ErrorCode, m.ErrorMessage = "send_failed", err.Error()
		var ne *notify.Error
		if errors.As(err, &ne) {
			m.ErrorCode, m.ErrorMessage = ne.Code, ne.Message
		} else if errors.Is(err, notify.ErrNoTemplate) {
			m.ErrorCode, m.ErrorMessage = "no_template", "未配置一键短信模板（sms_contact_template）"
		}
	}
	if _, xerr := c.DB.Exec(ctx, `INSERT INTO contact_messages (id, channel, target_kind, target_id, target_name, address, incident_id, org_path,
		subject, body, status, provider_id, error_code, error_message, sent_by, sent_by_name, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		m.ID, m.Channel, m.TargetKind, m.TargetID, m.TargetName, m.Address, m.IncidentID, orgPath, m.Subject, m.Body, m.Status,
		m.ProviderID, m.ErrorCode, m.ErrorMessage, m.SentBy, m.SentByName, m.At); xerr != nil {
		return m, fmt.Errorf("dispatch: record contact message: %w", xerr)
	}
	detail := map[string]any{"target_kind": m.TargetKind, "target_id": m.TargetID, "address": m.Address, "incident_id": m.IncidentID, "error": m.ErrorCode}
	if err == nil {
		audit.OK(ctx, c.Audit, a, action, ObjectContactMessage, m.ID, detail)
	} else if c.Audit != nil { // the channel refused it: recorded as a failed write
		c.Audit.Record(ctx, a, yingji.Event{Action: action, ObjectType: ObjectContactMessage, ObjectID: m.ID, Result: "failed", Detail: detail})
	}
	return m, nil
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// List returns the messages sent about an incident (or, without one, by the units in the
// actor's subtree), newest first.
func (c *Contacts) List(ctx context.Context, a *yingji.Actor, incidentID string, limit int) ([]ContactMessage, error) {
	if err := a.Require(yingji.PermContactSend); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := `SELECT id, channel, target_kind, target_id, target_name, address, incident_id, subject, body, status, provider_id,
		error_code, error_message, sent_by, sent_by_name, at FROM contact_messages WHERE org_path LIKE $1`
	args := []any{a.OrgPath + "%"}
	if incidentID != "" {
		q += ` AND incident_id = $2`
		args = append(args, incidentID)
	}
	rows, err := c.DB.Query(ctx, q+` ORDER BY at DESC, id DESC LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ContactMessage{}
	for rows.Next() {
		var m ContactMessage
		if err := rows.Scan(&m.ID, &m.Channel, &m.TargetKind, &m.TargetID, &m.TargetName, &m.Address, &m.IncidentID, &m.Subject, &m.Body,
			&m.Status, &m.ProviderID, &m.ErrorCode, &m.ErrorMessage, &m.SentBy, &m.SentByName, &m.At); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

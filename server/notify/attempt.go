package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Channel names.
const (
	ChannelFCM      = "fcm"
	ChannelSMS      = "sms"
	ChannelZZD      = "zzd"
	ChannelDingTalk = "dingtalk"
)

var channelNames = map[string]string{ChannelFCM: "手机推送", ChannelSMS: "短信", ChannelZZD: "浙政钉", ChannelDingTalk: "钉钉群机器人"}

// ChannelName is an outside channel's Chinese name.
func ChannelName(c string) string {
	if n, ok := channelNames[c]; ok {
		return n
	}
	return c
}

// Outcome is one delivery attempt as a delivery record keeps it.
type Outcome struct {
	Status     string // "sent", "failed" or "skipped"
	Address    string // the receiver's address on the channel, masked for display
	ProviderID string
	Code       string // why it failed or was skipped
	Message    string // Chinese (skips) or the service's words (failures)
	Dead       []string
	// Err is the send error of a failed attempt; Permanent(Err) says a retry cannot help.
	Err error
}

// Attempt sends m to one receiver on the named channel (ch nil: not configured) and says what
// happened: skipped when the channel is not configured or the receiver has no address on it,
// sent, or failed with the service's code. The alert and inbox deliveries both record it.
func Attempt(ctx context.Context, ch Channel, channel string, to Receiver, m Message) Outcome {
	var o Outcome
	skip := func(code, msg string) Outcome {
		o.Status, o.Code, o.Message = "skipped", code, msg
		return o
	}
	switch channel {
	case ChannelFCM:
		o.Address = fmt.Sprintf("%d 台设备", len(to.FCMTokens))
	case ChannelSMS:
		o.Address = MaskPhone(to.Phone)
	case ChannelZZD:
		o.Address = maskMiddle(to.ZZDAccountID)
	case ChannelDingTalk:
		o.Address = maskWebhook(to.Webhook)
	}
	if ch == nil {
		return skip("not_configured", "未配置"+ChannelName(channel)+"通道")
	}
	switch {
	case channel == ChannelFCM && len(to.FCMTokens) == 0:
		return skip("no_address", "接收人没有已登记的手机推送令牌")
	case channel == ChannelSMS && to.Phone == "":
		return skip("no_address", "接收人没有手机号")
	case channel == ChannelZZD && to.ZZDAccountID == "":
		return skip("no_address", "接收人没有浙政钉账号")
	case channel == ChannelDingTalk && to.Webhook == "":
		return skip("no_address", "接收人没有配置钉钉机器人地址")
	}
	res, err := ch.Send(ctx, to, m)
	o.Dead = res.Dead
	if errors.Is(err, ErrNoTemplate) {
		return skip("not_configured", "未配置该类"+ChannelName(channel)+"的模板")
	}
	if err == nil {
		o.Status, o.ProviderID = "sent", res.ProviderID
		return o
	}
	o.Status, o.Code, o.Message, o.Err = "failed", "error", err.Error(), err
	var ne *Error
	if errors.As(err, &ne) {
		o.Code, o.Message = ne.Code, ne.Message
	} else if errors.Is(err, ErrNoAddress) {
		o.Code, o.Message = "no_address", "接收人在该通道没有地址"
	}
	return o
}

// MaskPhone hides the middle of a mobile number: 138****1234.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) < 7 {
		return maskMiddle(p)
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}

func maskMiddle(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 4:
		return string(r[:1]) + "***"
	}
	return string(r[:2]) + "***" + string(r[len(r)-2:])
}

func maskWebhook(w string) string {
	if w == "" {
		return ""
	}
	u, err := url.Parse(w)
	if err != nil || u.Host == "" {
		return maskMiddle(w)
	}
	return u.Scheme + "://" + u.Host + u.Path + "?…"
}

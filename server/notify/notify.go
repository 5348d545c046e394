// Package notify holds the outside channels alerts and reminders are delivered by: FCM push,
// SMS through an HTTP gateway, Zhezhengding (浙政钉) work notifications and DingTalk group
// robots. Each is a real client for the real service; tests point them at local stand-ins
// (package notifytest) that check what the real services check. In-app delivery is not here:
// it is a synced record (the alert service writes it).
package notify

import (
	"context"
	"errors"
)

// Message is what one delivery says. ID is the idempotency key of the delivery (a retry of the
// same delivery carries the same ID; channels that deduplicate, like Zhezhengding's bizMsgId,
// use it).
type Message struct {
	ID    string            // delivery id, stable across retries
	Title string            // short Chinese title
	Body  string            // Chinese text
	Link  string            // optional URL to open (portal page)
	Data  map[string]string // machine-readable fields (alert_id, level, ...) for push payloads
	// SMS needs a registered template and its parameters; the body is not sent as free text.
	SMSTemplate string
	SMSParams   map[string]string
}

// Receiver is who a delivery goes to; each channel uses the address it needs.
type Receiver struct {
	UserID       string   // Yingji user, when the receiver is one
	Name         string   // display name
	Phone        string   // mobile number for SMS (and DingTalk @mention)
	ZZDAccountID string   // Zhezhengding account id for work notifications
	FCMTokens    []string // the user's registered device tokens
	Webhook      string   // DingTalk robot webhook URL (with access_token)
	Secret       string   // DingTalk robot signing secret
}

// Result is what a sent delivery returned.
type Result struct {
	ProviderID string   // the provider's message id (for receipts), when it gives one
	Dead       []string // FCM tokens the service said are unregistered: forget them
}

// Channel sends one message to one receiver.
type Channel interface {
	Name() string // "fcm", "sms", "zzd", "dingtalk"
	Send(ctx context.Context, to Receiver, m Message) (Result, error)
}

// ErrNoAddress says the receiver has no address on this channel (no phone, no token, ...): not
// worth retrying.
var ErrNoAddress = errors.New("notify: receiver has no address on this channel")

// ErrNoTemplate says the message needs an SMS template the configuration does not name: the
// delivery is skipped, not failed.
var ErrNoTemplate = errors.New("notify: no SMS template configured for this message")

// Error is a failure the service answered with. Permanent failures (bad request, wrong
// credentials, unknown receiver) are not retried; others (timeouts, 5xx, rate limits) are.
type Error struct {
	Channel   string
	Code      string // the service's error code, as it gave it
	Message   string
	Permanent bool
}

func (e *Error) Error() string { return "notify " + e.Channel + ": " + e.Code + ": " + e.Message }

// Permanent reports whether err should not be retried.
func Permanent(err error) bool {
	if errors.Is(err, ErrNoAddress) || errors.Is(err, ErrNoTemplate) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// fcmScopes are the OAuth2 scopes a service account needs to send through FCM HTTP v1.
var fcmScopes = []string{
	"https://www.googleapis.com/auth/firebase.messaging",
	"https://www.googleapis.com/auth/cloud-platform",
}

// FCMConfig configures the Firebase Cloud Messaging channel.
type FCMConfig struct {
	// ProjectID is the Firebase project; empty means the project of the credentials.
	ProjectID string
	// CredentialsFile is the path of a service-account key file (JSON); CredentialsJSON is the
	// same key given inline. Both are secrets and never logged. With neither (and no
	// TokenSource) Google's application default credentials are used.
	CredentialsFile string
	CredentialsJSON string
	// Endpoint replaces https://fcm.googleapis.com/v1 (tests point it at a local stand-in).
	Endpoint string
	// TokenSource supplies the bearer tokens instead of credentials (tests).
	TokenSource oauth2.TokenSource
	// Timeout bounds one request (DefaultTimeout when zero).
	Timeout time.Duration
}

// LogValue keeps the credentials out of logs.
func (c FCMConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("project_id", c.ProjectID), slog.String("credentials_file", c.CredentialsFile),
		slog.String("endpoint", c.Endpoint))
}

// FCM sends push notifications to a receiver's devices (Receiver.FCMTokens) through
// firebase.google.com/go/v4's messaging client. It is safe for concurrent use.
type FCM struct {
	client *messaging.Client
	tokens oauth2.TokenSource // cached; the HTTP client signs with it
}

// NewFCM returns the FCM channel for cfg.
func NewFCM(ctx context.Context, cfg FCMConfig) (*FCM, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ts := cfg.TokenSource
	project := cfg.ProjectID
	if ts == nil {
		// Token requests outlive ctx and are bounded in time like the sends.
		ctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Timeout: timeout})
		var creds *google.Credentials
		var err error
		switch {
		case cfg.CredentialsJSON != "" || cfg.CredentialsFile != "":
			data := []byte(cfg.CredentialsJSON)
			if cfg.CredentialsFile != "" {
				if data, err = os.ReadFile(cfg.CredentialsFile); err != nil {
					return nil, fmt.Errorf("notify: fcm: credentials: %w", err)
				}
			}
			creds, err = google.CredentialsFromJSONWithType(ctx, data, google.ServiceAccount, fcmScopes...)
		default:
			creds, err = google.FindDefaultCredentials(ctx, fcmScopes...)
		}
		if err != nil {
			return nil, fmt.Errorf("notify: fcm: credentials: %w", err)
		}
		ts = creds.TokenSource
		if project == "" {
			project = creds.ProjectID
		}
	}
	if project == "" {
		return nil, errors.New("notify: fcm: project id is required")
	}
	// The client is built here, not by the SDK, to bound every request in time; the token
	// source signs it, as the SDK's own transport would.
	ts = oauth2.ReuseTokenSource(nil, ts)
	hc := &http.Client{
		Timeout:   timeout,
		Transport: &oauth2.Transport{Source: ts, Base: http.DefaultTransport},
	}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(cfg.Endpoint, "/")))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: fcm: %w", err)
	}
	return &FCM{client: client, tokens: ts}, nil
}

// Name is "fcm".
func (f *FCM) Name() string { return "fcm" }

// Send pushes m to every token of the receiver: a notification with the title and body (a
// data message without one when both are empty, which wakes the app in the background), the
// data map (plus "link" when the message has one) and high Android priority. Result.ProviderID
// lists the FCM message names, comma-separated; Result.Dead the tokens FCM called
// unregistered, which the caller must forget, also when Send fails. Send fails only when every
// token failed; the error is retryable when any token's failure was.
func (f *FCM) Send(ctx context.Context, to Receiver, m Message) (Result, error) {
	if len(to.FCMTokens) == 0 {
		return Result{}, ErrNoAddress
	}
	// The SDK reports a failure to get a token as an unknown transport error: get it first
	// (it is cached) to tell refused credentials (permanent) from an unreachable token service.
	if _, err := f.tokens.Token(); err != nil {
		e := &Error{Channel: "fcm", Code: "auth", Message: err.Error()}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			e.Permanent = !retryableStatus(re.Response.StatusCode)
		}
		return Result{}, e
	}
	data := make(map[string]string, len(m.Data)+1)
	for k, v := range m.Data {
		data[k] = v
	}
	if _, ok := data["link"]; !ok && m.Link != "" {
		data["link"] = m.Link
	}
	var res Result
	var names []string
	var firstErr, retryErr *Error
	for _, token := range to.FCMTokens {
		msg := &messaging.Message{Token: token, Data: data, Android: &messaging.AndroidConfig{Priority: "high"}}
		if m.Title != "" || m.Body != "" {
			msg.Notification = &messaging.Notification{Title: m.Title, Body: m.Body}
		}
		name, err := f.client.Send(ctx, msg)
		if err == nil {
			names = append(names, name)
			continue
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("notify fcm: %w", ctx.Err())
		}
		e := fcmError(err)
		if e.Code == "UNREGISTERED" {
			res.Dead = append(res.Dead, token)
		}
		if firstErr == nil {
			firstErr = e
		}
		if !e.Permanent && retryErr == nil {
			retryErr = e
		}
	}
	res.ProviderID = strings.Join(names, ",")
	if len(names) > 0 {
		return res, nil
	}
	if retryErr != nil {
		return res, retryErr
	}
	return res, firstErr
}

// fcmError classifies an error of the messaging client.
func fcmError(err error) *Error {
	e := &Error{Channel: "fcm", Message: err.Error()}
	switch {
	case messaging.IsUnregistered(err):
		e.Code, e.Permanent = "UNREGISTERED", true
	case messaging.IsInvalidArgument(err):
		e.Code, e.Permanent = "INVALID_ARGUMENT", true
	case messaging.IsSenderIDMismatch(err):
		e.Code, e.Permanent = "SENDER_ID_MISMATCH", true
	case messaging.IsThirdPartyAuthError(err):
		e.Code, e.Permanent = "THIRD_PARTY_AUTH_ERROR", true
	case messaging.IsQuotaExceeded(err):
		e.Code = "QUOTA_EXCEEDED"
	case messaging.IsUnavailable(err):
		e.Code = "UNAVAILABLE"
	case messaging.IsInternal(err):
		e.Code = "INTERNAL"
	case errorutils.IsUnauthenticated(err):
		e.Code, e.Permanent = "UNAUTHENTICATED", true
	case errorutils.IsPermissionDenied(err):
		e.Code, e.Permanent = "PERMISSION_DENIED", true
	case errorutils.IsNotFound(err):
		e.Code, e.Permanent = "NOT_FOUND", true
	default:
		e.Code = "error"
		if resp := errorutils.HTTPResponse(err); resp != nil {
			e.Code = fmt.Sprintf("http_%d", resp.StatusCode)
			e.Permanent = !retryableStatus(resp.StatusCode)
		}
	}
	return e
}

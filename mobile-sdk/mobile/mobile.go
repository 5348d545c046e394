// Package mobile is the gomobile-bindable face of the field SDK for the Android and iOS apps:
// only strings, int64, bool, []byte, error and callback interfaces cross it; records, lists
// and statuses travel as JSON strings in the shapes of the yingji-field contract.
//
// Errors carry "CODE: 中文说明" as their message; ErrorCode, ErrorMessage and ErrorClass read
// them back (class: 1 internal, 2 invalid input, 3 unreachable, 4 not found, 5 not logged in).
package mobile

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	sdk "github.com/yingji/yingji/mobile-sdk"
)

// Client is one device's replica.
type Client struct {
	c *sdk.Client

	mu       sync.Mutex
	stopLive context.CancelFunc
	liveDone chan struct{}
}

// Open opens (or creates) the replica database at path.
func Open(path string) (*Client, error) {
	c, err := sdk.Open(context.Background(), path, sdk.Options{})
	if err != nil {
		return nil, wrap(err)
	}
	return &Client{c: c}, nil
}

// Close stops the live connection and closes the replica.
func (m *Client) Close() error {
	m.StopLive()
	return wrap(m.c.Close())
}

// DeviceID is the device id made when the replica was created.
func (m *Client) DeviceID() string { return m.c.DeviceID() }

// Login signs in and returns the user as JSON.
func (m *Client) Login(server, username, password string) (string, error) {
	u, err := m.c.Login(context.Background(), server, username, password)
	if err != nil {
		return "", wrap(err)
	}
	return string(u), nil
}

// Logout forgets the session; the replica and the outbox stay.
func (m *Client) Logout() error { return wrap(m.c.Logout(context.Background())) }

// SetPushToken registers the device's FCM token for the signed-in user (platform "android"
// or "ios"); call it after login and when the token changes.
func (m *Client) SetPushToken(token, platform string) error {
	return wrap(m.c.SetPushToken(context.Background(), token, platform))
}

// Sync pushes the outbox, uploads the queued files and pulls every scope; it returns the
// counters as JSON {"pushed","applied","merged","rejected","pulled","media_uploaded"}.
func (m *Client) Sync() (string, error) {
	st, err := m.c.Sync(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(st)
}

// WakeMessageType is the "type" of the FCM data messages the server sends to wake a phone whose
// scopes changed while it did not hold the live connection.
const WakeMessageType = "yingji.sync"

// OnPushMessage is what the app calls with the data of an FCM message it received (the data
// map as a JSON object, e.g. from RemoteMessage.getData() on Android), also in the background.
// A wake message ({"type": "yingji.sync", "scopes": "…"}) syncs now and returns the counters
// as JSON, like Sync; any other message (an alert or reminder push, which carries its own
// title and text) is left to the app and returns "".
func (m *Client) OnPushMessage(dataJSON string) (string, error) {
	var data map[string]any
	if err := json.Unmarshal([]byte(dataJSON), &data); err != nil {
		return "", &Error{code: sdk.CodeBadInput, message: "推送消息的数据不是 JSON 对象", class: 2}
	}
	if t, _ := data["type"].(string); t != WakeMessageType {
		return "", nil
	}
	return m.Sync()
}

// Create stores a new record from a JSON object and returns its id.
func (m *Client) Create(collection, objectJSON string) (string, error) {
	f, err := sdk.ParseObject(objectJSON)
	if err != nil {
		return "", wrap(err)
	}
	id, err := m.c.Create(context.Background(), collection, f)
	return id, wrap(err)
}

// CreateMany stores many new records of one collection from a JSON array of objects, in one
// transaction (an import: all or none), and returns their ids as a JSON array.
func (m *Client) CreateMany(collection, arrayJSON string) (string, error) {
	records, err := sdk.ParseArray(arrayJSON)
	if err != nil {
		return "", wrap(err)
	}
	ids, err := m.c.CreateMany(context.Background(), collection, records)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(ids)
}

// Push sends the queued changes and files without pulling; it returns the stats as JSON.
func (m *Client) Push() (string, error) {
	st, err := m.c.Push(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(st)
}

// Update changes the fields given in a JSON object.
func (m *Client) Update(collection, id, objectJSON string) error {
	f, err := sdk.ParseObject(objectJSON)
	if err != nil {
		return wrap(err)
	}
	return wrap(m.c.Update(context.Background(), collection, id, f))
}

// Delete deletes a record.
func (m *Client) Delete(collection, id string) error {
	return wrap(m.c.Delete(context.Background(), collection, id))
}

// Get returns one record as JSON.
func (m *Client) Get(collection, id string) (string, error) {
	r, err := m.c.Get(context.Background(), collection, id)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(r)
}

// Search finds records of a collection offline by keywords and numbers (plans, knowledge:
// Chinese without word segmentation, CAS and UN numbers) and returns at most limit hits (0:
// 20), best first, as JSON [{"collection","id","title","snippet","score"}]; the snippet marks
// every match with 【】.
func (m *Client) Search(collection, query string, limit int64) (string, error) {
	hits, err := m.c.Search(context.Background(), collection, query, int(limit))
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(hits)
}

// List returns the records of a collection as a JSON array; whereJSON is "" or an object of
// field → value (strings, or any JSON value compared by its JSON form), all of which must match.
func (m *Client) List(collection, whereJSON string) (string, error) {
	var filters []sdk.Filter
	if strings.TrimSpace(whereJSON) != "" {
		w, err := sdk.ParseObject(whereJSON)
		if err != nil {
			return "", wrap(err)
		}
		for k, v := range w {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			filters = append(filters, sdk.Filter{Field: k, Value: s})
		}
	}
	recs, err := m.c.List(context.Background(), collection, filters...)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(recs)
}

// Pending returns the outbox as a JSON array.
func (m *Client) Pending() (string, error) {
	p, err := m.c.Pending(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(p)
}

// Rejected returns the refused changes as a JSON array.
func (m *Client) Rejected() (string, error) {
	p, err := m.c.Rejected(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(p)
}

// Retry queues a refused change again, with its fields replaced by objectJSON unless it is "".
func (m *Client) Retry(mutationID, objectJSON string) error {
	var f map[string]json.RawMessage
	if strings.TrimSpace(objectJSON) != "" {
		var err error
		if f, err = sdk.ParseObject(objectJSON); err != nil {
			return wrap(err)
		}
	}
	return wrap(m.c.Retry(context.Background(), mutationID, f))
}

// Dismiss forgets a refused change.
func (m *Client) Dismiss(mutationID string) error {
	return wrap(m.c.Dismiss(context.Background(), mutationID))
}

// Status returns the replica's status as JSON.
func (m *Client) Status() (string, error) {
	st, err := m.c.Status(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(st)
}

// Attach adds a file (a photo just taken, ...) to a record's set field, such as a hazard's
// photos: the file is copied into the replica (the original may be deleted), its SHA-256 is
// added to the field as an offline change and its upload is queued for the next Sync. It
// returns {"sha256","size"} as JSON.
func (m *Client) Attach(collection, id, field, filePath string) (string, error) {
	a, err := m.c.Attach(context.Background(), collection, id, field, filePath)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(a)
}

// CreateWithFiles creates a record whose array fields list files — scene feedback with the
// photos and videos just taken: filesJSON maps a field to file paths ({"photos": ["/.../a.jpg"]});
// the files are copied into the replica, their hashes put in the fields and their uploads
// queued with the record, offline. It returns {"id","media":[{"sha256","size"}]} as JSON.
func (m *Client) CreateWithFiles(collection, objectJSON, filesJSON string) (string, error) {
	f, err := sdk.ParseObject(objectJSON)
	if err != nil {
		return "", wrap(err)
	}
	files := map[string][]string{}
	if strings.TrimSpace(filesJSON) != "" {
		if err := json.Unmarshal([]byte(filesJSON), &files); err != nil {
			return "", &Error{code: sdk.CodeBadJSON, message: "附件应为 {字段: [文件路径, ...]} 形式的 JSON", class: int64(sdk.KindInvalid.ExitCode())}
		}
	}
	id, atts, err := m.c.CreateWithFiles(context.Background(), collection, f, files)
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(map[string]any{"id": id, "media": atts})
}

// Media returns the upload queue as a JSON array of {"sha256","size","content_type",
// "filename","state" (queued, uploading, done, failed),"uploaded","error_code","error_message",
// "attempts","created_at","updated_at","records"}.
func (m *Client) Media() (string, error) {
	l, err := m.c.Media(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(l)
}

// RetryMedia queues a file the server refused again.
func (m *Client) RetryMedia(sha256 string) error {
	return wrap(m.c.RetryMedia(context.Background(), sha256))
}

// Thumbnail returns the local path of a JPEG thumbnail (width 320 or 1280) of an uploaded
// photo, downloading it on first use.
func (m *Client) Thumbnail(sha256 string, width int64) (string, error) {
	p, err := m.c.Thumbnail(context.Background(), sha256, int(width))
	return p, wrap(err)
}

// Collections returns the collection specs from the last sync as a JSON array.
func (m *Client) Collections() (string, error) {
	s, err := m.c.Collections(context.Background())
	if err != nil {
		return "", wrap(err)
	}
	return toJSON(s)
}

// LiveListener receives the live connection's events. kind is one of connected, poke, synced,
// sync_failed, disconnected, closed; detailJSON carries the sync counters (synced) or
// {"code","message"} (failures and closed).
type LiveListener interface {
	OnLiveEvent(kind, scope string, seq int64, detailJSON string)
}

// StartLive holds the WebSocket open in the background, syncing on pokes and reconnecting,
// until StopLive or until the session ends (then the listener gets "closed" with the reason).
func (m *Client) StartLive(l LiveListener) {
	m.StopLive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.mu.Lock()
	m.stopLive, m.liveDone = cancel, done
	m.mu.Unlock()
	go func() {
		defer close(done)
		m.c.Live(ctx, func(e sdk.LiveEvent) {
			if l == nil {
				return
			}
			detail := "{}"
			if e.Type == sdk.LiveSynced {
				detail, _ = toJSON(e.Stats)
			}
			if e.Err != nil {
				ae := sdk.AsError(e.Err)
				detail, _ = toJSON(map[string]string{"code": ae.Code, "message": ae.Message})
			}
			l.OnLiveEvent(e.Type, e.Scope, e.Seq, detail)
		})
	}()
}

// StopLive closes the live connection and waits for it to end.
func (m *Client) StopLive() {
	m.mu.Lock()
	cancel, done := m.stopLive, m.liveDone
	m.stopLive, m.liveDone = nil, nil
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// ErrorCode is the stable code of an error from this package ("" for nil).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	if err == nil {
		return ""
	}
	return sdk.CodeInternal
}

// ErrorMessage is the Chinese message of an error from this package, for the user.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.message
	}
	if err == nil {
		return ""
	}
	return "内部错误"
}

// ErrorClass is the class of an error: 0 none, 1 internal, 2 invalid input, 3 unreachable,
// 4 not found, 5 not logged in (the yingji-field exit codes).
func ErrorClass(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return int(e.class)
	}
	return 1
}

// Error is an SDK error as the apps see it.
type Error struct {
	code, message string
	class         int64
}

// Error returns "CODE: 中文说明".
func (e *Error) Error() string { return e.code + ": " + e.message }

func wrap(err error) error {
	if err == nil {
		return nil
	}
	ae := sdk.AsError(err)
	return &Error{code: ae.Code, message: ae.Message, class: int64(ae.Kind.ExitCode())}
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", wrap(err)
	}
	return string(b), nil
}

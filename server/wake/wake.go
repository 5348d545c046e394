// Package wake wakes phones that do not hold the live WebSocket (the app is in the background)
// with FCM data messages when one of their sync scopes changes, so they sync soon rather than
// when the user next opens the app. It is fed the scopes each committed change touched (the
// sync service's OnChange, on the instance that committed), finds the devices with a
// registered push token whose user holds one of them, and sends each device at most one
// message per window: the first change opens the device's window, every change within it
// joins the one message sent when it closes. A device that holds the WebSocket when its
// message is due is skipped (the socket has poked it), and so is the device whose own push
// made the only changes of a scope.
//
// The message carries no notification, only data: {"type": "yingji.sync", "scopes": "a,b"}.
// The app hands it to the SDK (mobile.Client.OnPushMessage), which syncs.
//
// With several instances each change is handled once, by the instance that committed it, but
// that instance knows only its own WebSockets: a device holding its socket on another
// instance may get a wake message it does not need (a sync that finds little), never miss one.
package wake

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// MessageType is the "type" of a wake message's data.
const MessageType = "yingji.sync"

// DefaultWindow is the shortest time between two wake messages to one device.
const DefaultWindow = 5 * time.Second

// Waker sends the wake messages. Start it, feed it Changed, Close it.
type Waker struct {
	DB  sqldb.DB
	FCM notify.Channel
	// Live reports whether the device holds the live WebSocket (on this instance).
	Live func(userID, deviceID string) bool
	// Scopes computes the scopes a user holds (the sync service's ActorScopes); unset, his
	// role's and his user scope.
	Scopes func(ctx context.Context, a *yingji.Actor) ([]string, error)
	Window time.Duration
	Log    *slog.Logger

	mu      sync.Mutex
	scopes  map[string]map[device]bool // changed since the last resolve, by the devices that pushed the changes
	due     map[device]*pending        // devices with a message waiting
	last    map[device]time.Time       // when each device was last sent one
	tokens  map[device]string          // token of each waiting device
	signal  chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
}

type device struct{ user, id string }

type pending struct {
	at     time.Time
	scopes map[string]bool
}

// Start runs the waker until Close.
func (w *Waker) Start() {
	if w.Window <= 0 {
		w.Window = DefaultWindow
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	w.Log = w.Log.With("component", "wake")
	w.scopes, w.due, w.last, w.tokens = map[string]map[device]bool{}, map[device]*pending{}, map[device]time.Time{}, map[device]string{}
	w.signal, w.stop, w.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	w.started = true
	go w.run()
}

// Close stops the waker; messages not yet due are dropped (the phones sync when opened).
func (w *Waker) Close() {
	if !w.started {
		return
	}
	close(w.stop)
	<-w.done
}

// Changed takes the scopes a committed change touched (scope → change number) and the device
// that pushed it: that device has the change already and is not woken for it.
func (w *Waker) Changed(pokes map[string]int64, origin syncsvc.Origin) {
	if !w.started {
		return
	}
	from := device{origin.UserID, origin.DeviceID}
	w.mu.Lock()
	for sc := range pokes {
		if w.scopes[sc] == nil {
			w.scopes[sc] = map[device]bool{}
		}
		w.scopes[sc][from] = true
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *Waker) run() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.signal:
			w.resolve()
		case <-timer.C:
		}
		next := w.send()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// resolve finds the devices of the changed scopes and opens or joins their windows.
func (w *Waker) resolve() {
	w.mu.Lock()
	scopes := w.scopes
	w.scopes = map[string]map[device]bool{}
	w.mu.Unlock()
	if len(scopes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	devs, err := w.devices(ctx)
	if err != nil {
		w.Log.Warn("wake: list devices", "err", err)
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range devs {
		var hit []string
		for _, sc := range d.scopes {
			// A scope counts unless the device itself made every change of it.
			if by := scopes[sc]; len(by) > 1 || (len(by) == 1 && !by[d.device]) {
				hit = append(hit, sc)
			}
		}
		if len(hit) == 0 {
			continue
		}
		p := w.due[d.device]
		if p == nil {
			// The window opens now, or when the last message's window closes.
			at := now.Add(w.Window)
			if l, ok := w.last[d.device]; ok && l.Add(w.Window).After(at) {
				at = l.Add(w.Window)
			}
			p = &pending{at: at, scopes: map[string]bool{}}
			w.due[d.device] = p
		}
		for _, sc := range hit {
			p.scopes[sc] = true
		}
		w.tokens[d.device] = d.token
	}
}

// send sends the messages that are due and returns how long until the next one.
func (w *Waker) send() time.Duration {
	now := time.Now()
	type msg struct {
		d      device
		token  string
		scopes []string
	}
	var out []msg
	next := time.Hour
	w.mu.Lock()
	for d, p := range w.due {
		if p.at.After(now) {
			next = min(next, p.at.Sub(now))
			continue
		}
		m := msg{d: d, token: w.tokens[d]}
		for sc := range p.scopes {
			m.scopes = append(m.scopes, sc)
		}
		sort.Strings(m.scopes)
		out = append(out, m)
		delete(w.due, d)
		delete(w.tokens, d)
		w.last[d] = now
	}
	for d, t := range w.last {
		if now.Sub(t) > w.Window {
			delete(w.last, d)
		}
	}
	w.mu.Unlock()
	for _, m := range out {
		if w.Live != nil && w.Live(m.d.user, m.d.id) {
			continue // the WebSocket poked it
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := w.FCM.Send(ctx, notify.Receiver{UserID: m.d.user, FCMTokens: []string{m.token}}, notify.Message{
			ID: "wake", Data: map[string]string{"type": MessageType, "scopes": strings.Join(m.scopes, ",")}})
		cancel()
		if len(res.Dead) > 0 {
			if _, derr := w.DB.Exec(context.Background(), `DELETE FROM push_tokens WHERE token = $1`, m.token); derr != nil {
				w.Log.Warn("wake: forget dead token", "err", derr)
			}
		}
		if err != nil {
			w.Log.Warn("wake: send", "user_id", m.d.user, "device_id", m.d.id, "err", err)
		}
	}
	return next
}

type candidate struct {
	device
	token  string
	scopes []string
}

// devices lists the devices with a push token and the scopes their users hold (the same
// scopes the server gives their sessions).
func (w *Waker) devices(ctx context.Context) ([]candidate, error) {
	rows, err := w.DB.Query(ctx, `SELECT p.user_id, p.device_id, p.token, u.role, COALESCE(u.enterprise_id, ''),
		COALESCE(u.org_unit_id, ''), COALESCE(u.team_id, ''), COALESCE(e.org_path, tu.path, ou.path, u.org_path)
		FROM push_tokens p JOIN users u ON u.id = p.user_id
		LEFT JOIN enterprises e ON e.id = u.enterprise_id
		LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN org_units tu ON tu.id = t.org_unit_id
		LEFT JOIN org_units ou ON ou.id = u.org_unit_id
		WHERE u.disabled = $1`, false)
	type row struct {
		c candidate
		a *yingji.Actor
	}
	rs, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (row, error) {
		var c candidate
		var role string
		a := &yingji.Actor{}
		if err := r.Scan(&c.user, &c.id, &c.token, &role, &a.EnterpriseID, &a.OrgUnitID, &a.TeamID, &a.OrgPath); err != nil {
			return row{}, err
		}
		a.UserID, a.Role = c.user, yingji.Role(role)
		return row{c, a}, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]candidate, 0, len(rs))
	scopes := map[string][]string{} // a user's devices share his scopes
	for _, r := range rs {
		sc, ok := scopes[r.c.user]
		if !ok {
			if w.Scopes != nil {
				if sc, err = w.Scopes(ctx, r.a); err != nil {
					return nil, err
				}
			} else {
				sc = append(syncsvc.RoleScopes(r.a), syncsvc.UserScope(r.a.UserID))
			}
			scopes[r.c.user] = sc
		}
		r.c.scopes = slices.Clone(sc)
		out = append(out, r.c)
	}
	return out, nil
}

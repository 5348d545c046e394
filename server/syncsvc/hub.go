package syncsvc

import (
	"slices"
	"sync"

	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Hub fans pokes out to the live connections of this server instance.
type Hub struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
	bySc map[string]map[*Sub]struct{}
}

// Sub is one live connection: the scopes it holds and a channel of pokes. A slow connection
// loses pokes rather than slowing the hub; its device converges by pulling anyway.
type Sub struct {
	SessionID string
	UserID    string
	DeviceID  string
	Scopes    []string
	C         chan syncproto.Poke
	actor     *yingji.Actor // whose scopes they are (nil: not re-read by ScopesChanged)
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[*Sub]struct{}{}, bySc: map[string]map[*Sub]struct{}{}}
}

// Subscribe registers a connection.
func (h *Hub) Subscribe(sessionID string, scopes []string) *Sub {
	return h.SubscribeDevice(sessionID, "", "", scopes)
}

// SubscribeDevice registers the connection of a user's device (see Holds).
func (h *Hub) SubscribeDevice(sessionID, userID, deviceID string, scopes []string) *Sub {
	return h.subscribe(sessionID, userID, deviceID, scopes, nil)
}

func (h *Hub) subscribe(sessionID, userID, deviceID string, scopes []string, a *yingji.Actor) *Sub {
	s := &Sub{SessionID: sessionID, UserID: userID, DeviceID: deviceID, Scopes: slices.Clone(scopes), C: make(chan syncproto.Poke, 64), actor: a}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	h.index(s)
	return s
}

func (h *Hub) index(s *Sub) {
	for _, sc := range s.Scopes {
		if h.bySc[sc] == nil {
			h.bySc[sc] = map[*Sub]struct{}{}
		}
		h.bySc[sc][s] = struct{}{}
	}
}

func (h *Hub) unindex(s *Sub) {
	for _, sc := range s.Scopes {
		delete(h.bySc[sc], s)
		if len(h.bySc[sc]) == 0 {
			delete(h.bySc, sc)
		}
	}
}

// userSubs lists the live connections of the users that ScopesChanged may re-read.
func (h *Hub) userSubs(userIDs []string) []*Sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Sub
	for s := range h.subs {
		if s.actor != nil && slices.Contains(userIDs, s.UserID) {
			out = append(out, s)
		}
	}
	return out
}

// setScopes replaces a live connection's scopes; it answers one scope gained or lost ("" when
// they are the same).
func (h *Hub) setScopes(s *Sub, scopes []string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, live := h.subs[s]; !live {
		return ""
	}
	changed := ""
	for _, sc := range scopes {
		if !slices.Contains(s.Scopes, sc) {
			changed = sc
			break
		}
	}
	if changed == "" {
		for _, sc := range s.Scopes {
			if !slices.Contains(scopes, sc) {
				changed = sc
				break
			}
		}
	}
	if changed == "" {
		return ""
	}
	h.unindex(s)
	s.Scopes = slices.Clone(scopes)
	h.index(s)
	return changed
}

// poke sends one connection a poke without a number: its device syncs.
func (h *Hub) poke(s *Sub, scope string) {
	select {
	case s.C <- syncproto.Poke{Type: "poke", Scope: scope}:
	default:
	}
}

// Unsubscribe removes a connection.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	h.unindex(s)
}

// Publish pokes every connection holding one of the scopes.
func (h *Hub) Publish(pokes map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sc, seq := range pokes {
		for s := range h.bySc[sc] {
			select {
			case s.C <- syncproto.Poke{Type: "poke", Scope: sc, Seq: seq}:
			default:
			}
		}
	}
}

// Close tells the connections of a session why it ended; they close.
func (h *Hub) Close(sessionID, code, message string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.SessionID == sessionID {
			select {
			case s.C <- syncproto.Poke{Type: "closed", Code: code, Message: message}:
			default:
			}
		}
	}
}

// Holds reports whether the user's device holds a live connection here.
func (h *Hub) Holds(userID, deviceID string) bool {
	if userID == "" || deviceID == "" {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.UserID == userID && s.DeviceID == deviceID {
			return true
		}
	}
	return false
}

// Len is the number of live connections.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

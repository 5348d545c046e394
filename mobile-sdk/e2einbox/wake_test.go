package e2einbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/mobile-sdk/mobile"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/notify/notifytest"
)

const wakeWindow = 3 * time.Second

// TestFCMWake: changes in a scope wake the phones of that scope's users that registered a
// push token and do not hold the live WebSocket, with one FCM data message per device per
// window (fcm_wake_interval) however many changes it holds; the app hands the message to
// OnPushMessage, which syncs. A phone on the WebSocket is not woken, nor one for its own
// change, nor a phone of another enterprise.
func TestFCMWake(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			st, chans := newStandIns(t)
			s := en.start(t, chans, apptest.WithConfig(func(c *config.Config) { c.FCMWakeInterval = wakeWindow }))
			testWake(t, s, st.FCM)
		})
	}
}

type liveEvents chan string

func (l liveEvents) OnLiveEvent(kind, scope string, seq int64, detail string) {
	select {
	case l <- kind:
	default:
	}
}

func testWake(t *testing.T, s *apptest.Server, fcm *notifytest.FCM) {
	admin := s.Login(t, "admin")
	safetyWeb := s.Login(t, "safety01")
	ent := whoami(t, s, safetyWeb).EnterpriseID

	// safety01's app through the gomobile facade; principal01 (same enterprise) and safety02
	// (another) through the SDK. Each registers its FCM token.
	app, err := mobile.Open(filepath.Join(t.TempDir(), "safety01-app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	if _, err := app.Login(s.URL, "safety01", apptest.Password); err != nil {
		t.Fatal(err)
	}
	if err := app.SetPushToken("tok-safety01", "android"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Sync(); err != nil {
		t.Fatal(err)
	}
	principal, other := newPhone(t, s.URL, "principal01"), newPhone(t, s.URL, "safety02")
	for tok, p := range map[string]*phone{"tok-principal01": principal, "tok-safety02": other} {
		if err := p.SetPushToken(context.Background(), tok, "android"); err != nil {
			t.Fatal(err)
		}
		p.sync(t)
	}
	messages := func(token string) []notifytest.FCMMessage {
		var out []notifytest.FCMMessage
		for _, m := range fcm.Messages() {
			if m.Token == token {
				out = append(out, m)
			}
		}
		return out
	}
	edit := func(phoneNo string) {
		send(t, s, http.MethodPatch, "/api/v1/enterprises/"+ent, admin, map[string]any{"phone": phoneNo}, http.StatusOK, nil)
	}

	// Three changes of the enterprise within one window: one message to each of its phones.
	start := time.Now()
	for i := range 3 {
		edit(fmt.Sprintf("0571-8700000%d", i))
	}
	if el := time.Since(start); el > wakeWindow/2 {
		t.Fatalf("three edits took %s, more than half the %s window", el, wakeWindow)
	}
	eventually(t, 3*wakeWindow, "a wake message to safety01's phone", func() bool { return len(messages("tok-safety01")) > 0 })
	time.Sleep(wakeWindow + time.Second)
	for _, tok := range []string{"tok-safety01", "tok-principal01"} {
		ms := messages(tok)
		if len(ms) != 1 {
			t.Fatalf("%s got %d wake messages for three changes in one window: %+v", tok, len(ms), ms)
		}
		m := ms[0]
		if m.Title != "" || m.Body != "" || m.Data["type"] != mobile.WakeMessageType || !strings.Contains(m.Data["scopes"], "ent:"+ent) {
			t.Fatalf("wake message to %s: %+v", tok, m)
		}
	}
	if ms := messages("tok-safety02"); len(ms) != 0 {
		t.Fatalf("safety02, of another enterprise, was woken: %+v", ms)
	}

	// The app hands the message's data to the SDK, which syncs and brings the last edit.
	data, _ := json.Marshal(messages("tok-safety01")[0].Data)
	res, err := app.OnPushMessage(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var stats struct{ Pulled int }
	if json.Unmarshal([]byte(res), &stats); stats.Pulled < 1 {
		t.Fatalf("OnPushMessage synced %s", res)
	}
	rec, err := app.Get("enterprises", ent)
	if err != nil || !strings.Contains(rec, "0571-87000002") {
		t.Fatalf("after the wake the replica holds %s (%v)", rec, err)
	}
	if res, err := app.OnPushMessage(`{"alert_id":"x","level":"2"}`); err != nil || res != "" {
		t.Fatalf("a message that is not a wake: %q %v", res, err)
	}

	// The app's own change does not wake it (it has it); principal01 is woken for it.
	if _, err := app.Create("hazards", fmt.Sprintf(`{"title":"安全出口指示灯损坏","enterprise_id":%q}`, ent)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Sync(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*wakeWindow, "a wake message to principal01 for safety01's hazard", func() bool { return len(messages("tok-principal01")) == 2 })
	time.Sleep(time.Second)
	if ms := messages("tok-safety01"); len(ms) != 1 {
		t.Fatalf("safety01's phone was woken by its own change: %+v", ms)
	}

	// On the WebSocket the app is not woken; principal01, in the background, still is.
	events := make(liveEvents, 16)
	app.StartLive(events)
	defer app.StopLive()
	eventually(t, 10*time.Second, "safety01's live connection", func() bool {
		for {
			select {
			case k := <-events:
				if k == "connected" {
					return s.Sync.Hub.Len() > 0
				}
			default:
				return false
			}
		}
	})
	edit("0571-87000009")
	eventually(t, 3*wakeWindow, "a third wake message to principal01", func() bool { return len(messages("tok-principal01")) == 3 })
	time.Sleep(time.Second)
	if ms := messages("tok-safety01"); len(ms) != 1 {
		t.Fatalf("safety01's phone on the WebSocket was woken: %+v", ms)
	}
}

package e2e_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
)

// liveRun runs Live on d until the test ends, reporting events on a channel.
type liveRun struct {
	events chan sdk.LiveEvent
	done   chan error
	cancel context.CancelFunc
}

func startLive(t *testing.T, d *device) *liveRun {
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveRun{events: make(chan sdk.LiveEvent, 256), done: make(chan error, 1), cancel: cancel}
	go func() {
		l.done <- d.Live(ctx, func(e sdk.LiveEvent) {
			select {
			case l.events <- e:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Live did not return after cancel", d.user)
		}
	})
	return l
}

// wait waits for an event of the given type.
func (l *liveRun) wait(t *testing.T, typ string, within time.Duration) sdk.LiveEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-l.events:
			if e.Type == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %q live event within %s", typ, within)
		}
	}
}

// TestE2ELive: B holds the live connection; A's pushed changes reach B's replica within 2 s
// without B calling Sync.
func TestE2ELive(t *testing.T) {
	srv := apptest.Start(t)
	a := login(t, srv.URL, "safety01", sdk.Options{})
	b := login(t, srv.URL, "principal01", sdk.Options{})
	a.sync()
	l := startLive(t, b)
	l.wait(t, sdk.LiveConnected, 5*time.Second)
	l.wait(t, sdk.LiveSynced, 5*time.Second) // the catch-up on connect

	id := a.create(a.ent, "叉车充电区未设置警示标识", "")
	start := time.Now()
	a.sync()
	if !eventually(2*time.Second, func() bool { return b.has(id) }) {
		t.Fatalf("B's replica lacks the new hazard %s after 2 s", time.Since(start))
	}
	t.Logf("new hazard on B after %s", time.Since(start))

	a.update(id, map[string]any{"status": "rectifying", "description": "已安排设备科整改"})
	start = time.Now()
	a.sync()
	want := a.get(id)
	if !eventually(2*time.Second, func() bool { h := b.get(id); return h.sameValues(want) && h.State == sdk.StateSynced }) {
		t.Fatalf("after 2 s B has %v, A %v", b.get(id), want)
	}
	t.Logf("update on B after %s", time.Since(start))

	// B's own change goes out through Live's syncs as well, once a poke comes.
	b.update(id, map[string]any{"title": "叉车充电区未设置警示标识（B）"})
	a.update(id, map[string]any{"description": "A 的补充"})
	a.sync() // pokes B's scope: B syncs, pushing its change
	if !eventually(2*time.Second, func() bool { return b.status().Pending == 0 }) {
		t.Fatalf("B still has %d pending", b.status().Pending)
	}
	a.sync()
	if h := a.get(id); h.Title != "叉车充电区未设置警示标识（B）" || h.Description != "A 的补充" {
		t.Fatalf("A has %v", h)
	}

	l.cancel()
	select {
	case err := <-l.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Live returned %v, want context.Canceled", err)
		}
		l.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Live did not return after cancel")
	}
}

// TestE2ELiveReconnect: the server process is killed and restarted; the live device reconnects
// by itself and gets the changes made after the restart, still without calling Sync.
func TestE2ELiveReconnect(t *testing.T) {
	dir := t.TempDir()
	p := apptest.StartProcess(t, dir, "")
	a := login(t, p.URL, "safety01", sdk.Options{RetryBudget: 300 * time.Millisecond})
	b := login(t, p.URL, "principal01", sdk.Options{RetryBudget: 300 * time.Millisecond})
	a.sync()
	l := startLive(t, b)
	l.wait(t, sdk.LiveSynced, 5*time.Second)

	p.Kill()
	l.wait(t, sdk.LiveDisconnected, 5*time.Second)
	id := a.create(a.ent, "重启期间离线上报的隐患", "")
	if _, err := a.Sync(context.Background()); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("sync with the server down: %v, want unreachable", err)
	}

	apptest.StartProcess(t, dir, p.Addr())
	l.wait(t, sdk.LiveConnected, 10*time.Second)
	a.sync()
	if !eventually(2*time.Second, func() bool { return b.has(id) }) {
		t.Fatal("B's replica lacks the hazard 2 s after A pushed it to the restarted server")
	}
	if h := b.get(id); h.State != sdk.StateSynced || !h.sameValues(a.get(id)) {
		t.Fatalf("B has %v, A %v", h, a.get(id))
	}
}

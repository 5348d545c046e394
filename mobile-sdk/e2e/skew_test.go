package e2e_test

import (
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/syncproto"
)

// TestE2EClockSkew: one phone's clock is an hour fast, another's an hour slow. Before its first
// exchange with the server, the slow phone stamps an hour back (its offline report is old) and
// the fast one an hour ahead (the server replaces such stamps with its own: the change counts as
// made when it arrived). At each exchange both learn the server's clock offset and stamp with the
// corrected clock, so edits resolve by the rules: the later edit wins.
func TestE2EClockSkew(t *testing.T) {
	srv := apptest.Start(t)
	fast := openDevice(t, "safety01", sdk.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	slow := openDevice(t, "principal01", sdk.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	fast.login(srv.URL)
	slow.login(srv.URL)
	obs := login(t, srv.URL, "township01", sdk.Options{})

	wallOf := func(s string) time.Time {
		t.Helper()
		h, err := syncproto.ParseHLC(s)
		if err != nil {
			t.Fatal(err)
		}
		return time.UnixMilli(h.Wall)
	}
	near := func(what string, at time.Time, want time.Time, within time.Duration) {
		t.Helper()
		if d := at.Sub(want); d < -within || d > within {
			t.Fatalf("%s: stamp at %s, %s away from %s", what, at.Format(time.RFC3339Nano), d, want.Format(time.RFC3339Nano))
		}
	}
	title := func(d *device, id string) string { t.Helper(); return d.get(id).Title }
	syncAll := func() {
		t.Helper()
		for _, d := range []*device{fast, slow, obs, fast, slow, obs} {
			d.sync()
		}
	}

	// Before any contact the slow phone stamps an hour back: its offline report is old.
	id := slow.create(slow.ent, "配电室门口堆放杂物", "")
	near("slow phone before first contact", wallOf(slow.lastQueued().HLC), time.Now().Add(-time.Hour), time.Minute)
	// The fast phone stamps an hour ahead; the server records its own time instead.
	fid := fast.create(fast.ent, "消防栓被遮挡", "")
	near("fast phone before first contact", wallOf(fast.lastQueued().HLC), time.Now().Add(time.Hour), time.Minute)
	slow.sync()
	fast.sync()
	obs.sync()
	near("server's stamp of the fast phone's report", wallOf(obs.serverStamps(fid)["title"]), time.Now(), 10*time.Second)
	fast.sync()

	// After first contact the slow phone's clock has caught up with the server's.
	slow.update(id, map[string]any{"description": "纸箱约 20 个"})
	near("slow phone after first contact", wallOf(slow.lastQueued().HLC), time.Now(), 10*time.Second)
	slow.sync()

	// After first contact the fast phone's clock is corrected too.
	fast.update(id, map[string]any{"title": "配电室门口堆放杂物（F1）"})
	near("fast phone after first contact", wallOf(fast.lastQueued().HLC), time.Now(), 10*time.Second)
	fast.sync()
	obs.sync()
	near("server's stamp of the fast phone's title", wallOf(obs.serverStamps(id)["title"]), time.Now(), 10*time.Second)
	if got := title(obs, id); got != "配电室门口堆放杂物（F1）" {
		t.Fatalf("server title %q", got)
	}

	// The slow phone edits after the fast one (having synced since): its later edit wins,
	// although its wall clock is two hours behind the fast phone's.
	slow.sync()
	slow.update(id, map[string]any{"title": "配电室门口堆放杂物（S1）"})
	slow.sync()
	fast.sync()
	if got := title(fast, id); got != "配电室门口堆放杂物（S1）" {
		t.Fatalf("after the slow phone's later edit the fast phone shows %q", got)
	}

	// The other way round: the fast phone's later edit wins, stamped by the server on arrival,
	// and does not stick in the future: the slow phone's next edit wins again.
	slow.update(id, map[string]any{"description": "S2"})
	slow.sync()
	fast.sync()
	fast.update(id, map[string]any{"description": "F2"})
	fast.sync()
	slow.sync()
	if got := slow.get(id).Description; got != "F2" {
		t.Fatalf("after the fast phone's later edit the slow phone shows %q", got)
	}
	slow.update(id, map[string]any{"description": "S3"})
	slow.sync()
	fast.sync()
	if got := fast.get(id).Description; got != "S3" {
		t.Fatalf("the fast phone's edit stuck in the future: fast phone shows %q, want S3", got)
	}

	// Both edit offline, the slow phone first: the fast phone's later edit wins.
	slow.update(id, map[string]any{"title": "S4"})
	time.Sleep(50 * time.Millisecond)
	fast.update(id, map[string]any{"title": "F4"})
	fast.sync()
	slow.sync()
	fast.sync()
	if a, b := title(fast, id), title(slow, id); a != "F4" || b != "F4" {
		t.Fatalf("fast %q, slow %q, want F4", a, b)
	}

	// And the other way round, the fast phone first: the slow phone's later edit wins, whichever
	// syncs first.
	fast.update(id, map[string]any{"title": "F5"})
	time.Sleep(50 * time.Millisecond)
	slow.update(id, map[string]any{"title": "S5"})
	slow.sync()
	fast.sync()
	slow.sync()
	if a, b := title(fast, id), title(slow, id); a != "S5" || b != "S5" {
		t.Fatalf("fast %q, slow %q, want S5", a, b)
	}

	syncAll()
	want := snapshot(t, srv.URL, "admin")[id]
	for _, d := range []*device{fast, slow, obs} {
		if h := d.get(id); h.State != sdk.StateSynced || !h.sameValues(want) {
			t.Errorf("%s has %v, server %v", d.user, h, want)
		}
	}
	// No stamp the server keeps is in the future.
	for f, s := range obs.serverStamps(id) {
		if w := wallOf(s); w.After(time.Now().Add(syncproto.MaxDrift)) {
			t.Errorf("server stamp of %s is in the future: %s", f, s)
		}
	}
}

// TestE2ESlowClockAfterSync: a phone whose clock is an hour slow learns the server's offset
// at its first exchange and stamps its changes with the corrected clock, so an edit it makes
// after another phone's edit wins, even when it has not synced in between (its HLC alone
// would stay at the time of its last exchange and lose). The offset is kept in the replica:
// after a restart the phone still stamps right.
func TestE2ESlowClockAfterSync(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			srv := en.start(t)
			slowNow := func() time.Time { return time.Now().Add(-time.Hour) }
			slow := openDevice(t, "principal01", sdk.Options{Now: slowNow})
			slow.login(srv.URL)
			other := login(t, srv.URL, "safety01", sdk.Options{})
			id := other.create(other.ent, "二号仓库灭火器过期", "")
			other.sync()
			slow.sync()

			offset := func(what string) {
				t.Helper()
				if off := slow.ClockOffset(); off < time.Hour-5*time.Second || off > time.Hour+5*time.Second {
					t.Fatalf("%s: the slow phone's clock offset is %v, want about +1h", what, off)
				}
			}
			stampedNow := func(what string) {
				t.Helper()
				h, err := syncproto.ParseHLC(slow.lastQueued().HLC)
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Since(time.UnixMilli(h.Wall)); d < -2*time.Second || d > 2*time.Second {
					t.Fatalf("%s: the slow phone stamped its edit %v away from the real time", what, d)
				}
			}
			race := func(mine, theirs string) {
				t.Helper()
				// Time passes after the slow phone's last exchange; the other phone edits and
				// syncs; then the slow phone edits offline, later, and syncs: its edit wins.
				time.Sleep(300 * time.Millisecond)
				other.update(id, map[string]any{"title": theirs})
				other.sync()
				time.Sleep(50 * time.Millisecond)
				slow.update(id, map[string]any{"title": mine})
				stampedNow("edit " + mine)
				slow.sync()
				other.sync()
				if a, b := other.get(id).Title, slow.get(id).Title; a != mine || b != mine {
					t.Fatalf("the slow phone's later edit %q lost: the other phone shows %q, the slow one %q", mine, a, b)
				}
			}
			offset("after the first sync")
			race("灭火器过期（慢钟 1）", "灭火器过期（正常 1）")

			// The app restarts: the offset comes back from the replica.
			slow.reopen(sdk.Options{Now: slowNow})
			offset("after a restart")
			race("灭火器过期（慢钟 2）", "灭火器过期（正常 2）")
		})
	}
}

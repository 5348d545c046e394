package sdk_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/whip"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/record/recordtest"
	"github.com/yingji/yingji/media/video/videotest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// TestVideoFixesOffline: a grid worker publishes with the SDK; positions go over the data
// channel while the link is up; his phone then loses the network (HTTP and UDP), the
// positions he takes meanwhile are queued in the replica (collection video_fixes) and, once he
// is back and syncs, they land on the stream's track with the times the phone took them; the
// stream's last position is the newest of all. On both engines.
func TestVideoFixesOffline(t *testing.T) {
	defer recordtest.Cleanup()
	for _, e := range []struct {
		name  string
		start func(testing.TB, ...apptest.Option) *apptest.Server
	}{{"SQLite", apptest.Start}, {"Postgres", apptest.StartPostgres}} {
		t.Run(e.name, func(t *testing.T) {
			recordtest.MakeClips(t)
			s := e.start(t, apptest.WithConfig(func(c *config.Config) { c.VideoUDPAddr = "127.0.0.1:0" }))
			ctx := context.Background()
			proxy := apptest.NewCutProxy(t, s.URL)
			c, err := sdk.Open(ctx, filepath.Join(t.TempDir(), "grid.db"), sdk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Login(ctx, proxy.URL, "grid01", apptest.Password); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			conn, err := videotest.ListenCut()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			api, mux, err := videotest.API(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer mux.Close()
			pub, err := c.PublishVideo(ctx, filepath.Join(recordtest.Dir(), "clip.h264"), sdk.VideoOptions{FPS: 25, Loop: true, API: api})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close(context.Background())
			id := pub.StreamID()

			// Online: over the data channel.
			deadline := time.Now().Add(15 * time.Second)
			for !pub.Connected() {
				if time.Now().After(deadline) {
					t.Fatal("the publisher did not connect")
				}
				time.Sleep(20 * time.Millisecond)
			}
			t0 := time.Now().UTC().Truncate(time.Millisecond)
			for {
				err := pub.SendPosition(whip.Position{Time: t0, Lat: 29.870, Lng: 120.150})
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("data channel: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}

			town := s.Login(t, "township01")
			var track []video.Position
			for len(track) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the data channel's fix did not arrive")
				}
				time.Sleep(50 * time.Millisecond)
				s.Do(t, "GET", "/api/v1/video/streams/"+id+"/positions", town, nil).JSON(t, &track)
			}

			// Offline: the phone has no network at all.
			proxy.SetDown(true)
			conn.Cut(true)
			for pub.Connected() {
				if time.Now().After(deadline.Add(10 * time.Second)) {
					t.Fatal("the publisher did not notice the cut")
				}
				time.Sleep(50 * time.Millisecond)
			}
			var offline []time.Time
			for i := range 5 {
				at := time.Now().UTC().Truncate(time.Millisecond)
				h := float64(i * 45)
				if err := pub.SendPosition(whip.Position{Time: at, Lat: 29.871 + float64(i)*0.001, Lng: 120.151, Heading: &h}); err != nil {
					t.Fatalf("offline position %d: %v", i, err)
				}
				offline = append(offline, at)
				time.Sleep(200 * time.Millisecond)
			}
			pending, err := c.Pending(ctx)
			if err != nil || len(pending) != 5 {
				t.Fatalf("pending %d %v", len(pending), err)
			}

			// Back online: the queued fixes sync.
			conn.Cut(false)
			proxy.SetDown(false)
			var synced bool
			for range 5 {
				if st, err := c.Sync(ctx); err == nil && st.Pushed == 0 {
					synced = true
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !synced {
				t.Fatal("sync did not finish")
			}
			r := s.Do(t, "GET", "/api/v1/video/streams/"+id+"/positions", town, nil)
			r.JSON(t, &track)
			if len(track) != 6 {
				t.Fatalf("track: %d %s", r.Status, r.Body)
			}
			if !track[0].Time.Equal(t0) {
				t.Errorf("data channel fix at %v, sent %v", track[0].Time, t0)
			}
			for i, at := range offline {
				p := track[i+1]
				if !p.Time.Equal(at) || fmt.Sprintf("%.3f", p.Lat) != fmt.Sprintf("%.3f", 29.871+float64(i)*0.001) || p.Heading == nil || *p.Heading != float64(i*45) {
					t.Errorf("offline fix %d: %+v, taken at %v", i, p, at)
				}
			}
			var st video.Stream
			s.Do(t, "GET", "/api/v1/video/streams/"+id, town, nil).JSON(t, &st)
			if st.Last == nil || !st.Last.Time.Equal(offline[4]) || fmt.Sprintf("%.3f", st.Last.Lat) != "29.875" {
				t.Errorf("last position %+v", st.Last)
			}
			// Someone else's replica cannot add fixes to this stream.
			o, err := sdk.Open(ctx, filepath.Join(t.TempDir(), "other.db"), sdk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if _, err := o.Login(ctx, s.URL, "rescue01", apptest.Password); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if err := o.VideoFix(ctx, id, whip.Position{Lat: 30, Lng: 120}); err != nil {
				t.Fatal(err)
			}
			o.Sync(ctx)
			rej, err := o.Rejected(ctx)
			if err != nil || len(rej) != 1 || rej[0].Code != "sync.forbidden" {
				t.Errorf("another user's fix: %+v %v", rej, err)
			}
		})
	}
}

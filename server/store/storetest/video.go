package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/store"
	"github.com/yingji/yingji/server/yingji"
)

// TestVideo is the conformance suite of video.Store.
func TestVideo(t *testing.T, open func(t *testing.T) sqldb.DB) {
	ctx := context.Background()
	seed := func(t *testing.T) (*store.Store, account.User, account.User) {
		t.Helper()
		s := store.New(open(t))
		a, b := newUser("pub1", yingji.RoleRescueMember, "/c/d1/"), newUser("pub2", yingji.RoleGridWorker, "/c/d10/")
		if err := s.CreateUsers(ctx, []account.User{a, b}); err != nil {
			t.Fatal(err)
		}
		return s, a, b
	}
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }

	t.Run("OK", func(t *testing.T) {
		s, a, b := seed(t)
		inc := "inc-1"
		s1 := video.Stream{ID: yingji.NewID(), PublisherID: a.ID, IncidentID: &inc, OrgPath: "/c/d1/", Title: "化工厂东门", State: video.StateConnecting, StartedAt: t0}
		s2 := video.Stream{ID: yingji.NewID(), PublisherID: b.ID, OrgPath: "/c/d10/", State: video.StateConnecting, StartedAt: t0.Add(time.Minute)}
		for _, x := range []video.Stream{s1, s2} {
			if err := s.CreateStream(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetStreamState(ctx, s1.ID, video.StateLive, t0.Add(time.Second), []string{"video/H264", "audio/opus"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStreamState(ctx, s1.ID, video.StateInterrupted, t0.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStreamState(ctx, s1.ID, video.StateLive, t0.Add(2*time.Minute), []string{"video/H264", "audio/opus"}); err != nil {
			t.Fatal(err)
		}
		for i, p := range []video.Position{
			{Time: t0.Add(10 * time.Second), Lat: 30.1, Lng: 120.1, Heading: f(90), Speed: f(1.2)},
			{Time: t0.Add(20 * time.Second), Lat: 30.2, Lng: 120.2},
			{Time: t0.Add(5 * time.Second), Lat: 29.9, Lng: 119.9}, // late: kept in the track, not the last
		} {
			if err := s.AddPosition(ctx, s1.ID, p); err != nil {
				t.Fatalf("position %d: %v", i, err)
			}
		}
		got, err := s.GetStream(ctx, s1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != video.StateLive || got.Gaps != 1 || len(got.Codecs) != 2 || got.PublisherName != a.Name ||
			got.IncidentID == nil || *got.IncidentID != "inc-1" || got.Title != "化工厂东门" || !got.StartedAt.Equal(t0) {
			t.Errorf("stream = %+v", got)
		}
		if got.Last == nil || got.Last.Lat != 30.2 || got.Last.Heading != nil || !got.Last.Time.Equal(t0.Add(20*time.Second)) {
			t.Errorf("last = %+v", got.Last)
		}
		ps, err := s.ListPositions(ctx, s1.ID, time.Time{}, 10)
		if err != nil || len(ps) != 3 || ps[0].Lat != 29.9 || *ps[1].Heading != 90 {
			t.Fatalf("positions = %+v %v", ps, err)
		}
		ps, err = s.ListPositions(ctx, s1.ID, t0.Add(10*time.Second), 10)
		if err != nil || len(ps) != 1 || ps[0].Lat != 30.2 {
			t.Fatalf("positions since = %+v %v", ps, err)
		}

		// Lists: by subtree (d1 does not hold d10), by publisher, live only, by incident.
		list := func(f video.StreamFilter) []string {
			t.Helper()
			p, err := s.ListStreams(ctx, f, yingji.ListParams{Page: 1, PageSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range p.Items {
				ids = append(ids, x.ID)
			}
			if p.Total != len(ids) {
				t.Errorf("total %d for %d items", p.Total, len(ids))
			}
			return ids
		}
		if ids := list(video.StreamFilter{OrgPrefix: "/c/d1/"}); len(ids) != 1 || ids[0] != s1.ID {
			t.Errorf("d1 lists %v", ids)
		}
		if ids := list(video.StreamFilter{OrgPrefix: "/c/"}); len(ids) != 2 || ids[0] != s2.ID {
			t.Errorf("city lists %v, want newest first", ids)
		}
		if ids := list(video.StreamFilter{PublisherID: b.ID}); len(ids) != 1 || ids[0] != s2.ID {
			t.Errorf("publisher b lists %v", ids)
		}
		if ids := list(video.StreamFilter{IncidentID: "inc-1"}); len(ids) != 1 || ids[0] != s1.ID {
			t.Errorf("incident lists %v", ids)
		}
		if err := s.SetStreamState(ctx, s2.ID, video.StateEnded, t0.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		if ids := list(video.StreamFilter{Live: true}); len(ids) != 1 || ids[0] != s1.ID {
			t.Errorf("live lists %v", ids)
		}
		if ids := list(video.StreamFilter{States: []video.State{video.StateEnded}}); len(ids) != 1 || ids[0] != s2.ID {
			t.Errorf("ended lists %v", ids)
		}
		since := t0.Add(30 * time.Second)
		if ids := list(video.StreamFilter{Since: &since}); len(ids) != 1 || ids[0] != s2.ID {
			t.Errorf("since lists %v", ids)
		}
		// Ending twice keeps the first end.
		if err := s.SetStreamState(ctx, s2.ID, video.StateEnded, t0.Add(2*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetStream(ctx, s2.ID); got.EndedAt == nil || !got.EndedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("ended_at = %v", got.EndedAt)
		}
		n, err := s.EndStaleStreams(ctx, t0.Add(3*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("end stale: %d %v", n, err)
		}
		if got, _ := s.GetStream(ctx, s1.ID); got.State != video.StateEnded {
			t.Errorf("stale stream state %s", got.State)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _, _ := seed(t)
		if _, err := s.GetStream(ctx, "nope"); !errors.Is(err, yingji.ErrNotFound) {
			t.Errorf("get: %v", err)
		}
		if err := s.SetStreamState(ctx, "nope", video.StateLive, t0, nil); !errors.Is(err, yingji.ErrNotFound) {
			t.Errorf("state: %v", err)
		}
	})
}

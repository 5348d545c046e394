package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
)

// TestE2ECutPushResponse: the server applies a push but the connection drops halfway through
// its answer. The changes stay queued (marked sent) and are resent with the same mutation ids;
// the server answers from its stored results: one record, each change applied once.
func TestE2ECutPushResponse(t *testing.T) {
	cases := []struct {
		name   string
		budget time.Duration // the retry budget of one Sync
		path   string        // the answer cut
		fails  bool          // the first Sync gives up (else it retries within its budget)
	}{
		{"push/next-sync", time.Millisecond, "/api/v1/sync/push", true},
		{"push/same-sync-retry", 4 * time.Second, "/api/v1/sync/push", false},
		{"pull/next-sync", time.Millisecond, "/api/v1/sync/pull", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := apptest.Start(t)
			proxy := apptest.NewCutProxy(t, srv.URL)
			a := login(t, proxy.URL, "safety01", sdk.Options{RetryBudget: tc.budget})
			b := login(t, srv.URL, "principal01", sdk.Options{})
			a.sync()
			old := a.create(a.ent, "消防通道被占用", "")
			a.sync()

			// Three changes: an update of a synced hazard, a new hazard and its update.
			a.update(old, map[string]any{"title": "消防通道被货车占用"})
			id := a.create(a.ent, "可燃气体报警器失灵", "2 号罐区")
			p := photo()
			a.update(id, map[string]any{"title": "可燃气体报警器 GD-07 失灵", "photos": []string{p}})

			proxy.CutNext(tc.path, 1)
			st, err := a.Sync(ctx)
			if proxy.Cut.Load() != 1 {
				t.Fatalf("%d answers cut, want 1", proxy.Cut.Load())
			}
			if tc.fails {
				if k, code := kindOf(err); k != sdk.KindUnreachable {
					t.Fatalf("sync through a cut answer: %v (kind %d %s), want unreachable", err, k, code)
				}
				ps, _ := a.Pending(ctx)
				if tc.path == "/api/v1/sync/push" {
					if len(ps) != 3 {
						t.Fatalf("%d changes queued after the cut, want 3", len(ps))
					}
					for _, p := range ps {
						if p.State != "sending" {
							t.Fatalf("queued change %s is %q, want sending", p.MutationID, p.State)
						}
					}
					if h := a.get(id); h.State != sdk.StatePending || h.Title != "可燃气体报警器 GD-07 失灵" {
						t.Fatalf("local view after the cut: %v", h)
					}
					// The app is closed and started again before it resends.
					a.reopen(sdk.Options{RetryBudget: tc.budget})
					if n := len(a.pendingIDs()); n != 3 {
						t.Fatalf("%d changes queued after a restart, want 3", n)
					}
				} else if len(ps) != 0 {
					t.Fatalf("%d changes queued after a cut pull, want 0 (the push was answered)", len(ps))
				}
			} else if err != nil {
				t.Fatalf("sync retrying within its budget: %v", err)
			} else if st.Applied != 3 {
				t.Fatalf("stats %+v, want 3 applied", st)
			}

			// The server applied the push already: another device sees it.
			b.sync()
			before := b.hazards()
			if len(before) != 2 || before[id].Title != "可燃气体报警器 GD-07 失灵" || before[old].Title != "消防通道被货车占用" {
				t.Fatalf("other device sees %v", before)
			}

			if tc.fails {
				st := a.sync()
				if tc.path == "/api/v1/sync/push" && (st.Pushed != 3 || st.Applied != 3 || st.Rejected != 0) {
					t.Fatalf("resend: %+v, want the 3 stored answers", st)
				}
			}
			a.sync()
			b.sync()
			after := b.hazards()
			if len(after) != 2 {
				t.Fatalf("server has %d hazards after the resend, want 2", len(after))
			}
			for hid, h := range after {
				if !h.sameValues(before[hid]) {
					t.Errorf("hazard %s changed by the resend: %v, was %v", hid, h, before[hid])
				}
				if got := a.get(hid); got.State != sdk.StateSynced || !got.sameValues(h) {
					t.Errorf("sender has %v, server %v", got, h)
				}
			}
			if st := a.status(); st.Pending != 0 || st.Rejected != 0 {
				t.Errorf("sender: %d pending, %d rejected", st.Pending, st.Rejected)
			}
			for _, s := range a.status().Scopes {
				if !s.Verified {
					t.Errorf("sender's scope %s fails its checksum", s.Scope)
				}
			}
			if got := after[id].Photos; len(got) != 1 || got[0] != p {
				t.Errorf("photos %v, want [%s]", got, p)
			}
		})
	}
}

// slowPushes delays every push (a slow network) and arms the proxy's cut on the n-th one.
type slowPushes struct {
	rt    http.RoundTripper
	delay time.Duration
	proxy *apptest.CutProxy
	cutAt int32
	seen  atomic.Int32
}

func (s *slowPushes) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/sync/push") {
		time.Sleep(s.delay)
		if s.seen.Add(1) == s.cutAt {
			s.proxy.CutNext("/api/v1/sync/push", 1)
		}
	}
	return s.rt.RoundTrip(r)
}

// TestE2ERetryBudgetLongSync: the retry budget bounds the time a Sync spends retrying, not the
// Sync's whole length: a long Sync over a slow network whose answer is cut late still retries
// and succeeds.
func TestE2ERetryBudgetLongSync(t *testing.T) {
	srv := apptest.Start(t)
	proxy := apptest.NewCutProxy(t, srv.URL)
	slow := &slowPushes{rt: &http.Transport{DisableCompression: true}, delay: 150 * time.Millisecond, proxy: proxy, cutAt: 6}
	a := login(t, proxy.URL, "safety01", sdk.Options{BatchSize: 1, RetryBudget: time.Second,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: slow}})
	a.sync()
	for i := range 6 {
		a.create(a.ent, fmt.Sprintf("慢网络下的隐患 %d", i), "")
	}
	start := time.Now()
	st, err := a.Sync(context.Background())
	if proxy.Cut.Load() != 1 {
		t.Fatalf("%d answers cut, want 1", proxy.Cut.Load())
	}
	if err != nil {
		t.Fatalf("a %s sync whose 6th answer was cut gave up without retrying: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if st.Applied != 6 {
		t.Fatalf("stats %+v, want 6 applied", st)
	}
	if n := len(snapshot(t, srv.URL, "township01")); n != 6 {
		t.Fatalf("server has %d hazards, want 6", n)
	}
}

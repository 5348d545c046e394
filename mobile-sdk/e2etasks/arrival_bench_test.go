package e2etasks_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// BenchmarkTaskArrival: 100 incidents reported at once; for each, team 1 joins and
// headquarters give rescue01 a task over HTTP. His phone (the SDK, live on the WebSocket: a
// poke, then a pull) has each task: the time from the incident's creation to the task in the
// phone's replica, p50/p95/max over the 100 (target p95 ≤ 1 s).
//
// Beside it, where the time goes: commit-p95-s is the incident's creation to its task's
// commit (the answer to the POST), lag-p95-s that commit to the task in the replica; syncs and
// pulls are the phone's per round, pull-ms a pull request's mean duration.
//
//	go test -run '^$' -bench TaskArrival -benchtime 3x ./mobile-sdk/e2etasks/
func BenchmarkTaskArrival(b *testing.B) {
	e2etest.Engines(b, func(b *testing.B, s *apptest.Server) {
		ctx := context.Background()
		var rescue, team, unit, orgPath string
		if err := s.DB.QueryRow(ctx, `SELECT id, team_id FROM users WHERE username = 'rescue01'`).Scan(&rescue, &team); err != nil {
			b.Fatal(err)
		}
		if err := s.DB.QueryRow(ctx, `SELECT id, path FROM org_units WHERE code = '339901'`).Scan(&unit, &orgPath); err != nil {
			b.Fatal(err)
		}
		duty := s.Login(b, "duty01")
		var all, commits, lags []time.Duration
		var syncs int
		pulls := &timedTransport{path: "/api/v1/sync/pull", next: http.DefaultTransport}
		for range b.N {
			b.StopTimer()
			phone := e2etest.Phone(b, s.URL, "rescue01", sdk.Options{HTTPClient: &http.Client{Transport: pulls}})
			if _, err := phone.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			started := map[string]time.Time{}   // task id → its incident's creation
			committed := map[string]time.Time{} // task id → the POST's answer
			arrived := map[string]time.Time{}
			done := make(chan struct{})
			const n = 100
			lctx, stop := context.WithCancel(ctx)
			live := make(chan struct{})
			var measuring bool
			go func() {
				defer close(live)
				phone.Live(lctx, func(e sdk.LiveEvent) {
					if e.Type != sdk.LiveSynced {
						return
					}
					recs, err := phone.List(lctx, "tasks")
					if err != nil {
						return
					}
					now := time.Now()
					mu.Lock()
					defer mu.Unlock()
					if measuring {
						syncs++
					}
					for _, r := range recs {
						if _, ok := started[r.ID]; ok {
							if _, seen := arrived[r.ID]; !seen {
								arrived[r.ID] = now
							}
						}
					}
					if len(arrived) == n {
						select {
						case <-done:
						default:
							close(done)
						}
					}
				})
			}()
			time.Sleep(300 * time.Millisecond) // the WebSocket opens
			mu.Lock()
			measuring = true
			mu.Unlock()
			pulls.reset()
			b.StartTimer()
			svc := incident.New(s.DB, s.Sync, nil, nil)
			svc.ScopesChanged = s.Sync.ScopesChanged
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					taskID := yingji.NewID()
					t0 := time.Now()
					mu.Lock()
					started[taskID] = t0
					mu.Unlock()
					now := incident.FormatTime(t0)
					lat, lng := 30.2231, 120.3512
					x := incident.Incident{ID: yingji.NewID(), Title: fmt.Sprintf("并发事件 %d", i), Class: "accident", SubType: "危险化学品事故",
						Status: incident.StatusResponding, ResponseLevel: 4, Lat: &lat, Lng: &lng, OrgPath: orgPath, OrgUnitID: unit,
						OccurredAt: now, ReportedAt: now, ReceivedAt: now, Source: incident.SourcePhone, ReporterName: "压测"}
					err := s.DB.InTx(ctx, func(q sqldb.Querier) error {
						if err := svc.Insert(ctx, q, &x); err != nil {
							return err
						}
						return svc.AddTeam(ctx, q, x.ID, team)
					})
					if err != nil {
						b.Error(err)
						return
					}
					r := s.Do(b, "POST", "/api/v1/incidents/"+x.ID+"/tasks", duty, map[string]any{"id": taskID, "title": "赶赴现场", "assignee_id": rescue})
					if r.Status != http.StatusCreated {
						b.Errorf("task: %d %s", r.Status, r.Body)
					}
					mu.Lock()
					committed[taskID] = time.Now()
					mu.Unlock()
				}()
			}
			wg.Wait()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				mu.Lock()
				b.Fatalf("%d of %d tasks reached the phone in 60 s", len(arrived), n)
			}
			b.StopTimer()
			pulls.stop()
			stop()
			<-live
			mu.Lock()
			for id, at := range arrived {
				all = append(all, at.Sub(started[id]))
				commits = append(commits, committed[id].Sub(started[id]))
				// A task may reach the phone before the POST's answer reaches the client.
				lags = append(lags, max(0, at.Sub(committed[id])))
			}
			mu.Unlock()
			b.StartTimer()
		}
		q := func(d []time.Duration, p float64) float64 {
			slices.Sort(d)
			return d[min(len(d)-1, int(p*float64(len(d))))].Seconds()
		}
		b.ReportMetric(q(all, 0.5), "p50-s")
		b.ReportMetric(q(all, 0.95), "p95-s")
		b.ReportMetric(q(all, 1), "max-s")
		b.ReportMetric(q(commits, 0.95), "commit-p95-s")
		b.ReportMetric(q(lags, 0.5), "lag-p50-s")
		b.ReportMetric(q(lags, 0.95), "lag-p95-s")
		b.ReportMetric(float64(syncs)/float64(b.N), "syncs")
		n, d := pulls.total()
		b.ReportMetric(float64(n)/float64(b.N), "pulls")
		if n > 0 {
			b.ReportMetric(float64(d.Milliseconds())/float64(n), "pull-ms")
		}
	})
}

// timedTransport counts the requests to one path and their time while on.
type timedTransport struct {
	path string
	next http.RoundTripper
	mu   sync.Mutex
	on   bool
	n    int
	d    time.Duration
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := t.next.RoundTrip(r)
	if r.URL.Path == t.path {
		t.mu.Lock()
		if t.on {
			t.n++
			t.d += time.Since(t0)
		}
		t.mu.Unlock()
	}
	return resp, err
}

func (t *timedTransport) reset() { t.mu.Lock(); t.on = true; t.mu.Unlock() }
func (t *timedTransport) stop()  { t.mu.Lock(); t.on = false; t.mu.Unlock() }

func (t *timedTransport) total() (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n, t.d
}

package e2etasks_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
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
//	go test -run '^$' -bench TaskArrival -benchtime 1x ./mobile-sdk/e2etasks/
func BenchmarkTaskArrival(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(b)
			} else {
				s = apptest.StartPostgres(b)
			}
			ctx := context.Background()
			var rescue, team, unit, orgPath string
			if err := s.DB.QueryRow(ctx, `SELECT id, team_id FROM users WHERE username = 'rescue01'`).Scan(&rescue, &team); err != nil {
				b.Fatal(err)
			}
			if err := s.DB.QueryRow(ctx, `SELECT id, path FROM org_units WHERE code = '339901'`).Scan(&unit, &orgPath); err != nil {
				b.Fatal(err)
			}
			duty := s.Login(b, "duty01")
			var all []time.Duration
			for range b.N {
				b.StopTimer()
				phone, err := sdk.Open(ctx, filepath.Join(b.TempDir(), "r.db"), sdk.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := phone.Login(ctx, s.URL, "rescue01", apptest.Password); err != nil {
					b.Fatal(err)
				}
				if _, err := phone.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				var mu sync.Mutex
				started := map[string]time.Time{} // task id → its incident's creation
				arrived := map[string]time.Duration{}
				done := make(chan struct{})
				const n = 100
				lctx, stop := context.WithCancel(ctx)
				live := make(chan struct{})
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
						for _, r := range recs {
							if t0, ok := started[r.ID]; ok {
								if _, seen := arrived[r.ID]; !seen {
									arrived[r.ID] = now.Sub(t0)
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
				stop()
				<-live
				phone.Close()
				mu.Lock()
				for _, d := range arrived {
					all = append(all, d)
				}
				mu.Unlock()
				b.StartTimer()
			}
			slices.Sort(all)
			q := func(p float64) float64 { return all[min(len(all)-1, int(p*float64(len(all))))].Seconds() }
			b.ReportMetric(q(0.5), "p50-s")
			b.ReportMetric(q(0.95), "p95-s")
			b.ReportMetric(all[len(all)-1].Seconds(), "max-s")
		})
	}
}

package e2etasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/timeline"
	"github.com/yingji/yingji/server/yingji"
)

// BenchmarkReplay10k: the replay of an incident with 10,000 events (task steps, check-ins and
// feedback), one page of 500 over HTTP, derived from the rows each time (target ≤ 200 ms).
//
//	go test -run '^$' -bench Replay -benchtime 20x ./mobile-sdk/e2etasks/
func BenchmarkReplay10k(b *testing.B) {
	e2etest.Engines(b, func(b *testing.B, s *apptest.Server) {
		f := newIncident(b, s)
		seed(b, s, f, 10000)
		duty := s.Login(b, "duty01")
		path := "/api/v1/incidents/" + f.IncidentID + "/timeline?page_size=500"
		var rp timeline.Replay
		s.Do(b, "GET", path, duty, nil).JSON(b, &rp)
		if rp.Total < 10000 {
			b.Fatalf("events: %d", rp.Total)
		}
		// CPU per request, which the load of the shared machine does not inflate: this
		// process's (the server is in process; the HTTP client's share is small) and, on
		// PostgreSQL, that of the backends of this process's connections.
		backend := func() time.Duration { return 0 }
		if strings.HasSuffix(b.Name(), "/postgres") {
			backend = backendsCPU(context.Background(), s.DB)
		}
		c0, s0 := selfCPU(), backend()
		b.ResetTimer()
		for range b.N {
			if r := s.Do(b, "GET", path, duty, nil); r.Status != 200 {
				b.Fatal(r.Status)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(rp.Total), "events")
		b.ReportMetric(float64((selfCPU()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64((backend()-s0).Microseconds())/1000/float64(b.N), "pg-cpu-ms/op")
	})
}

// seed writes n events' worth of rows: tasks with four steps, check-ins and feedback.
func seed(tb testing.TB, s *apptest.Server, f fixture, n int) {
	ctx := context.Background()
	base := time.Now().UTC().Add(-3 * time.Hour)
	ts := func(i int) string { return base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z") }
	i := 0
	for i < n {
		switch i % 3 {
		case 0:
			steps := fmt.Sprintf(`[{"status":"accepted","by":"%[1]s","at":"%[2]s","received_at":"%[2]s"},{"status":"en_route","by":"%[1]s","at":"%[2]s","received_at":"%[2]s"},{"status":"on_scene","by":"%[1]s","at":"%[2]s","received_at":"%[2]s"},{"status":"done","by":"%[1]s","at":"%[2]s","received_at":"%[2]s"}]`, f.Rescue1, ts(i+1))
			if _, err := s.DB.Exec(ctx, `INSERT INTO tasks (id, incident_id, org_path, title, team_id, assignee_id, status, assigned_by, assigned_at, steps, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, 'done', '', $7, $8, $9, $9)`, yingji.NewID(), f.IncidentID, f.OrgPath, fmt.Sprintf("任务 %d", i), f.Team1, f.Rescue1,
				ts(i), steps, base); err != nil {
				tb.Fatal(err)
			}
			i += 5
		case 1:
			if _, err := s.DB.Exec(ctx, `INSERT INTO checkins (id, incident_id, org_path, team_id, user_id, location, at, received_at, created_at)
				VALUES ($1, $2, $3, $4, $5, '{"lat":30.22,"lng":120.35}', $6, $6, $7)`, yingji.NewID(), f.IncidentID, f.OrgPath, f.Team2, f.Rescue2, ts(i), base); err != nil {
				tb.Fatal(err)
			}
			i++
		default:
			if _, err := s.DB.Exec(ctx, `INSERT INTO feedback (id, incident_id, org_path, team_id, user_id, text, location, at, received_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, '{"lat":30.22,"lng":120.35}', $7, $7, $8)`, yingji.NewID(), f.IncidentID, f.OrgPath, f.Team1, f.Rescue1,
				fmt.Sprintf("现场反馈 %d", i), ts(i), base); err != nil {
				tb.Fatal(err)
			}
			i++
		}
	}
	// Statistics as autovacuum would keep them (it is off on the benchmark machine).
	for _, table := range []string{"tasks", "checkins", "feedback"} {
		if _, err := s.DB.Exec(ctx, "ANALYZE "+table); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkFeedbackAck1000: 1,000 feedback items queued offline, acknowledged by the server
// after reconnecting (one Sync; target ≤ 5 s), with no duplicate on the server.
//
//	go test -run '^$' -bench FeedbackAck -benchtime 1x ./mobile-sdk/e2etasks/
func BenchmarkFeedbackAck1000(b *testing.B) {
	e2etest.Engines(b, func(b *testing.B, s *apptest.Server) {
		ctx := context.Background()
		f := newIncident(b, s)
		var worst time.Duration
		for round := range b.N {
			b.StopTimer()
			c := e2etest.Phone(b, s.URL, "rescue01", sdk.Options{})
			for i := range 1000 {
				if _, err := c.Create(ctx, "feedback", map[string]json.RawMessage{"incident_id": jsonRaw(f.IncidentID),
					"text": jsonRaw(fmt.Sprintf("r%d-%d", round, i))}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			t0 := time.Now()
			st, err := c.Sync(ctx)
			d := time.Since(t0)
			b.StopTimer()
			if err != nil || st.Applied != 1000 {
				b.Fatalf("sync: %+v %v", st, err)
			}
			worst = max(worst, d)
			b.StartTimer()
		}
		var n, distinct int
		s.DB.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT text) FROM feedback WHERE incident_id = $1`, f.IncidentID).Scan(&n, &distinct)
		if n != 1000*b.N || distinct != n {
			b.Fatalf("server holds %d feedback (%d distinct), want %d", n, distinct, 1000*b.N)
		}
		b.ReportMetric(worst.Seconds(), "worst-s")
		b.ReportMetric(float64(n-distinct), "duplicates")
	})
}

// BenchmarkDerive10k: deriving the 10,000 events in process (no HTTP, no JSON), the query part
// of a replay.
//
//	go test -run '^$' -bench Derive -benchtime 20x ./mobile-sdk/e2etasks/
func BenchmarkDerive10k(b *testing.B) {
	e2etest.Engines(b, func(b *testing.B, s *apptest.Server) {
		f := newIncident(b, s)
		seed(b, s, f, 10000)
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			err := s.DB.ReadTx(ctx, func(q sqldb.Querier) error {
				_, evs, err := timeline.Derive(ctx, q, f.IncidentID)
				if err == nil && len(evs) < 10000 {
					err = fmt.Errorf("%d events", len(evs))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

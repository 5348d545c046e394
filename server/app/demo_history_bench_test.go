package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
)

// BenchmarkDemoFirstStart starts the whole server on a fresh database with the demo city and
// its month of history (goal: the history in ≤ 5 s on the first start). ns/op is the whole
// start (migrations, city, devices, history, jobs); history_s is the history alone, as the
// start log line "demo history loaded" reports it.
//
//	go test -run '^$' -bench DemoFirstStart -benchtime 3x ./server/app/
func BenchmarkDemoFirstStart(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				var s *apptest.Server
				if engine == "sqlite" {
					s = apptest.Start(b, apptest.WithDemoHistory())
				} else {
					s = apptest.StartPostgres(b, apptest.WithDemoHistory())
				}
				var detail string
				if err := s.DB.QueryRow(context.Background(), `SELECT detail FROM audit_log WHERE action = 'demo.history'`).Scan(&detail); err != nil {
					b.Fatal(err)
				}
				var d struct {
					TookMS int64 `json:"took_ms"`
				}
				json.Unmarshal([]byte(detail), &d)
				total += time.Duration(d.TookMS) * time.Millisecond
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "history_s")
		})
	}
}

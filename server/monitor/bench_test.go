package monitor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
)

type nopSink struct{ n atomic.Int64 }

func (s *nopSink) Apply(_ context.Context, evs []rules.Event) error {
	s.n.Add(int64(len(evs)))
	return nil
}

// BenchmarkIngest measures readings/s through Deliver → rules → bulk storage with rollups:
// 200 devices × 10 points (temperature with two threshold levels and the default quality
// checks), 10 readings a message, delivered from parallel goroutines; the time includes the
// final flush, and the benchmark fails if a delivered reading is missing from the database.
//
//	go test ./server/monitor -run '^$' -bench Ingest -benchtime 200000x -cpu 2
func BenchmarkIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "y.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchIngest(b, db)
	})
	b.Run("postgres", func(b *testing.B) { benchIngest(b, pgtest.Open(b)) })
}

func benchIngest(b *testing.B, db sqldb.DB) {
	ctx := context.Background()
	e := newEnv(b, db)
	e.clock.t = time.Now().UTC()
	s := monitor.New(db, nil, nil, monitor.Config{})
	s.Now = time.Now
	sink := &nopSink{}
	s.SetAlertSink(sink)
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	const devices, points = 200, 10
	codes := make([]string, devices)
	items := make([]monitor.ImportItem, 0, devices*points)
	for i := range devices {
		codes[i] = fmt.Sprintf("GW-%04d", i)
		d := monitor.Device{Code: codes[i], Name: "网关", EnterpriseID: e.entA.ID, Category: "hazchem", Kind: "gateway"}
		for j := range points {
			items = append(items, monitor.ImportItem{Device: d, Point: monitor.Point{Code: "TI-" + strconv.Itoa(j), Name: "温度", Kind: "temperature",
				RangeMin: f64(-50), RangeMax: f64(300), Quality: monitor.DefaultQuality(),
				Thresholds: []monitor.ThresholdRule{{ID: "hi", Direction: "high", Levels: []monitor.ThresholdLevel{{Level: 1, Value: 80}, {Level: 2, Value: 100}}, MinDurationS: 30}}}})
		}
	}
	if _, err := s.ImportPoints(ctx, e.officerA, items); err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 512)
		for pb.Next() {
			i := seq.Add(1)
			buf = buf[:0]
			buf = append(buf, `{"ts":`...)
			buf = strconv.AppendInt(buf, base+i, 10)
			buf = append(buf, `,"readings":[`...)
			for j := range points {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, `{"point":"TI-`...)
				buf = strconv.AppendInt(buf, int64(j), 10)
				buf = append(buf, `","value":`...)
				buf = strconv.AppendFloat(buf, 20+float64((i*7+int64(j))%90), 'f', 1, 64)
				buf = append(buf, '}')
			}
			buf = append(buf, "]}"...)
			s.Deliver(ctx, codes[i%devices], "readings", buf)
		}
	})
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	total := int(seq.Load()) * points
	b.ReportMetric(float64(total)/elapsed.Seconds(), "readings/s")
	b.ReportMetric(float64(sink.n.Load()), "events")
	if n := count(b, db, `SELECT COUNT(*) FROM readings`); n != total {
		b.Fatalf("stored %d of %d readings", n, total)
	}
}

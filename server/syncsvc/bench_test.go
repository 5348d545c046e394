package syncsvc_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/yingji/yingji/syncproto"
)

// BenchmarkPush measures applied changes per second through the HTTP API: each iteration
// pushes one batch of 100 new hazards from one device.
//
//	go test -run '^$' -bench BenchmarkPush -benchtime 50x ./server/syncsvc/
func BenchmarkPush(b *testing.B) {
	const batch = 100
	for _, en := range engines {
		b.Run(en.name, func(b *testing.B) {
			e := newEnv(b, en.start(b))
			c := e.client(b, "safety01")
			ent := e.entID(entA)
			n := 0
			for b.Loop() {
				muts := make([]syncproto.Mutation, batch)
				for i := range muts {
					muts[i] = c.newHazard(ent, fmt.Sprintf("压测隐患 %d", n))
					n++
				}
				for _, res := range c.push(b, muts...).Results {
					if res.Status != syncproto.StatusApplied {
						b.Fatalf("%+v", res)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

// BenchmarkPullInitial measures a device's first full pull of its enterprise's scope holding
// YINGJI_BENCH_HAZARDS hazards (default 200), paged by the server's default limit.
//
//	YINGJI_BENCH_HAZARDS=10000 go test -run '^$' -bench BenchmarkPullInitial -benchtime 5x ./server/syncsvc/
func BenchmarkPullInitial(b *testing.B) {
	hazards := 200
	if v, err := strconv.Atoi(os.Getenv("YINGJI_BENCH_HAZARDS")); err == nil && v > 0 {
		hazards = v
	}
	for _, en := range engines {
		b.Run(fmt.Sprintf("%s/%d", en.name, hazards), func(b *testing.B) {
			e := newEnv(b, en.start(b))
			writer := e.client(b, "safety01")
			ent := e.entID(entA)
			for done := 0; done < hazards; {
				muts := make([]syncproto.Mutation, min(500, hazards-done))
				for i := range muts {
					muts[i] = writer.newHazard(ent, fmt.Sprintf("存量隐患 %d", done+i))
				}
				writer.push(b, muts...)
				done += len(muts)
			}
			reader := e.client(b, "principal01")
			scope := "ent:" + ent
			records, pages := 0, 0
			for b.Loop() {
				r := newReplica()
				pages += reader.sync(b, r, 0)
				if got := len(r.recs[scope]); got < hazards {
					b.Fatalf("pulled %d records, want at least %d", got, hazards)
				}
				records += len(r.recs[scope])
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
		})
	}
}

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/syncproto"
)

// BenchmarkInitialSync100k: a fresh phone's first full sync of an enterprise holding 100,000
// hazards (YINGJI_BENCH_HAZARDS overrides), seeded through the push API in batches of 1000.
// Goal: at most 5 s.
//
//	go test -run '^$' -bench BenchmarkInitialSync100k -benchtime 1x ./mobile-sdk/e2e/
func BenchmarkInitialSync100k(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("YINGJI_BENCH_HAZARDS")); err == nil && v > 0 {
		n = v
	}
	for _, en := range engines {
		b.Run(en.name, func(b *testing.B) {
			srv := en.start(b)
			ent := seedHazards(b, srv, n)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d := login(b, srv.URL, "principal01", sdk.Options{})
				b.StartTimer()
				start := time.Now()
				st := d.sync()
				took := time.Since(start)
				total += took
				b.StopTimer()
				if got := len(d.hazards()); got != n || st.Pulled < n {
					b.Fatalf("replica holds %d hazards (pulled %d), want %d", got, st.Pulled, n)
				}
				for _, s := range d.status().Scopes {
					if s.Scope == "ent:"+ent && (!s.Verified || s.Count < int64(n)) {
						b.Fatalf("scope %+v not complete", s)
					}
				}
				d.Close()
				b.StartTimer()
			}
			secs := total.Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/secs, "records/s")
			b.ReportMetric(secs, "s/sync")
			b.Logf("%s: initial sync of %d hazards in %.2f s (%.0f records/s)", en.name, n, secs, float64(n)/secs)
		})
	}
}

// seedHazards pushes n new hazards into safety01's enterprise, 1000 per request, and returns
// the enterprise id.
func seedHazards(b *testing.B, srv *apptest.Server, n int) string {
	b.Helper()
	start := time.Now()
	token := srv.LoginAs(b, "safety01", apptest.Password, "mobile", "bench-seeder")
	me := srv.Do(b, http.MethodGet, "/api/v1/auth/me", token, nil)
	var u struct {
		EnterpriseID string `json:"enterprise_id"`
		User         struct {
			EnterpriseID string `json:"enterprise_id"`
		} `json:"user"`
	}
	me.JSON(b, &u)
	ent := u.EnterpriseID
	if ent == "" {
		ent = u.User.EnterpriseID
	}
	if ent == "" {
		b.Fatalf("no enterprise in %s", me.Body)
	}
	clock := syncproto.NewClock("bench-seeder", nil)
	for done := 0; done < n; {
		ms := make([]syncproto.Mutation, min(1000, n-done))
		for i := range ms {
			ms[i] = syncproto.Mutation{MutationID: uuid.Must(uuid.NewV7()).String(), Collection: coll, ID: uuid.Must(uuid.NewV7()).String(),
				Op: syncproto.OpCreate, HLC: clock.Now().String(), Fields: fields(b, map[string]any{
					"title": fmt.Sprintf("存量隐患 %06d", done+i), "description": "压测数据：消防器材检查记录缺失", "enterprise_id": ent,
					"level": "general", "photos": []string{}})}
		}
		r := srv.Do(b, http.MethodPost, "/api/v1/sync/push", token, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "bench-seeder", Mutations: ms})
		var resp syncproto.PushResponse
		r.JSON(b, &resp)
		if r.Status != http.StatusOK || len(resp.Results) != len(ms) {
			b.Fatalf("seed push: %d %.300s", r.Status, r.Body)
		}
		for _, res := range resp.Results {
			if res.Status != syncproto.StatusApplied {
				b.Fatalf("seed push: %+v", res)
			}
		}
		done += len(ms)
	}
	b.Logf("seeded %d hazards in %.1f s", n, time.Since(start).Seconds())
	return ent
}

// BenchmarkOfflineQueue1000: a phone queued 1,000 changes offline (500 new hazards and an
// update of each); the time of the Sync that pushes them all until acknowledged. Goal: at
// most 2 s.
//
//	go test -run '^$' -bench BenchmarkOfflineQueue1000 -benchtime 5x ./mobile-sdk/e2e/
func BenchmarkOfflineQueue1000(b *testing.B) {
	const creates = 500
	for _, en := range engines {
		b.Run(en.name, func(b *testing.B) {
			ctx := context.Background()
			srv := en.start(b)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d := login(b, srv.URL, "safety01", sdk.Options{})
				d.sync()
				ids := make([]string, creates)
				for j := range ids {
					ids[j] = d.create(d.ent, fmt.Sprintf("离线隐患 %d-%d", i, j), "")
				}
				for _, id := range ids {
					d.update(id, map[string]any{"description": "补充说明", "status": "rectifying"})
				}
				b.StartTimer()
				start := time.Now()
				st, err := d.Sync(ctx)
				took := time.Since(start)
				total += took
				b.StopTimer()
				if err != nil || st.Applied != 2*creates || st.Rejected != 0 {
					b.Fatalf("sync: %+v %v", st, err)
				}
				if p := d.status().Pending; p != 0 {
					b.Fatalf("%d still pending", p)
				}
				d.Close()
				b.StartTimer()
			}
			secs := total.Seconds() / float64(b.N)
			b.ReportMetric(2*creates/secs, "changes/s")
			b.ReportMetric(secs, "s/sync")
			b.Logf("%s: 1000 queued changes synced in %.3f s", en.name, secs)
		})
	}
}

package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/bigram"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/postgres/pgtest"
	"github.com/yingji/yingji/server/search"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/sqlite"
	"github.com/yingji/yingji/server/store"
)

// The plan search benchmark: 2,000 published plans of about 3,000 characters each, searched
// by a mix of common and rare words, Chinese and numbers, in one district's scope. It reports
// the p50 and p95 latency of one search (the goal: p95 ≤ 50 ms).
//
//	go test -run '^$' -bench PlanSearch -benchtime 400x ./server/store/

var (
	benchPlaces    = []string{"临港化工园区", "滨江街道", "青山镇", "临溪镇", "江南区", "青山县", "经二路", "海港路", "纬三路", "物流大道"}
	benchChemicals = []string{"液氯", "液氨", "甲醇", "汽油", "液化石油气", "硫化氢", "苯", "氢气", "天然气", "盐酸"}
	benchSentences = []string{
		"发生%s泄漏时，现场人员立即报告中控室，关闭储罐进出口阀门，启动事故吸收装置。",
		"%s所在区域设置警戒线，无关人员从侧风、上风向撤离至安全区域。",
		"应急救援人员佩戴正压式空气呼吸器，穿全封闭防化服进入现场处置%s泄漏。",
		"指挥部办公室接报后 30 分钟内向市应急管理局报告，并通知%s所在乡镇（街道）。",
		"用雾状水稀释、吸收泄漏的%s，构筑围堤收容消防废水，防止进入河道和雨水管网。",
		"医疗救护组在%s上风向设立临时救护点，对中毒人员进行现场急救和转运。",
		"环境监测组在%s下风向 500 米、1000 米处布设监测点，每小时报告一次监测结果。",
		"物资保障组调运沙袋 2000 只、吸附棉 500 公斤、碱液 10 吨至%s现场。",
		"达到二级响应条件时，由分管副市长任总指挥，组织%s周边群众疏散。",
		"事故得到控制后，由%s属地政府组织善后处置、调查评估和恢复重建。",
	}
)

func benchPlan(rng *rand.Rand, i int, path string) plan.Plan {
	var b strings.Builder
	for b.Len() < 9000 { // ~3,000 CJK characters
		s := benchSentences[rng.IntN(len(benchSentences))]
		what := benchChemicals[rng.IntN(len(benchChemicals))]
		if rng.IntN(3) == 0 {
			what = benchPlaces[rng.IntN(len(benchPlaces))]
		}
		fmt.Fprintf(&b, s, what)
	}
	chem := benchChemicals[i%len(benchChemicals)]
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := plan.Plan{ID: fmt.Sprintf("v%05d", i), PlanID: fmt.Sprintf("p%05d", i), Version: 1, Status: plan.StatusPublished,
		Code: fmt.Sprintf("YA-%05d", i), Title: fmt.Sprintf("%s%s事故专项应急预案（第 %d 号）", benchPlaces[i%len(benchPlaces)], chem, i),
		Kind: plan.KindSpecial, Level: plan.LevelDistrict, OrgUnitID: "d", OrgPath: path, CreatedAt: at, UpdatedAt: at, PublishedAt: &at,
		Content: plan.Content{Summary: "适用于" + chem + "事故", Chapters: []plan.Chapter{{Title: "应急处置", Body: b.String()}}}}
	p.Normalize()
	return p
}

// benchSearch loads the plans through db and searches through search (the same database);
// serverCPU, when set, is the CPU time of the database process that answers search.
func benchSearch(b *testing.B, db, searchDB sqldb.DB, serverCPU func() time.Duration) {
	ctx := context.Background()
	s := store.New(db)
	rng := rand.New(rand.NewPCG(14, 2026))
	paths := []string{"/c/d1/", "/c/d2/", "/c/d3/", "/c/d4/"}
	const n, batch = 2000, 100
	for i := 0; i < n; i += batch {
		ps := make([]plan.Plan, 0, batch)
		for j := i; j < i+batch; j++ {
			ps = append(ps, benchPlan(rng, j, paths[j%len(paths)]))
		}
		if err := s.CreatePlans(ctx, ps); err != nil {
			b.Fatal(err)
		}
	}
	queries := []string{"液氯", "泄漏", "应急", "液氯 泄漏", "正压式空气呼吸器", "二级响应", "YA-01234", "1000", "硫化氢 下风向", "临港化工园区", "氯", "防化服 碱液"}
	scope := search.Scope{OrgPrefix: "/c/d1/", Ancestors: "/c/d1/"}
	s = store.New(searchDB)
	if serverCPU == nil {
		serverCPU = func() time.Duration { return 0 }
	}
	// The searches run on one locked OS thread so that its CPU time (threadCPU) is the search's
	// own work — SQLite's included, as cgo calls run on the calling thread — whatever the load
	// of the machine; on PostgreSQL it is the client's share only.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	var lat, cpu []time.Duration
	for i := 0; b.Loop(); i++ {
		q := bigram.Parse(queries[i%len(queries)])
		c0, s0, t0 := threadCPU(), serverCPU(), time.Now()
		res, err := s.Search(ctx, search.Request{Kind: search.KindPlan, Query: q, Scope: scope})
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0+serverCPU()-s0)
		if err != nil {
			b.Fatal(err)
		}
		if res.Total == 0 && i < len(queries) && queries[i] != "YA-01234" {
			b.Fatalf("%q found nothing", queries[i])
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		slices.Sort(cpu)
		b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1000, "cpu-p50-ms")
		b.ReportMetric(float64(cpu[len(cpu)*95/100].Microseconds())/1000, "cpu-p95-ms")
	}
}

func BenchmarkPlanSearchSQLite(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	benchSearch(b, db, db, nil)
}

// BenchmarkPlanSearchPostgres searches through a pool of one connection, so the CPU time of a
// search adds its backend's (from /proc/PID/schedstat: PostgreSQL runs on this machine).
func BenchmarkPlanSearchPostgres(b *testing.B) {
	ctx := context.Background()
	db := pgtest.Open(b)
	one, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: db.Schema(), MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer one.Close()
	var pid int
	if err := one.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		b.Fatal(err)
	}
	benchSearch(b, db, one, func() time.Duration { return procCPU(pid) })
}

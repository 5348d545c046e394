package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ingestOpts configure the ingest benchmark.
type ingestOpts struct {
	devices     int           // load gateways, pointsPerDevice points each
	rate        float64       // sustained readings/s
	duration    time.Duration // sustained phase
	burstFactor float64       // burst rate = burstFactor × rate
	burst       time.Duration // burst phase
	probeEvery  time.Duration // one threshold crossing per interval during the sustained phase
	pollEvery   time.Duration // pause between database polls for probe alerts
}

// ingestResult is one engine's measurements.
type ingestResult struct {
	engine                 string
	importTook             time.Duration
	sustained, burst       loadResult
	sustainedCPU, burstCPU cpuUse
	sentS, storedS         int64 // readings sent / stored in the sustained phase (probes included)
	flushWaitS             time.Duration
	sentB, storedB         int64
	drained                time.Duration // burst end → every burst reading stored
	peakQueue, peakQueueS  float64       // writer queue peaks in the burst and the sustained phase
	probes                 probeResult
	dropped, rejected      float64 // server counters at the end
	flushes, flushSum      float64 // bulk writer flushes and their total seconds
}

// ingestBench runs the phases on one engine with the server as its own process.
func ingestBench(bin, engine, pgURL string, o ingestOpts) (*ingestResult, error) {
	ctx := context.Background()
	r := &ingestResult{engine: engine}
	logf := func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "[%s %s] %s\n", time.Now().Format("15:04:05"), engine, fmt.Sprintf(f, a...))
	}
	p, err := startProc(bin, engine, pgURL)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	probeDevices := int(o.duration/o.probeEvery)/pointsPerDevice + 2
	logf("server pid %d at %s, MQTT %s; importing %d+%d devices × %d points", p.cmd.Process.Pid, p.base, p.mqttAddr, o.devices, probeDevices, pointsPerDevice)
	fl, took, err := importFleet(p, o.devices, probeDevices)
	if err != nil {
		return nil, err
	}
	r.importTook = took
	db, err := openBenchDB(p)
	if err != nil {
		return nil, err
	}
	defer db.db.Close()
	if err := db.resolvePoints(ctx, fl); err != nil {
		return nil, err
	}
	logf("import took %s; connecting MQTT clients", took.Round(time.Millisecond))
	load, err := connectAll(p.mqttAddr, fl.load)
	if err != nil {
		return nil, err
	}
	defer disconnectAll(load)
	probes, err := connectAll(p.mqttAddr, fl.probe)
	if err != nil {
		return nil, err
	}
	defer disconnectAll(probes)
	if err := heartbeatAll(append(append([]*publisher{}, load...), probes...)); err != nil {
		return nil, err
	}
	msgRate := o.rate / pointsPerDevice
	logf("warm-up 5 s")
	if w := runLoad(load, msgRate, 5*time.Second); w.errors > 0 {
		return nil, fmt.Errorf("warm-up: %d publish errors, first: %v", w.errors, w.firstErr)
	}
	base, err := waitStable(ctx, db, -1, 30*time.Second)
	if err != nil {
		return nil, err
	}

	logf("sustained %.0f readings/s for %s with a probe every %s", o.rate, o.duration, o.probeEvery)
	stop := make(chan struct{})
	probeDone := make(chan error, 1)
	go func() {
		var err error
		r.probes, err = runProbes(ctx, db, probes, o.probeEvery, o.pollEvery, stop)
		probeDone <- err
	}()
	peakS := make(chan float64, 1)
	stopPeakS := make(chan struct{})
	go func() { peakS <- samplePeak(p.base, "yingji_monitor_queue_rows", stopPeakS) }()
	w := startWindow(p.cmd.Process.Pid)
	r.sustained = runLoad(load, msgRate, o.duration)
	r.sustainedCPU = w.end()
	close(stopPeakS)
	r.peakQueueS = <-peakS
	close(stop)
	if err := <-probeDone; err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	r.sentS = r.sustained.readings + r.probes.readings
	t0 := time.Now()
	n, err := waitStable(ctx, db, base+r.sentS, 120*time.Second)
	if err != nil {
		return nil, err
	}
	r.flushWaitS, r.storedS = time.Since(t0), n-base
	logf("sustained: %d sent, %d stored, CPU %.0f%% of one core", r.sentS, r.storedS, r.sustainedCPU.server)

	logf("burst %.0f readings/s for %s", o.rate*o.burstFactor, o.burst)
	base = n
	peak := make(chan float64, 1)
	stopPeak := make(chan struct{})
	go func() { peak <- samplePeak(p.base, "yingji_monitor_queue_rows", stopPeak) }()
	w = startWindow(p.cmd.Process.Pid)
	r.burst = runLoad(load, msgRate*o.burstFactor, o.burst)
	burstEnd := time.Now()
	r.burstCPU = w.end()
	r.sentB = r.burst.readings
	for {
		n, err = db.readings(ctx)
		if err != nil {
			return nil, err
		}
		if n-base >= r.sentB || time.Since(burstEnd) > 120*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.drained = time.Since(burstEnd)
	close(stopPeak)
	r.peakQueue = <-peak
	if n, err = waitStable(ctx, db, base+r.sentB, 30*time.Second); err != nil {
		return nil, err
	}
	r.storedB = n - base
	r.dropped = scrapeSum(p.base, "yingji_monitor_readings_dropped_total")
	r.rejected = scrapeSum(p.base, "yingji_monitor_ingest_rejects_total")
	r.flushes = scrapeSum(p.base, "yingji_monitor_flush_seconds_count")
	r.flushSum = scrapeSum(p.base, "yingji_monitor_flush_seconds_sum")
	logf("burst: %d sent, %d stored, drained %s after the burst", r.sentB, r.storedB, r.drained.Round(time.Millisecond))
	return r, nil
}

// waitStable waits until the stored readings reach want (want < 0: until the count stops
// changing for 2 s), or the timeout; it returns the last count.
func waitStable(ctx context.Context, db *benchDB, want int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	last, since := int64(-1), time.Now()
	for {
		n, err := db.readings(ctx)
		if err != nil {
			return 0, err
		}
		if want >= 0 && n >= want {
			return n, nil
		}
		if n != last {
			last, since = n, time.Now()
		}
		if want < 0 && time.Since(since) >= 2*time.Second || time.Now().After(deadline) {
			return n, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeSum sums a metric's samples (all label values) from the server's /metrics.
func scrapeSum(base, name string) float64 {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != ' ' && l[len(name)] != '{') {
			continue
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// samplePeak reads a gauge every 250 ms until stop and returns its highest value.
func samplePeak(base, name string, stop <-chan struct{}) float64 {
	var peak float64
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if v := scrapeSum(base, name); v > peak {
			peak = v
		}
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

// ingestMode runs the benchmark on each engine and prints the three tables.
func ingestMode(engines, pgURL string, o ingestOpts) error {
	dir, err := os.MkdirTemp("", "yingji-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildServer(dir)
	if err != nil {
		return err
	}
	var rs []*ingestResult
	for _, e := range strings.Split(engines, ",") {
		r, err := ingestBench(bin, e, pgURL, o)
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
		rs = append(rs, r)
	}
	pct := func(v float64) string { return fmt.Sprintf("%.0f %%", v) }
	fmt.Printf("Sustained: %d gateways × %d points over MQTT (QoS 1), target %.0f readings/s for %s; CPU in %% of one core (the machine has %d).\n\n",
		o.devices, pointsPerDevice, o.rate, o.duration, cores())
	fmt.Printf("| engine | achieved readings/s | sent | stored | lost | stored within | peak queue (rows) | server CPU (of 1 core) | server CPU (of machine) | bench CPU | PostgreSQL CPU | machine busy | load avg before → after |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		c := r.sustainedCPU
		fmt.Printf("| %s | %.0f | %d | %d | %d | %s after the end | %.0f | %s | %s | %s | %s | %s | %s → %s |\n", r.engine,
			float64(r.sustained.readings)/r.sustained.elapsed.Seconds(), r.sentS, r.storedS, r.sentS-r.storedS, ms(r.flushWaitS), r.peakQueueS,
			pct(c.server), pct(c.server/float64(cores())), pct(c.bench), pgPct(r.engine, c.pg), pct(c.machine), c.loadBefore, c.loadAfter)
	}
	fmt.Printf("\nBurst: %.0f× for %s (target %.0f readings/s).\n\n", o.burstFactor, o.burst, o.rate*o.burstFactor)
	fmt.Printf("| engine | achieved readings/s | sent | stored | lost | peak queue (rows) | drained after burst end | server CPU (of 1 core) | bench CPU | PostgreSQL CPU | dropped / rejected (server counters) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		c := r.burstCPU
		fmt.Printf("| %s | %.0f | %d | %d | %d | %.0f | %s | %s | %s | %s | %.0f / %.0f |\n", r.engine,
			float64(r.burst.readings)/r.burst.elapsed.Seconds(), r.sentB, r.storedB, r.sentB-r.storedB, r.peakQueue,
			ms(r.drained), pct(c.server), pct(c.bench), pgPct(r.engine, c.pg), r.dropped, r.rejected)
	}
	fmt.Printf("\nReading → alert persisted under the sustained load (one crossing every %s; database polled every %s; a probe not seen within 5 s of the phase's end counts as at least that late, ≥).\n\n", o.probeEvery, o.pollEvery)
	fmt.Printf("| engine | probes | not seen | p50 | p90 | p99 | max | publish → row's created_at p50 / p99 / max | p50 first → last third of the run | poll query p50 / max |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		c := r.probes.toInsert
		a, b := r.probes.thirds()
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %s / %s / %s | %s → %s | %s / %s |\n", r.engine, r.probes.sent, r.probes.missing,
			r.probes.latencyQ(.5), r.probes.latencyQ(.9), r.probes.latencyQ(.99), r.probes.latencyQ(1),
			ms(quantile(c, .5)), ms(quantile(c, .99)), ms(quantile(c, 1)), ms(a), ms(b), ms(r.probes.queryP50), ms(r.probes.queryMax))
	}
	for _, r := range rs {
		fmt.Printf("\n%s: import of the points took %s; latest publish was %s behind schedule (burst %s); publish errors %d (burst %d); flush wait after the sustained phase %s; %.0f flushes, mean %s each.\n",
			r.engine, ms(r.importTook), ms(r.sustained.lagMax), ms(r.burst.lagMax), r.sustained.errors, r.burst.errors, ms(r.flushWaitS),
			r.flushes, ms(time.Duration(r.flushSum/max(r.flushes, 1)*float64(time.Second))))
	}
	return nil
}

// pgPct shows PostgreSQL's CPU on the postgres engine only.
func pgPct(engine string, v float64) string {
	if engine != "postgres" {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", v)
}

func cores() int { return runtime.NumCPU() }

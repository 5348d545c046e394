package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// ceilingResult is one unpaced ingest run: every gateway publishes its next message as soon
// as the previous one is acknowledged, for the duration; the rate is the readings stored in
// the database over the time from the first publish until the last of them was stored.
type ceilingResult struct {
	system            string
	sent, stored      int64
	publishSecs       float64 // first publish → last acknowledgement
	storedSecs        float64 // first publish → every reading stored
	errors            int64
	cpu               cpuUse
	dropped, rejected float64
}

func (r ceilingResult) row() string {
	pg := "—"
	if r.system == "yingji-postgres" {
		pg = fmt.Sprintf("%.0f %%", r.cpu.pg)
	}
	srv := "—"
	if r.cpu.server >= 0 {
		srv = fmt.Sprintf("%.0f %%", r.cpu.server)
	}
	return fmt.Sprintf("| %s | %.0f | %.0f | %d | %d | %d | %.0f / %.0f | %s | %.0f %% | %s | %.0f %% | %s → %s |", r.system,
		float64(r.stored)/r.storedSecs, float64(r.sent)/r.publishSecs, r.sent, r.stored, r.errors, r.dropped, r.rejected,
		srv, r.cpu.bench, pg, r.cpu.machine, r.cpu.loadBefore, r.cpu.loadAfter)
}

// runUnpaced has every publisher send gateway messages back to back (QoS 1, each waiting for
// its PUBACK) for d.
func runUnpaced(ps []*publisher, d time.Duration) loadResult {
	start := time.Now()
	end := start.Add(d)
	var msgs, errs, lastAck atomic.Int64
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 1024)
			for time.Now().Before(end) {
				buf = p.gatewayMessage(buf, time.Now())
				if err := p.publish(buf); err != nil {
					errs.Add(1)
					continue
				}
				msgs.Add(1)
				if t := time.Since(start).Nanoseconds(); t > lastAck.Load() {
					lastAck.Store(t)
				}
			}
		}()
	}
	wg.Wait()
	return loadResult{messages: msgs.Load(), readings: msgs.Load() * pointsPerDevice, errors: errs.Load(), elapsed: time.Duration(lastAck.Load())}
}

// ingestCeiling measures the server's unpaced ingest (rules and durable storage) on one engine.
func ingestCeiling(bin, engine, pgURL string, devices int, d time.Duration) (ceilingResult, error) {
	ctx := context.Background()
	r := ceilingResult{system: "yingji-" + engine}
	p, err := startProc(bin, engine, pgURL)
	if err != nil {
		return r, err
	}
	defer p.stop()
	fl, _, err := importFleet(p, devices, 1)
	if err != nil {
		return r, err
	}
	db, err := openBenchDB(p)
	if err != nil {
		return r, err
	}
	defer db.db.Close()
	load, err := connectAll(p.mqttAddr, fl.load)
	if err != nil {
		return r, err
	}
	defer disconnectAll(load)
	if err := heartbeatAll(load); err != nil {
		return r, err
	}
	runUnpaced(load, 3*time.Second) // warm-up
	base, err := waitStable(ctx, db, -1, 60*time.Second)
	if err != nil {
		return r, err
	}
	w := startWindow(p.cmd.Process.Pid)
	t0 := time.Now()
	res := runUnpaced(load, d)
	r.sent, r.errors, r.publishSecs = res.readings, res.errors, res.elapsed.Seconds()
	n, err := waitStable(ctx, db, base+r.sent, 300*time.Second)
	if err != nil {
		return r, err
	}
	r.storedSecs = time.Since(t0).Seconds()
	r.cpu = w.end()
	r.stored = n - base
	r.dropped = scrapeSum(p.base, "yingji_monitor_readings_dropped_total")
	r.rejected = scrapeSum(p.base, "yingji_monitor_ingest_rejects_total")
	return r, nil
}

// mosquittoRate measures Mosquitto's own publish → subscribe rate: as many publishers as the
// ingest run, the same messages (QoS 1, back to back), one subscriber at QoS 1 counting what
// it receives; the rate is the readings received over first publish → last received.
func mosquittoRate(addr string, publishers int, d time.Duration) (ceilingResult, error) {
	r := ceilingResult{system: "mosquitto " + addr}
	topic := fmt.Sprintf("yingji-bench/%d", os.Getpid())
	var got, last atomic.Int64
	var t0 atomic.Int64
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return r, err
	}
	sub := paho.NewClient(paho.ClientConfig{ClientID: topic + "-sub", Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got.Add(1)
			last.Store(time.Now().UnixNano())
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sub.Connect(ctx, &paho.Connect{ClientID: topic + "-sub", KeepAlive: 60, CleanStart: true}); err != nil {
		return r, fmt.Errorf("connect: %w", err)
	}
	defer sub.Disconnect(&paho.Disconnect{})
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic + "/#", QoS: 1}}}); err != nil {
		return r, fmt.Errorf("subscribe: %w", err)
	}
	ps := make([]*publisher, publishers)
	for i := range ps {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return r, err
		}
		id := fmt.Sprintf("%s-pub-%d", topic, i)
		pc := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: c})
		if _, err := pc.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 60, CleanStart: true}); err != nil {
			return r, fmt.Errorf("connect: %w", err)
		}
		ps[i] = &publisher{c: pc, g: &gateway{code: id}, topic: fmt.Sprintf("%s/%d", topic, i)}
	}
	defer disconnectAll(ps)
	runUnpaced(ps, time.Second) // warm-up
	time.Sleep(time.Second)
	got.Store(0)
	// The broker's own CPU in the "server" column when its pid is known (the Debian service).
	pid := os.Getpid()
	if b, err := os.ReadFile("/run/mosquitto/mosquitto.pid"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pid = n
			r.system = "mosquitto (pid file)"
		}
	}
	w := startWindow(pid)
	start := time.Now()
	t0.Store(start.UnixNano())
	res := runUnpaced(ps, d)
	r.sent, r.errors, r.publishSecs = res.readings, res.errors, res.elapsed.Seconds()
	for deadline := time.Now().Add(30 * time.Second); got.Load() < res.messages && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	r.cpu = w.end()
	if pid == os.Getpid() {
		r.cpu.server = -1 // unknown
	}
	r.stored = got.Load() * pointsPerDevice
	r.storedSecs = float64(last.Load()-start.UnixNano()) / 1e9
	return r, nil
}

// ingestCeilingMode runs the unpaced ingest on each engine and Mosquitto's rate beside it.
func ingestCeilingMode(engines, pgURL, mosquitto string, devices int, d time.Duration) error {
	dir, err := os.MkdirTemp("", "yingji-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildServer(dir)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs; load average at start: %s\n\n", cores(), loadavg())
	var rows []string
	if mosquitto != "" {
		r, err := mosquittoRate(mosquitto, devices, d)
		if err != nil {
			fmt.Printf("mosquitto at %s: not measured (%v)\n", mosquitto, err)
		} else {
			rows = append(rows, r.row())
		}
	}
	for _, e := range strings.Split(engines, ",") {
		r, err := ingestCeiling(bin, e, pgURL, devices, d)
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
		rows = append(rows, r.row())
	}
	fmt.Printf("Unpaced: %d gateways × %d points, each publishing its next QoS 1 message as soon as the last is acknowledged, for %s. Rate = readings stored (Mosquitto: received by one QoS 1 subscriber) ÷ time from the first publish until the last was stored (received). CPU in %% of one core (the machine has %d); \"server\" is the ingest server's process (Mosquitto's own, from its pid file), \"bench\" this process (the publishers; for Mosquitto also the subscriber).\n\n", devices, pointsPerDevice, d, cores())
	fmt.Printf("| system | stored (received) readings/s | acknowledged readings/s | sent | stored | publish errors | dropped / rejected | server CPU | bench CPU | PostgreSQL CPU | machine busy | load avg before → after |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Println(r)
	}
	return nil
}

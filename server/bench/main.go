// Command bench measures the server under load and prints Markdown tables for BENCHMARKS.md.
// It starts the real server (in-process on port 0, or as its own process where memory is
// measured) on SQLite in a temporary folder or on a fresh schema of the PostgreSQL at -pg.
//
//	go run ./server/bench -mode list -engines sqlite,postgres -clients 100 -duration 10s
//	go run ./server/bench -mode push -engines sqlite,postgres
//	go run ./server/bench -mode poke -engines sqlite
//	go run ./server/bench -mode ws -clients 2000
//	go run ./server/bench -mode ingest -engines sqlite,postgres -duration 30s
//	go run ./server/bench -mode tracker
//	go run ./server/bench -mode ingest-ceiling -engines sqlite,postgres -devices 200 -duration 20s
//	go run ./server/bench -mode e2e -engines sqlite,postgres -queued 20000 -initial 100000 -runs 3
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	mode := flag.String("mode", "list", "list | push | poke | ws | ingest | ingest-ceiling | tracker | e2e")
	engines := flag.String("engines", "sqlite,postgres", "engines to measure")
	clients := flag.Int("clients", 100, "concurrent clients (list), WebSocket connections (ws)")
	duration := flag.Duration("duration", 10*time.Second, "measuring time per engine (list)")
	pgURL := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the postgres engine")
	path := flag.String("path", "/api/v1/enterprises?page_size=20", "authenticated list endpoint (list)")
	batches := flag.Int("batches", 50, "push batches of 100 changes (push)")
	rounds := flag.Int("rounds", 300, "push → poke → pull rounds (poke)")
	devices := flag.Int("devices", 1500, "MQTT gateways of 10 points publishing the load (ingest); tracked devices (tracker, default 100000)")
	rate := flag.Float64("rate", 15000, "sustained readings/s (ingest)")
	burst := flag.Duration("burst", 10*time.Second, "burst length at 3× the rate (ingest)")
	queued := flag.Int("queued", 20000, "records queued on the phone and drained (e2e)")
	initial := flag.Int("initial", 100000, "records pulled into a fresh replica (e2e)")
	runs := flag.Int("runs", 3, "interleaved runs of every system (e2e)")
	home, _ := os.UserHomeDir()
	pouch := flag.String("pouch", filepath.Join(home, ".cache", "yingji", "pouchdb"), "folder where pouchdb-server and pouchdb-node are installed, the peer (e2e; \"\" for none)")
	profile := flag.String("profile", "", "folder for a CPU profile of each measurement (e2e)")
	mosquitto := flag.String("mosquitto", "127.0.0.1:1883", "Mosquitto measured beside the ingest ceiling (ingest-ceiling; \"\" for none)")
	analyze := flag.Bool("analyze", false, "ANALYZE the PostgreSQL tables after seeding, as autovacuum does within a minute (e2e)")
	explainPlans := flag.Bool("explain", false, "print the plans of the pull and push statements after seeding (e2e)")
	flag.Parse()
	var err error
	switch *mode {
	case "list":
		fmt.Printf("| engine | endpoint | clients | requests | errors | req/s | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|---|---|---|\n")
		err = each(*engines, func(e string) (string, error) { return list(e, *pgURL, *path, *clients, *duration) })
	case "push":
		fmt.Printf("| engine | batches × size | changes | seconds | changes/s | batch p50 | batch p99 |\n|---|---|---|---|---|---|---|\n")
		err = each(*engines, func(e string) (string, error) { return push(e, *pgURL, *batches) })
	case "poke":
		fmt.Printf("| engine | rounds | push → poke → pulled p50 | p90 | p99 | max |\n|---|---|---|---|---|---|\n")
		err = each(*engines, func(e string) (string, error) { return poke(e, *pgURL, *rounds) })
	case "ws":
		fmt.Printf("| connections | server RSS before | RSS with connections | per connection | pokes delivered |\n|---|---|---|---|---|\n")
		var row string
		row, err = wsMemory(*clients)
		fmt.Println(row)
	case "ingest":
		d := *duration
		if !isSet("duration") {
			d = 30 * time.Second
		}
		err = ingestMode(*engines, *pgURL, ingestOpts{devices: *devices, rate: *rate, duration: d, burstFactor: 3, burst: *burst,
			probeEvery: 100 * time.Millisecond, pollEvery: 2 * time.Millisecond})
	case "ingest-ceiling":
		d, n := *duration, *devices
		if !isSet("duration") {
			d = 20 * time.Second
		}
		if !isSet("devices") {
			n = 200
		}
		err = ingestCeilingMode(*engines, *pgURL, *mosquitto, n, d)
	case "tracker":
		n := *devices
		if !isSet("devices") {
			n = 100_000
		}
		fmt.Printf("| devices | heap (HeapAlloc after GC) | HeapInuse | per device | online | time to track | offline after timeout | time of Due |\n|---|---|---|---|---|---|---|---|\n")
		var row string
		row, err = trackerMemory(n)
		fmt.Println(row)
	case "e2e":
		b := *batches
		if !isSet("batches") {
			b = 200
		}
		err = e2e(e2eOpts{engines: strings.Split(*engines, ","), pgURL: *pgURL, queued: *queued, initial: *initial, runs: *runs,
			batches: b, pouchDir: *pouch, profile: *profile, explain: *explainPlans, analyze: *analyze})
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func each(engines string, f func(string) (string, error)) error {
	for _, e := range strings.Split(engines, ",") {
		row, err := f(e)
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
		fmt.Println(row)
	}
	return nil
}

// Command bench measures the server under load and prints a Markdown table for BENCHMARKS.md.
// It starts the real server in-process on port 0 (SQLite in a temporary folder, or a fresh
// schema in the PostgreSQL at -pg), logs in once per client and has every client list
// enterprises with its own session as fast as it can.
//
//	go run ./server/bench -engines sqlite,postgres -clients 100 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/postgres"
)

func main() {
	engines := flag.String("engines", "sqlite,postgres", "engines to measure")
	clients := flag.Int("clients", 100, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "measuring time per engine")
	pgURL := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the postgres engine")
	path := flag.String("path", "/api/v1/enterprises?page_size=20", "authenticated list endpoint")
	flag.Parse()
	fmt.Printf("| engine | endpoint | clients | requests | errors | req/s | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range strings.Split(*engines, ",") {
		r, err := run(e, *pgURL, *path, *clients, *duration)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", e+":", err)
			os.Exit(1)
		}
		fmt.Println(r)
	}
}

func run(engine, pgURL, path string, clients int, d time.Duration) (string, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "yingji-bench-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.HTTPAddr, cfg.DataDir, cfg.DemoPassword = "127.0.0.1:0", dir, "Bench-Pass-2026"
	if engine == "postgres" {
		schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return "", err
		}
		defer func() {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}()
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return "", err
		}
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		cfg.DatabaseURL = pgURL + sep + "search_path=" + schema
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
		if err != nil {
			return "", err
		}
		_, err = db.Migrate(ctx)
		db.Close()
		if err != nil {
			return "", err
		}
	}
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(ctx); err != nil {
		return "", err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(sctx) }()
	defer func() { stop(); <-done }()

	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// One account and session per client, as a hundred officers in their browsers would have.
	post := func(path, token, body string) (map[string]any, error) {
		req, _ := http.NewRequest(http.MethodPost, m.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: %d %v", path, res.StatusCode, out)
		}
		return out, nil
	}
	login := func(user, pw string) (string, map[string]any, error) {
		out, err := post("/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q,"client":"web","device_id":"bench-%s"}`, user, pw, user))
		if err != nil {
			return "", nil, err
		}
		u, _ := out["user"].(map[string]any)
		return out["token"].(string), u, nil
	}
	admin, au, err := login("admin", cfg.DemoPassword)
	if err != nil {
		return "", err
	}
	tokens := make([]string, clients)
	for i := range tokens {
		name := fmt.Sprintf("bench%03d", i)
		if _, err := post("/api/v1/users", admin, fmt.Sprintf(`{"username":%q,"name":"压测%d","role":"duty_officer","org_unit_id":%q,"password":"Bench-Pass-2026"}`,
			name, i, au["org_unit_id"])); err != nil {
			return "", err
		}
		if tokens[i], _, err = login(name, "Bench-Pass-2026"); err != nil {
			return "", err
		}
	}

	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(tok string) {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, m.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				t0 := time.Now()
				res, err := hc.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}(tokens[i])
	}
	wg.Wait()
	if len(lat) == 0 {
		return "", fmt.Errorf("no successful request (%d errors)", errs)
	}
	slices.Sort(lat)
	q := func(p float64) string { return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))]) }
	return fmt.Sprintf("| %s | `GET %s` | %d | %d | %d | %.0f | %s | %s | %s | %s |", engine, path, clients, len(lat), errs,
		float64(len(lat))/d.Seconds(), q(0.50), q(0.90), q(0.99), ms(lat[len(lat)-1])), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

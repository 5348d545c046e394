package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/postgres"
)

const password = "Bench-Pass-2026"

// start runs a server on the engine and returns its URL and a stop function.
func start(engine, pgURL string) (*app.Main, func(), error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "yingji-bench-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := []func(){func() { os.RemoveAll(dir) }}
	undo := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	cfg := config.Default()
	cfg.HTTPAddr, cfg.DataDir, cfg.DemoPassword, cfg.MQTTListen = "127.0.0.1:0", dir, password, "127.0.0.1:0"
	if engine == "postgres" {
		schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			undo()
			return nil, nil, err
		}
		cleanup = append(cleanup, func() {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		})
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			undo()
			return nil, nil, err
		}
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		cfg.DatabaseURL = pgURL + sep + "search_path=" + schema
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
		if err != nil {
			undo()
			return nil, nil, err
		}
		_, err = db.Migrate(ctx)
		db.Close()
		if err != nil {
			undo()
			return nil, nil, err
		}
	}
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(ctx); err != nil {
		undo()
		return nil, nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(sctx) }()
	cleanup = append(cleanup, func() { stop(); <-done })
	return m, undo, nil
}

// client is a logged-in API client.
type client struct {
	base, token string
	hc          *http.Client
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 60 * time.Second}

func login(base, user, pw, kind, device string) (*client, map[string]any, error) {
	c := &client{base: base, hc: httpClient}
	var out struct {
		Token string
		User  map[string]any
	}
	err := c.do("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": pw, "client": kind, "device_id": device}, &out)
	c.token = out.Token
	return c, out.User, err
}

func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func quantile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

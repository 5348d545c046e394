package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// TestGracefulShutdown: a request in flight when the stop signal comes is answered, new
// connections are refused, and the database is closed.
func TestGracefulShutdown(t *testing.T) {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.DataDir, cfg.DemoPassword, cfg.MQTTListen = "127.0.0.1:0", t.TempDir(), apptest.Password, "127.0.0.1:0"
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	// A login whose body arrives slowly: half now, the rest after shutdown has begun.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, m.URL+"/api/v1/auth/login", pr)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		r.Body.Close()
		res <- result{status: r.StatusCode}
	}()
	body := `{"username":"admin","password":"` + apptest.Password + `","client":"web","device_id":"slow"}`
	pw.Write([]byte(body[:10]))
	time.Sleep(200 * time.Millisecond) // the request is now in flight
	cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun and waits for it
	if _, err := http.Get(m.URL + "/healthz"); err == nil {
		t.Error("a new request was accepted during shutdown")
	}
	pw.Write([]byte(body[10:]))
	pw.Close()
	r := <-res
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, err %v; want 200", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if m.DB != nil {
		t.Fatal("database not closed")
	}
}

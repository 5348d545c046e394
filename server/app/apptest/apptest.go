// Package apptest starts real servers for end-to-end tests and benchmarks: the whole app on
// port 0, on a fresh SQLite file or a fresh PostgreSQL schema, with the demo city loaded.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/postgres/pgtest"
)

// Password is the demo password of test servers.
const Password = "Test-Demo-2026"

// Server is a running test server.
type Server struct {
	*app.Main
	URL    string
	Client *http.Client
}

// Setup is what a test server starts with.
type Setup struct {
	Config config.Config
	Now    func() time.Time
	Extend func(m *app.Main) error // see app.Main.Extend
	// DemoFeedEvery is the demo feeder's period (0: a minute).
	DemoFeedEvery time.Duration
}

// Option changes the setup before start.
type Option func(*Setup)

// Start runs a server on SQLite in a temporary folder until the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	st := Setup{Config: config.Default()}
	st.Config.HTTPAddr = "127.0.0.1:0"
	st.Config.MQTTListen = "127.0.0.1:0"
	st.Config.DataDir = tb.TempDir()
	st.Config.DemoPassword = Password
	// The demo city without its month of history: tests make the records they check (and
	// start faster). WithDemoHistory turns it on.
	st.Config.DemoHistory = false
	// Nor its live feeder (tests count readings and device states); WithDemoFeed turns it on.
	st.Config.DemoFeed = false
	for _, o := range opts {
		o(&st)
	}
	return run(tb, st)
}

// StartPostgres runs a server on a fresh, migrated PostgreSQL schema.
func StartPostgres(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	db := pgtest.Open(tb) // creates and migrates the schema; skips or fails without a server
	schema := db.Schema()
	return Start(tb, append([]Option{WithConfig(func(c *config.Config) { c.DatabaseURL = pgtest.SchemaURL(schema) })}, opts...)...)
}

func run(tb testing.TB, st Setup) *Server {
	tb.Helper()
	var logOut io.Writer = io.Discard
	if os.Getenv("YINGJI_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	// YINGJI_TEST_LOG=debug also shows the debug lines (the demo history's time spent)
	opts := &slog.HandlerOptions{}
	if os.Getenv("YINGJI_TEST_LOG") == "debug" {
		opts.Level = slog.LevelDebug
	}
	m := &app.Main{Config: st.Config, Now: st.Now, DemoFeedEvery: st.DemoFeedEvery, Extend: st.Extend, Log: slog.New(slog.NewTextHandler(logOut, opts))}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		tb.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("server stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			tb.Errorf("server did not stop")
		}
	})
	return &Server{Main: m, URL: m.URL, Client: &http.Client{Timeout: 30 * time.Second}}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("status %d, body is not JSON (%v): %s", r.Status, err, r.Body)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.JSON(tb, &m)
	return m
}

// Do sends a request with an optional bearer token and JSON body (a []byte or string is sent
// as it is).
func (s *Server) Do(tb testing.TB, method, path, token string, body any) Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.Client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Login logs a demo user in on the web client and returns the token.
func (s *Server) Login(tb testing.TB, username string) string {
	tb.Helper()
	return s.LoginAs(tb, username, Password, "web", "dev-"+username)
}

// LoginAs logs in with explicit client kind and device.
func (s *Server) LoginAs(tb testing.TB, username, password, client, device string) string {
	tb.Helper()
	r := s.Do(tb, http.MethodPost, "/api/v1/auth/login", "", map[string]string{
		"username": username, "password": password, "client": client, "device_id": device})
	if r.Status != http.StatusOK {
		tb.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	var out struct{ Token string }
	r.JSON(tb, &out)
	return out.Token
}

// WithClock replaces the services' clock.
func WithClock(now func() time.Time) Option {
	return func(s *Setup) { s.Now = now }
}

// WithExtend has Open call f once the sync collections are registered (app.Main.Extend).
func WithExtend(f func(m *app.Main) error) Option {
	return func(s *Setup) { s.Extend = f }
}

// WithDemoHistory loads the demo city's month of history (demo.History), as a first start
// with the default configuration does.
func WithDemoHistory() Option {
	return func(s *Setup) { s.Config.DemoHistory = true }
}

// WithDemoFeed runs the demo feeder (demo.Feeder): the demo devices report every period.
func WithDemoFeed(every time.Duration) Option {
	return func(s *Setup) { s.Config.DemoFeed, s.DemoFeedEvery = true, every }
}

// WithConfig changes the configuration.
func WithConfig(f func(*config.Config)) Option {
	return func(s *Setup) { f(&s.Config) }
}

var han = regexp.MustCompile(`\p{Han}`)

// WantError checks an error answer as a user and a script see it: the status, the stable code,
// a Chinese message, the request id (also in the X-Request-ID header) and no internal detail.
// It returns the decoded body.
func WantError(tb testing.TB, r Response, status int, code string) map[string]any {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := r.Map(tb)
	if m["code"] != code {
		tb.Fatalf("code %v, want %s: %s", m["code"], code, r.Body)
	}
	if msg, _ := m["message"].(string); !han.MatchString(msg) {
		tb.Fatalf("message %q is not Chinese", msg)
	}
	if rid, _ := m["request_id"].(string); rid == "" || r.Header.Get("X-Request-ID") != rid {
		tb.Fatalf("request_id %q does not match header %q", rid, r.Header.Get("X-Request-ID"))
	}
	if strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:") {
		tb.Fatalf("internal details leaked: %s", r.Body)
	}
	return m
}

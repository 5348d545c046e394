package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// serverProc is the server binary running as its own process, so its CPU time can be read from
// /proc/PID/stat apart from the load generator's.
type serverProc struct {
	cmd      *exec.Cmd
	base     string // http://host:port
	mqttAddr string
	sqlite   string // SQLite file (sqlite engine)
	pgURL    string // database URL with search_path (postgres engine)
	cleanup  []func()
	logTail  *tailBuffer
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// buildServer compiles ./server into dir (run from the repository root).
func buildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "yingji")
	if out, err := exec.Command("go", "build", "-o", bin, "./server").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build (run from the repository root): %v %s", err, out)
	}
	return bin, nil
}

// startProc starts the server binary on the engine: SQLite in a temporary data folder, or a
// fresh schema of the PostgreSQL at pgURL prepared with the binary's migrate command first.
// The embedded MQTT broker listens on a free loopback port.
func startProc(bin, engine, pgURL string) (*serverProc, error) {
	dir, err := os.MkdirTemp("", "yingji-bench-ingest-")
	if err != nil {
		return nil, err
	}
	p := &serverProc{cleanup: []func(){func() { os.RemoveAll(dir) }}, logTail: &tailBuffer{max: 40}}
	httpAddr, err := freeAddr()
	if err != nil {
		p.stop()
		return nil, err
	}
	if p.mqttAddr, err = freeAddr(); err != nil {
		p.stop()
		return nil, err
	}
	env := append(os.Environ(), "YINGJI_DATA_DIR="+filepath.Join(dir, "data"), "YINGJI_HTTP_ADDR="+httpAddr,
		"YINGJI_DEMO_PASSWORD="+password, "YINGJI_MQTT_LISTEN="+p.mqttAddr, "YINGJI_LOG_LEVEL=warn")
	switch engine {
	case "sqlite":
		p.sqlite = filepath.Join(dir, "data", "yingji.db")
	case "postgres":
		ctx := context.Background()
		schema := fmt.Sprintf("bench_ingest_%d", time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			p.stop()
			return nil, err
		}
		p.cleanup = append(p.cleanup, func() {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		})
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			p.stop()
			return nil, err
		}
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		p.pgURL = pgURL + sep + "search_path=" + schema
		env = append(env, "YINGJI_DATABASE_URL="+p.pgURL)
		mig := exec.Command(bin, "migrate")
		mig.Env = env
		if out, err := mig.CombinedOutput(); err != nil {
			p.stop()
			return nil, fmt.Errorf("migrate: %v %s", err, out)
		}
	default:
		p.stop()
		return nil, fmt.Errorf("unknown engine %q", engine)
	}
	p.cmd = exec.Command(bin)
	p.cmd.Env = env
	p.cmd.Stderr = p.logTail
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		p.stop()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { p.cmd.Wait(); close(exited) }()
	p.cleanup = append(p.cleanup, func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-exited
		}
	})
	// With log level warn the start line is not printed: wait for the HTTP and MQTT ports.
	deadline := time.Now().Add(90 * time.Second)
	for {
		h, err1 := net.DialTimeout("tcp", httpAddr, time.Second)
		m, err2 := net.DialTimeout("tcp", p.mqttAddr, time.Second)
		if h != nil {
			h.Close()
		}
		if m != nil {
			m.Close()
		}
		if err1 == nil && err2 == nil {
			p.base = "http://" + httpAddr
			return p, nil
		}
		select {
		case <-exited:
			p.stop()
			return nil, fmt.Errorf("server exited: %s", p.logTail.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("server did not start: %s", p.logTail.String())
		}
	}
}

func (p *serverProc) stop() {
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		p.cleanup[i]()
	}
	p.cleanup = nil
}

// tailBuffer keeps the last lines of the server's log for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

// Write takes log output; a line longer than one write is kept in pieces.
func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		t.lines = append(t.lines, l)
	}
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on Linux).
const clockTicks = 100

// procCPU returns a process's user + system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statCPU(string(b))
}

// statCPU parses utime and stime (fields 14 and 15) from a /proc/PID/stat line.
func statCPU(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat line")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bad stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad stat line")
	}
	return time.Duration(u+st) * time.Second / clockTicks, nil
}

// postgresCPU returns the CPU time of every process named postgres by pid (the whole cluster,
// which other users of the same PostgreSQL also load).
func postgresCPU() map[int]time.Duration {
	ents, _ := os.ReadDir("/proc")
	out := map[int]time.Duration{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || !strings.Contains(string(b), "(postgres)") {
			continue
		}
		if d, err := statCPU(string(b)); err == nil {
			out[pid] = d
		}
	}
	return out
}

// cpuSince sums what each process used since before (a process that started since counts from
// zero; one that exited is missed).
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, d := range after {
		sum += d - before[pid]
	}
	return sum
}

// machineCPU returns busy and total time of all CPUs from /proc/stat.
func machineCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	var t, idle int64
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		if i >= 8 { // guest times are already in user and nice
			break
		}
		t += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return time.Duration(t-idle) * time.Second / clockTicks, time.Duration(t) * time.Second / clockTicks
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuWindow measures CPU use of the server, the bench process, PostgreSQL and the machine over
// a window.
type cpuWindow struct {
	pid                  int
	t0                   time.Time
	srv, self, busy, all time.Duration
	pg                   map[int]time.Duration
	load                 string
}

func startWindow(pid int) *cpuWindow {
	w := &cpuWindow{pid: pid, t0: time.Now(), load: loadAvg()}
	w.srv, _ = procCPU(pid)
	w.self, _ = procCPU(os.Getpid())
	w.pg = postgresCPU()
	w.busy, w.all = machineCPU()
	return w
}

// cpuUse is a window's result, each in % of one core.
type cpuUse struct {
	wall                       time.Duration
	server, bench, pg, machine float64
	loadBefore, loadAfter      string
}

func (w *cpuWindow) end() cpuUse {
	wall := time.Since(w.t0)
	srv, _ := procCPU(w.pid)
	self, _ := procCPU(os.Getpid())
	pg := cpuSince(w.pg, postgresCPU())
	busy, all := machineCPU()
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / wall.Seconds() }
	u := cpuUse{wall: wall, server: pct(srv - w.srv), bench: pct(self - w.self), pg: pct(pg),
		loadBefore: w.load, loadAfter: loadAvg()}
	if all > w.all {
		u.machine = 100 * float64(busy-w.busy) / float64(all-w.all) // of all cores
	}
	return u
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/yingji/yingji/syncproto"
)

// wsMemory starts the server binary as its own process, opens n live WebSocket connections to
// it and reads its resident memory from /proc before and after; then one change pokes them all.
func wsMemory(n int) (string, error) {
	dir, err := os.MkdirTemp("", "yingji-bench-ws-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "yingji")
	if out, err := exec.Command("go", "build", "-o", bin, "./server").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build (run from the repository root): %v %s", err, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "YINGJI_DATA_DIR="+filepath.Join(dir, "data"), "YINGJI_HTTP_ADDR="+addr, "YINGJI_DEMO_PASSWORD="+password, "YINGJI_MQTT_LISTEN=127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer cmd.Process.Kill()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving at") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("server did not start")
	}
	base := "http://" + addr
	rss := func() (int64, error) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return 0, err
		}
		m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
		if m == nil {
			return 0, fmt.Errorf("no VmRSS")
		}
		kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return kb * 1024, nil
	}
	a, _, err := login(base, "safety01", password, "mobile", "bench-ws")
	if err != nil {
		return "", err
	}
	b, _, err := login(base, "principal01", password, "mobile", "bench-ws-b")
	if err != nil {
		return "", err
	}
	ent, err := enterpriseOf(a)
	if err != nil {
		return "", err
	}
	time.Sleep(time.Second)
	before, err := rss()
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	var delivered atomic.Int64
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/sync/live", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + a.token}}})
		if err != nil {
			return "", fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				var p syncproto.Poke
				json.Unmarshal(data, &p)
				if p.Type == "poke" {
					delivered.Add(1)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	after, err := rss()
	if err != nil {
		return "", err
	}
	clock := syncproto.NewClock("bench-ws-b", nil)
	if err := b.do("POST", "/api/v1/sync/push", syncproto.PushRequest{Protocol: syncproto.Protocol,
		Mutations: []syncproto.Mutation{hazardCreate(clock, ent, 1)}}, nil); err != nil {
		return "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	mb := func(v int64) string { return fmt.Sprintf("%.1f MB", float64(v)/(1<<20)) }
	return fmt.Sprintf("| %d | %s | %s | %.1f KB | %d of %d |", n, mb(before), mb(after), float64(after-before)/float64(n)/1024, delivered.Load(), n), nil
}

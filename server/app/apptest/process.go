package apptest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the server binary once per test process and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "yingji-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "yingji")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./server")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		tb.Fatalf("build server: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Process is the server running as its own process, so a test can kill it with SIGKILL.
type Process struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	done    chan struct{}
}

var urlRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// StartProcess runs the server binary on dataDir (created if needed) at a fixed loopback port
// (0 picks one the first time; a restart passes the previous URL's port), waiting until it
// serves. env adds YINGJI_* settings.
func StartProcess(tb testing.TB, dataDir, addr string, env ...string) *Process {
	tb.Helper()
	if addr == "" {
		addr = freeAddr(tb)
	}
	cmd := exec.Command(Binary(tb))
	cmd.Env = append(os.Environ(), "YINGJI_DATA_DIR="+dataDir, "YINGJI_HTTP_ADDR="+addr, "YINGJI_DEMO_PASSWORD="+Password, "YINGJI_MQTT_LISTEN=127.0.0.1:0",
		"YINGJI_DEMO_HISTORY=false") // as Start; env may turn it on
	cmd.Env = append(cmd.Env, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &Process{DataDir: dataDir, cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u := urlRe.FindString(sc.Text()); u != "" && strings.Contains(sc.Text(), "serving") {
				select {
				case urls <- u:
				default:
				}
			}
		}
	}()
	go func() { cmd.Wait(); close(p.done) }()
	tb.Cleanup(p.Kill)
	select {
	case p.URL = <-urls:
	case <-p.done:
		tb.Fatal("server process exited before serving")
	case <-time.After(60 * time.Second):
		p.Kill()
		tb.Fatal("server process did not start in 60 s")
	}
	return p
}

// Addr is the host:port the process listens on.
func (p *Process) Addr() string { return strings.TrimPrefix(p.URL, "http://") }

// Kill ends the process with SIGKILL: no shutdown, no flush.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

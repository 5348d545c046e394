package mediatest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MinIOModule is the MinIO server the tests run, built by .ci/run.
const MinIOModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// ErrNoMinIO means the MinIO binary was not found.
var ErrNoMinIO = errors.New("mediatest: no MinIO binary")

// MinIOBin finds the MinIO binary: $YINGJI_MINIO_BIN, else $HOME/.cache/yingji/bin/minio.
func MinIOBin() (string, error) {
	bin := os.Getenv("YINGJI_MINIO_BIN")
	from := "$YINGJI_MINIO_BIN"
	if bin == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: $YINGJI_MINIO_BIN unset and no home folder: %v", ErrNoMinIO, err)
		}
		bin, from = filepath.Join(home, ".cache", "yingji", "bin", "minio"), "$HOME/.cache/yingji/bin"
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w at %s (from %s); build it (about 2 min) with\n"+
			"\tGOBIN=\"$HOME/.cache/yingji/bin\" go install %s\nor run .ci/run",
			ErrNoMinIO, bin, from, MinIOModule)
	}
	return bin, nil
}

// MinIO is a throw-away MinIO server on loopback with a temporary data folder.
type MinIO struct {
	Endpoint  string // 127.0.0.1:port
	AccessKey string
	SecretKey string

	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// StartMinIO starts a server on free loopback ports and waits until it is ready.
func StartMinIO(ctx context.Context) (*MinIO, error) {
	bin, err := MinIOBin()
	if err != nil {
		return nil, err
	}
	// A free port can be taken between choosing and binding it: try a few times.
	for attempt := 1; ; attempt++ {
		m, err := startMinIO(ctx, bin)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			return m, err
		}
	}
}

func startMinIO(ctx context.Context, bin string) (*MinIO, error) {
	dir, err := os.MkdirTemp("", "yingji-minio-*")
	if err != nil {
		return nil, fmt.Errorf("mediatest: minio: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mediatest: minio: %w", err)
	}
	m := &MinIO{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(ports[0]),
		AccessKey: "yingji-test",
		SecretKey: rand.Text(),
		dir:       dir,
		exited:    make(chan struct{}),
	}
	m.log, err = os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mediatest: minio: %w", err)
	}
	m.cmd = exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", m.Endpoint,
		"--console-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		"--certs-dir", filepath.Join(dir, "certs"))
	m.cmd.Env = append(withoutMinIOEnv(os.Environ()),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_UPDATE=off",
	)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	killWithParent(m.cmd)
	if err := m.cmd.Start(); err != nil {
		m.log.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mediatest: minio: start %s: %w", bin, err)
	}
	go func() { _ = m.cmd.Wait(); close(m.exited) }()
	if err := m.waitReady(ctx, time.Minute); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *MinIO) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + m.Endpoint + "/minio/health/ready"
	client := &http.Client{Timeout: 2 * time.Second}
	status := func(url string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for {
		// Ready can answer before the object layer is up, when S3 calls still get 503
		// "Server not initialized yet": wait for an anonymous S3 call to be refused instead.
		if status(url) == http.StatusOK {
			if st := status("http://" + m.Endpoint + "/"); st != 0 && st != http.StatusServiceUnavailable {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("mediatest: minio exited before it was ready (%s); its log:\n%s", m.cmd.ProcessState, m.logTail())
		case <-ctx.Done():
			return fmt.Errorf("mediatest: minio not ready at %s after %v; its log:\n%s", url, timeout, m.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *MinIO) logTail() string {
	b, _ := os.ReadFile(m.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Close stops the server and removes its data.
func (m *MinIO) Close() error {
	select {
	case <-m.exited:
	default:
		_ = m.cmd.Process.Signal(os.Interrupt)
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
	m.log.Close()
	return os.RemoveAll(m.dir)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func withoutMinIOEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MINIO_") {
			out = append(out, kv)
		}
	}
	return out
}

// SharedMinIO starts one server for a test binary on first use. Keep it in a package
// variable of the test file and Close it from TestMain.
type SharedMinIO struct {
	once sync.Once
	srv  *MinIO
	err  error
}

// Server returns the running server. Without the binary the test is skipped, saying how to
// build it, except under CI=true where it fails; a server that does not start always fails.
func (s *SharedMinIO) Server(tb testing.TB) *MinIO {
	tb.Helper()
	s.once.Do(func() { s.srv, s.err = StartMinIO(context.Background()) })
	if s.err != nil {
		if errors.Is(s.err, ErrNoMinIO) && !inCI() {
			SkipNoMinIO(tb, s.err)
		}
		tb.Fatal(s.err)
	}
	return s.srv
}

// SkipNoMinIO skips a test because the MinIO binary is missing (outside CI, where a missing
// binary fails instead). `go test ./...` shows nothing of a passing package's skips, so it
// also says so in one line, once per test binary, on the terminal (stderr without one).
func SkipNoMinIO(tb testing.TB, err error) {
	tb.Helper()
	announceOnce.Do(func() {
		w, terr := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
		if terr != nil {
			w = os.Stderr
		} else {
			defer w.Close()
		}
		fmt.Fprintln(w, skipNotice(filepath.Base(os.Args[0]), err))
	})
	tb.Skip(err)
}

var announceOnce sync.Once

// skipNotice is the one line SkipNoMinIO prints.
func skipNotice(testBinary string, err error) string {
	where, _, _ := strings.Cut(err.Error(), ";")
	return fmt.Sprintf("%s: MinIO media-store tests SKIPPED (%s); build it: GOBIN=\"$HOME/.cache/yingji/bin\" go install %s",
		strings.TrimSuffix(testBinary, ".test"), where, MinIOModule)
}

// Close stops the server if it was started.
func (s *SharedMinIO) Close() {
	s.once.Do(func() {}) // no start after Close
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

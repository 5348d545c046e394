package apptest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
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

// Binary returns the server binary of this source tree. It is built once per state of the
// sources and kept in the user cache directory (yingji/testbin/<hash of the sources>), so the
// test packages of one run, concurrent runs and later runs on unchanged sources share one
// build instead of leaving an 83 MB binary in the temp folder each. A lock file serialises
// the build; builds unused for testbinMaxAge are removed.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() { binPath, buildErr = cachedBuild() })
	if buildErr != nil {
		tb.Fatalf("build server: %v", buildErr)
	}
	now := time.Now()
	os.Chtimes(filepath.Dir(binPath), now, now) // in use: not pruned
	return binPath
}

// testbinMaxAge is how long a cached build unused by any test stays.
const testbinMaxAge = 3 * time.Hour

func cachedBuild() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	key, err := sourceHash(root)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	base := filepath.Join(cache, "yingji", "testbin")
	dir := filepath.Join(base, key[:24])
	bin := filepath.Join(dir, "yingji")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(base, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	now := time.Now()
	os.Chtimes(dir, now, now)
	pruneBuilds(base, dir)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, "./server")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", &buildError{out: string(out), err: err}
	}
	return bin, os.Rename(tmp, bin)
}

// pruneBuilds removes the cached builds other than keep that no test used for testbinMaxAge,
// and the temp folders of the builds made before the cache (yingji-bin-*).
func pruneBuilds(base, keep string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		p := filepath.Join(base, e.Name())
		if info, err := e.Info(); err == nil && e.IsDir() && p != keep && time.Since(info.ModTime()) > testbinMaxAge {
			os.RemoveAll(p)
		}
	}
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "yingji-bin-*"))
	for _, p := range old {
		if info, err := os.Stat(p); err == nil && time.Since(info.ModTime()) > testbinMaxAge {
			os.RemoveAll(p)
		}
	}
}

// sourceHash identifies what the server binary is built from: the Go toolchain and settings,
// go.mod and go.sum, the non-test Go files and SQL migrations, and the embedded portal build.
func sourceHash(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOOS, runtime.GOARCH, os.Getenv("GOFLAGS"), os.Getenv("CGO_ENABLED"), os.Getenv("GOEXPERIMENT"))
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || rel == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		inDist := strings.HasPrefix(rel, filepath.Join("admin-web", "dist")+string(filepath.Separator))
		src := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, ".sql") ||
			name == "go.mod" || name == "go.sum"
		if !src && !inDist {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
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

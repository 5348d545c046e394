package e2etasks_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// selfCPU is the CPU time (user + system) this process has used: the in-process server's
// work, whatever the machine's load.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU returns a function giving the CPU time used so far by the PostgreSQL backends
// serving this process's connections (matched by the client's TCP port; PostgreSQL runs on
// this machine), read from /proc/PID/schedstat. Connections opened later are not counted.
func backendsCPU(ctx context.Context, db sqldb.DB) func() time.Duration {
	ports := map[int]bool{}
	inodes := map[string]bool{}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			if i := strings.LastIndexByte(fs[1], ':'); i > 0 {
				if p, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil {
					ports[int(p)] = true
				}
			}
		}
		fh.Close()
	}
	var pids []int
	rows, err := db.Query(ctx, `SELECT pid, COALESCE(client_port, 0) FROM pg_stat_activity WHERE backend_type = 'client backend'`)
	if err == nil {
		for rows.Next() {
			var pid, port int
			if rows.Scan(&pid, &port) == nil && ports[port] {
				pids = append(pids, pid)
			}
		}
		rows.Close()
	}
	return func() time.Duration {
		var total time.Duration
		for _, pid := range pids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
			if err != nil {
				continue
			}
			var ns int64
			fmt.Sscan(string(b), &ns)
			total += time.Duration(ns)
		}
		return total
	}
}

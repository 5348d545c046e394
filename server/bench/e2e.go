package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/server/app"
	"github.com/yingji/yingji/syncproto"
)

// e2eOpts are the sizes of the end-to-end sync benchmark.
type e2eOpts struct {
	engines  []string
	pgURL    string
	queued   int    // records queued on the phone, then drained
	initial  int    // records pulled into a fresh replica
	runs     int    // interleaved runs; medians are printed
	batches  int    // server-only push: batches of 100
	pouchDir string // where pouchdb-server and pouchdb-node are installed ("" or missing: no peer)
	profile  string // folder for CPU profiles of each measurement ("" none)
	explain  bool   // print the plans of the pull and push statements after seeding
	analyze  bool   // ANALYZE the seeded PostgreSQL tables (what autovacuum does)
}

// measure is one figure of one system in one run.
type measure struct {
	system, what string
	secs         float64
	n            int
	cpu          float64 // CPU seconds of this process (server + client) during the measurement
	load         float64 // 1-minute load average when it started
}

// e2e runs the end-to-end sync benchmark: per run, and interleaved, every system drains a
// phone's outbox of queued records and fills a fresh replica from a server holding the initial
// records; beside them the server-only push rate and the raw-insert ceiling of the same rows.
func e2e(o e2eOpts) error {
	ctx := context.Background()
	fmt.Printf("machine: %d CPUs, %s; load average at start: %s\n", runtime.NumCPU(), runtime.Version(), loadavg())
	// The servers holding the initial records are seeded once per system and kept.
	type holder struct {
		m    *app.Main
		stop func()
		ent  string
	}
	holders := map[string]holder{}
	defer func() {
		for _, h := range holders {
			h.stop()
		}
	}()
	for _, e := range o.engines {
		m, stop, err := start(e, o.pgURL)
		if err != nil {
			return err
		}
		c, _, err := login(m.URL, "safety01", password, "mobile", "bench-seeder")
		if err != nil {
			stop()
			return err
		}
		ent, err := enterpriseOf(c)
		if err != nil {
			stop()
			return err
		}
		holders[e] = holder{m, stop, ent}
		t0 := time.Now()
		if err := seed(c, ent, o.initial, 1000); err != nil {
			return fmt.Errorf("%s: seed: %w", e, err)
		}
		d := time.Since(t0).Seconds()
		fmt.Printf("seeded %d hazards into %s through the push API (batches of 1000) in %.1f s (%.0f/s)\n", o.initial, e, d, float64(o.initial)/d)
		if e == "postgres" && o.analyze {
			// A production PostgreSQL's autovacuum analyzes a table within a minute of a bulk
			// import; the test PostgreSQL here may run without it (autovacuum = off), and the
			// planner then guesses that one collection is a small part of sync_records.
			if _, err := m.DB.Exec(ctx, `ANALYZE sync_changes, sync_records, hazards`); err != nil {
				return fmt.Errorf("%s: analyze: %w", e, err)
			}
			fmt.Printf("postgres: ANALYZE after seeding (as autovacuum would)\n")
		}
		if o.explain {
			if err := explain(ctx, m.DB, ent); err != nil {
				return fmt.Errorf("%s: explain: %w", e, err)
			}
		}
	}
	var peer *pouchPeer
	if o.pouchDir != "" {
		var err error
		if peer, err = startPouch(o.pouchDir); err != nil {
			fmt.Printf("peer: not measured (%v)\n", err)
			peer = nil
		} else {
			defer peer.stop()
			t0 := time.Now()
			if _, _, err := peer.run("seed", "initial", o.initial); err != nil {
				return fmt.Errorf("peer: seed: %w", err)
			}
			fmt.Printf("seeded %d documents into pouchdb-server in %.1f s\n", o.initial, time.Since(t0).Seconds())
		}
	}
	var all []measure
	record := func(m measure, err error) error {
		if err != nil {
			return fmt.Errorf("%s %s: %w", m.system, m.what, err)
		}
		fmt.Printf("  run: %-26s %-10s %8.2f s  %9.0f /s  cpu %5.1f s  load %.1f\n", m.system, m.what, m.secs, float64(m.n)/m.secs, m.cpu, m.load)
		all = append(all, m)
		return nil
	}
	for run := 1; run <= o.runs; run++ {
		fmt.Printf("run %d of %d (load %s)\n", run, o.runs, loadavg())
		for _, e := range o.engines {
			if err := record(timed(o, "yingji-"+e, "drain", run, func(begin func()) (int, float64, error) {
				n, err := drainYingji(ctx, e, o, begin)
				return n, 0, err
			})); err != nil {
				return err
			}
		}
		if peer != nil {
			if err := record(timed(o, "pouchdb", "drain", run, func(begin func()) (int, float64, error) {
				begin()
				return peer.run("drain", fmt.Sprintf("drain%d", run), o.queued)
			})); err != nil {
				return err
			}
		}
		for _, e := range o.engines {
			h := holders[e]
			if err := record(timed(o, "yingji-"+e, "initial", run, func(begin func()) (int, float64, error) {
				n, err := initialYingji(ctx, h.m.URL, h.ent, o.initial, begin)
				return n, 0, err
			})); err != nil {
				return err
			}
		}
		if peer != nil {
			if err := record(timed(o, "pouchdb", "initial", run, func(begin func()) (int, float64, error) {
				begin()
				return peer.run("initial", "initial", o.initial)
			})); err != nil {
				return err
			}
		}
		for _, e := range o.engines {
			if err := record(timed(o, "yingji-"+e, "server-push", run, func(begin func()) (int, float64, error) {
				n, err := serverPush(e, o.pgURL, o.batches, begin)
				return n, 0, err
			})); err != nil {
				return err
			}
			if err := record(timed(o, "raw-"+e, "raw-insert", run, func(begin func()) (int, float64, error) {
				n, err := rawInsert(ctx, e, o.pgURL, o.batches*100, begin)
				return n, 0, err
			})); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\nload average at end: %s\n\n", loadavg())
	printE2E(all, o)
	return nil
}

// timed runs f as one measurement of system. f calls begin where the measured part starts
// (setup before it is not timed) and may return its own seconds (the peer's script times the
// replication alone, without Node's start). The process's CPU time and, when asked, a CPU
// profile of the process (the server and the SDK client both run in it) cover the same part.
func timed(o e2eOpts, system, what string, run int, f func(begin func()) (int, float64, error)) (measure, error) {
	m := measure{system: system, what: what}
	var c0 float64
	var t0 time.Time
	var pf *os.File
	begin := func() {
		runtime.GC()
		m.load = load1()
		if o.profile != "" {
			os.MkdirAll(o.profile, 0o755)
			var err error
			if pf, err = os.Create(filepath.Join(o.profile, fmt.Sprintf("%s-%s-%d.pprof", system, what, run))); err == nil {
				pprof.StartCPUProfile(pf)
			}
		}
		c0, t0 = cpuSecs(), time.Now()
	}
	n, own, err := f(begin)
	m.secs, m.n, m.cpu = time.Since(t0).Seconds(), n, cpuSecs()-c0
	if pf != nil {
		pprof.StopCPUProfile()
		pf.Close()
	}
	if own > 0 {
		m.secs = own
	}
	return m, err
}

// hazardFields are the fields of the i-th bench hazard, as the SDK and the seeder write them.
func hazardFields(ent string, i int) map[string]json.RawMessage {
	j := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	return map[string]json.RawMessage{"title": j(fmt.Sprintf("压测隐患 %07d", i)), "description": j("压测数据：消防器材检查记录缺失"),
		"enterprise_id": j(ent), "level": j("general"), "photos": json.RawMessage("[]")}
}

// seed pushes n new hazards into ent, size per request.
func seed(c *client, ent string, n, size int) error {
	clock := syncproto.NewClock("bench-seeder", nil)
	for done := 0; done < n; {
		req := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "bench-seeder"}
		for i := 0; i < size && done+i < n; i++ {
			req.Mutations = append(req.Mutations, syncproto.Mutation{MutationID: uuid.NewString(), Collection: "hazards",
				ID: uuid.Must(uuid.NewV7()).String(), Op: syncproto.OpCreate, Fields: hazardFields(ent, done+i), HLC: clock.Now().String()})
		}
		var resp syncproto.PushResponse
		if err := c.do("POST", "/api/v1/sync/push", req, &resp); err != nil {
			return err
		}
		for _, r := range resp.Results {
			if r.Status != syncproto.StatusApplied {
				return fmt.Errorf("mutation %s: %s %s", r.MutationID, r.Status, r.Message)
			}
		}
		done += len(req.Mutations)
	}
	return nil
}

// drainYingji: a fresh server; safety01's phone syncs, queues n hazards offline (the SDK's
// batch API, 1,000 per call), and the time is that of Push until the outbox is empty.
func drainYingji(ctx context.Context, engine string, o e2eOpts, begin func()) (int, error) {
	m, stop, err := start(engine, o.pgURL)
	if err != nil {
		return 0, err
	}
	defer stop()
	dir, err := os.MkdirTemp("", "yingji-e2e-phone-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	c, err := sdk.Open(ctx, filepath.Join(dir, "replica.db"), sdk.Options{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Login(ctx, m.URL, "safety01", password); err != nil {
		return 0, err
	}
	if _, err := c.Sync(ctx); err != nil {
		return 0, err
	}
	var me struct {
		EnterpriseID string `json:"enterprise_id"`
	}
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	json.Unmarshal(st.User, &me)
	if me.EnterpriseID == "" {
		return 0, errors.New("safety01 has no enterprise")
	}
	for done := 0; done < o.queued; {
		batch := make([]map[string]json.RawMessage, min(1000, o.queued-done))
		for i := range batch {
			batch[i] = hazardFields(me.EnterpriseID, done+i)
		}
		if _, err := c.CreateMany(ctx, "hazards", batch); err != nil {
			return 0, err
		}
		done += len(batch)
	}
	if st, err := c.Status(ctx); err != nil || st.Pending != o.queued {
		return 0, fmt.Errorf("queued %d, outbox holds %d (%v)", o.queued, st.Pending, err)
	}
	begin()
	ps, err := c.Push(ctx)
	if err != nil {
		return 0, err
	}
	if ps.Applied != o.queued {
		return 0, fmt.Errorf("applied %d of %d (%+v)", ps.Applied, o.queued, ps)
	}
	if st, err := c.Status(ctx); err != nil || st.Pending != 0 {
		return 0, fmt.Errorf("outbox still holds %d (%v)", st.Pending, err)
	}
	return o.queued, nil
}

// initialYingji: principal01 of the seeded enterprise opens a fresh replica and syncs until
// complete; the replica must then hold every record with the scope's checksum verified.
func initialYingji(ctx context.Context, url, ent string, n int, begin func()) (int, error) {
	dir, err := os.MkdirTemp("", "yingji-e2e-phone-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	c, err := sdk.Open(ctx, filepath.Join(dir, "replica.db"), sdk.Options{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Login(ctx, url, "principal01", password); err != nil {
		return 0, err
	}
	begin()
	st, err := c.Sync(ctx)
	if err != nil {
		return 0, err
	}
	if st.Pulled < n {
		return 0, fmt.Errorf("pulled %d, want at least %d", st.Pulled, n)
	}
	s, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	for _, sc := range s.Scopes {
		if sc.Scope == "ent:"+ent && (!sc.Verified || sc.Count < int64(n)) {
			return 0, fmt.Errorf("scope %+v not complete", sc)
		}
	}
	return st.Pulled, nil
}

// serverPush: the server alone (the bench's HTTP client, no replica) takes batches of 100 new
// hazards from one phone, one after another.
func serverPush(engine, pgURL string, batches int, begin func()) (int, error) {
	m, stop, err := start(engine, pgURL)
	if err != nil {
		return 0, err
	}
	defer stop()
	c, _, err := login(m.URL, "safety01", password, "mobile", "bench-phone")
	if err != nil {
		return 0, err
	}
	ent, err := enterpriseOf(c)
	if err != nil {
		return 0, err
	}
	begin()
	return batches * 100, seed(c, ent, batches*100, 100)
}

// rawInsert is the ceiling: the same rows (id, enterprise, title, description, level, photos,
// created) inserted into a plain table with a primary key, 100 per transaction, by one
// connection with the durability the server keeps (SQLite WAL with synchronous=NORMAL;
// PostgreSQL with synchronous_commit on, each 100 rows one pipelined batch).
func rawInsert(ctx context.Context, engine, pgURL string, n int, begin func()) (int, error) {
	ent := uuid.NewString()
	const create = `CREATE TABLE raw_hazards (id TEXT PRIMARY KEY, enterprise_id TEXT NOT NULL, title TEXT NOT NULL,
		description TEXT NOT NULL, level TEXT NOT NULL, photos TEXT NOT NULL, created_at TEXT NOT NULL)`
	const ins = `INSERT INTO raw_hazards (id, enterprise_id, title, description, level, photos, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	row := func(i int) []any {
		return []any{uuid.Must(uuid.NewV7()).String(), ent, fmt.Sprintf("压测隐患 %07d", i), "压测数据：消防器材检查记录缺失", "general", "[]",
			time.Now().UTC().Format(time.RFC3339Nano)}
	}
	if engine == "sqlite" {
		dir, err := os.MkdirTemp("", "yingji-raw-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "raw.db")+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
		if err != nil {
			return 0, err
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, create); err != nil {
			return 0, err
		}
		stmt, err := db.PrepareContext(ctx, ins)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		begin()
		for done := 0; done < n; done += 100 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return 0, err
			}
			for i := done; i < min(n, done+100); i++ {
				if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, row(i)...); err != nil {
					tx.Rollback()
					return 0, err
				}
			}
			if err := tx.Commit(); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("bench_raw_%d", time.Now().UnixNano())
	defer conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	for _, q := range []string{"CREATE SCHEMA " + schema, "SET search_path = " + schema, "SET synchronous_commit = on", create} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	begin()
	for done := 0; done < n; done += 100 {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		for i := done; i < min(n, done+100); i++ {
			b.Queue(ins, row(i)...)
		}
		b.Queue("COMMIT")
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// printE2E prints the medians of the runs as a Markdown table.
func printE2E(all []measure, o e2eOpts) {
	type key struct{ system, what string }
	var order []key
	got := map[key][]measure{}
	for _, m := range all {
		k := key{m.system, m.what}
		if _, ok := got[k]; !ok {
			order = append(order, k)
		}
		got[k] = append(got[k], m)
	}
	label := map[string]string{
		"drain":       fmt.Sprintf("%d queued records pushed by the client until its outbox is empty", o.queued),
		"initial":     fmt.Sprintf("%d records into a fresh replica", o.initial),
		"server-push": fmt.Sprintf("server only: %d batches of 100 new records over HTTP", o.batches),
		"raw-insert":  fmt.Sprintf("raw insert of the same %d rows, 100 per transaction", o.batches*100),
	}
	fmt.Printf("| measure | system | runs (s) | median s | median records/s | CPU s of bench process (median) | load at start |\n|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		ms := got[k]
		var secs, cpus []float64
		var runs, loads []string
		for _, m := range ms {
			secs = append(secs, m.secs)
			cpus = append(cpus, m.cpu)
			runs = append(runs, fmt.Sprintf("%.2f", m.secs))
			loads = append(loads, fmt.Sprintf("%.1f", m.load))
		}
		med := median(secs)
		cpu := fmt.Sprintf("%.1f", median(cpus))
		if k.system == "pouchdb" {
			cpu = "— (Node processes)"
		}
		fmt.Printf("| %s | %s | %s | %.2f | %.0f | %s | %s |\n", label[k.what], k.system, strings.Join(runs, ", "), med,
			float64(ms[0].n)/med, cpu, strings.Join(loads, ", "))
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadavg() string {
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

func load1() float64 {
	var l float64
	fmt.Sscanf(loadavg(), "%f", &l)
	return l
}

func cpuSecs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// pouchPeer is a pouchdb-server process and the Node script that drives PouchDB against it.
type pouchPeer struct {
	dir, url, data, script string
	cmd                    *exec.Cmd
}

func startPouch(dir string) (*pouchPeer, error) {
	bin := filepath.Join(dir, "node_modules", "pouchdb-server", "bin", "pouchdb-server")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("pouchdb-server not installed in %s (npm install --prefix %s pouchdb-server@4.2.0 pouchdb-node@9.0.0)", dir, dir)
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "peer", "pouch.cjs")
	data, err := os.MkdirTemp("", "yingji-pouchdb-server-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &pouchPeer{dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d", port), data: data, script: script}
	p.cmd = exec.Command("node", bin, "-p", fmt.Sprint(port), "-d", data, "-c", filepath.Join(data, "config.json"), "-n")
	p.cmd.Dir = data
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("pouchdb-server did not start")
}

func (p *pouchPeer) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
	os.RemoveAll(p.data)
}

// run runs one command of the script and returns the documents it counted and the seconds it
// timed (the replication alone, as the Yingji figures time the exchange alone).
func (p *pouchPeer) run(cmd, db string, n int) (int, float64, error) {
	c := exec.Command("node", p.script, cmd, p.url, db, fmt.Sprint(n))
	c.Env = append(os.Environ(), "YINGJI_POUCH_DIR="+p.dir)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, errb.String())
	}
	var r struct {
		Seconds float64
		Docs    int
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return 0, 0, fmt.Errorf("peer said %q", out.String())
	}
	return r.Docs, r.Seconds, nil
}

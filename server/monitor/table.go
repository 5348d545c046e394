package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
)

// The in-memory table of devices and points the pipeline reads without locks: an immutable
// snapshot swapped on reload. A point's runtime (rule state, latest value) lives in a pointRT
// that survives reloads.

type table struct {
	byCode map[string]*devEntry
	byID   map[string]*devEntry
	points map[string]*pointRT // by point id
	sig    string              // what the table was built from (see tableSignature)
}

type devEntry struct {
	dev     Device // with its secret hash
	timeout time.Duration
	points  map[string]*pointRT // by point code
	// announced is set once this instance has seen the device and made sure it is marked
	// online; until then the first message checks.
	announced atomic.Bool
}

// pointDef is the immutable definition of a point as the pipeline uses it.
type pointDef struct {
	engine   rules.Point
	unit     string
	disabled bool
	code     string
}

type pointRT struct {
	id  string
	def atomic.Pointer[pointDef]

	mu       sync.Mutex // guards the fields below
	state    rules.PointState
	latest   Latest
	dirty    bool   // evaluated since the last save
	savedSig []byte // state as last saved, without its last reading
	recent   *recentTimes
}

// recentTimes are the times (unix ms) of a point's last accepted readings: a reading sent
// again (a gateway replaying its buffer after a reconnect) is recognised and dropped before
// the rules and the storage see it twice. Older repeats are caught by the storage (readings are
// unique by point and time) and ignored by the rules (they evaluate no reading older than the
// last one, and the last one's time is in rules.PointState.LastAt, saved across restarts).
type recentTimes struct {
	ts   [recentReadings]int64
	n    int // filled slots
	next int // slot the next time goes to
}

const recentReadings = 64

// seen reports whether ts is a recent reading's time, and remembers it when not.
func (rt *pointRT) seen(ts int64) bool {
	if !rt.state.LastAt.IsZero() && rt.state.LastAt.UnixMilli() == ts {
		return true
	}
	r := rt.recent
	if r == nil {
		r = &recentTimes{}
		rt.recent = r
	}
	for i := 0; i < r.n; i++ {
		if r.ts[i] == ts {
			return true
		}
	}
	r.ts[r.next] = ts
	r.next = (r.next + 1) % recentReadings
	r.n = min(r.n+1, recentReadings)
	return false
}

// forget drops ts from the recent times (a reading that could not be queued for storage).
func (rt *pointRT) forget(ts int64) {
	if r := rt.recent; r != nil {
		for i := 0; i < r.n; i++ {
			if r.ts[i] == ts {
				r.ts[i] = math.MinInt64
			}
		}
	}
}

// Latest returns the last accepted reading of a point held in memory (since the start of this
// instance, or restored from the rule state's last reading).
func (s *Service) Latest(pointID string) (Latest, bool) {
	rt := s.table.Load().points[pointID]
	if rt == nil {
		return Latest{}, false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.latest, !rt.latest.At.IsZero()
}

// tableSignature summarises the devices and points tables: a change of any row's updated_at,
// or of the number of rows, changes it.
func tableSignature(ctx context.Context, q sqldb.Querier) (string, error) {
	var nd, np int64
	var md, mp any // text on SQLite (an aggregate loses the column type), a time on PostgreSQL
	err := q.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM devices), (SELECT MAX(updated_at) FROM devices),
		(SELECT COUNT(*) FROM monitor_points), (SELECT MAX(updated_at) FROM monitor_points)`).Scan(&nd, &md, &np, &mp)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(nd, "|", md, "|", np, "|", mp), nil
}

// Reload rebuilds the in-memory table from the database when it changed. Writes through this
// service rebuild it at once; the housekeeping loop calls Reload every Config.ReloadInterval
// so changes made through other instances take effect too (detected by the row counts and the
// latest updated_at of devices and points).
func (s *Service) Reload(ctx context.Context) error { return s.reloadTable(ctx, false) }

func (s *Service) reloadTable(ctx context.Context, force bool) error {
	s.reload.Lock()
	defer s.reload.Unlock()
	var devs []Device
	var pts []Point
	var sig string
	err := s.db.ReadTx(ctx, func(tx sqldb.Querier) error {
		var err error
		if sig, err = tableSignature(ctx, tx); err != nil {
			return err
		}
		if !force && sig == s.table.Load().sig {
			return nil
		}
		if devs, err = allDevices(ctx, tx); err != nil {
			return err
		}
		pts, err = allPoints(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor: reload: %w", err)
	}
	old := s.table.Load()
	if !force && sig == old.sig {
		return nil
	}
	t := &table{byCode: make(map[string]*devEntry, len(devs)), byID: make(map[string]*devEntry, len(devs)),
		points: make(map[string]*pointRT, len(pts)), sig: sig}
	for _, d := range devs {
		e := &devEntry{dev: d, timeout: time.Duration(d.HeartbeatTimeoutS) * time.Second, points: map[string]*pointRT{}}
		if o := old.byID[d.ID]; o != nil && o.announced.Load() {
			e.announced.Store(true)
		}
		t.byCode[d.Code], t.byID[d.ID] = e, e
		if d.Disabled && s.tracker != nil {
			s.tracker.Forget(d.ID)
		}
	}
	for _, p := range pts {
		e := t.byID[p.DeviceID]
		if e == nil {
			continue
		}
		rt := old.points[p.ID]
		if rt == nil {
			rt = &pointRT{id: p.ID}
		}
		rt.def.Store(&pointDef{engine: p.enginePoint(), unit: p.Unit, disabled: p.Disabled, code: p.Code})
		e.points[p.Code] = rt
		t.points[p.ID] = rt
	}
	for id := range old.byID {
		if t.byID[id] == nil && s.tracker != nil {
			s.tracker.Forget(id)
		}
	}
	s.table.Store(t)
	return nil
}

// loadStates restores the rule states saved by saveStates.
func (s *Service) loadStates(ctx context.Context) error {
	t := s.table.Load()
	rows, err := s.db.Query(ctx, `SELECT point_id, state FROM rule_states`)
	if err != nil {
		return fmt.Errorf("monitor: load rule states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return fmt.Errorf("monitor: load rule states: %w", err)
		}
		rt := t.points[id]
		if rt == nil {
			continue
		}
		var ps rules.PointState
		if err := json.Unmarshal([]byte(st), &ps); err != nil {
			s.log.Warn("monitor: unreadable rule state dropped", "point_id", id, "err", err)
			continue
		}
		rt.mu.Lock()
		rt.state = ps
		rt.savedSig = stateSig(&ps)
		if !ps.LastAt.IsZero() {
			rt.latest = Latest{Value: ps.LastValue, At: ps.LastAt.UTC()}
		}
		rt.mu.Unlock()
	}
	return rows.Err()
}

// stateSig is the state without its last reading: what saveStates compares, so a state is
// written when a pending duration, an active level or a quality check changed, not on every
// reading.
func stateSig(st *rules.PointState) []byte {
	c := *st
	c.LastAt, c.LastValue = time.Time{}, 0
	b, _ := json.Marshal(&c)
	return b
}

// stateChunk is how many rule states one statement saves.
const stateChunk = 500

// saveStates writes the rule states that changed since they were last saved, stateChunk to a
// statement.
func (s *Service) saveStates(ctx context.Context) error {
	type saved struct {
		rt       *pointRT
		sig, doc []byte
	}
	var out []saved
	for _, rt := range s.table.Load().points {
		rt.mu.Lock()
		if !rt.dirty {
			rt.mu.Unlock()
			continue
		}
		rt.dirty = false
		sig := stateSig(&rt.state)
		if bytes.Equal(sig, rt.savedSig) {
			rt.mu.Unlock()
			continue
		}
		doc, _ := json.Marshal(&rt.state)
		rt.mu.Unlock()
		out = append(out, saved{rt, sig, doc})
	}
	if len(out) == 0 {
		return nil
	}
	// Short multi-row transactions: the writer (the one SQLite write connection) is free
	// between them, so an alert does not wait behind thousands of state rows.
	at := s.now()
	for start := 0; start < len(out); start += stateChunk {
		chunk := out[start:min(start+stateChunk, len(out))]
		rows, args := make([]string, 0, len(chunk)), make([]any, 0, 3*len(chunk))
		for _, o := range chunk {
			rows = append(rows, "("+sqldb.Placeholders(len(args)+1, 3)+")")
			args = append(args, o.rt.id, string(o.doc), at)
		}
		_, err := s.db.Exec(ctx, `INSERT INTO rule_states (point_id, state, updated_at) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (point_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`, args...)
		if err != nil {
			for _, o := range out[start:] {
				o.rt.mu.Lock()
				o.rt.dirty = true
				o.rt.mu.Unlock()
			}
			return fmt.Errorf("monitor: save rule states: %w", err)
		}
		for _, o := range chunk {
			o.rt.mu.Lock()
			o.rt.savedSig = o.sig
			o.rt.mu.Unlock()
		}
	}
	s.metrics.statesSaved.Add(float64(len(out)))
	return nil
}

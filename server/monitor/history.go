package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
)

// History import: readings and device status that happened before this server ran (the demo
// city's week of readings). They are stored as late readings are, with their minute and hour
// rollups computed from the same rows by the same aggregation, and never pass the rule engine
// or the alert sink: the caller decides what alerts they caused.

// RulePoint is the point as the rule engine sees it (thresholds, quality checks), so that a
// caller replaying history evaluates it by the same rules as the ingest.
func (p *Point) RulePoint() rules.Point { return p.enginePoint() }

// DeviceHistory is what happened to a device: its online/offline changes in time order and
// where it ended (online or not, last message).
type DeviceHistory struct {
	DeviceID string
	// Since is when the device (and its points) were installed, if before they were created
	// here: health and online rates count from then.
	Since    time.Time
	Changes  []StatusChange
	Online   bool
	LastSeen time.Time
}

// History is what ImportHistory stores.
type History struct {
	Readings []rules.Reading
	Devices  []DeviceHistory
	// States are the rule states of points after the history's readings (by point id): the
	// live engine goes on from them, and they carry each point's latest reading.
	States map[string]rules.PointState
}

// ImportHistory stores past readings with their rollups and past device status changes, sets
// each device's state (online, last_seen_at) and each point's rule state as the history ends.
// When the service runs, it goes on from there as after a restart: its heartbeat tracker takes
// a device the history leaves online offline when no message follows within its timeout, and
// the next reading of a point is judged against the state the history left. Readings must be
// older than the open minute buckets (see rollup.go): history, not live data.
func (s *Service) ImportHistory(ctx context.Context, h History) error {
	readings, devices := h.Readings, h.Devices
	rows := make([]row, len(readings))
	agg := rollupAgg{}
	for i, r := range readings {
		rows[i] = row{point: r.PointID, ts: r.At.UnixMilli(), value: r.Value}
		agg.add(&rows[i])
	}
	rs := agg.sorted()
	if p, ok := s.db.(pooler); ok && s.db.Engine() == sqldb.Postgres {
		// A history goes into empty tables: readings by plain COPY, no staging.
		err := pgx.BeginFunc(ctx, p.Pool(), func(tx pgx.Tx) error {
			if err := copyRows(ctx, tx, "readings", rows); err != nil {
				return fmt.Errorf("copy readings: %w", err)
			}
			if len(rs) == 0 {
				return nil
			}
			return execPGRollups(ctx, tx, rs)
		})
		if err != nil {
			return fmt.Errorf("monitor: import history: %w", err)
		}
	} else {
		for start := 0; start < len(rows); start += sqlTxRows {
			// cut = MinInt64: no rollups here, they are written below from the whole history.
			if _, err := storeSQL(ctx, s.db, rows[start:min(start+sqlTxRows, len(rows))], math.MinInt64, false); err != nil {
				return fmt.Errorf("monitor: import history: %w", err)
			}
		}
		for start := 0; start < len(rs); start += sqlTxRows {
			chunk := rs[start:min(start+sqlTxRows, len(rs))]
			if err := s.db.InTx(ctx, func(tx sqldb.Querier) error { return execSQLRollups(ctx, tx, chunk) }); err != nil {
				return fmt.Errorf("monitor: import history rollups: %w", err)
			}
		}
	}
	var states []rules.DeviceState
	err := s.db.InTx(ctx, func(tx sqldb.Querier) error {
		for _, d := range devices {
			changes := slices.Clone(d.Changes)
			slices.SortStableFunc(changes, func(a, b StatusChange) int { return a.At.Compare(b.At) })
			for _, c := range changes {
				if _, err := tx.Exec(ctx, `INSERT INTO device_status_log (device_id, online, at, reason) VALUES ($1, $2, $3, $4)`,
					d.DeviceID, c.Online, c.At.UTC(), c.Reason); err != nil {
					return fmt.Errorf("device status log: %w", err)
				}
			}
			if !d.Since.IsZero() {
				for _, table := range []string{"devices", "monitor_points"} {
					col := "id"
					if table == "monitor_points" {
						col = "device_id"
					}
					if _, err := tx.Exec(ctx, `UPDATE `+table+` SET created_at = $2 WHERE `+col+` = $1 AND created_at > $2`,
						d.DeviceID, d.Since.UTC()); err != nil {
						return fmt.Errorf("device installed: %w", err)
					}
				}
			}
			var seen any
			if !d.LastSeen.IsZero() {
				seen = d.LastSeen.UTC()
			}
			var timeout int
			if err := tx.QueryRow(ctx, `UPDATE devices SET online = $2, last_seen_at = $3 WHERE id = $1 RETURNING heartbeat_timeout_s`,
				d.DeviceID, d.Online, seen).Scan(&timeout); err != nil {
				return fmt.Errorf("device state: %w", err)
			}
			if !d.LastSeen.IsZero() {
				states = append(states, rules.DeviceState{ID: d.DeviceID, LastSeen: d.LastSeen.UTC(),
					Timeout: time.Duration(timeout) * time.Second, Offline: !d.Online})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("monitor: import history: %w", err)
	}
	if len(h.States) > 0 {
		ids := make([]string, 0, len(h.States))
		for id := range h.States {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		at := s.now()
		err := s.db.InTx(ctx, func(tx sqldb.Querier) error {
			for _, id := range ids {
				st := h.States[id]
				doc, err := json.Marshal(&st)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO rule_states (point_id, state, updated_at) VALUES ($1, $2, $3)
					ON CONFLICT (point_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`, id, string(doc), at); err != nil {
					return fmt.Errorf("rule state: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("monitor: import history: %w", err)
		}
	}
	if err := s.reloadTable(ctx, true); err != nil {
		return err
	}
	t := s.table.Load()
	for id, st := range h.States {
		rt := t.points[id]
		if rt == nil {
			continue
		}
		rt.mu.Lock()
		rt.state = st
		rt.savedSig = stateSig(&st)
		if !st.LastAt.IsZero() {
			rt.latest = Latest{Value: st.LastValue, At: st.LastAt.UTC()}
		}
		rt.mu.Unlock()
	}
	if s.started.Load() {
		s.tracker.Restore(states)
	}
	return nil
}

package monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// Reject counters: kept in memory per (device code, reason) and added to ingest_rejects every
// Config.RejectInterval, so a flood of bad input costs a map update, not a database write.

type rejectKey struct{ device, reason string }

type rejectStat struct {
	count   int64
	lastAt  time.Time
	lastErr string
}

type rejectCounters struct {
	mu sync.Mutex
	m  map[rejectKey]*rejectStat
}

// maxRejectKeys bounds the counters between flushes: beyond it, unknown codes are counted
// under the device "*" (so random codes cannot grow memory).
const maxRejectKeys = 10000

// reject counts n refused readings (or messages) of a device.
func (s *Service) reject(device, reason, detail string, n int) {
	s.metrics.rejects.WithLabelValues(reason).Add(float64(n))
	if len(device) > 64 {
		device = device[:64]
	}
	now := s.Now()
	c := &s.rejects
	c.mu.Lock()
	defer c.mu.Unlock()
	k := rejectKey{device, reason}
	st := c.m[k]
	if st == nil {
		if len(c.m) >= maxRejectKeys {
			k.device = "*"
			if st = c.m[k]; st == nil {
				st = &rejectStat{}
				c.m[k] = st
			}
		} else {
			st = &rejectStat{}
			c.m[k] = st
		}
	}
	st.count += int64(n)
	st.lastAt = now
	if detail != "" {
		if len(detail) > 200 {
			detail = detail[:200]
		}
		st.lastErr = detail
	}
}

// flushRejects adds the counters to ingest_rejects.
func (s *Service) flushRejects(ctx context.Context) error {
	c := &s.rejects
	c.mu.Lock()
	m := c.m
	c.m = map[rejectKey]*rejectStat{}
	c.mu.Unlock()
	if len(m) == 0 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx sqldb.Querier) error {
		for k, st := range m {
			if _, err := tx.Exec(ctx, `INSERT INTO ingest_rejects (device, reason, count, last_at, last_error) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (device, reason) DO UPDATE SET count = ingest_rejects.count + excluded.count,
				last_at = excluded.last_at, last_error = CASE WHEN excluded.last_error = '' THEN ingest_rejects.last_error ELSE excluded.last_error END`,
				k.device, k.reason, st.count, st.lastAt.UTC(), st.lastErr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.mu.Lock() // put them back for the next flush
		for k, st := range m {
			if cur := c.m[k]; cur != nil {
				cur.count += st.count
			} else {
				c.m[k] = st
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("monitor: flush rejects: %w", err)
	}
	return nil
}

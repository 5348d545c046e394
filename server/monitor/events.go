package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Events: the rule engine's and the tracker's events go through a queue to one dispatcher
// goroutine, apart from the bulk writer. It takes whatever has arrived together (up to
// maxEventBatch), records data-quality anomalies and device online changes, and passes the
// batch to the AlertSink at once: an event waits only for the batch before it.

const maxEventBatch = 1000

// sendEvent queues an event; when the queue stays full for a second the event is dropped and
// counted.
func (s *Service) sendEvent(ev rules.Event) {
	s.metrics.events.WithLabelValues(string(ev.Kind), string(ev.Action)).Inc()
	select {
	case s.events <- ev:
		return
	default:
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case s.events <- ev:
	case <-t.C:
		s.metrics.eventsDropped.Inc()
		s.log.Error("monitor: event queue full, event dropped", "cause", ev.Cause, "action", ev.Action)
	}
}

// emit is the tracker's output.
func (s *Service) emit(ev rules.Event) { s.sendEvent(ev) }

// dispatch runs until the event queue is closed.
func (s *Service) dispatch() {
	defer close(s.eventsDone)
	batch := make([]rules.Event, 0, 64)
	for ev := range s.events {
		batch = append(batch[:0], ev)
	drain:
		for len(batch) < maxEventBatch {
			select {
			case e, ok := <-s.events:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		s.handleEvents(batch)
	}
}

// handleEvents records anomalies and online changes, then hands the batch to the sink
// (retrying a failed Apply three times).
func (s *Service) handleEvents(batch []rules.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.recordEvents(ctx, batch); err != nil {
		s.log.Error("monitor: record events", "err", err, "events", len(batch))
	}
	box := s.sink.Load()
	if box == nil || box.s == nil {
		return
	}
	evs := append([]rules.Event(nil), batch...)
	var err error
	for attempt, wait := 0, 50*time.Millisecond; attempt < 4; attempt, wait = attempt+1, wait*4 {
		if err = box.s.Apply(ctx, evs); err == nil {
			return
		}
		time.Sleep(wait)
	}
	s.log.Error("monitor: alert sink failed, events lost", "err", err, "events", len(evs))
}

// recordEvents stores data-quality anomalies (raised checks) and device online changes: the
// device row changes only if its state differs, so with several instances each change is
// logged once.
func (s *Service) recordEvents(ctx context.Context, batch []rules.Event) error {
	need := false
	for _, ev := range batch {
		if (ev.Kind == rules.KindQuality && ev.Action != rules.Clear) || ev.Kind == rules.KindOffline {
			need = true
			break
		}
	}
	if !need {
		return nil
	}
	return s.db.InTx(ctx, func(tx sqldb.Querier) error {
		for _, ev := range batch {
			switch {
			case ev.Kind == rules.KindQuality && ev.Action != rules.Clear:
				if _, err := tx.Exec(ctx, `INSERT INTO anomalies (id, device_id, point_id, kind, value, message, at)
					SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $2)`,
					yingji.NewID(), ev.DeviceID, ev.PointID, ev.RuleID, ev.Value, ev.Message, ev.At.UTC()); err != nil {
					return fmt.Errorf("anomaly: %w", err)
				}
			case ev.Kind == rules.KindOffline:
				online := ev.Action == rules.Clear
				reason := "heartbeat_timeout"
				if online {
					reason = "message"
				}
				if err := setOnline(ctx, tx, ev.DeviceID, online, ev.At, reason); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func setOnline(ctx context.Context, tx sqldb.Querier, id string, online bool, at time.Time, reason string) error {
	n, err := tx.Exec(ctx, `UPDATE devices SET online = $2 WHERE id = $1 AND online <> $2`, id, online)
	if err != nil {
		return fmt.Errorf("device online: %w", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO device_status_log (device_id, online, at, reason) VALUES ($1, $2, $3, $4)`,
		id, online, at.UTC(), reason); err != nil {
		return fmt.Errorf("device status log: %w", err)
	}
	return nil
}

// markSeen records a message of a device: the tracker, the pending last_seen_at write, and on
// the first message since start of a device not marked online, an online event.
func (s *Service) markSeen(d *devEntry, at time.Time) {
	id := d.dev.ID
	first := !d.announced.Load() && d.announced.CompareAndSwap(false, true)
	tracked := true
	if first {
		_, last := s.tracker.Online(id)
		tracked = !last.IsZero() // restored at start: the tracker reports a return itself
	}
	s.tracker.Seen(id, d.timeout, at)
	s.seenMu.Lock()
	s.seen[id] = at
	s.seenMu.Unlock()
	if !tracked && !d.dev.Online {
		s.sendEvent(rules.Event{Action: rules.Clear, Kind: rules.KindOffline, Cause: "offline:" + id, DeviceID: id,
			RuleID: "offline", Message: "设备 " + d.dev.Name + "（" + d.dev.Code + "）开始上报数据，已上线", At: at.UTC()})
	}
}

// flushSeen writes the devices' last_seen_at.
// seenChunk is how many devices' last_seen_at one SQLite transaction writes.
const seenChunk = 250

func (s *Service) flushSeen(ctx context.Context) error {
	s.seenMu.Lock()
	m := s.seen
	if len(m) == 0 {
		s.seenMu.Unlock()
		return nil
	}
	s.seen = make(map[string]time.Time, len(m))
	s.seenMu.Unlock()
	var err error
	if s.db.Engine() == sqldb.Postgres {
		ids, ats := make([]string, 0, len(m)), make([]time.Time, 0, len(m))
		for id, at := range m {
			ids, ats = append(ids, id), append(ats, at.UTC())
		}
		_, err = s.db.Exec(ctx, `UPDATE devices SET last_seen_at = v.at FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at)
			WHERE devices.id = v.id AND (devices.last_seen_at IS NULL OR devices.last_seen_at < v.at)`, ids, ats)
	} else {
		// Transactions of seenChunk devices: the one SQLite writer is free in between.
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		for start := 0; start < len(ids) && err == nil; start += seenChunk {
			err = s.db.InTx(ctx, func(tx sqldb.Querier) error {
				for _, id := range ids[start:min(start+seenChunk, len(ids))] {
					if _, err := tx.Exec(ctx, `UPDATE devices SET last_seen_at = $2 WHERE id = $1`, id, m[id].UTC()); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if err != nil {
		s.seenMu.Lock()
		for id, at := range m {
			if cur, ok := s.seen[id]; !ok || cur.Before(at) {
				s.seen[id] = at
			}
		}
		s.seenMu.Unlock()
		return fmt.Errorf("monitor: flush last seen: %w", err)
	}
	return nil
}

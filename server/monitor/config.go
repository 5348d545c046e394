package monitor

import "time"

// Config tunes the ingest pipeline, storage and health tracking. Zero fields take the defaults
// of DefaultConfig.
type Config struct {
	// MaxFuture and MaxAge bound a reading's timestamp against the server clock: later than
	// now+MaxFuture or earlier than now-MaxAge is rejected (defaults 5 min, 7 days).
	MaxFuture time.Duration
	MaxAge    time.Duration

	// FlushInterval and FlushRows: the bulk writer stores pending readings every FlushInterval
	// or as soon as FlushRows are pending, in one transaction with their rollups (200 ms, 5000).
	FlushInterval time.Duration
	FlushRows     int
	// QueueRows bounds the readings waiting for the writer (default 500,000 ≈ 30 s at
	// 15,000/s). When full, Deliver waits up to EnqueueWait (default 2 s) for room, then drops
	// the message's readings and counts them (metric yingji_monitor_readings_dropped_total).
	QueueRows   int
	EnqueueWait time.Duration

	// RetainRaw and RetainMinute: Prune deletes raw readings and minute rollups older than
	// these (defaults 90 and 30 days); hour rollups are kept. PruneInterval is how often the
	// service prunes on its own (default 1 h; negative: never).
	RetainRaw     time.Duration
	RetainMinute  time.Duration
	PruneInterval time.Duration

	// ReloadInterval: the in-memory device and point table is reloaded from the database this
	// often, so changes made through another instance take effect (default 5 s). Changes made
	// through this instance take effect at once.
	ReloadInterval time.Duration
	// StateInterval: rule states that changed are saved this often (default 2 s).
	StateInterval time.Duration
	// SeenInterval: devices' last_seen_at is written this often (default 1 s), so another
	// instance can veto an offline decision.
	SeenInterval time.Duration
	// RejectInterval: ingest reject counters are added to ingest_rejects this often (10 s).
	RejectInterval time.Duration
	// HealthTick: how often the heartbeat tracker looks for missed deadlines (default 250 ms;
	// offline is detected within timeout + HealthTick).
	HealthTick time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxFuture: 5 * time.Minute, MaxAge: 7 * 24 * time.Hour,
		FlushInterval: 200 * time.Millisecond, FlushRows: 5000,
		QueueRows: 500_000, EnqueueWait: 2 * time.Second,
		RetainRaw: 90 * 24 * time.Hour, RetainMinute: 30 * 24 * time.Hour, PruneInterval: time.Hour,
		ReloadInterval: 5 * time.Second, StateInterval: 2 * time.Second, SeenInterval: time.Second,
		RejectInterval: 10 * time.Second, HealthTick: 250 * time.Millisecond,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.MaxFuture, d.MaxFuture)
	set(&c.MaxAge, d.MaxAge)
	set(&c.FlushInterval, d.FlushInterval)
	set(&c.EnqueueWait, d.EnqueueWait)
	set(&c.RetainRaw, d.RetainRaw)
	set(&c.RetainMinute, d.RetainMinute)
	set(&c.PruneInterval, d.PruneInterval)
	set(&c.ReloadInterval, d.ReloadInterval)
	set(&c.StateInterval, d.StateInterval)
	set(&c.SeenInterval, d.SeenInterval)
	set(&c.RejectInterval, d.RejectInterval)
	set(&c.HealthTick, d.HealthTick)
	if c.FlushRows <= 0 {
		c.FlushRows = d.FlushRows
	}
	if c.QueueRows <= 0 {
		c.QueueRows = d.QueueRows
	}
	return c
}

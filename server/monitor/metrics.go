package monitor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	accepted, dropped, stored, statesSaved, eventsDropped, duplicates prometheus.Counter
	rejects                                                           *prometheus.CounterVec
	events                                                            *prometheus.CounterVec
	flushSeconds                                                      prometheus.Histogram
}

func newMetrics() *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "yingji_monitor_" + name, Help: help})
	}
	return &metrics{
		accepted:      c("readings_accepted_total", "Readings accepted by the ingest."),
		duplicates:    c("readings_duplicate_total", "Readings sent again (same point and time) and not stored or evaluated again."),
		dropped:       c("readings_dropped_total", "Accepted readings dropped because the storage queue stayed full."),
		stored:        c("readings_stored_total", "Readings written to the database."),
		statesSaved:   c("rule_states_saved_total", "Rule states written."),
		eventsDropped: c("events_dropped_total", "Rule events dropped because the event queue stayed full."),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yingji_monitor_ingest_rejects_total",
			Help: "Refused messages and readings by reason."}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yingji_monitor_events_total",
			Help: "Rule events by kind and action."}, []string{"kind", "action"}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yingji_monitor_flush_seconds",
			Help: "Time to store one batch of readings with its rollups.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
}

// Collectors returns the service's Prometheus metrics, for the server's registry.
func (s *Service) Collectors() []prometheus.Collector {
	m := s.metrics
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "yingji_monitor_queue_rows", Help: "Readings waiting for the writer."},
		func() float64 { return float64(s.writer.pending()) })
	online := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "yingji_monitor_devices_online", Help: "Tracked devices online."},
		func() float64 {
			if s.tracker == nil {
				return 0
			}
			on, _ := s.tracker.Stats()
			return float64(on)
		})
	return []prometheus.Collector{m.accepted, m.duplicates, m.dropped, m.stored, m.statesSaved, m.eventsDropped, m.rejects, m.events, m.flushSeconds, queued, online}
}

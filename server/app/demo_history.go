package app

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/demo"
	"github.com/yingji/yingji/server/postgres"
	"github.com/yingji/yingji/server/yingji"
)

// DemoHistorySeed picks the details of the demo city's history: every first start makes the
// same month, ending at that start.
const DemoHistorySeed = 2026

// loadDemoHistory makes the demo city's month of history (demo.History), ending now. It runs
// on the first start only, after the demo devices and before the jobs and the monitor start.
func (m *Main) loadDemoHistory(ctx context.Context) error {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	start := time.Now()
	h := &demo.History{DB: m.DB, Store: m.store, Media: m.Media, Monitor: m.Monitor, Alerts: alertConfig(m.Config),
		Log: m.Log.With("component", "demo"), Seed: DemoHistorySeed, End: now()}
	// The history's hundreds of small transactions commit without waiting for each WAL flush on
	// PostgreSQL (postgres.AsyncCommit); the audit record below commits normally and flushes them.
	st, err := h.Load(postgres.AsyncCommit(ctx))
	if err != nil {
		return err
	}
	took := time.Since(start)
	m.Audit.Record(ctx, yingji.System, yingji.Event{Action: "demo.history", ObjectType: "system",
		Detail: map[string]any{"stats": st, "seed": DemoHistorySeed, "end": h.End.UTC(), "took_ms": took.Milliseconds()}})
	m.Log.Info("已生成演示城市一个月的历史数据 demo history loaded", "took", took.Round(time.Millisecond),
		"risk_points", st.RiskPoints, "checklists", st.Checklists, "patrols", st.Patrols, "hazards", st.Hazards,
		"readings", st.Readings, "alerts", st.Alerts)
	return nil
}

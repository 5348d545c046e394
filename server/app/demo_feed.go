package app

import (
	"context"
	"errors"

	"github.com/yingji/yingji/server/demo"
	"github.com/yingji/yingji/server/yingji"
)

// startDemoFeed runs the demo feeder (demo.Feeder) while the server runs, on a demo city's
// database only (the demo.load audit event: a real deployment never has one) and with demo and
// demo_feed on. The feeder publishes through the monitor's device path, so the demo devices
// stay online and their charts keep moving; see README, "Demo city".
func (m *Main) startDemoFeed(ctx context.Context) error {
	if !m.Config.Demo || !m.Config.DemoFeed {
		return nil
	}
	var one int
	err := m.DB.QueryRow(ctx, `SELECT 1 FROM audit_log WHERE action = 'demo.load' LIMIT 1`).Scan(&one)
	if errors.Is(err, yingji.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	f := &demo.Feeder{Deliver: m.Monitor.Deliver, Now: m.Now, Every: m.DemoFeedEvery, Seed: DemoHistorySeed}
	go func() {
		defer close(done)
		f.Run(fctx)
	}()
	m.feedStop = func() {
		cancel()
		<-done
	}
	m.Log.Info("演示设备模拟上报已启动 demo feeder started", "devices", len(demo.FeederDevices()))
	return nil
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/postgres"
)

// resourcesChannel tells the other instances sharing one PostgreSQL that resources changed,
// so they refresh their spatial index at once (each also checks every resourceRefresh).
const resourcesChannel = "yingji_resources_changed"

// resourceRefresh is how often an instance checks the resources version without a notification.
const resourceRefresh = 10 * time.Second

// openResources loads the demo resources on a fresh demo city, loads the spatial index, keeps
// it current with other instances and starts its periodic check.
func (m *Main) openResources(ctx context.Context) error {
	if m.Now != nil {
		m.Resources.Now = m.Now
	}
	if m.demoLoaded {
		if err := m.loadDemoResources(ctx); err != nil {
			return fmt.Errorf("载入演示应急资源失败 (load demo resources): %w", err)
		}
	}
	if err := m.Resources.Open(ctx); err != nil {
		return fmt.Errorf("载入应急资源空间索引失败 (load resource index): %w", err)
	}
	if pg, ok := m.DB.(*postgres.DB); ok {
		m.listenResources(ctx, pg)
	}
	m.Resources.Start(resourceRefresh)
	return nil
}

func (m *Main) listenResources(ctx context.Context, pg *postgres.DB) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	prev := m.cancel
	m.cancel = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	log := m.Log.With("component", "resource_notify")
	ready := make(chan struct{})
	svc := m.Resources
	go pg.Listen(lctx, resourcesChannel, log, ready, func(string) {
		rctx, cancel := context.WithTimeout(lctx, time.Minute)
		defer cancel()
		if err := svc.Refresh(rctx); err != nil {
			log.Warn("refresh after another instance's change", "err", err)
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		log.Warn("listener not ready after 10s; resources changed elsewhere show after the periodic check")
	}
	svc.OnChange = func() {
		nctx, cancel := context.WithTimeout(lctx, 5*time.Second)
		defer cancel()
		if err := pg.Notify(nctx, resourcesChannel, ""); err != nil {
			log.Warn("notify failed; other instances refresh periodically", "err", err)
		}
	}
}

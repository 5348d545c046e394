package app

import (
	"context"
	"fmt"
	"time"
)

// resourceRefresh is how often an instance checks the resources version in the background; a
// nearest or map query also checks it when the last check is older than a second, so changes
// made by other instances show within a second without holding another database connection
// (PostgreSQL's pool is small and LISTEN holds one for good).
const resourceRefresh = 10 * time.Second

// openResources loads the demo resources on a fresh demo city, loads the spatial index and
// starts its periodic check.
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
	m.Resources.Start(resourceRefresh)
	return nil
}

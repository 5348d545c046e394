package app

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/yingji/yingji/server/knowledge"
	"github.com/yingji/yingji/server/plan"
	"github.com/yingji/yingji/server/yingji"
)

// directoryEvery is how often the emergency directory follows users and contacts.
const directoryEvery = 5 * time.Minute

// registerPlans registers the synced collections of plans, the knowledge base and the
// emergency directory (before any data is written, so the demo's reach phones).
func (m *Main) registerPlans() {
	m.Sync.Register(m.store.PlanCollection())
	m.Sync.Register(m.store.KnowledgeCollection())
	m.Sync.Register(m.store.DirectoryCollection())
}

// mountPlans builds the plan and knowledge services, seeds the knowledge base on the first
// start, mounts their routes and keeps the emergency directory fresh.
func (m *Main) mountPlans(ctx context.Context) error {
	plans := plan.NewService(m.store, m.Audit)
	kb := knowledge.NewService(m.store, m.Audit)
	if m.Now != nil {
		plans.Now, kb.Now = m.Now, m.Now
	}
	if err := m.seedKnowledge(ctx, kb); err != nil {
		return err
	}
	refresh := func(ctx context.Context) (int, error) { return m.store.RefreshDirectory(ctx, m.now()) }
	if _, err := refresh(ctx); err != nil {
		return err
	}
	m.API.MountPlans(plans, kb, func(c echo.Context) (int, error) { return refresh(c.Request().Context()) })

	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	prev := m.cancel
	m.cancel = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	log := m.Log.With("component", "directory")
	go func() {
		t := time.NewTicker(directoryEvery)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if _, err := refresh(lctx); err != nil && lctx.Err() == nil {
					log.Warn("刷新应急通讯录失败 (refresh directory)", "err", err)
				}
			}
		}
	}()
	return nil
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

const knowledgeSeededKey = "knowledge_seeded"

// seedKnowledge loads knowledge.Seed once, when the city exists: the meta key taken first
// makes concurrent first starts of several instances seed once.
func (m *Main) seedKnowledge(ctx context.Context, kb *knowledge.Service) error {
	if _, err := m.store.RootPath(ctx); errors.Is(err, yingji.ErrNotFound) {
		return nil // no city yet: seeded on a later start
	} else if err != nil {
		return err
	}
	n, err := m.DB.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		knowledgeSeededKey, m.now().UTC().Format(time.RFC3339))
	if err != nil || n == 0 {
		return err
	}
	if _, err := kb.Create(ctx, yingji.System, knowledge.Seed()...); err != nil {
		m.DB.Exec(ctx, `DELETE FROM meta WHERE key = $1`, knowledgeSeededKey)
		return err
	}
	return nil
}

package app

import (
	"context"
	"strings"

	"github.com/yingji/yingji/server/account"
	"github.com/yingji/yingji/server/demo"
	"github.com/yingji/yingji/server/yingji"
)

// loadDemo loads the demo city into an empty database and logs the demo accounts once, with
// the password (YINGJI_DEMO_PASSWORD, or a random one when unset).
func (m *Main) loadDemo(ctx context.Context) error {
	st := m.store
	empty, err := demo.Empty(ctx, st)
	if err != nil || !empty {
		return err
	}
	m.demoLoaded = true
	pw := m.Config.DemoPassword
	generated := pw == ""
	if generated {
		pw = account.RandomPassword()
	}
	if err := demo.Load(ctx, st, st, pw, m.Accounts.Now()); err != nil {
		return err
	}
	if err := m.loadDemoPlans(ctx); err != nil {
		return err
	}
	var names []string
	for _, a := range demo.Accounts {
		names = append(names, a.Username)
	}
	m.Audit.Record(ctx, yingji.System, yingji.Event{Action: "demo.load", ObjectType: "system", Detail: map[string]any{"accounts": names}})
	args := []any{"accounts", strings.Join(names, ",")}
	if generated {
		// Printed once: the password is not stored anywhere in clear.
		args = append(args, "password", pw)
	}
	m.Log.Info("已载入演示城市“临江市”及演示账号 demo city and accounts loaded", args...)
	return nil
}

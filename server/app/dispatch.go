package app

import (
	"fmt"
	"os"

	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/notify"
	"github.com/yingji/yingji/server/route"
)

// openRouter builds the route chain from the configuration: the OSRM server when configured,
// then the road graph (the demo city's or a file), then a straight-line estimate.
func openRouter(cfg config.Config, m *Main) (route.Router, error) {
	c := &route.Chain{Timeout: cfg.RouteTimeout, SpeedKmh: float64(cfg.RouteEstimateSpeed), Log: m.Log.With("component", "route")}
	if cfg.RouteOSRMURL != "" {
		c.Routers = append(c.Routers, &route.OSRM{BaseURL: cfg.RouteOSRMURL})
		c.Names = append(c.Names, "osrm")
	}
	switch cfg.RouteGraph {
	case "":
	case "demo":
		g, err := route.DemoCity()
		if err != nil {
			return nil, fmt.Errorf("载入演示路网失败 (load demo road network): %w", err)
		}
		c.Routers = append(c.Routers, g)
		c.Names = append(c.Names, "graph")
	default:
		b, err := os.ReadFile(cfg.RouteGraph)
		if err != nil {
			return nil, fmt.Errorf("读取路网文件失败 (read route_graph): %w", err)
		}
		g, err := route.LoadGeoJSON(b)
		if err != nil {
			return nil, fmt.Errorf("路网文件无效 (route_graph): %w", err)
		}
		m.Log.Info("路网已载入 road network loaded", "file", cfg.RouteGraph, "roads", g.Roads(), "nodes", g.Nodes())
		c.Routers = append(c.Routers, g)
		c.Names = append(c.Names, "graph")
	}
	return c, nil
}

// openDispatch builds dispatch (orders, requests, nearby with routes) and one-click contact,
// registers its synced collections and mounts its routes. It needs the resources and the
// incidents: a dispatched team joins the incident through the incident service.
func (m *Main) openDispatch() error {
	if m.Router == nil {
		r, err := openRouter(m.Config, m)
		if err != nil {
			return err
		}
		m.Router = r
	}
	incidents := m.Incidents // opened before: a dispatched team joins the incident (scope inc:<id>)
	m.Dispatch = dispatch.New(m.DB, m.Sync, m.Audit, m.Log, m.Router, incidents, m.Resources)
	if m.Now != nil {
		m.Dispatch.Now = m.Now
	}
	for _, c := range m.Dispatch.Collections() {
		m.Sync.Register(c)
	}
	m.Sync.Observe("dispatch_orders", m.Dispatch.Observe)
	m.Contacts = &dispatch.Contacts{DB: m.DB, Channels: m.Channels, Resources: m.Resources, Audit: m.Audit, Now: m.Dispatch.Now}
	if m.Fax != nil {
		m.Contacts.Fax = m.Fax
	} else if m.Config.FaxURL != "" {
		fax, err := notify.NewHTTPFax(m.Config.FaxURL, m.Config.FaxToken, m.Config.FaxSender, 0)
		if err != nil {
			return fmt.Errorf("传真网关配置有误 (fax): %w", err)
		}
		m.Contacts.Fax = fax
	}
	return nil
}

package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/org"
	"github.com/yingji/yingji/server/yingji"
)

// The demo city's monitoring: gateways at three hazardous-chemicals enterprises of the 临港
// chemical park and a flood station at 临溪水电站, with thresholds from the reference
// (hazchem-flood.md). Loaded with the demo city; each device's secret is logged once.

type demoPoint struct {
	code, name, kind, unit string
	min, max               float64
	rules                  []monitor.ThresholdRule
}

type demoDevice struct {
	enterprise, code, name string
	category               monitor.Category
	kind                   monitor.DeviceKind
	points                 []demoPoint
}

// high is an upper-limit rule: levels held 30 s, hysteresis h.
func high(h float64, levels ...monitor.ThresholdLevel) []monitor.ThresholdRule {
	return []monitor.ThresholdRule{{ID: "high", Direction: "high", Hysteresis: h, MinDurationS: 30, Levels: levels}}
}

func lv(n int, name string, v float64) monitor.ThresholdLevel {
	return monitor.ThresholdLevel{Level: n, Name: name, Value: v}
}

// demoDevices is built fresh for every load: the services normalise what they are given.
func demoDevices() []demoDevice {
	return []demoDevice{
		{"临港石化储运有限公司", "LGSH-GW01", "罐区一号数据采集网关", monitor.CategoryHazchem, "gateway", []demoPoint{
			{"TI-101", "1号储罐温度", "temperature", "℃", -20, 150, high(1, lv(1, "一级", 60), lv(2, "二级", 80))},
			{"LI-101", "1号储罐液位", "level", "m", 0, 20, high(0.2, lv(1, "一级", 16), lv(2, "二级", 18))},
			{"PI-101", "1号储罐压力", "pressure", "MPa", 0, 2.5, high(0.05, lv(1, "一级", 1.6), lv(2, "二级", 2.0))},
			{"GA-101", "罐区可燃气体", "flammable_gas", "%LEL", 0, 100, nil},
		}},
		{"临江氯碱化工股份有限公司", "LJLJ-GW01", "氯气工段数据采集网关", monitor.CategoryHazchem, "gateway", []demoPoint{
			{"GT-201", "液氯储罐区氯气", "toxic_gas", "mg/m³", 0, 20, high(0.2, lv(1, "一级", 1), lv(2, "二级", 2))},
			{"TI-201", "电解槽温度", "temperature", "℃", 0, 120, high(1, lv(1, "一级", 90), lv(2, "二级", 95))},
		}},
		{"临港液化气充装站", "LGYQ-GD01", "充装区可燃气体探测器", monitor.CategoryHazchem, "gas_detector", []demoPoint{
			{"GA-301", "充装台可燃气体", "flammable_gas", "%LEL", 0, 100, nil},
		}},
		{"临溪水电站", "LXSD-ST01", "水库水雨情监测站", monitor.CategoryFlood, "water_gauge", []demoPoint{
			// Flood warning: 蓝 near the warning level, 黄 at it, 橙 at the guaranteed level, 红 at the record.
			{"WL-01", "库区水位", "water_level", "m", 100, 140, high(0.1, lv(1, "蓝色", 118.5), lv(2, "黄色", 119.5), lv(3, "橙色", 122), lv(4, "红色", 124.3))},
			{"RN-01", "1小时雨量", "rainfall", "mm", 0, 300, nil},
			{"WS-01", "坝顶风速", "wind_speed", "m/s", 0, 75, nil},
		}},
	}
}

// loadDemoMonitoring creates the demo devices and points as the city administrator.
func (m *Main) loadDemoMonitoring(ctx context.Context) error {
	admin := yingji.System
	ents, err := m.store.ListEnterprises(ctx, org.EnterpriseFilter{}, yingji.ListParams{PageSize: 500})
	if err != nil {
		return err
	}
	byName := map[string]org.Enterprise{}
	for _, e := range ents.Items {
		byName[e.Name] = e
	}
	var secrets []string
	for _, d := range demoDevices() {
		e, ok := byName[d.enterprise]
		if !ok {
			return fmt.Errorf("demo monitoring: enterprise %s missing", d.enterprise)
		}
		dev, secret, err := m.Monitor.CreateDevice(ctx, admin, monitor.Device{Code: d.code, Name: d.name, EnterpriseID: e.ID,
			Category: d.category, Kind: d.kind, Lat: e.Lat, Lng: e.Lng, HeartbeatTimeoutS: monitor.DefaultHeartbeatTimeoutS})
		if err != nil {
			return fmt.Errorf("demo device %s: %w", d.code, err)
		}
		secrets = append(secrets, d.code+"="+secret)
		for _, p := range d.points {
			lo, hi := p.min, p.max
			pt := monitor.Point{DeviceID: dev.ID, Code: p.code, Name: p.name, Kind: monitor.PointKind(p.kind), Unit: p.unit,
				RangeMin: &lo, RangeMax: &hi, SamplingPeriodS: monitor.DefaultSamplingPeriodS, Thresholds: p.rules,
				Quality: monitor.DefaultQuality()}
			if _, err := m.Monitor.CreatePoint(ctx, admin, pt); err != nil {
				return fmt.Errorf("demo point %s/%s: %w", d.code, p.code, err)
			}
		}
	}
	m.Log.Info("已载入演示监测设备 demo devices loaded (MQTT username=password, shown once)", "devices", strings.Join(secrets, " "))
	return nil
}

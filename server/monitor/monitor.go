// Package monitor holds monitoring devices and their points (监测设备与监测点), the ingest
// pipeline that validates readings arriving over MQTT and HTTP, evaluates the rule engine
// (package rules) on each, stores readings durably in batches with minute/hour rollups and a
// retention policy, and tracks device health (online/offline by heartbeat timeout).
package monitor

import (
	"regexp"
	"strings"
	"time"
)

// Object types in the audit log.
const (
	ObjectDevice = "monitor_device"
	ObjectPoint  = "monitor_point"
)

// Category is what a device monitors.
type Category string

const (
	CategoryHazchem Category = "hazchem" // 危险化学品安全生产
	CategoryFlood   Category = "flood"   // 防汛防台
)

var categoryNames = map[Category]string{CategoryHazchem: "危化品", CategoryFlood: "防汛防台"}

// Valid reports whether c is a known category.
func (c Category) Valid() bool { _, ok := categoryNames[c]; return ok }

// Name is the category's Chinese name.
func (c Category) Name() string { return categoryNames[c] }

// CategoryByName finds a category by code or Chinese name.
func CategoryByName(s string) (Category, bool) {
	s = strings.TrimSpace(s)
	for c, n := range categoryNames {
		if s == string(c) || s == n || (c == CategoryHazchem && s == "危险化学品") || (c == CategoryFlood && s == "防汛") {
			return c, true
		}
	}
	return "", false
}

// DeviceKind is the kind of a device. The list is closed:
//
//	gateway          数据采集网关 (DTU/RTU forwarding the plant's DCS/SIS points)
//	sensor           传感器/变送器
//	gas_detector     气体探测器
//	level_gauge      液位计
//	water_gauge      水位站
//	rain_gauge       雨量站
//	weather_station  气象站
type DeviceKind string

// DeviceKinds lists the device kinds in display order.
var DeviceKinds = []DeviceKind{"gateway", "sensor", "gas_detector", "level_gauge", "water_gauge", "rain_gauge", "weather_station"}

var deviceKindNames = map[DeviceKind]string{
	"gateway": "数据采集网关", "sensor": "传感器", "gas_detector": "气体探测器", "level_gauge": "液位计",
	"water_gauge": "水位站", "rain_gauge": "雨量站", "weather_station": "气象站",
}

// Valid reports whether k is a known device kind.
func (k DeviceKind) Valid() bool { _, ok := deviceKindNames[k]; return ok }

// Name is the kind's Chinese name.
func (k DeviceKind) Name() string { return deviceKindNames[k] }

// DeviceKindByName finds a device kind by code or Chinese name.
func DeviceKindByName(s string) (DeviceKind, bool) {
	s = strings.TrimSpace(s)
	for k, n := range deviceKindNames {
		if s == string(k) || s == n {
			return k, true
		}
	}
	return "", false
}

// PointKind is what a point measures.
type PointKind string

// KindInfo describes a point kind: its Chinese name and allowed units (the first is the
// default).
type KindInfo struct {
	Kind  PointKind `json:"kind"`
	Name  string    `json:"name"`
	Units []string  `json:"units"`
	// Defaults are the threshold rules a point of this kind gets when none are given.
	Defaults []ThresholdRule `json:"defaults"`
}

// PointKinds lists the point kinds with their units (reference: hazchem-flood.md).
var PointKinds = []KindInfo{
	{Kind: "temperature", Name: "温度", Units: []string{"℃"}},
	{Kind: "pressure", Name: "压力", Units: []string{"MPa", "kPa"}},
	{Kind: "level", Name: "液位", Units: []string{"m", "%"}},
	{Kind: "flow", Name: "流量", Units: []string{"m³/h"}},
	{Kind: "flammable_gas", Name: "可燃气体浓度", Units: []string{"%LEL"}},
	{Kind: "toxic_gas", Name: "有毒气体浓度", Units: []string{"mg/m³", "ppm"}},
	{Kind: "oxygen", Name: "氧气浓度", Units: []string{"%VOL"}},
	{Kind: "water_level", Name: "水位", Units: []string{"m"}},
	{Kind: "rainfall", Name: "雨量", Units: []string{"mm"}},
	{Kind: "wind_speed", Name: "风速", Units: []string{"m/s"}},
}

func init() {
	for i := range PointKinds {
		PointKinds[i].Defaults = DefaultThresholds(PointKinds[i].Kind)
	}
}

// Info returns the description of a point kind.
func (k PointKind) Info() (KindInfo, bool) {
	for _, i := range PointKinds {
		if i.Kind == k {
			return i, true
		}
	}
	return KindInfo{}, false
}

// Valid reports whether k is a known point kind.
func (k PointKind) Valid() bool { _, ok := k.Info(); return ok }

// Name is the kind's Chinese name.
func (k PointKind) Name() string { i, _ := k.Info(); return i.Name }

// PointKindByName finds a point kind by code or Chinese name.
func PointKindByName(s string) (PointKind, bool) {
	s = strings.TrimSpace(s)
	for _, i := range PointKinds {
		if s == string(i.Kind) || s == i.Name {
			return i.Kind, true
		}
	}
	return "", false
}

var unitAliases = map[string]string{
	"°c": "℃", "℃": "℃", "degc": "℃", "c": "℃",
	"mpa": "MPa", "kpa": "kPa", "m": "m", "%": "%",
	"m³/h": "m³/h", "m3/h": "m³/h", "m^3/h": "m³/h",
	"%lel": "%LEL", "lel": "%LEL", "ppm": "ppm", "mg/m³": "mg/m³", "mg/m3": "mg/m³",
	"%vol": "%VOL", "%v/v": "%VOL", "vol%": "%VOL", "mm": "mm", "m/s": "m/s",
}

// NormalizeUnit returns the canonical spelling of a unit (°C → ℃, m3/h → m³/h, %lel →
// %LEL), or s trimmed when unknown.
func NormalizeUnit(s string) string {
	s = strings.TrimSpace(s)
	if u, ok := unitAliases[strings.ToLower(s)]; ok {
		return u
	}
	return s
}

// Device is a monitoring device: a gateway or an instrument that sends readings under its code.
type Device struct {
	ID           string     `json:"id"`
	Code         string     `json:"code"` // MQTT username and topic segment
	Name         string     `json:"name"`
	EnterpriseID string     `json:"enterprise_id"`
	OrgPath      string     `json:"org_path"`
	Category     Category   `json:"category"`
	Kind         DeviceKind `json:"kind"`
	Lat          *float64   `json:"lat"`
	Lng          *float64   `json:"lng"`
	// HeartbeatTimeoutS: the device is offline after this many seconds without a message
	// (default 300: three missed 100 s periods; the reference's 5 minutes).
	HeartbeatTimeoutS int        `json:"heartbeat_timeout_s"`
	Disabled          bool       `json:"disabled"`
	Online            bool       `json:"online"`
	LastSeenAt        *time.Time `json:"last_seen_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`

	secretHash string
}

// DefaultHeartbeatTimeoutS is a device's default offline timeout.
const DefaultHeartbeatTimeoutS = 300

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidCode reports whether s may be a device or point code: 1–64 letters, digits, _ . -.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

// ThresholdRule is a threshold rule of a point as stored and edited: levels ascend in
// severity (一级 before 二级); for a high rule their values ascend, for a low rule they
// descend.
type ThresholdRule struct {
	ID           string           `json:"id"`
	Direction    string           `json:"direction"` // high | low
	Levels       []ThresholdLevel `json:"levels"`
	Hysteresis   float64          `json:"hysteresis"`
	MinDurationS int              `json:"min_duration_s"`
}

// ThresholdLevel is one level of a rule.
type ThresholdLevel struct {
	Level int     `json:"level"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// QualityConfig are a point's data-quality checks (the seed's online patrol); a zero field
// turns its check off. The instrument range (range_min/range_max) is checked when set.
type QualityConfig struct {
	StuckMinutes       int     `json:"stuck_minutes"`        // value unchanged (within epsilon) this long
	StuckEpsilon       float64 `json:"stuck_epsilon"`        // change below this counts as unchanged
	JumpPercent        float64 `json:"jump_percent"`         // change of more than this % of the range in one sample
	FluctuationCount   int     `json:"fluctuation_count"`    // this many direction reversals ...
	FluctuationWindowS int     `json:"fluctuation_window_s"` // ... within this many seconds
}

// DefaultQuality are the reference's practice defaults: stuck for 120 min, a jump of more
// than 20 % of the range in one sample; fluctuation off.
func DefaultQuality() QualityConfig {
	return QualityConfig{StuckMinutes: 120, StuckEpsilon: 1e-6, JumpPercent: 20}
}

// Point is a monitoring point of a device: one measured quantity, keyed by its code in the
// device's messages.
type Point struct {
	ID              string          `json:"id"`
	DeviceID        string          `json:"device_id"`
	EnterpriseID    string          `json:"enterprise_id"`
	OrgPath         string          `json:"org_path"`
	Code            string          `json:"code"`
	Name            string          `json:"name"`
	Kind            PointKind       `json:"kind"`
	Unit            string          `json:"unit"`
	RangeMin        *float64        `json:"range_min"`
	RangeMax        *float64        `json:"range_max"`
	SamplingPeriodS int             `json:"sampling_period_s"`
	Thresholds      []ThresholdRule `json:"thresholds"`
	Quality         QualityConfig   `json:"quality"`
	Disabled        bool            `json:"disabled"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	// Latest is the point's last accepted reading as this server holds it in memory.
	Latest *Latest `json:"latest,omitempty"`
}

// Latest is the last accepted reading of a point.
type Latest struct {
	Value float64   `json:"value"`
	At    time.Time `json:"at"`
}

// DefaultSamplingPeriodS is a point's default sampling period.
const DefaultSamplingPeriodS = 60

// DefaultThresholds are the rules a point of the kind gets when none are given: the
// reference's standard or practice values. Kinds whose limits come from the plant's control
// system (H/HH of temperature, pressure, level, flow) or depend on the gas (toxic) or the
// station (water level) have none.
func DefaultThresholds(k PointKind) []ThresholdRule {
	switch k {
	case "flammable_gas": // GB/T 50493-2019
		return []ThresholdRule{{ID: "high", Direction: "high", Hysteresis: 2, MinDurationS: 0,
			Levels: []ThresholdLevel{{1, "一级", 25}, {2, "二级", 50}}}}
	case "oxygen":
		return []ThresholdRule{
			{ID: "low", Direction: "low", Hysteresis: 0.2, MinDurationS: 30, Levels: []ThresholdLevel{{1, "一级", 19.5}}},
			{ID: "high", Direction: "high", Hysteresis: 0.2, MinDurationS: 30, Levels: []ThresholdLevel{{1, "一级", 23.5}}},
		}
	case "wind_speed": // typhoon warnings: force 6 / 8 / 10 / 12 mean wind
		return []ThresholdRule{{ID: "high", Direction: "high", Hysteresis: 0.5, MinDurationS: 60,
			Levels: []ThresholdLevel{{1, "蓝色", 10.8}, {2, "黄色", 17.2}, {3, "橙色", 24.5}, {4, "红色", 32.7}}}}
	case "rainfall": // 1 h rainfall, one county's flash-flood thresholds (practice)
		return []ThresholdRule{{ID: "high", Direction: "high", Hysteresis: 1, MinDurationS: 0,
			Levels: []ThresholdLevel{{1, "蓝色", 35}, {2, "黄色", 45}, {3, "橙色", 60}, {4, "红色", 80}}}}
	}
	return []ThresholdRule{}
}

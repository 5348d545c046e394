package monitor

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

// Normalize trims the device's text fields and fills defaults.
func (d *Device) Normalize() {
	d.Code, d.Name = strings.TrimSpace(d.Code), strings.TrimSpace(d.Name)
	if d.HeartbeatTimeoutS == 0 {
		d.HeartbeatTimeoutS = DefaultHeartbeatTimeoutS
	}
}

// Validate checks the device's fields.
func (d *Device) Validate() error {
	switch {
	case !ValidCode(d.Code):
		return yingji.Invalid("monitor.bad_device_code", "code", "设备编码应为 1–64 位字母、数字或 _ . -")
	case d.Name == "" || utf8.RuneCountInString(d.Name) > 100:
		return yingji.Invalid("monitor.bad_name", "name", "请填写设备名称（不超过 100 个字）")
	case d.EnterpriseID == "":
		return yingji.Invalid("monitor.no_enterprise", "enterprise_id", "请选择设备所属企业")
	case !d.Category.Valid():
		return yingji.Invalid("monitor.bad_category", "category", "设备类别应为 hazchem（危化品）或 flood（防汛防台）")
	case !d.Kind.Valid():
		return yingji.Invalid("monitor.bad_device_kind", "kind", "设备类型无效，应为 %s 之一", deviceKindList())
	case (d.Lat == nil) != (d.Lng == nil):
		return yingji.Invalid("monitor.bad_location", "lat", "经度和纬度须同时填写或同时留空")
	case d.Lat != nil && (!finite(*d.Lat) || *d.Lat < -90 || *d.Lat > 90 || !finite(*d.Lng) || *d.Lng < -180 || *d.Lng > 180):
		return yingji.Invalid("monitor.bad_location", "lat", "经纬度超出范围（WGS84：纬度 -90–90，经度 -180–180）")
	case d.HeartbeatTimeoutS < 10 || d.HeartbeatTimeoutS > 7*24*3600:
		return yingji.Invalid("monitor.bad_heartbeat_timeout", "heartbeat_timeout_s", "离线判定时间应在 10 秒到 7 天之间")
	}
	return nil
}

func deviceKindList() string {
	s := make([]string, len(DeviceKinds))
	for i, k := range DeviceKinds {
		s[i] = string(k) + "（" + k.Name() + "）"
	}
	return strings.Join(s, "、")
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Normalize trims the point's text fields, canonicalises its unit and fills defaults: the
// kind's default unit, sampling period, quality checks and threshold rules.
func (p *Point) Normalize() {
	p.Code, p.Name = strings.TrimSpace(p.Code), strings.TrimSpace(p.Name)
	p.Unit = NormalizeUnit(p.Unit)
	if info, ok := p.Kind.Info(); ok && p.Unit == "" {
		p.Unit = info.Units[0]
	}
	if p.SamplingPeriodS == 0 {
		p.SamplingPeriodS = DefaultSamplingPeriodS
	}
	if p.Thresholds == nil {
		p.Thresholds = DefaultThresholds(p.Kind)
	}
	for i := range p.Thresholds {
		t := &p.Thresholds[i]
		t.ID, t.Direction = strings.TrimSpace(t.ID), strings.TrimSpace(t.Direction)
		if t.ID == "" {
			t.ID = fmt.Sprintf("%s%d", t.Direction, i+1)
		}
		for j := range t.Levels {
			if t.Levels[j].Level == 0 {
				t.Levels[j].Level = j + 1
			}
			if t.Levels[j].Name = strings.TrimSpace(t.Levels[j].Name); t.Levels[j].Name == "" {
				t.Levels[j].Name = levelName(t.Levels[j].Level)
			}
		}
	}
}

func levelName(n int) string {
	names := []string{"", "一级", "二级", "三级", "四级"}
	if n > 0 && n < len(names) {
		return names[n]
	}
	return fmt.Sprintf("%d级", n)
}

// Validate checks the point's fields and threshold rules.
func (p *Point) Validate() error {
	info, kindOK := p.Kind.Info()
	switch {
	case !ValidCode(p.Code):
		return yingji.Invalid("monitor.bad_point_code", "code", "监测点编码应为 1–64 位字母、数字或 _ . -")
	case p.Name == "" || utf8.RuneCountInString(p.Name) > 100:
		return yingji.Invalid("monitor.bad_name", "name", "请填写监测点名称（不超过 100 个字）")
	case !kindOK:
		return yingji.Invalid("monitor.bad_point_kind", "kind", "监测类型无效，应为 %s 之一", pointKindList())
	case !slices.Contains(info.Units, p.Unit):
		return yingji.Invalid("monitor.bad_unit", "unit", "%s的单位应为 %s，而不是“%s”", info.Name, strings.Join(info.Units, "、"), p.Unit)
	case p.RangeMin != nil && !finite(*p.RangeMin), p.RangeMax != nil && !finite(*p.RangeMax):
		return yingji.Invalid("monitor.bad_range", "range_min", "量程应为有限数字")
	case p.RangeMin != nil && p.RangeMax != nil && *p.RangeMin >= *p.RangeMax:
		return yingji.Invalid("monitor.bad_range", "range_min", "量程下限应小于量程上限")
	case p.SamplingPeriodS < 1 || p.SamplingPeriodS > 24*3600:
		return yingji.Invalid("monitor.bad_sampling_period", "sampling_period_s", "采样周期应在 1 秒到 24 小时之间")
	}
	q := p.Quality
	if q.StuckMinutes < 0 || q.StuckEpsilon < 0 || q.JumpPercent < 0 || q.JumpPercent > 100 || q.FluctuationCount < 0 ||
		q.FluctuationWindowS < 0 || (q.FluctuationCount > 0) != (q.FluctuationWindowS > 0) || !finite(q.StuckEpsilon) || !finite(q.JumpPercent) {
		return yingji.Invalid("monitor.bad_quality", "quality", "数据质量规则无效：各项不能为负，跳变百分比不超过 100，波动次数与时间窗须同时设置")
	}
	return ValidateThresholds(p.Thresholds, p.RangeMin, p.RangeMax)
}

func pointKindList() string {
	s := make([]string, len(PointKinds))
	for i, k := range PointKinds {
		s[i] = string(k.Kind) + "（" + k.Name + "）"
	}
	return strings.Join(s, "、")
}

// ValidateThresholds checks a point's threshold rules: unique ids, a direction, 1–4 levels
// numbered 1, 2, … with names, values ordered with the direction (ascending for high,
// descending for low) and inside the range when one is set, a non-negative hysteresis smaller
// than the gap between levels, and a minimum duration of at most a day.
func ValidateThresholds(ts []ThresholdRule, lo, hi *float64) error {
	bad := func(format string, args ...any) error {
		return yingji.Invalid("monitor.bad_thresholds", "thresholds", format, args...)
	}
	if len(ts) > 8 {
		return bad("每个监测点最多 8 条阈值规则")
	}
	ids := map[string]bool{}
	for i, t := range ts {
		n := i + 1
		if !ValidCode(t.ID) {
			return bad("第 %d 条阈值规则的编号应为 1–64 位字母、数字或 _ . -", n)
		}
		if ids[t.ID] {
			return bad("阈值规则编号“%s”重复", t.ID)
		}
		ids[t.ID] = true
		if t.Direction != string(rules.High) && t.Direction != string(rules.Low) {
			return bad("第 %d 条阈值规则的方向应为 high（超上限报警）或 low（低于下限报警）", n)
		}
		if len(t.Levels) == 0 || len(t.Levels) > 4 {
			return bad("第 %d 条阈值规则应有 1–4 个报警级别", n)
		}
		if !finite(t.Hysteresis) || t.Hysteresis < 0 {
			return bad("第 %d 条阈值规则的回差不能为负", n)
		}
		if t.MinDurationS < 0 || t.MinDurationS > 24*3600 {
			return bad("第 %d 条阈值规则的持续时间应在 0 到 86400 秒之间", n)
		}
		for j, l := range t.Levels {
			if l.Level != j+1 {
				return bad("第 %d 条阈值规则的级别应依次为 1、2、3、4（1 为最轻）", n)
			}
			if l.Name == "" || utf8.RuneCountInString(l.Name) > 20 {
				return bad("第 %d 条阈值规则第 %d 级须有名称（不超过 20 个字）", n, l.Level)
			}
			if !finite(l.Value) {
				return bad("第 %d 条阈值规则第 %d 级的阈值应为有限数字", n, l.Level)
			}
			if (lo != nil && l.Value < *lo) || (hi != nil && l.Value > *hi) {
				return bad("第 %d 条阈值规则第 %d 级的阈值 %g 超出量程", n, l.Level, l.Value)
			}
			if j == 0 {
				continue
			}
			prev := t.Levels[j-1].Value
			gap := l.Value - prev
			if t.Direction == string(rules.Low) {
				gap = -gap
			}
			if gap <= 0 {
				if t.Direction == string(rules.High) {
					return bad("第 %d 条阈值规则（超上限）各级阈值应逐级升高：第 %d 级 %g 不高于第 %d 级 %g", n, l.Level, l.Value, l.Level-1, prev)
				}
				return bad("第 %d 条阈值规则（低于下限）各级阈值应逐级降低：第 %d 级 %g 不低于第 %d 级 %g", n, l.Level, l.Value, l.Level-1, prev)
			}
			if t.Hysteresis >= gap {
				return bad("第 %d 条阈值规则的回差 %g 应小于相邻两级阈值之差 %g", n, t.Hysteresis, gap)
			}
		}
	}
	return nil
}

// enginePoint converts a point to the rule engine's form.
func (p *Point) enginePoint() rules.Point {
	ep := rules.Point{ID: p.ID, DeviceID: p.DeviceID, Name: p.Name, Unit: p.Unit}
	for _, t := range p.Thresholds {
		et := rules.Threshold{ID: t.ID, Direction: rules.Direction(t.Direction), Hysteresis: t.Hysteresis,
			MinDuration: time.Duration(t.MinDurationS) * time.Second}
		for _, l := range t.Levels {
			et.Levels = append(et.Levels, rules.Level{Level: l.Level, Name: l.Name, Value: l.Value})
		}
		ep.Thresholds = append(ep.Thresholds, et)
	}
	q := p.Quality
	ep.Quality = rules.Quality{RangeMin: p.RangeMin, RangeMax: p.RangeMax,
		StuckFor: time.Duration(q.StuckMinutes) * time.Minute, StuckEpsilon: q.StuckEpsilon,
		FluctuationCount: q.FluctuationCount, FluctuationWindow: time.Duration(q.FluctuationWindowS) * time.Second}
	if p.RangeMin != nil && p.RangeMax != nil {
		ep.Quality.JumpFraction = q.JumpPercent / 100
	}
	return ep
}

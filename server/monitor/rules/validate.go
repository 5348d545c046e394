package rules

import (
	"math"
	"strconv"

	"github.com/yingji/yingji/server/yingji"
)

// Validate checks a threshold rule: an id, a direction, 1–10 levels with finite values in
// order of severity (ascending for High, descending for Low), level numbers either all unset
// or positive and ascending, and no negative hysteresis or minimum duration. Errors are
// EINVALID with a Chinese message.
func (t *Threshold) Validate() error {
	if t.ID == "" || len(t.ID) > 64 {
		return yingji.Invalid("monitor.bad_threshold_id", "thresholds.id", "阈值规则编号不能为空，且不超过 64 个字符")
	}
	if t.Direction != High && t.Direction != Low {
		return yingji.Invalid("monitor.bad_direction", "thresholds.direction", "阈值规则 %s 的方向应为 high（高报）或 low（低报）", t.ID)
	}
	if len(t.Levels) == 0 || len(t.Levels) > 10 {
		return yingji.Invalid("monitor.bad_levels", "thresholds.levels", "阈值规则 %s 应有 1–10 个级别", t.ID)
	}
	numbered := t.Levels[0].Level != 0
	for i, lv := range t.Levels {
		if math.IsNaN(lv.Value) || math.IsInf(lv.Value, 0) {
			return yingji.Invalid("monitor.bad_level_value", "thresholds.levels", "阈值规则 %s 第 %d 级的阈值不是有效数字", t.ID, i+1)
		}
		if (lv.Level != 0) != numbered || lv.Level < 0 || (i > 0 && numbered && lv.Level <= t.Levels[i-1].Level) {
			return yingji.Invalid("monitor.bad_level_number", "thresholds.levels", "阈值规则 %s 的级别编号应全部留空，或为按严重程度递增的正整数", t.ID)
		}
		if len([]rune(lv.Name)) > 20 {
			return yingji.Invalid("monitor.bad_level_name", "thresholds.levels", "阈值规则 %s 的级别名称不超过 20 个字", t.ID)
		}
		if i == 0 {
			continue
		}
		prev := t.Levels[i-1].Value
		if t.Direction == High && lv.Value <= prev {
			return yingji.Invalid("monitor.bad_level_order", "thresholds.levels", "高报阈值规则 %s 的阈值应随级别升高而递增", t.ID)
		}
		if t.Direction == Low && lv.Value >= prev {
			return yingji.Invalid("monitor.bad_level_order", "thresholds.levels", "低报阈值规则 %s 的阈值应随级别升高而递减", t.ID)
		}
	}
	if math.IsNaN(t.Hysteresis) || math.IsInf(t.Hysteresis, 0) || t.Hysteresis < 0 {
		return yingji.Invalid("monitor.bad_hysteresis", "thresholds.hysteresis", "阈值规则 %s 的回差不能为负数", t.ID)
	}
	if t.MinDuration < 0 {
		return yingji.Invalid("monitor.bad_min_duration", "thresholds.min_duration", "阈值规则 %s 的持续时间不能为负数", t.ID)
	}
	return nil
}

// ValidateThresholds validates each rule of a point and that their ids are unique.
func ValidateThresholds(ts []Threshold) error {
	seen := make(map[string]bool, len(ts))
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			return err
		}
		if seen[ts[i].ID] {
			return yingji.Invalid("monitor.duplicate_threshold", "thresholds.id", "阈值规则编号 %s 重复", ts[i].ID)
		}
		seen[ts[i].ID] = true
	}
	return nil
}

// Validate checks data-quality settings: finite range ends with RangeMin < RangeMax when both
// are set, no negative durations, epsilon or delta, JumpFraction in [0, 1] and only with both
// range ends, and FluctuationCount and FluctuationWindow set together.
func (q *Quality) Validate() error {
	for _, f := range []*float64{q.RangeMin, q.RangeMax} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return yingji.Invalid("monitor.bad_range", "quality.range", "量程上下限不是有效数字")
		}
	}
	if q.RangeMin != nil && q.RangeMax != nil && *q.RangeMin >= *q.RangeMax {
		return yingji.Invalid("monitor.bad_range", "quality.range", "量程下限 %s 应小于上限 %s",
			strconv.FormatFloat(*q.RangeMin, 'f', -1, 64), strconv.FormatFloat(*q.RangeMax, 'f', -1, 64))
	}
	if q.StuckFor < 0 || q.FluctuationWindow < 0 || q.FluctuationCount < 0 ||
		!(q.StuckEpsilon >= 0) || !(q.FluctuationDelta >= 0) || math.IsInf(q.StuckEpsilon, 0) || math.IsInf(q.FluctuationDelta, 0) {
		return yingji.Invalid("monitor.bad_quality", "quality", "数据质量检查的时长、次数和变化量不能为负数")
	}
	if !(q.JumpFraction >= 0 && q.JumpFraction <= 1) {
		return yingji.Invalid("monitor.bad_jump", "quality.jump_fraction", "跳变比例应在 0 到 1 之间")
	}
	if q.JumpFraction > 0 && (q.RangeMin == nil || q.RangeMax == nil) {
		return yingji.Invalid("monitor.jump_needs_range", "quality.jump_fraction", "跳变检查需要设置量程上下限")
	}
	if (q.FluctuationCount > 0) != (q.FluctuationWindow > 0) {
		return yingji.Invalid("monitor.bad_fluctuation", "quality.fluctuation", "波动检查需要同时设置次数和时间窗口")
	}
	return nil
}

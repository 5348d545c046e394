package rules

import (
	"math"
	"strconv"
	"time"
)

// LevelName returns the name of a level for messages: lv.Name when set, otherwise the default
// 一级, 二级, 三级, 四级 … from its number.
func LevelName(lv Level) string {
	if lv.Name != "" {
		return lv.Name
	}
	return defaultLevelName(lv.Level)
}

var zhDigits = [...]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// defaultLevelName is 一级 … 十级 for 1 … 10 and "N级" beyond.
func defaultLevelName(n int) string {
	if n >= 1 && n < len(zhDigits) {
		return zhDigits[n] + "级"
	}
	return strconv.Itoa(n) + "级"
}

// formatValue prints a reading for people: at most 4 decimals, no trailing zeros, then the unit.
func formatValue(v float64, unit string) string {
	if math.Abs(v) < 1e12 {
		v = math.Round(v*1e4) / 1e4
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// formatDuration prints a duration in Chinese: "2 小时", "5 分钟", "30 秒", or "1 小时 30 分钟".
func formatDuration(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatInt(int64((d+time.Second/2)/time.Second), 10) + " 秒"
	}
	d = (d + time.Second/2).Truncate(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	out := ""
	if h > 0 {
		out = strconv.FormatInt(h, 10) + " 小时"
	}
	if m > 0 {
		if out != "" {
			out += " "
		}
		out += strconv.FormatInt(m, 10) + " 分钟"
	}
	if s > 0 {
		if out != "" {
			out += " "
		}
		out += strconv.FormatInt(s, 10) + " 秒"
	}
	return out
}

// pointLabel names a point in messages: its name, else its id.
func pointLabel(p *Point) string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

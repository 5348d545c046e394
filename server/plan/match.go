package plan

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metric is a quantity a start condition compares.
type Metric string

const (
	MetricDeaths       Metric = "deaths"         // 死亡（含失踪）人数，人
	MetricInjuries     Metric = "injuries"       // 重伤（含中毒）人数，人
	MetricAffected     Metric = "affected"       // 受影响（需紧急转移安置）人数，人
	MetricEconomicLoss Metric = "economic_loss"  // 直接经济损失，万元
	MetricRelease      Metric = "hazmat_release" // 危险化学品泄漏量，吨
	MetricWaterLevel   Metric = "water_level"    // 水位，米
	MetricOther        Metric = "other"          // 不能量化的条件，由人研判
)

// MetricInfo describes a metric.
type MetricInfo struct {
	Metric Metric `json:"metric"`
	Name   string `json:"name"`
	Unit   string `json:"unit"`
}

// Metrics lists the metrics.
var Metrics = []MetricInfo{
	{MetricDeaths, "死亡（含失踪）人数", "人"},
	{MetricInjuries, "重伤（含中毒）人数", "人"},
	{MetricAffected, "受影响需转移安置人数", "人"},
	{MetricEconomicLoss, "直接经济损失", "万元"},
	{MetricRelease, "危险化学品泄漏量", "吨"},
	{MetricWaterLevel, "水位", "米"},
	{MetricOther, "其他（人工研判）", ""},
}

func metricInfo(m Metric) (MetricInfo, bool) {
	for _, i := range Metrics {
		if i.Metric == m {
			return i, true
		}
	}
	return MetricInfo{}, false
}

// Comparison operators. "30 人以上" in Chinese plans includes 30 (>=); "以下" excludes (<).
var ops = map[string]string{">=": "≥", ">": "＞", "<=": "≤", "<": "＜"}

// Condition is one start condition of a response level: Metric Op Value, e.g. deaths >= 10.
// Subject narrows it to one water-level station or one chemical (empty: any). A condition of
// MetricOther has only Text and never matches by itself: a person judges it.
type Condition struct {
	Metric  Metric  `json:"metric"`
	Op      string  `json:"op"`
	Value   float64 `json:"value"`
	Subject string  `json:"subject"`
	Text    string  `json:"text"` // the plan's own wording, shown beside the rule
}

func (c *Condition) normalize() {
	c.Op, c.Subject, c.Text = strings.TrimSpace(c.Op), strings.TrimSpace(c.Subject), strings.TrimSpace(c.Text)
	if c.Op == "" && c.Metric != MetricOther {
		c.Op = ">="
	}
}

// Validate checks the condition; the error's text is Chinese.
func (c Condition) Validate() error {
	if _, ok := metricInfo(c.Metric); !ok {
		return errors.New("指标应为 deaths、injuries、affected、economic_loss、hazmat_release、water_level 或 other")
	}
	if runes(c.Text) > 500 || runes(c.Subject) > 100 {
		return errors.New("说明不超过 500 个字，对象不超过 100 个字")
	}
	if c.Metric == MetricOther {
		if c.Text == "" {
			return errors.New("不能量化的条件须写明条件内容")
		}
		return nil
	}
	if _, ok := ops[c.Op]; !ok {
		return errors.New("比较方式应为 >=、>、<= 或 <")
	}
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || c.Value < 0 && c.Metric != MetricWaterLevel {
		return errors.New("数值应为非负数")
	}
	return nil
}

// String is the rule in Chinese, e.g. "死亡（含失踪）人数 ≥ 10 人".
func (c Condition) String() string {
	if c.Metric == MetricOther {
		return c.Text
	}
	i, _ := metricInfo(c.Metric)
	s := i.Name
	if c.Subject != "" {
		s = c.Subject + " " + s
	}
	return fmt.Sprintf("%s %s %s%s", s, ops[c.Op], strconv.FormatFloat(c.Value, 'f', -1, 64), i.Unit)
}

func (c Condition) holds(v float64) bool {
	switch c.Op {
	case ">=":
		return v >= c.Value
	case ">":
		return v > c.Value
	case "<=":
		return v <= c.Value
	case "<":
		return v < c.Value
	}
	return false
}

// Figure is one known quantity of an event: deaths 3, or the water level 5.2 at 临江水文站.
type Figure struct {
	Metric  Metric  `json:"metric"`
	Subject string  `json:"subject"`
	Value   float64 `json:"value"`
}

// Figures are what is known of an event when a plan is matched against it.
type Figures struct {
	Class   EventClass `json:"class"`    // empty: not checked
	SubType string     `json:"sub_type"` // empty: not checked
	Values  []Figure   `json:"values"`
}

// Reason says which condition matched on which figure.
type Reason struct {
	Condition int     `json:"condition"` // index in the level's conditions
	Rule      string  `json:"rule"`      // the condition in Chinese
	Text      string  `json:"text"`      // the plan's wording
	Value     float64 `json:"value"`     // the figure compared
}

// Result is the outcome of Match.
type Result struct {
	Matched     bool     `json:"matched"`
	Level       int      `json:"level"`       // 1–4; 0 when nothing matched
	Reasons     []Reason `json:"reasons"`     // the conditions that held at Level
	Manual      []string `json:"manual"`      // unquantified conditions at or above the result, for a person to judge
	Explanation string   `json:"explanation"` // one Chinese sentence
}

// covers reports whether the plan covers the event type of f.
func covers(p Plan, f Figures) bool {
	if f.Class == "" || len(p.Content.Events) == 0 {
		return true
	}
	for _, e := range p.Content.Events {
		if e.Class == f.Class && (f.SubType == "" || e.SubType == "" || e.SubType == f.SubType) {
			return true
		}
	}
	return false
}

// value finds the figure a condition compares: same metric and, when the condition names a
// subject, the same subject. With several (two stations), the one that satisfies it first.
func value(c Condition, f Figures) (float64, bool) {
	found, best := false, 0.0
	for _, v := range f.Values {
		if v.Metric != c.Metric || (c.Subject != "" && v.Subject != c.Subject) {
			continue
		}
		if c.holds(v.Value) {
			return v.Value, true
		}
		if !found {
			found, best = true, v.Value
		}
	}
	return best, false
}

// Match evaluates the plan's response levels against the figures of an event, from 一级
// down, and answers the highest level whose start conditions hold: with match "any" one
// quantified condition that holds suffices; with "all" every condition must be quantified and
// hold. It is deterministic and pure: the same plan and figures give the same answer, with
// the conditions that decided it. A plan that does not cover the event's type matches nothing.
func Match(p Plan, f Figures) Result {
	r := Result{Reasons: []Reason{}, Manual: []string{}}
	if !covers(p, f) {
		r.Explanation = "该预案不适用于此类事件"
		return r
	}
	levels := append([]ResponseLevel(nil), p.Content.Levels...)
	for i := 1; i < len(levels); i++ { // by level, 一级 first
		for j := i; j > 0 && levels[j].Level < levels[j-1].Level; j-- {
			levels[j], levels[j-1] = levels[j-1], levels[j]
		}
	}
	for _, l := range levels {
		var held []Reason
		all := len(l.Conditions) > 0
		for i, c := range l.Conditions {
			if c.Metric == MetricOther {
				r.Manual = append(r.Manual, LevelName(l.Level)+"响应："+c.Text)
				all = false
				continue
			}
			v, ok := value(c, f)
			if ok {
				held = append(held, Reason{Condition: i, Rule: c.String(), Text: c.Text, Value: v})
			} else {
				all = false
			}
		}
		if (l.Match == "all" && all) || (l.Match != "all" && len(held) > 0) {
			r.Matched, r.Level, r.Reasons = true, l.Level, held
			rules := make([]string, len(held))
			for i, h := range held {
				rules[i] = fmt.Sprintf("第 %d 条“%s”（实际 %s）", h.Condition+1, h.Rule, strconv.FormatFloat(h.Value, 'f', -1, 64))
			}
			r.Explanation = fmt.Sprintf("满足%s响应启动条件%s", LevelName(l.Level), strings.Join(rules, "、"))
			return r
		}
	}
	r.Explanation = "未达到任何一级响应的量化启动条件"
	if len(r.Manual) > 0 {
		r.Explanation += "，另有不能量化的条件须人工研判"
	}
	return r
}

package rules_test

import (
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
)

func ptr(f float64) *float64 { return &f }

func qualityPoint(q rules.Quality) *rules.Point {
	return &rules.Point{ID: "p1", DeviceID: "d1", Name: "可燃气体浓度", Unit: "%LEL", Quality: q}
}

func TestEvaluateQuality(t *testing.T) {
	tests := []struct {
		name  string
		q     rules.Quality
		steps []step
	}{
		{"Range", rules.Quality{RangeMin: ptr(0), RangeMax: ptr(100)}, []step{
			{0, 50, ""},
			{1, 120, "range.raise:1"},
			{2, 130, ""},
			{3, 100, "range.clear"},
			{4, -5, "range.raise:1"},
			{5, 0, "range.clear"},
		}},
		{"RangeOneSided", rules.Quality{RangeMin: ptr(0)}, []step{
			{0, 1e6, ""},
			{1, -0.1, "range.raise:1"},
		}},
		{"StuckWithEpsilon", rules.Quality{StuckFor: 10 * time.Minute, StuckEpsilon: 0.01}, []step{
			{0, 5.0, ""},
			{300, 5.005, ""},
			{599, 4.995, ""},
			{600, 5.0, "stuck.raise:1"},
			{660, 5.0, ""},
			{720, 5.5, "stuck.clear"},
			{1200, 5.5, ""},
			{1320, 5.509, "stuck.raise:1"},
		}},
		{"StuckExact", rules.Quality{StuckFor: time.Minute}, []step{
			{0, 3, ""},
			{59, 3, ""},
			{60, 3, "stuck.raise:1"},
			{61, 3.0001, "stuck.clear"},
		}},
		{"StuckDriftIsNotStuck", rules.Quality{StuckFor: time.Minute, StuckEpsilon: 0.1}, []step{
			{0, 1.00, ""}, {20, 1.05, ""}, {40, 1.10, ""}, {60, 1.15, ""}, {80, 1.19, ""}, {100, 1.24, ""},
		}},
		{"Jump", rules.Quality{RangeMin: ptr(0), RangeMax: ptr(100), JumpFraction: 0.2}, []step{
			{0, 10, ""},
			{1, 25, ""},
			{2, 50, "jump.raise:1"},
			{3, 55, "jump.clear"},
			{4, 90, "jump.raise:1"}, // spike ...
			{5, 10, ""},             // ... and back: still jumping
			{6, 12, "jump.clear"},
			{7, 32, ""}, // exactly 20 % is not a jump
		}},
		{"JumpNeedsRange", rules.Quality{RangeMax: ptr(100), JumpFraction: 0.2}, []step{
			{0, 0, ""}, {1, 90, ""},
		}},
		{"Fluctuation", rules.Quality{FluctuationCount: 3, FluctuationWindow: time.Minute, FluctuationDelta: 0.5}, []step{
			{0, 10, ""},
			{10, 11, ""},
			{20, 10, ""}, // reversal 1
			{30, 11, ""}, // reversal 2
			{40, 10, "fluctuation.raise:1"},
			{50, 10.2, ""}, // below FluctuationDelta: not a move
			{60, 11, ""},   // reversal 4; the last three are 30, 40, 60
			{100, 12, "fluctuation.clear"},
			{110, 13, ""},
		}},
		{"MonotonicIsNoFluctuation", rules.Quality{FluctuationCount: 2, FluctuationWindow: time.Hour}, []step{
			{0, 1, ""}, {1, 2, ""}, {2, 2, ""}, {3, 3, ""}, {4, 4, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run(t, qualityPoint(tc.q), &rules.PointState{}, tc.steps)
		})
	}
}

func TestEvaluateQualityEventFields(t *testing.T) {
	p := qualityPoint(rules.Quality{RangeMin: ptr(0), RangeMax: ptr(100), JumpFraction: 0.2})
	st := &rules.PointState{}
	rules.Evaluate(p, st, rules.Reading{At: at(0), Value: 10})
	evs := rules.Evaluate(p, st, rules.Reading{At: at(1), Value: 120})
	want := []rules.Event{
		{Action: rules.Raise, Kind: rules.KindQuality, Cause: "quality:p1:range", DeviceID: "d1", PointID: "p1", RuleID: "range",
			Level: 1, LevelName: "一级", Value: 120, Threshold: 100, Message: "可燃气体浓度 读数 120 %LEL，超出量程（0～100 %LEL）", At: at(1)},
		{Action: rules.Raise, Kind: rules.KindQuality, Cause: "quality:p1:jump", DeviceID: "d1", PointID: "p1", RuleID: "jump",
			Level: 1, LevelName: "一级", Value: 120, Threshold: 20, Message: "可燃气体浓度 读数从 10 %LEL 突变为 120 %LEL，变化超过量程的 20%", At: at(1)},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v", evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, evs[i], want[i])
		}
	}
}

func TestEvaluateQualityTurnedOff(t *testing.T) {
	p := qualityPoint(rules.Quality{RangeMax: ptr(100), StuckFor: time.Second})
	st := &rules.PointState{}
	run(t, p, st, []step{{0, 200, "range.raise:1"}, {1, 200, "stuck.raise:1"}})
	p.Quality = rules.Quality{}
	evs := run(t, p, st, []step{{2, 200, "range.clear,stuck.clear"}, {3, 200, ""}})
	if evs[0].Cause != "quality:p1:range" || evs[1].Cause != "quality:p1:stuck" {
		t.Errorf("causes %q %q", evs[0].Cause, evs[1].Cause)
	}
}

func TestEvaluateThresholdAndQualityTogether(t *testing.T) {
	p := qualityPoint(rules.Quality{RangeMin: ptr(0), RangeMax: ptr(100)})
	p.Thresholds = []rules.Threshold{{ID: "gas", Direction: rules.High,
		Levels: []rules.Level{{Level: 1, Value: 25}, {Level: 2, Value: 50}}}}
	run(t, p, &rules.PointState{}, []step{
		{0, 10, ""},
		{1, 30, "raise:1"},
		{2, 105, "update:2,range.raise:1"}, // a saturated sensor still alarms
		{3, 20, "clear,range.clear"},
	})
}

func TestEvaluateQualityMessages(t *testing.T) {
	p := qualityPoint(rules.Quality{StuckFor: 90 * time.Minute, FluctuationCount: 2, FluctuationWindow: 90 * time.Second})
	st := &rules.PointState{}
	evs := run(t, p, st, []step{
		{0, 5, ""},
		{5400, 5, "stuck.raise:1"},
		{5401, 6, "stuck.clear"},
		{5402, 5, ""},
		{5403, 6, "fluctuation.raise:1"},
	})
	want := []string{
		"可燃气体浓度 读数 5 %LEL 已连续 1 小时 30 分钟无变化，疑似数据僵直",
		"可燃气体浓度 读数 6 %LEL，数据已恢复变化",
		"可燃气体浓度 读数 6 %LEL，1 分钟 30 秒内反复波动 2 次",
	}
	for i, w := range want {
		if evs[i].Message != w {
			t.Errorf("message %d: %q, want %q", i, evs[i].Message, w)
		}
	}
}

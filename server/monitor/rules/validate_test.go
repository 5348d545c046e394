package rules_test

import (
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

func TestThresholdValidate(t *testing.T) {
	ok := rules.Threshold{ID: "t", Direction: rules.High, Hysteresis: 1, MinDuration: time.Minute,
		Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}}
	mod := func(f func(*rules.Threshold)) rules.Threshold {
		c := ok
		c.Levels = append([]rules.Level(nil), ok.Levels...)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		t    rules.Threshold
		code string
	}{
		{"OK", ok, ""},
		{"OKLowUnnumbered", rules.Threshold{ID: "o2", Direction: rules.Low, Levels: []rules.Level{{Value: 19.5}, {Value: 18}}}, ""},
		{"ErrID", mod(func(t *rules.Threshold) { t.ID = "" }), "monitor.bad_threshold_id"},
		{"ErrDirection", mod(func(t *rules.Threshold) { t.Direction = "up" }), "monitor.bad_direction"},
		{"ErrNoLevels", mod(func(t *rules.Threshold) { t.Levels = nil }), "monitor.bad_levels"},
		{"ErrOrderHigh", mod(func(t *rules.Threshold) { t.Levels[1].Value = 60 }), "monitor.bad_level_order"},
		{"ErrOrderLow", mod(func(t *rules.Threshold) { t.Direction = rules.Low }), "monitor.bad_level_order"},
		{"ErrNumbers", mod(func(t *rules.Threshold) { t.Levels[1].Level = 1 }), "monitor.bad_level_number"},
		{"ErrMixedNumbers", mod(func(t *rules.Threshold) { t.Levels[1].Level = 0 }), "monitor.bad_level_number"},
		{"ErrHysteresis", mod(func(t *rules.Threshold) { t.Hysteresis = -1 }), "monitor.bad_hysteresis"},
		{"ErrMinDuration", mod(func(t *rules.Threshold) { t.MinDuration = -time.Second }), "monitor.bad_min_duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if got := code(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
		})
	}
	if err := rules.ValidateThresholds([]rules.Threshold{ok, ok}); code(err) != "monitor.duplicate_threshold" {
		t.Errorf("duplicate ids: %v", err)
	}
}

func TestQualityValidate(t *testing.T) {
	tests := []struct {
		name string
		q    rules.Quality
		code string
	}{
		{"OK", rules.DefaultQuality(ptr(0), ptr(100)), ""},
		{"OKOff", rules.Quality{}, ""},
		{"ErrRange", rules.Quality{RangeMin: ptr(5), RangeMax: ptr(5)}, "monitor.bad_range"},
		{"ErrNegative", rules.Quality{StuckFor: -time.Second}, "monitor.bad_quality"},
		{"ErrJump", rules.Quality{RangeMin: ptr(0), RangeMax: ptr(1), JumpFraction: 2}, "monitor.bad_jump"},
		{"ErrJumpNoRange", rules.Quality{JumpFraction: 0.2}, "monitor.jump_needs_range"},
		{"ErrFluctuation", rules.Quality{FluctuationCount: 3}, "monitor.bad_fluctuation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate()
			if got := code(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
			if err != nil && yingji.ErrorKind(err) != yingji.EINVALID {
				t.Errorf("kind %q", yingji.ErrorKind(err))
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	if got := rules.OfflineTimeout(time.Minute); got != 3*time.Minute {
		t.Errorf("OfflineTimeout(1m) = %v", got)
	}
	if got := rules.OfflineTimeout(0); got != rules.DefaultOfflineTimeout {
		t.Errorf("OfflineTimeout(0) = %v", got)
	}
	if q := rules.DefaultQuality(nil, ptr(100)); q.JumpFraction != 0 || q.StuckFor != 2*time.Hour {
		t.Errorf("DefaultQuality = %+v", q)
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return yingji.ErrorCode(err)
}

package rules_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/monitor/rules"
)

var t0 = time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)

// step is one reading at t0+sec and the events it must cause, written as "raise:2",
// "update:1", "clear", or several joined with ",".
type step struct {
	sec  float64
	v    float64
	want string
}

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// summary writes events compactly: action, then the level for raise and update.
func summary(evs []rules.Event) string {
	parts := make([]string, 0, len(evs))
	for _, e := range evs {
		s := string(e.Action)
		if e.Action != rules.Clear {
			s += fmt.Sprintf(":%d", e.Level)
		}
		if e.Kind == rules.KindQuality {
			s = e.RuleID + "." + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func run(t *testing.T, p *rules.Point, st *rules.PointState, steps []step) []rules.Event {
	t.Helper()
	var all []rules.Event
	for i, s := range steps {
		evs := rules.Evaluate(p, st, rules.Reading{PointID: p.ID, At: at(s.sec), Value: s.v})
		if got := summary(evs); got != s.want {
			t.Fatalf("step %d (t=%gs, v=%g): events %q, want %q (%+v)", i, s.sec, s.v, got, s.want, evs)
		}
		all = append(all, evs...)
	}
	return all
}

func tankPoint(ts ...rules.Threshold) *rules.Point {
	return &rules.Point{ID: "p1", DeviceID: "d1", Name: "1号储罐温度", Unit: "℃", Thresholds: ts}
}

func TestEvaluateThreshold(t *testing.T) {
	hazchem := rules.Threshold{ID: "temp", Direction: rules.High, Hysteresis: 2, MinDuration: 30 * time.Second,
		Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}}
	hover := rules.Threshold{ID: "h", Direction: rules.High, Hysteresis: 1, Levels: []rules.Level{{Value: 80}}}
	pending := rules.Threshold{ID: "m", Direction: rules.High, MinDuration: 30 * time.Second, Levels: []rules.Level{{Value: 80}}}
	oxygen := rules.Threshold{ID: "o2", Direction: rules.Low, Hysteresis: 0.3,
		Levels: []rules.Level{{Level: 1, Value: 19.5}, {Level: 2, Value: 18}}}
	flood := rules.Threshold{ID: "river", Direction: rules.High, Hysteresis: 0.05, Levels: []rules.Level{
		{Level: 1, Name: "蓝色", Value: 4.5}, {Level: 2, Name: "黄色", Value: 5.0},
		{Level: 3, Name: "橙色", Value: 5.5}, {Level: 4, Name: "红色", Value: 6.0}}}
	numbered := rules.Threshold{ID: "n", Direction: rules.High, Levels: []rules.Level{{Level: 2, Value: 10}, {Level: 3, Value: 20}}}

	tests := []struct {
		name  string
		rule  rules.Threshold
		steps []step
	}{
		{"LevelUpDownClear", hazchem, []step{
			{0, 65, ""},
			{10, 72, ""}, // level 1 pending since 10 s
			{20, 71, ""}, // still pending
			{40, 73, "raise:1"},
			{50, 85.2, ""}, // level 2 pending
			{80, 85.2, "update:2"},
			{90, 79, ""}, // within hysteresis of level 2 (78)
			{100, 77.9, "update:1"},
			{110, 69, ""}, // within hysteresis of level 1 (68)
			{120, 67.9, "clear"},
			{130, 67.9, ""},
		}},
		{"HoveringDoesNotFlap", hover, []step{
			{0, 80.1, "raise:1"},
			{1, 79.9, ""}, {2, 80.2, ""}, {3, 79.5, ""}, {4, 80, ""}, {5, 79.1, ""}, {6, 79, ""},
			{7, 78.9, "clear"},
			{8, 79.5, ""}, {9, 79.99, ""},
			{10, 80, "raise:1"},
		}},
		{"PendingCancelledByDip", pending, []step{
			{0, 81, ""},
			{20, 79, ""}, // dip cancels the pending run
			{35, 81, ""}, // new run
			{50, 81, ""},
			{64, 81, ""},
			{65, 81, "raise:1"},
		}},
		{"PendingWithoutLaterReadingStaysPending", pending, []step{
			{0, 81, ""},
			{29.9, 90, ""},
			{30, 79.9, ""}, // the 30th second arrives below: never raised
			{100, 79.9, ""},
		}},
		{"LowDirection", oxygen, []step{
			{0, 20.9, ""},
			{1, 19.5, "raise:1"},
			{2, 17.9, "update:2"},
			{3, 18.2, ""}, // within hysteresis of level 2 (18.3)
			{4, 18.4, "update:1"},
			{5, 19.7, ""},
			{6, 19.9, "clear"},
		}},
		{"FloodFourColours", flood, []step{
			{0, 4.2, ""},
			{1, 4.6, "raise:1"},
			{2, 6.1, "update:4"}, // straight to red
			{3, 5.96, ""},
			{4, 5.7, "update:3"},
			{5, 5.46, ""},
			{6, 5.3, "update:2"},
			{7, 4.0, "clear"}, // below every band: clears at once
		}},
		{"RiseThroughLevelsDuringPending", hazchem, []step{
			{0, 75, ""},
			{10, 85, ""},
			{30, 85, "raise:1"}, // level 1 has lasted 30 s; level 2 only 20 s
			{40, 85, "update:2"},
			{50, 60, "clear"},
		}},
		{"ExplicitLevelNumbers", numbered, []step{
			{0, 10, "raise:2"},
			{1, 25, "update:3"},
			{2, 5, "clear"},
		}},
		{"OutOfOrderIgnored", hover, []step{
			{10, 85, "raise:1"},
			{5, 10, ""},  // late store-and-forward reading: ignored
			{9, 90, ""},  // also older than 10 s
			{10, 85, ""}, // same time as the last: evaluated, no change
			{20, 10, "clear"},
			{15, 90, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run(t, tankPoint(tc.rule), &rules.PointState{}, tc.steps)
		})
	}
}

func TestEvaluateEventFields(t *testing.T) {
	p := tankPoint(rules.Threshold{ID: "temp", Direction: rules.High, Hysteresis: 2,
		Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}})
	st := &rules.PointState{}
	evs := run(t, p, st, []step{{0, 85.2, "raise:2"}, {1, 75, "update:1"}, {2, 60, "clear"}})
	want := []rules.Event{
		{Action: rules.Raise, Kind: rules.KindThreshold, Cause: "threshold:p1:temp", DeviceID: "d1", PointID: "p1", RuleID: "temp",
			Level: 2, LevelName: "二级", Value: 85.2, Threshold: 80, Message: "1号储罐温度 85.2 ℃，超过二级阈值 80 ℃", At: at(0)},
		{Action: rules.Update, Kind: rules.KindThreshold, Cause: "threshold:p1:temp", DeviceID: "d1", PointID: "p1", RuleID: "temp",
			Level: 1, LevelName: "一级", Value: 75, Threshold: 70, Message: "1号储罐温度 75 ℃，回落至一级（阈值 70 ℃）", At: at(1)},
		{Action: rules.Clear, Kind: rules.KindThreshold, Cause: "threshold:p1:temp", DeviceID: "d1", PointID: "p1", RuleID: "temp",
			Value: 60, Threshold: 70, Message: "1号储罐温度 60 ℃，已恢复正常", At: at(2)},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events", len(evs))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, evs[i], want[i])
		}
	}

	low := &rules.Point{ID: "o", DeviceID: "d", Name: "氧气浓度", Unit: "%VOL",
		Thresholds: []rules.Threshold{{ID: "l", Direction: rules.Low, Levels: []rules.Level{{Name: "低报", Value: 19.5}}}}}
	evs = rules.Evaluate(low, &rules.PointState{}, rules.Reading{At: t0, Value: 18.75})
	if len(evs) != 1 || evs[0].Message != "氧气浓度 18.75 %VOL，低于低报阈值 19.5 %VOL" || evs[0].LevelName != "低报" || evs[0].Level != 1 {
		t.Errorf("low event: %+v", evs)
	}
}

// TestEvaluateStateJSON stops mid-pending and mid-check, persists the state as JSON, and
// checks the restored state goes on exactly like the one kept in memory.
func TestEvaluateStateJSON(t *testing.T) {
	lo, hi := 0.0, 100.0
	p := tankPoint(rules.Threshold{ID: "temp", Direction: rules.High, Hysteresis: 2, MinDuration: 30 * time.Second,
		Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}})
	p.Quality = rules.Quality{RangeMin: &lo, RangeMax: &hi, StuckFor: time.Minute, JumpFraction: 0.5,
		FluctuationCount: 3, FluctuationWindow: time.Minute}
	first := []step{{0, 50, ""}, {10, 75, ""}, {20, 85, ""}, {45, 85, "raise:1"}, {46, 85, ""}}
	rest := []step{{50, 85, "update:2"}, {60, 81, ""}, {70, 85, ""}, {130, 85, "stuck.raise:1"}, {140, 60, "clear,stuck.clear"}}

	mem := &rules.PointState{}
	run(t, p, mem, first)
	b, err := json.Marshal(mem)
	if err != nil {
		t.Fatal(err)
	}
	restored := &rules.PointState{}
	if err := json.Unmarshal(b, restored); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(restored)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the state:\n%s\n%s", b, b2)
	}
	memEvents := run(t, p, mem, rest)
	restEvents := run(t, p, restored, rest)
	for i := range memEvents {
		if memEvents[i] != restEvents[i] {
			t.Errorf("event %d differs after restore: %+v vs %+v", i, memEvents[i], restEvents[i])
		}
	}
}

func TestEvaluateRuleChanges(t *testing.T) {
	a := rules.Threshold{ID: "a", Direction: rules.High, Levels: []rules.Level{{Value: 10}}}
	b := rules.Threshold{ID: "b", Direction: rules.High, Levels: []rules.Level{{Value: 50}}}
	p := tankPoint(a, b)
	st := &rules.PointState{}
	run(t, p, st, []step{{0, 60, "raise:1,raise:1"}})

	t.Run("ReorderKeepsState", func(t *testing.T) {
		p.Thresholds = []rules.Threshold{b, a}
		run(t, p, st, []step{{1, 60, ""}})
	})
	t.Run("RemovedActiveRuleClears", func(t *testing.T) {
		p.Thresholds = []rules.Threshold{a}
		evs := run(t, p, st, []step{{2, 60, "clear"}})
		if evs[0].Cause != "threshold:p1:b" {
			t.Errorf("cleared %q", evs[0].Cause)
		}
	})
	t.Run("LevelsChangedReevaluates", func(t *testing.T) {
		a2 := a
		a2.Levels = []rules.Level{{Value: 10}, {Value: 55}}
		p.Thresholds = []rules.Threshold{a2}
		run(t, p, st, []step{{3, 60, "update:2"}})
	})
	t.Run("AllRulesRemoved", func(t *testing.T) {
		p.Thresholds = nil
		run(t, p, st, []step{{4, 60, "clear"}, {5, 60, ""}})
	})
}

func TestEvaluateNoRules(t *testing.T) {
	p := &rules.Point{ID: "p", DeviceID: "d"}
	st := &rules.PointState{}
	if evs := rules.Evaluate(p, st, rules.Reading{At: t0, Value: 1e9}); evs != nil {
		t.Fatalf("events %v", evs)
	}
	if !st.LastAt.IsZero() {
		t.Errorf("state touched: %+v", st)
	}
}

func TestEvaluateIgnoresBadReadings(t *testing.T) {
	p := tankPoint(rules.Threshold{ID: "x", Direction: rules.High, Levels: []rules.Level{{Value: 1}}})
	st := &rules.PointState{}
	nan := 0.0
	nan = nan / nan
	for _, r := range []rules.Reading{{At: t0, Value: nan}, {Value: 5}} {
		if evs := rules.Evaluate(p, st, r); evs != nil {
			t.Errorf("reading %+v: events %v", r, evs)
		}
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("state not serialisable: %v", err)
	}
}

func TestEvaluateNoAllocs(t *testing.T) {
	lo, hi := 0.0, 200.0
	p := tankPoint(rules.Threshold{ID: "temp", Direction: rules.High, Hysteresis: 2, MinDuration: 30 * time.Second,
		Levels: []rules.Level{{Level: 1, Value: 70}, {Level: 2, Value: 80}}})
	p.Quality = rules.Quality{RangeMin: &lo, RangeMax: &hi, StuckFor: time.Hour, JumpFraction: 0.2,
		FluctuationCount: 5, FluctuationWindow: time.Minute, FluctuationDelta: 0.5}
	st := &rules.PointState{}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		v := 50 + float64(i%7)*0.1
		if evs := rules.Evaluate(p, st, rules.Reading{At: at(float64(i)), Value: v}); evs != nil {
			t.Fatalf("unexpected events %v", evs)
		}
	})
	if allocs != 0 {
		t.Errorf("Evaluate allocates %v times per reading without events", allocs)
	}
}

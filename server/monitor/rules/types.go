// Package rules is the monitoring rule engine: pure functions from a point's readings to alert
// events (thresholds with levels, hysteresis and a minimum duration; data-quality checks) and a
// heartbeat tracker that reports devices going offline and back online. It does no I/O; the
// monitor service feeds it and persists its state.
package rules

import "time"

// Kind is what caused an event.
type Kind string

const (
	KindThreshold Kind = "threshold" // a value beyond a threshold level
	KindOffline   Kind = "offline"   // a device missed its heartbeat timeout
	KindQuality   Kind = "quality"   // a data-quality anomaly: stuck, out of range, jump, fluctuation
)

// Action is what an event does to the alert of its cause.
type Action string

const (
	Raise  Action = "raise"  // the condition started (after its minimum duration)
	Update Action = "update" // the condition is still on at another level
	Clear  Action = "clear"  // the condition ended (value back inside the hysteresis band, device back online)
)

// Event is one change of a condition. Cause is stable for a device + rule (+ point), so the
// alert service keeps one open alert per cause.
type Event struct {
	Action    Action    `json:"action"`
	Kind      Kind      `json:"kind"`
	Cause     string    `json:"cause"`      // e.g. "threshold:<point id>:<rule id>", "offline:<device id>", "quality:<point id>:stuck"
	DeviceID  string    `json:"device_id"`  // always set
	PointID   string    `json:"point_id"`   // "" for offline
	RuleID    string    `json:"rule_id"`    // threshold rule id; "offline"; "stuck", "range", "jump", "fluctuation"
	Level     int       `json:"level"`      // severity, 1 = least; 0 on Clear
	LevelName string    `json:"level_name"` // 一级/二级 or 蓝/黄/橙/红 as the rule names its levels
	Value     float64   `json:"value"`      // the reading that caused the event
	Threshold float64   `json:"threshold"`  // the limit crossed (threshold events)
	Message   string    `json:"message"`    // a short Chinese description for people
	At        time.Time `json:"at"`         // time of the reading (or of the missed deadline)
}

// Direction says which side of a threshold is abnormal.
type Direction string

const (
	High Direction = "high" // abnormal at or above the level's value (H, HH)
	Low  Direction = "low"  // abnormal at or below the level's value (L, LL)
)

// Level is one step of a threshold rule: Level 1 is the least severe.
type Level struct {
	Level int     `json:"level"`
	Name  string  `json:"name"` // 一级, 二级 / 蓝色, 黄色, 橙色, 红色
	Value float64 `json:"value"`
}

// Threshold is a threshold rule on one point. A level is entered when the value crosses its
// Value for at least MinDuration; it is left when the value comes back past Value∓Hysteresis.
type Threshold struct {
	ID          string        `json:"id"`
	Direction   Direction     `json:"direction"`
	Levels      []Level       `json:"levels"` // ascending severity
	Hysteresis  float64       `json:"hysteresis"`
	MinDuration time.Duration `json:"min_duration"`
}

// Quality are a point's data-quality checks; a zero field turns its check off.
type Quality struct {
	RangeMin, RangeMax *float64      // instrument/physical range: outside it is an anomaly
	StuckFor           time.Duration // value changing less than StuckEpsilon for this long
	StuckEpsilon       float64
	JumpFraction       float64       // a change of more than this fraction of the range in one sample
	FluctuationCount   int           // this many direction reversals ...
	FluctuationWindow  time.Duration // ... within this window
	FluctuationDelta   float64       // a move counts for fluctuation only when |Δ| ≥ this (0: any change)
}

// Point is a monitoring point as the engine needs it.
type Point struct {
	ID         string
	DeviceID   string
	Name       string // for messages, e.g. "1号储罐温度"
	Unit       string
	Thresholds []Threshold
	Quality    Quality
}

// Reading is one value of a point.
type Reading struct {
	PointID string
	At      time.Time
	Value   float64
}

package rules

import (
	"math"
	"time"
)

// PointState is the rule state of one point between readings. The monitor service keeps one per
// point, passes it to every Evaluate of that point (never concurrently) and persists it as JSON,
// so pending minimum durations, active levels and quality checks survive a restart. The zero
// value is the state of a point never evaluated.
type PointState struct {
	// LastAt and LastValue are the newest reading evaluated; older readings are ignored.
	LastAt     time.Time        `json:"last_at,omitzero"`
	LastValue  float64          `json:"last_value"`
	Thresholds []ThresholdState `json:"thresholds,omitempty"`
	Quality    QualityState     `json:"quality"`
}

// ThresholdState is the state of one threshold rule of a point.
type ThresholdState struct {
	RuleID string `json:"rule_id"`
	// Level is the number (Level.Level) of the active level; 0 when no level is active.
	Level int `json:"level,omitempty"`
	// Since has one entry per level of the rule: the time of the first reading of the current
	// unbroken run of readings reaching that level, zero when the last reading did not reach it.
	// A level becomes active when its run has lasted MinDuration.
	Since []time.Time `json:"since,omitempty"`
}

// QualityState is the state of a point's data-quality checks.
type QualityState struct {
	// Active checks: an event was raised and not yet cleared.
	Range       bool `json:"range,omitempty"`
	Stuck       bool `json:"stuck,omitempty"`
	Jump        bool `json:"jump,omitempty"`
	Fluctuation bool `json:"fluctuation,omitempty"`
	// StuckSince is the first reading of the current run of readings that stayed within
	// StuckEpsilon of StuckValue.
	StuckSince time.Time `json:"stuck_since,omitzero"`
	StuckValue float64   `json:"stuck_value,omitempty"`
	// Direction is the sign (+1/-1) of the last move counted for fluctuation, 0 before any.
	Direction int8 `json:"direction,omitempty"`
	// Reversals are the times of the latest direction reversals inside the fluctuation window,
	// oldest first, at most FluctuationCount of them.
	Reversals []time.Time `json:"reversals,omitempty"`
}

// Evaluate runs the threshold rules and the data-quality checks of p on reading r, updates st
// and returns the events the reading causes (nil, without allocating, when none): threshold
// events first, in rule order, then quality events in the order range, stuck, jump, fluctuation.
//
// Readings older than st.LastAt (store-and-forward data arriving late or out of order) are
// ignored for rule state and return nil: they are history to store, not the current
// condition. A reading at the same time as the last is evaluated. Readings without a time and
// non-finite values (NaN, ±Inf, which the ingest rejects) are ignored too.
//
// Durations (MinDuration, StuckFor, FluctuationWindow) are measured on reading timestamps, not
// on the wall clock: a pending level becomes active on the first reading at or after its
// MinDuration, never between readings.
//
// When the point's rules change, the state follows by rule id; an active rule that was removed,
// and an active quality check that was turned off, are cleared with a Clear event. Evaluate is
// pure and deterministic; it must not be called concurrently for the same st.
func Evaluate(p *Point, st *PointState, r Reading) []Event {
	if len(p.Thresholds) == 0 && len(st.Thresholds) == 0 && !p.Quality.enabled() && !st.Quality.active() {
		return nil
	}
	if r.At.IsZero() || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return nil
	}
	if !st.LastAt.IsZero() && r.At.Before(st.LastAt) {
		return nil
	}
	var evs []Event
	if !st.matches(p.Thresholds) {
		evs = st.reconcile(p, r, evs)
	}
	for i := range p.Thresholds {
		evs = evalThreshold(p, &p.Thresholds[i], &st.Thresholds[i], r, evs)
	}
	evs = evalQuality(p, st, r, evs)
	st.LastAt, st.LastValue = r.At, r.Value
	return evs
}

// matches reports whether st.Thresholds lines up with ts, rule by rule.
func (st *PointState) matches(ts []Threshold) bool {
	if len(st.Thresholds) != len(ts) {
		return false
	}
	for i := range ts {
		if st.Thresholds[i].RuleID != ts[i].ID || len(st.Thresholds[i].Since) != len(ts[i].Levels) {
			return false
		}
	}
	return true
}

// reconcile rebuilds st.Thresholds for the rules ts after a rule change: a rule keeps its state
// by id (its pending runs only when its number of levels is unchanged); the state of a removed
// rule is dropped, with a Clear event when it was active.
func (st *PointState) reconcile(p *Point, r Reading, evs []Event) []Event {
	old := st.Thresholds
	used := make([]bool, len(old))
	next := make([]ThresholdState, len(p.Thresholds))
	for i := range p.Thresholds {
		t := &p.Thresholds[i]
		n := &next[i]
		n.RuleID = t.ID
		for j := range old {
			if !used[j] && old[j].RuleID == t.ID {
				used[j] = true
				n.Level = old[j].Level
				if len(old[j].Since) == len(t.Levels) {
					n.Since = old[j].Since
				}
				break
			}
		}
		if n.Since == nil && len(t.Levels) > 0 {
			n.Since = make([]time.Time, len(t.Levels))
		}
	}
	for j := range old {
		if !used[j] && old[j].Level != 0 {
			evs = append(evs, Event{
				Action:   Clear,
				Kind:     KindThreshold,
				Cause:    thresholdCause(p.ID, old[j].RuleID),
				DeviceID: p.DeviceID,
				PointID:  p.ID,
				RuleID:   old[j].RuleID,
				Value:    r.Value,
				Message:  pointLabel(p) + " 的阈值规则已删除，报警解除",
				At:       r.At,
			})
		}
	}
	st.Thresholds = next
	return evs
}

var timeZero time.Time

package rules

import (
	"math"
	"strconv"
	"time"
)

// Data-quality checks (the online patrol's 在线巡查 rules), each its own cause
// "quality:<point id>:<check>" with RuleID the check name, Level 1:
//
//   - range: the value is below RangeMin or above RangeMax. Raised and cleared at once.
//     Out-of-range readings still go through the threshold rules: a saturated sensor may be a
//     real emergency.
//   - stuck: StuckFor > 0. Readings have stayed within StuckEpsilon of the first reading of the
//     run (exactly equal when StuckEpsilon is 0) for at least StuckFor of reading time. Cleared
//     by the first reading that moves away; that reading starts a new run.
//   - jump: JumpFraction > 0 and both range ends known with RangeMax > RangeMin. The change
//     from the previous reading is larger than JumpFraction × (RangeMax − RangeMin). Cleared by
//     the next reading whose change is within that bound.
//   - fluctuation: FluctuationCount > 0 and FluctuationWindow > 0. A move is the change from
//     the previous reading when non-zero and at least FluctuationDelta; a reversal is a move
//     against the previous move. Raised when FluctuationCount reversals fall within
//     FluctuationWindow ending at the reading; cleared when fewer do.
//
// A check turned off while raised is cleared on the next reading.

// Names of the data-quality checks, used as Event.RuleID and in the cause.
const (
	CheckRange       = "range"
	CheckStuck       = "stuck"
	CheckJump        = "jump"
	CheckFluctuation = "fluctuation"
)

func (q *Quality) rangeOn() bool { return q.RangeMin != nil || q.RangeMax != nil }
func (q *Quality) stuckOn() bool { return q.StuckFor > 0 }
func (q *Quality) jumpOn() bool {
	return q.JumpFraction > 0 && q.RangeMin != nil && q.RangeMax != nil && *q.RangeMax > *q.RangeMin
}
func (q *Quality) fluctuationOn() bool { return q.FluctuationCount > 0 && q.FluctuationWindow > 0 }

// enabled reports whether any check is on.
func (q *Quality) enabled() bool {
	return q.rangeOn() || q.stuckOn() || q.jumpOn() || q.fluctuationOn()
}

// active reports whether any check is raised.
func (s *QualityState) active() bool { return s.Range || s.Stuck || s.Jump || s.Fluctuation }

func qualityEvent(p *Point, check string, raise bool, r Reading, msg string) Event {
	ev := Event{
		Action:   Clear,
		Kind:     KindQuality,
		Cause:    "quality:" + p.ID + ":" + check,
		DeviceID: p.DeviceID,
		PointID:  p.ID,
		RuleID:   check,
		Value:    r.Value,
		Message:  msg,
		At:       r.At,
	}
	if raise {
		ev.Action = Raise
		ev.Level = 1
		ev.LevelName = defaultLevelName(1)
	}
	return ev
}

func evalQuality(p *Point, st *PointState, r Reading, evs []Event) []Event {
	q, s := &p.Quality, &st.Quality
	if !q.enabled() && !s.active() {
		return evs
	}
	v := r.Value
	hasPrev := !st.LastAt.IsZero()
	name := pointLabel(p)

	// range
	if q.rangeOn() {
		low := q.RangeMin != nil && v < *q.RangeMin
		high := q.RangeMax != nil && v > *q.RangeMax
		switch {
		case (low || high) && !s.Range:
			s.Range = true
			ev := qualityEvent(p, CheckRange, true, r, name+" 读数 "+formatValue(v, p.Unit)+"，超出量程"+rangeText(q, p.Unit))
			if low {
				ev.Threshold = *q.RangeMin
			} else {
				ev.Threshold = *q.RangeMax
			}
			evs = append(evs, ev)
		case !low && !high && s.Range:
			s.Range = false
			evs = append(evs, qualityEvent(p, CheckRange, false, r, name+" 读数 "+formatValue(v, p.Unit)+"，已回到量程内"))
		}
	} else if s.Range {
		s.Range = false
		evs = append(evs, qualityEvent(p, CheckRange, false, r, name+" 的超量程检查已关闭，异常解除"))
	}

	// stuck
	if q.stuckOn() {
		d := math.Abs(v - s.StuckValue)
		if s.StuckSince.IsZero() || (v != s.StuckValue && d >= q.StuckEpsilon) {
			s.StuckSince, s.StuckValue = r.At, v
			if s.Stuck {
				s.Stuck = false
				evs = append(evs, qualityEvent(p, CheckStuck, false, r, name+" 读数 "+formatValue(v, p.Unit)+"，数据已恢复变化"))
			}
		} else if !s.Stuck && r.At.Sub(s.StuckSince) >= q.StuckFor {
			s.Stuck = true
			evs = append(evs, qualityEvent(p, CheckStuck, true, r,
				name+" 读数 "+formatValue(v, p.Unit)+" 已连续 "+formatDuration(r.At.Sub(s.StuckSince))+"无变化，疑似数据僵直"))
		}
	} else {
		s.StuckSince, s.StuckValue = timeZero, 0
		if s.Stuck {
			s.Stuck = false
			evs = append(evs, qualityEvent(p, CheckStuck, false, r, name+" 的数据不变化检查已关闭，异常解除"))
		}
	}

	// jump
	if q.jumpOn() {
		if hasPrev {
			limit := q.JumpFraction * (*q.RangeMax - *q.RangeMin)
			jumped := math.Abs(v-st.LastValue) > limit
			switch {
			case jumped && !s.Jump:
				s.Jump = true
				ev := qualityEvent(p, CheckJump, true, r, name+" 读数从 "+formatValue(st.LastValue, p.Unit)+" 突变为 "+
					formatValue(v, p.Unit)+"，变化超过量程的 "+formatValue(q.JumpFraction*100, "")+"%")
				ev.Threshold = limit
				evs = append(evs, ev)
			case !jumped && s.Jump:
				s.Jump = false
				evs = append(evs, qualityEvent(p, CheckJump, false, r, name+" 读数 "+formatValue(v, p.Unit)+"，数据跳变已恢复"))
			}
		}
	} else if s.Jump {
		s.Jump = false
		evs = append(evs, qualityEvent(p, CheckJump, false, r, name+" 的数据跳变检查已关闭，异常解除"))
	}

	// fluctuation
	if q.fluctuationOn() {
		if hasPrev {
			evs = evalFluctuation(p, s, st.LastValue, r, evs)
		}
	} else {
		s.Direction, s.Reversals = 0, nil
		if s.Fluctuation {
			s.Fluctuation = false
			evs = append(evs, qualityEvent(p, CheckFluctuation, false, r, name+" 的数据波动检查已关闭，异常解除"))
		}
	}
	return evs
}

func evalFluctuation(p *Point, s *QualityState, prev float64, r Reading, evs []Event) []Event {
	q := &p.Quality
	n := q.FluctuationCount
	if d := r.Value - prev; d != 0 && math.Abs(d) >= q.FluctuationDelta {
		dir := int8(1)
		if d < 0 {
			dir = -1
		}
		if s.Direction != 0 && dir != s.Direction {
			if s.Reversals == nil {
				s.Reversals = make([]time.Time, 0, n)
			}
			if len(s.Reversals) >= n {
				k := len(s.Reversals) - n + 1
				copy(s.Reversals, s.Reversals[k:])
				s.Reversals = s.Reversals[:n-1]
			}
			s.Reversals = append(s.Reversals, r.At)
		}
		s.Direction = dir
	}
	k := 0
	for k < len(s.Reversals) && r.At.Sub(s.Reversals[k]) > q.FluctuationWindow {
		k++
	}
	if k > 0 {
		copy(s.Reversals, s.Reversals[k:])
		s.Reversals = s.Reversals[:len(s.Reversals)-k]
	}
	on := len(s.Reversals) >= n
	switch {
	case on && !s.Fluctuation:
		s.Fluctuation = true
		evs = append(evs, qualityEvent(p, CheckFluctuation, true, r, pointLabel(p)+" 读数 "+formatValue(r.Value, p.Unit)+
			"，"+formatDuration(q.FluctuationWindow)+"内反复波动 "+strconv.Itoa(len(s.Reversals))+" 次"))
	case !on && s.Fluctuation:
		s.Fluctuation = false
		evs = append(evs, qualityEvent(p, CheckFluctuation, false, r, pointLabel(p)+" 读数 "+formatValue(r.Value, p.Unit)+"，数据波动已平稳"))
	}
	return evs
}

// rangeText prints the instrument range as "（0～100 ℃）", "（≥ 0 ℃）" or "（≤ 100 ℃）".
func rangeText(q *Quality, unit string) string {
	switch {
	case q.RangeMin != nil && q.RangeMax != nil:
		return "（" + formatValue(*q.RangeMin, "") + "～" + formatValue(*q.RangeMax, unit) + "）"
	case q.RangeMin != nil:
		return "（≥ " + formatValue(*q.RangeMin, unit) + "）"
	default:
		return "（≤ " + formatValue(*q.RangeMax, unit) + "）"
	}
}

package rules

// Threshold semantics, per rule and reading v:
//
//   - v reaches a level when v >= Value (High) or v <= Value (Low).
//   - A level above the active one becomes active once readings have reached it without a
//     break for MinDuration (a reading that does not reach it cancels the pending run). When
//     several are due, the most severe wins.
//   - The active level is held while v stays within Hysteresis of it (High: v >= Value -
//     Hysteresis; Low: v <= Value + Hysteresis). Otherwise the rule falls at once to the most
//     severe lower level still held that way, or clears.
//
// Raise: no level → a level; Update: active level changed; Clear: active level → none.

func thresholdCause(pointID, ruleID string) string {
	return "threshold:" + pointID + ":" + ruleID
}

// reaches reports whether v is at or beyond a level's value.
func reaches(t *Threshold, v, value float64) bool {
	if t.Direction == Low {
		return v <= value
	}
	return v >= value
}

// holds reports whether v is still inside the hysteresis band of a level.
func holds(t *Threshold, v, value float64) bool {
	h := t.Hysteresis
	if h < 0 {
		h = 0
	}
	if t.Direction == Low {
		return v <= value+h
	}
	return v >= value-h
}

// levelNumber is the number of the level at index i: Level.Level, or i+1 when unset.
func levelNumber(t *Threshold, i int) int {
	if n := t.Levels[i].Level; n > 0 {
		return n
	}
	return i + 1
}

// levelIndex finds the index of the active level number n: the most severe level whose number
// is at most n (so a renumbered level maps to its nearest), or -1.
func levelIndex(t *Threshold, n int) int {
	if n <= 0 {
		return -1
	}
	idx := -1
	for i := range t.Levels {
		if levelNumber(t, i) <= n {
			idx = i
		}
	}
	return idx
}

func evalThreshold(p *Point, t *Threshold, s *ThresholdState, r Reading, evs []Event) []Event {
	v := r.Value
	for j := range t.Levels {
		if reaches(t, v, t.Levels[j].Value) {
			if s.Since[j].IsZero() {
				s.Since[j] = r.At
			}
		} else {
			s.Since[j] = timeZero
		}
	}
	a := levelIndex(t, s.Level)
	next := a
	for j := len(t.Levels) - 1; j > a; j-- {
		if !s.Since[j].IsZero() && r.At.Sub(s.Since[j]) >= t.MinDuration {
			next = j
			break
		}
	}
	if next == a && a >= 0 {
		next = -1
		for j := a; j >= 0; j-- {
			if holds(t, v, t.Levels[j].Value) {
				next = j
				break
			}
		}
	}
	num := 0
	if next >= 0 {
		num = levelNumber(t, next)
	}
	if num == s.Level {
		return evs
	}
	prev := s.Level
	s.Level = num
	ev := Event{
		Kind:     KindThreshold,
		Cause:    thresholdCause(p.ID, t.ID),
		DeviceID: p.DeviceID,
		PointID:  p.ID,
		RuleID:   t.ID,
		Value:    v,
		At:       r.At,
	}
	val := formatValue(v, p.Unit)
	switch {
	case num == 0:
		ev.Action = Clear
		if a >= 0 {
			ev.Threshold = t.Levels[a].Value
		}
		ev.Message = pointLabel(p) + " " + val + "，已恢复正常"
	default:
		lv := t.Levels[next]
		ev.Action = Update
		if prev == 0 {
			ev.Action = Raise
		}
		ev.Level = num
		ev.LevelName = LevelName(Level{Level: num, Name: lv.Name})
		ev.Threshold = lv.Value
		limit := formatValue(lv.Value, p.Unit)
		switch {
		case num > prev && t.Direction == Low:
			ev.Message = pointLabel(p) + " " + val + "，低于" + ev.LevelName + "阈值 " + limit
		case num > prev:
			ev.Message = pointLabel(p) + " " + val + "，超过" + ev.LevelName + "阈值 " + limit
		case t.Direction == Low:
			ev.Message = pointLabel(p) + " " + val + "，回升至" + ev.LevelName + "（阈值 " + limit + "）"
		default:
			ev.Message = pointLabel(p) + " " + val + "，回落至" + ev.LevelName + "（阈值 " + limit + "）"
		}
	}
	return append(evs, ev)
}

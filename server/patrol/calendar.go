// Package patrol holds checklists (巡查清单) with their schedule calendar, and patrol records
// (巡查记录): an append-only synced collection written offline on phones. A synced patrol raises
// hazards for uncontrolled measures and flags implausible patrols (弄虚作假) against the
// enterprise's credit score.
package patrol

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai on servers without a zone database
)

// Zone is where schedules are computed: Asia/Shanghai (UTC+8).
var Zone = mustZone()

func mustZone() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic("patrol: no Asia/Shanghai zone: " + err.Error())
	}
	return z
}

// Frequencies of a checklist.
const (
	Daily   = "daily"
	Weekly  = "weekly" // weeks start on Monday
	Monthly = "monthly"
	Shift   = "shift" // one period per shift; shifts start at the given times of day
)

// Frequencies lists the known frequencies.
var Frequencies = []string{Daily, Weekly, Monthly, Shift}

// Period statuses.
const (
	StatusDone    = "done"
	StatusDue     = "due"
	StatusOverdue = "overdue"
)

// Schedule is how often a checklist is due.
type Schedule struct {
	Frequency string
	Shifts    []string // "HH:MM" start times in Asia/Shanghai, for Shift
}

// Period is one scheduled interval [Start, End).
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// shiftMinutes parses and sorts the shift start times.
func (s Schedule) shiftMinutes() ([]int, error) {
	var out []int
	for _, v := range s.Shifts {
		h, m, ok := strings.Cut(strings.TrimSpace(v), ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
			return nil, fmt.Errorf("班次开始时间“%s”应为 HH:MM 格式，如 08:00", v)
		}
		out = append(out, hh*60+mm)
	}
	sort.Ints(out)
	out = slices.Compact(out)
	return out, nil
}

// Validate checks the frequency and shifts; the error text is Chinese.
func (s Schedule) Validate() error {
	if !slices.Contains(Frequencies, s.Frequency) {
		return fmt.Errorf("巡查频次只能是 daily（每日）、weekly（每周）、monthly（每月）或 shift（每班）")
	}
	if s.Frequency != Shift {
		if len(s.Shifts) > 0 {
			return fmt.Errorf("只有按班次巡查的清单才能设置班次")
		}
		return nil
	}
	m, err := s.shiftMinutes()
	if err != nil {
		return err
	}
	if len(m) == 0 || len(m) > 12 || len(m) != len(s.Shifts) {
		return fmt.Errorf("按班次巡查须设置 1 至 12 个互不相同的班次开始时间")
	}
	return nil
}

// midnight is the start of t's day in Zone.
func midnight(t time.Time) time.Time {
	l := t.In(Zone)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, Zone)
}

// PeriodAt returns the period t falls in. The schedule must be valid.
func (s Schedule) PeriodAt(t time.Time) Period {
	day := midnight(t)
	switch s.Frequency {
	case Weekly:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start := day.AddDate(0, 0, -back)
		return Period{start, start.AddDate(0, 0, 7)}
	case Monthly:
		start := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, Zone)
		return Period{start, start.AddDate(0, 1, 0)}
	case Shift:
		mins, _ := s.shiftMinutes()
		if len(mins) == 0 {
			return Period{day, day.AddDate(0, 0, 1)}
		}
		at := func(d time.Time, i int) time.Time {
			return time.Date(d.Year(), d.Month(), d.Day(), mins[i]/60, mins[i]%60, 0, 0, Zone)
		}
		l := t.In(Zone)
		now := l.Hour()*60 + l.Minute()
		i := sort.SearchInts(mins, now+1) - 1 // last shift starting at or before now
		if i < 0 {
			prev := day.AddDate(0, 0, -1)
			return Period{at(prev, len(mins)-1), at(day, 0)}
		}
		if i == len(mins)-1 {
			return Period{at(day, i), at(day.AddDate(0, 0, 1), 0)}
		}
		return Period{at(day, i), at(day, i+1)}
	default:
		return Period{day, day.AddDate(0, 0, 1)}
	}
}

// Periods returns the periods that overlap [from, to), in order; at most limit (0: no limit).
func (s Schedule) Periods(from, to time.Time, limit int) []Period {
	var out []Period
	for p := s.PeriodAt(from); p.Start.Before(to); p = s.PeriodAt(p.End) {
		out = append(out, p)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// ParseDay parses a date "2006-01-02" as the start of that day in Zone.
func ParseDay(s string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, Zone)
}

// Done reports whether every risk point was patrolled within p: patrols maps a risk point
// to the times its patrols finished.
func Done(p Period, points []string, patrols map[string][]time.Time) bool {
	if len(points) == 0 {
		return false
	}
	for _, id := range points {
		if !slices.ContainsFunc(patrols[id], p.Contains) {
			return false
		}
	}
	return true
}

// Status is the period's status at now: done, else overdue once it has ended, else due.
func Status(p Period, done bool, now time.Time) string {
	switch {
	case done:
		return StatusDone
	case !now.Before(p.End):
		return StatusOverdue
	}
	return StatusDue
}

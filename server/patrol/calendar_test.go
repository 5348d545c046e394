package patrol

import (
	"testing"
	"time"
)

func sh(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, Zone) }

func wantPeriod(t *testing.T, got Period, start, end time.Time) {
	t.Helper()
	if !got.Start.Equal(start) || !got.End.Equal(end) {
		t.Fatalf("period %v – %v, want %v – %v", got.Start.In(Zone), got.End.In(Zone), start, end)
	}
}

func TestPeriodsInShanghaiWhateverTheProcessZone(t *testing.T) {
	old := time.Local
	defer func() { time.Local = old }()
	for _, tz := range []string{"UTC", "America/New_York"} {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		// 2026-03-08 is a US DST change; 23:30 UTC on Mar 1 is Mar 2 07:30 in Shanghai.
		utc := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
		wantPeriod(t, Schedule{Frequency: Daily}.PeriodAt(utc), sh(2026, 3, 2, 0, 0), sh(2026, 3, 3, 0, 0))
		if p := (Schedule{Frequency: Daily}).PeriodAt(time.Date(2026, 3, 8, 12, 0, 0, 0, loc)); p.End.Sub(p.Start) != 24*time.Hour {
			t.Fatalf("%s: a Shanghai day lasts %v", tz, p.End.Sub(p.Start))
		}
		// 16:00 UTC is midnight in Shanghai.
		wantPeriod(t, Schedule{Frequency: Daily}.PeriodAt(time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC)), sh(2026, 6, 1, 0, 0), sh(2026, 6, 2, 0, 0))
		wantPeriod(t, Schedule{Frequency: Daily}.PeriodAt(time.Date(2026, 5, 31, 15, 59, 59, 0, time.UTC)), sh(2026, 5, 31, 0, 0), sh(2026, 6, 1, 0, 0))
	}
	if Zone.String() != "Asia/Shanghai" {
		t.Fatal(Zone)
	}
}

func TestWeeksStartMonday(t *testing.T) {
	w := Schedule{Frequency: Weekly}
	// Sunday 2026-03-01 belongs to the week from Monday 2026-02-23 (crossing a month).
	wantPeriod(t, w.PeriodAt(sh(2026, 3, 1, 23, 59)), sh(2026, 2, 23, 0, 0), sh(2026, 3, 2, 0, 0))
	wantPeriod(t, w.PeriodAt(sh(2026, 3, 2, 0, 0)), sh(2026, 3, 2, 0, 0), sh(2026, 3, 9, 0, 0))
	// Across a year: Thursday 2026-01-01 is in the week Mon 2025-12-29 – Mon 2026-01-05.
	wantPeriod(t, w.PeriodAt(sh(2026, 1, 1, 10, 0)), sh(2025, 12, 29, 0, 0), sh(2026, 1, 5, 0, 0))
	wantPeriod(t, w.PeriodAt(sh(2025, 12, 29, 0, 0)), sh(2025, 12, 29, 0, 0), sh(2026, 1, 5, 0, 0))
	ps := w.Periods(sh(2025, 12, 20, 0, 0), sh(2026, 1, 10, 0, 0), 0)
	if len(ps) != 4 || ps[0].Start.Weekday() != time.Monday || !ps[3].Start.Equal(sh(2026, 1, 5, 0, 0)) {
		t.Fatalf("weeks %v", ps)
	}
}

func TestMonthEnds(t *testing.T) {
	m := Schedule{Frequency: Monthly}
	wantPeriod(t, m.PeriodAt(sh(2026, 1, 31, 23, 0)), sh(2026, 1, 1, 0, 0), sh(2026, 2, 1, 0, 0))
	// The period after January ends Feb 28 (2026) or Feb 29 (2028, a leap year), not Mar 3.
	for _, c := range []struct {
		year, last int
	}{{2026, 28}, {2028, 29}, {2100, 28}, {2000, 29}} {
		p := m.PeriodAt(m.PeriodAt(sh(c.year, 1, 31, 12, 0)).End)
		wantPeriod(t, p, sh(c.year, 2, 1, 0, 0), sh(c.year, 3, 1, 0, 0))
		if last := p.End.AddDate(0, 0, -1).Day(); last != c.last {
			t.Fatalf("%d: February ends on %d", c.year, last)
		}
	}
	wantPeriod(t, m.PeriodAt(sh(2026, 12, 31, 23, 59)), sh(2026, 12, 1, 0, 0), sh(2027, 1, 1, 0, 0))
	if ps := m.Periods(sh(2026, 1, 31, 0, 0), sh(2026, 4, 1, 0, 0), 0); len(ps) != 3 || !ps[1].Start.Equal(sh(2026, 2, 1, 0, 0)) {
		t.Fatalf("months %v", ps)
	}
	d := Schedule{Frequency: Daily}
	if ps := d.Periods(sh(2028, 2, 27, 0, 0), sh(2028, 3, 2, 0, 0), 0); len(ps) != 4 || ps[2].Start.Day() != 29 {
		t.Fatalf("days around a leap day %v", ps)
	}
}

func TestShifts(t *testing.T) {
	s := Schedule{Frequency: Shift, Shifts: []string{"20:00", "08:00"}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	wantPeriod(t, s.PeriodAt(sh(2026, 3, 1, 8, 0)), sh(2026, 3, 1, 8, 0), sh(2026, 3, 1, 20, 0))
	wantPeriod(t, s.PeriodAt(sh(2026, 3, 1, 19, 59)), sh(2026, 3, 1, 8, 0), sh(2026, 3, 1, 20, 0))
	// The night shift crosses midnight (and here a month end).
	wantPeriod(t, s.PeriodAt(sh(2026, 2, 28, 23, 0)), sh(2026, 2, 28, 20, 0), sh(2026, 3, 1, 8, 0))
	wantPeriod(t, s.PeriodAt(sh(2026, 3, 1, 0, 0)), sh(2026, 2, 28, 20, 0), sh(2026, 3, 1, 8, 0))
	wantPeriod(t, s.PeriodAt(sh(2026, 3, 1, 7, 59)), sh(2026, 2, 28, 20, 0), sh(2026, 3, 1, 8, 0))
	// A shift starting at midnight.
	m := Schedule{Frequency: Shift, Shifts: []string{"00:00", "08:00", "16:00"}}
	wantPeriod(t, m.PeriodAt(sh(2026, 1, 1, 0, 0)), sh(2026, 1, 1, 0, 0), sh(2026, 1, 1, 8, 0))
	wantPeriod(t, m.PeriodAt(sh(2025, 12, 31, 23, 59)), sh(2025, 12, 31, 16, 0), sh(2026, 1, 1, 0, 0))
	if ps := m.Periods(sh(2026, 1, 1, 0, 0), sh(2026, 1, 2, 0, 0), 0); len(ps) != 3 {
		t.Fatalf("shifts of a day %v", ps)
	}
	for _, bad := range []Schedule{{Frequency: Shift}, {Frequency: Shift, Shifts: []string{"25:00"}}, {Frequency: Shift, Shifts: []string{"8"}},
		{Frequency: Shift, Shifts: []string{"08:00", "08:00"}}, {Frequency: Daily, Shifts: []string{"08:00"}}, {Frequency: "hourly"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestStatus(t *testing.T) {
	p := Schedule{Frequency: Daily}.PeriodAt(sh(2026, 3, 2, 9, 0))
	pts := []string{"a", "b"}
	patrols := map[string][]time.Time{"a": {sh(2026, 3, 2, 9, 0)}, "b": {sh(2026, 3, 1, 23, 59)}}
	if Done(p, pts, patrols) {
		t.Fatal("b was patrolled the day before")
	}
	if st := Status(p, false, sh(2026, 3, 2, 23, 0)); st != StatusDue {
		t.Fatal(st)
	}
	if st := Status(p, false, sh(2026, 3, 3, 0, 0)); st != StatusOverdue {
		t.Fatal(st)
	}
	patrols["b"] = append(patrols["b"], sh(2026, 3, 2, 23, 59))
	if !Done(p, pts, patrols) || Status(p, true, sh(2026, 3, 5, 0, 0)) != StatusDone {
		t.Fatal("not done")
	}
	if d, err := ParseDay("2026-03-02"); err != nil || !d.Equal(p.Start) {
		t.Fatal(d, err)
	}
}

func TestHaversine(t *testing.T) {
	// One degree of latitude is about 111.2 km.
	if d := Haversine(Location{30, 120}, Location{31, 120}); d < 111000 || d > 111400 {
		t.Fatal(d)
	}
	if d := Haversine(Location{30.2231, 120.3512}, Location{30.2231, 120.3512}); d != 0 {
		t.Fatal(d)
	}
	if HazardID("p", "m1") != HazardID("p", "m1") || HazardID("p", "m1") == HazardID("p", "m2") {
		t.Fatal("hazard ids")
	}
}

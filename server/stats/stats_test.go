package stats

import (
	"testing"
	"time"
)

func TestPeriodKeyInShanghai(t *testing.T) {
	at := time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC) // 2027-01-01 01:00 in Shanghai, a Friday
	for _, c := range []struct{ kind, key, label string }{
		{Week, "2026-W53", "2026年第53周"},
		{Month, "2027-01", "2027年1月"},
		{Year, "2027", "2027年"},
	} {
		if k, l := PeriodKey(c.kind, at); k != c.key || l != c.label {
			t.Errorf("%s: %s %s, want %s %s", c.kind, k, l, c.key, c.label)
		}
	}
	// Sunday night in Shanghai still belongs to the week that began on Monday.
	if k, _ := PeriodKey(Week, time.Date(2026, 11, 29, 15, 59, 0, 0, time.UTC)); k != "2026-W48" {
		t.Errorf("Sunday 23:59: %s, want 2026-W48", k)
	}
	if k, _ := PeriodKey(Week, time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC)); k != "2026-W49" {
		t.Errorf("Monday 00:00: %s, want 2026-W49", k)
	}
}

func TestDeadline(t *testing.T) {
	now := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status, deadline string
		want             bool
	}{
		{"reported", "2026-11-24", true},
		{"reported", "2026-11-25", false}, // a date runs to the end of that day
		{"rectifying", "2026-11-25T09:59:00+08:00", true},
		{"accepted", "2026-11-01", false},
		{"submitted", "2026-11-01", false}, // rectified, waiting for acceptance: not overdue
		{"submitted", "2026-11-25T09:59:00+08:00", false},
		{"assigned", "2026-11-25T10:00:00+08:00", true}, // the deadline itself is overdue
		{"assigned", "2026-11-25T10:00:01+08:00", false},
		{"reported", "", false},
	} {
		if got := (hazardRow{status: c.status, deadline: c.deadline}).overdue(now); got != c.want {
			t.Errorf("%s %q: overdue %v, want %v", c.status, c.deadline, got, c.want)
		}
	}
}

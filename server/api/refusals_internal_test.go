package api

import (
	"fmt"
	"testing"
	"time"
)

// TestCoalescer: one row per key and window; the next row counts the ones left out; a flood
// of distinct keys does not grow the table without bound.
func TestCoalescer(t *testing.T) {
	var c coalescer
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	if ok, n := c.allow("a", t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := 0; i < 5; i++ {
		if ok, _ := c.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatal("an identical refusal within the window was let through")
		}
	}
	if ok, _ := c.allow("b", t0); !ok {
		t.Fatal("another key was held back")
	}
	if ok, n := c.allow("a", t0.Add(refusalWindow)); !ok || n != 5 {
		t.Fatalf("after the window: %v, suppressed %d, want 5", ok, n)
	}
	for i := 0; i < refusalMaxSlots+10; i++ {
		c.allow(fmt.Sprint(i), t0.Add(2*refusalWindow))
	}
	if len(c.slots) > refusalMaxSlots {
		t.Fatalf("%d slots", len(c.slots))
	}
}

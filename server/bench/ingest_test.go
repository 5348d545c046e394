package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// pid (comm with ") (" inside) state ppid … utime=250 stime=50 (fields 14, 15)
	line := "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	d, err := statCPU(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("statCPU = %v, %v; want 3s", d, err)
	}
	if _, err := statCPU("garbage"); err == nil {
		t.Fatal("statCPU accepted a line without fields")
	}
}

func TestGatewayMessage(t *testing.T) {
	p := &publisher{g: &gateway{code: "GW-00001"}}
	at := time.UnixMilli(1795824000123)
	var m struct {
		TS       int64
		Readings []struct {
			Point string
			Value float64
			Unit  string
		}
	}
	for i := range 200 {
		b := p.gatewayMessage(nil, at) // 200 messages within one millisecond: stamped apart
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if m.TS != at.UnixMilli()+int64(i) || len(m.Readings) != pointsPerDevice || m.Readings[3].Point != "TI-3" || m.Readings[3].Unit != "℃" {
			t.Fatalf("message %s", b)
		}
		for _, r := range m.Readings {
			if r.Value < 30 || r.Value > 50 { // below the 80 ℃ alarm of the load points
				t.Fatalf("value %v out of 30–50", r.Value)
			}
		}
	}
}

func TestTrackerMemory(t *testing.T) {
	row, err := trackerMemory(2000)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(row, "|")
	// | devices | heap | inuse | per device | online | took | offline | due |
	if strings.TrimSpace(f[1]) != "2000" || strings.TrimSpace(f[5]) != "2000" || strings.TrimSpace(f[7]) != "2000" {
		t.Fatalf("row %s: want 2000 tracked, online and then offline", row)
	}
}

func TestLatencyQuantiles(t *testing.T) {
	r := probeResult{}
	for i := 1; i <= 98; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	r.censored = []time.Duration{50 * time.Millisecond, 7 * time.Second} // unseen: later than any seen
	if got := r.latencyQ(.5); got != "51.0 ms" {
		t.Fatalf("p50 = %s", got)
	}
	if got := r.latencyQ(.99); got != "≥ 7000.0 ms" {
		t.Fatalf("p99 = %s, want a lower bound from the unseen probes", got)
	}
	if got := r.latencyQ(.98); got != "≥ 98.0 ms" {
		t.Fatalf("p98 = %s, want the slowest seen probe as the bound", got)
	}
}

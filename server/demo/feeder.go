package demo

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Feeder keeps the demo city's monitoring alive while a demo server runs: every sampling
// period it publishes one reading of every demo point, through the same path as a device's
// MQTT message (monitor.Service.Deliver), continuing the history's normal signals (level,
// daily swing, noise; never past a threshold). Without it the demo gateways would go silent at
// the first start and be declared offline five minutes later, raising 设备离线 alerts nobody
// caused; with it the charts keep moving and the devices stay online, as a demo user expects.
// It runs only on a demo city's database (app: the demo.load audit event) with demo enabled.
type Feeder struct {
	// Deliver takes one device's message (kind "readings"), as the MQTT bridge would.
	Deliver func(ctx context.Context, deviceCode, kind string, payload []byte)
	// Now is the clock (nil: the wall clock); Every the period (0: a minute, the demo points'
	// sampling period).
	Now   func() time.Time
	Every time.Duration
	Seed  uint64

	once sync.Once
	rnd  *rand.Rand
	ar   map[string]float64
}

// FeederDevices are the device codes the feeder publishes for, in order.
func FeederDevices() []string {
	var out []string
	for k := range signals {
		d, _, _ := strings.Cut(k, "/")
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (f *Feeder) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

type feedReading struct {
	Point string  `json:"point"`
	Value float64 `json:"value"`
}

type feedMessage struct {
	TS       int64         `json:"ts"`
	Readings []feedReading `json:"readings"`
}

// Tick publishes one message per demo device with its points' readings at the current time.
func (f *Feeder) Tick(ctx context.Context) {
	f.once.Do(func() {
		f.rnd = rand.New(rand.NewPCG(f.Seed, 0x5eed))
		f.ar = map[string]float64{}
	})
	t := f.now()
	keys := slices.Sorted(mapKeys(signals))
	byDevice := map[string][]feedReading{}
	for _, k := range keys {
		d, p, _ := strings.Cut(k, "/")
		sg := signals[k]
		f.ar[k] = 0.85*f.ar[k] + sg.noise*f.rnd.NormFloat64()
		byDevice[d] = append(byDevice[d], feedReading{Point: p, Value: normalValue(sg, t, f.ar[k])})
	}
	for _, d := range FeederDevices() {
		b, _ := json.Marshal(feedMessage{TS: t.UnixMilli(), Readings: byDevice[d]})
		f.Deliver(ctx, d, "readings", b)
	}
}

// Run ticks at once and then every period until ctx ends.
func (f *Feeder) Run(ctx context.Context) {
	every := f.Every
	if every <= 0 {
		every = time.Minute
	}
	f.Tick(ctx)
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			f.Tick(ctx)
		}
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// signalAnchor is where every signal's swing is measured from: a fixed Beijing midnight, so the
// history and the live feed draw one continuous curve whatever the day.
var signalAnchor = time.Date(2026, 1, 1, 0, 0, 0, 0, Zone)

// normalValue is a point's normal reading at t with the noise ar: base, a swing peaking
// mid-afternoon Beijing time (for the daily period), noise; positive values stay positive.
func normalValue(sg signal, t time.Time, ar float64) float64 {
	period := sg.period
	if period == 0 {
		period = oneDay
	}
	phase := t.Sub(signalAnchor).Seconds() / period.Seconds()
	v := sg.base + sg.amp*math.Sin(2*math.Pi*(phase-0.375)) + ar
	if sg.positive {
		v = math.Abs(v) + sg.noise/10
	}
	return math.Round(v*1000) / 1000
}

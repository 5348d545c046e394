package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// publisher is one device's MQTT 5 connection (the broker's ACL lets a device publish only to
// its own topics, so every device has its own client, as real gateways do).
type publisher struct {
	c     *paho.Client
	g     *gateway
	topic string
	seq   int64
	last  int64 // ms of the last message: a device stamps no two messages alike
}

// connectAll connects a paho client per gateway, 32 at a time.
func connectAll(addr string, gs []gateway) ([]*publisher, error) {
	out := make([]*publisher, len(gs))
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range gs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := connect(addr, &gs[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("%s: %w", gs[i].code, err)
			}
			out[i] = p
		}()
	}
	wg.Wait()
	if first != nil {
		disconnectAll(out)
		return nil, first
	}
	return out, nil
}

func connect(addr string, g *gateway) (*publisher, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: g.code, Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: g.code, KeepAlive: 60, CleanStart: true,
		Username: g.code, UsernameFlag: true, Password: []byte(g.secret), PasswordFlag: true})
	if err != nil {
		conn.Close()
		if ack != nil {
			return nil, fmt.Errorf("connack %d %s: %w", ack.ReasonCode, ack.Properties.ReasonString, err)
		}
		return nil, err
	}
	return &publisher{c: c, g: g, topic: "yingji/devices/" + g.code + "/readings"}, nil
}

func disconnectAll(ps []*publisher) {
	for _, p := range ps {
		if p != nil {
			p.c.Disconnect(&paho.Disconnect{})
		}
	}
}

// gatewayMessage is a gateway's message: its time and one reading of every point, values
// drifting slowly between 30 and 50 ℃ (below the 80 ℃ alarm, no jump, never stuck).
func (p *publisher) gatewayMessage(buf []byte, now time.Time) []byte {
	p.seq++
	// A reading is unique per point and time (the server stores one sent again once), so a
	// device catching up within one millisecond stamps its next message a millisecond later.
	p.last = max(now.UnixMilli(), p.last+1)
	buf = append(buf[:0], `{"ts":`...)
	buf = strconv.AppendInt(buf, p.last, 10)
	buf = append(buf, `,"readings":[`...)
	for j := range pointsPerDevice {
		if j > 0 {
			buf = append(buf, ',')
		}
		v := 40 + 10*math.Sin(float64(p.seq)*0.05+float64(j))
		buf = append(buf, `{"point":"TI-`...)
		buf = strconv.AppendInt(buf, int64(j), 10)
		buf = append(buf, `","value":`...)
		buf = strconv.AppendFloat(buf, v, 'f', 2, 64)
		buf = append(buf, `,"unit":"℃"}`...)
	}
	return append(buf, "]}"...)
}

// publish sends a QoS 1 message and waits for its PUBACK: once acknowledged, the broker has
// handed it to the ingest pipeline (see server/monitor/mqtt/doc.go).
func (p *publisher) publish(payload []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.c.Publish(ctx, &paho.Publish{Topic: p.topic, QoS: 1, Payload: payload})
	if err != nil {
		return err
	}
	if res != nil && res.ReasonCode >= 0x80 {
		return fmt.Errorf("puback reason %d", res.ReasonCode)
	}
	return nil
}

// loadResult counts a paced run.
type loadResult struct {
	messages, readings, errors int64
	elapsed                    time.Duration // start to the last acknowledgement
	lagMax                     time.Duration // worst lateness of a publish against its schedule
	firstErr                   error
}

// runLoad has every publisher send msgsPerSec/len(ps) gateway messages a second for d, the
// devices' phases spread evenly over the period, so the server sees a steady msgsPerSec. A
// device that falls behind its schedule catches up without skipping messages.
func runLoad(ps []*publisher, msgsPerSec float64, d time.Duration) loadResult {
	period := time.Duration(float64(len(ps)) / msgsPerSec * float64(time.Second))
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(d)
	var msgs, errs, lagMax atomic.Int64
	var lastAck atomic.Int64
	var errOnce sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 1024)
			next := start.Add(time.Duration(i) * period / time.Duration(len(ps)))
			for next.Before(end) {
				time.Sleep(time.Until(next))
				if lag := int64(time.Since(next)); lag > lagMax.Load() {
					lagMax.Store(lag) // racy maximum: good enough for a report
				}
				buf = p.gatewayMessage(buf, time.Now())
				if err := p.publish(buf); err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
				} else {
					msgs.Add(1)
					if t := time.Since(start).Nanoseconds(); t > lastAck.Load() {
						lastAck.Store(t)
					}
				}
				next = next.Add(period)
			}
		}()
	}
	wg.Wait()
	return loadResult{messages: msgs.Load(), readings: msgs.Load() * pointsPerDevice, errors: errs.Load(),
		elapsed: time.Duration(lastAck.Load()), lagMax: time.Duration(lagMax.Load()), firstErr: firstErr}
}

// probeResult is the reading → alert persisted latency under load.
type probeResult struct {
	lat                []time.Duration
	toInsert           []time.Duration // publish → the alert's created_at (before its commit)
	sentAt             []time.Time     // publish time of each lat
	censored           []time.Duration // probes whose alert was not seen: how long they had been waiting
	sent, missing      int
	pollEvery          time.Duration
	queryP50, queryMax time.Duration
	readings           int64 // readings the probes sent (stored too)
}

// runProbes publishes, every interval until stop, one reading crossing a probe point's alarm
// level 1 (95 ℃, no minimum duration), each point used once, and polls the database in a tight
// loop (pollEvery between queries) for the alert row of every pending probe. The latency runs
// from just before the publish to the poll that first sees the row, so it is late by up to one
// poll period plus one query.
func runProbes(ctx context.Context, db *benchDB, ps []*publisher, interval, pollEvery time.Duration, stop <-chan struct{}) (probeResult, error) {
	var mu sync.Mutex
	open := map[string]time.Time{}
	res := probeResult{pollEvery: pollEvery}
	var queries []time.Duration
	pollDone := make(chan error, 1)
	stopPoll := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopPoll:
				pollDone <- nil
				return
			default:
			}
			mu.Lock()
			ids := make([]string, 0, len(open))
			for id := range open {
				ids = append(ids, id)
			}
			mu.Unlock()
			if len(ids) > 0 {
				q0 := time.Now()
				got, err := db.alertedPoints(ctx, ids)
				now := time.Now()
				queries = append(queries, now.Sub(q0))
				if err != nil {
					pollDone <- err
					return
				}
				mu.Lock()
				for id, at := range got {
					if t0, ok := open[id]; ok {
						res.lat = append(res.lat, now.Sub(t0))
						res.sentAt = append(res.sentAt, t0)
						res.toInsert = append(res.toInsert, at.Sub(t0))
						delete(open, id)
					}
				}
				mu.Unlock()
			}
			time.Sleep(pollEvery)
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	k := 0
	var perr error
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-tick.C:
		}
		di, pi := k/pointsPerDevice, k%pointsPerDevice
		if di >= len(ps) {
			perr = fmt.Errorf("out of probe points after %d probes", k)
			break
		}
		k++
		p := ps[di]
		payload := fmt.Appendf(nil, `{"ts":%d,"readings":[{"point":"TI-%d","value":95,"unit":"℃"}]}`, time.Now().UnixMilli(), pi)
		mu.Lock()
		open[p.g.points[pi]] = time.Now()
		mu.Unlock()
		if err := p.publish(payload); err != nil {
			perr = err
			break
		}
		res.sent++
		res.readings++
	}
	// Give the last probes up to 5 s.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(open)
		mu.Unlock()
		if n == 0 {
			break
		}
	}
	close(stopPoll)
	if err := <-pollDone; err != nil && perr == nil {
		perr = err
	}
	mu.Lock()
	res.missing = len(open)
	for _, t0 := range open {
		res.censored = append(res.censored, time.Since(t0))
	}
	mu.Unlock()
	res.queryP50, res.queryMax = quantile(queries, .5), quantile(queries, 1)
	return res, perr
}

// heartbeatAll sends one heartbeat from every publisher, so each device's first message (which
// brings it online and records that) happens before the measurement.
func heartbeatAll(ps []*publisher) error {
	var wg sync.WaitGroup
	var errs atomic.Int64
	sem := make(chan struct{}, 64)
	for _, p := range ps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := p.c.Publish(ctx, &paho.Publish{Topic: "yingji/devices/" + p.g.code + "/heartbeat", QoS: 1}); err != nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := errs.Load(); n > 0 {
		return fmt.Errorf("%d heartbeats failed", n)
	}
	return nil
}

// thirds returns the median latency of the probes sent in the first and in the last third of
// the run: a backlog shows as a growing latency.
func (r probeResult) thirds() (first, last time.Duration) {
	if len(r.lat) == 0 {
		return 0, 0
	}
	t0, t1 := r.sentAt[0], r.sentAt[0]
	for _, t := range r.sentAt {
		t0, t1 = minTime(t0, t), maxTime(t1, t)
	}
	span := t1.Sub(t0) / 3
	var a, b []time.Duration
	for i, t := range r.sentAt {
		switch {
		case t.Sub(t0) < span:
			a = append(a, r.lat[i])
		case t1.Sub(t) < span:
			b = append(b, r.lat[i])
		}
	}
	return quantile(a, .5), quantile(b, .5)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// latencyQ is the p quantile over every probe, those never seen counted as at least as late as
// they had waited: such a quantile is a lower bound, shown with "≥".
func (r probeResult) latencyQ(p float64) string {
	type v struct {
		d        time.Duration
		censored bool
	}
	all := make([]v, 0, len(r.lat)+len(r.censored))
	for _, d := range r.lat {
		all = append(all, v{d, false})
	}
	for _, d := range r.censored {
		all = append(all, v{d, true})
	}
	if len(all) == 0 {
		return "—"
	}
	slices.SortFunc(all, func(a, b v) int {
		if a.censored != b.censored { // an unseen probe is later than every seen one
			if a.censored {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.d, b.d)
	})
	x := all[min(len(all)-1, int(p*float64(len(all))))]
	if x.censored {
		return "≥ " + ms(max(x.d, quantile(r.lat, 1)))
	}
	return ms(x.d)
}

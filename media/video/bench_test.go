package video_test

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/videotest"
)

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkViewerJoin: a Go viewer joins a live stream whose GOP is 10 s; the time from its
// offer to its first keyframe packet (the SFU asks the publisher for one on join) is reported
// as p50/p95 over b.N joins.
func BenchmarkViewerJoin(b *testing.B) {
	s := newSFU(b, nil, video.Options{})
	defer s.Close()
	api, _, err := videotest.API(nil)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := videotest.NewPublisher(api)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	offer, _ := videotest.Offer(pub.PC)
	a, err := s.Publish(context.Background(), video.PublishRequest{Offer: offer})
	if err != nil {
		b.Fatal(err)
	}
	_ = pub.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP})
	pub.Start()
	var joins []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		v, err := videotest.NewViewer(api)
		if err != nil {
			b.Fatal(err)
		}
		o, _ := videotest.Offer(v.PC)
		ans, err := s.View(context.Background(), a.StreamID, o)
		if err != nil {
			b.Fatal(err)
		}
		_ = v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP})
		select {
		case <-v.FirstKey:
			joins = append(joins, time.Since(start))
		case <-time.After(10 * time.Second):
			b.Fatal("no keyframe in 10 s")
		}
		_ = s.Delete(ans.SessionID)
		v.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(joins, 0.5).Milliseconds()), "p50_ms")
	b.ReportMetric(float64(pct(joins, 0.95).Milliseconds()), "p95_ms")
}

// BenchmarkFanout30: one 1 Mbit/s stream (30 frames/s of 4.2 kB) forwarded to 30 viewers for
// 10 s. Reports the process's CPU (publisher, SFU and 30 viewers all in this process: an upper
// bound of the SFU's share), the viewers' loss against what the SFU received, and the
// SFU-added forwarding delay (arrival from the publisher to hand-off to all 30 connections).
func BenchmarkFanout30(b *testing.B) {
	const viewers = 30
	for i := 0; i < b.N; i++ {
		s := newSFU(b, func(c *video.Config) { c.MaxViewers = 64 }, video.Options{})
		api, _, err := videotest.API(nil)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := videotest.NewPublisher(api)
		if err != nil {
			b.Fatal(err)
		}
		pub.FrameBytes = 1_000_000 / 8 / 30
		offer, _ := videotest.Offer(pub.PC)
		a, err := s.Publish(context.Background(), video.PublishRequest{Offer: offer})
		if err != nil {
			b.Fatal(err)
		}
		_ = pub.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP})
		pub.Start()
		vs := make([]*videotest.Viewer, viewers)
		var wg sync.WaitGroup
		for j := range vs {
			v, err := videotest.NewViewer(api)
			if err != nil {
				b.Fatal(err)
			}
			o, _ := videotest.Offer(v.PC)
			ans, err := s.View(context.Background(), a.StreamID, o)
			if err != nil {
				b.Fatal(err)
			}
			_ = v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP})
			vs[j] = v
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-v.FirstKey:
				case <-time.After(20 * time.Second):
				}
			}()
		}
		wg.Wait()
		time.Sleep(time.Second)
		in0, _ := s.Stream(a.StreamID)
		got0 := make([]int64, viewers)
		for j, v := range vs {
			got0[j] = v.Packets.Load()
		}
		s.RecordForwardDelays(true)
		cpu0, wall0 := cpuTime(), time.Now()
		time.Sleep(10 * time.Second)
		in1, _ := s.Stream(a.StreamID)
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		s.RecordForwardDelays(false)
		time.Sleep(500 * time.Millisecond) // what was in flight arrives
		sent := float64(in1.Packets - in0.Packets)
		var lost float64
		for j, v := range vs {
			got := float64(v.Packets.Load() - got0[j])
			if got < sent {
				lost += sent - got
			}
		}
		delays := s.ForwardDelays()
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu_%")
		b.ReportMetric(100*lost/(sent*viewers), "loss_%")
		b.ReportMetric(float64(pct(delays, 0.95).Microseconds())/1000, "fwd_p95_ms")
		b.ReportMetric(float64(pct(delays, 0.5).Microseconds())/1000, "fwd_p50_ms")
		b.ReportMetric(8*float64(in1.Bytes-in0.Bytes)/wall.Seconds()/1e6, "in_mbit/s")
		for _, v := range vs {
			v.Close()
		}
		pub.Close()
		s.Close()
	}
}

package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/record"
	"github.com/yingji/yingji/media/video/record/recordtest"
	"github.com/yingji/yingji/media/video/videotest"
	"github.com/yingji/yingji/mobile-sdk/whip"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/yingji"
)

// needFFprobe fails the test in CI when ffprobe (Debian ffmpeg) is missing and skips it
// elsewhere, saying why.
func needFFprobe(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (apt-get install ffmpeg): %v", tool, err)
			}
			t.Skipf("%s not installed (apt-get install ffmpeg); the recording cannot be checked", tool)
		}
	}
}

// TestVideoEndToEnd: the SDK's WHIP publisher (pion) sends a real H.264 clip through the
// server; two viewers get frames; the publisher's UDP link is cut for 10 s, it re-publishes by
// itself within 5 s of the link returning and both viewers get frames again on the same
// connections; the recording has exactly one explicit gap no longer than the cut + 2 s, and
// every segment decodes with ffprobe.
func TestVideoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("cuts a link for 10 s")
	}
	needFFprobe(t)
	defer recordtest.Cleanup()
	recordtest.MakeClips(t)
	s := videoServer(t, apptest.Start)
	grid, town, admin := s.Login(t, "grid01"), s.Login(t, "township01"), s.Login(t, "admin")

	conn, err := videotest.ListenCut()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	papi, mux, err := videotest.API(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	src, err := whip.OpenFile(filepath.Join(recordtest.Dir(), "clip.h264"), 25, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, err := whip.Publish(ctx, whip.Options{Server: s.URL, Token: grid, Title: "端到端", API: papi, HTTP: s.Client,
		RetryEvery: 200 * time.Millisecond}, src)
	if err != nil {
		t.Fatal(err)
	}
	id := pub.StreamID()
	if id == "" {
		t.Fatal("no stream id")
	}

	vapi, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, v1 := whepView(t, s, vapi, town, id)
	_, v2 := whepView(t, s, vapi, admin, id)
	if v1 == nil || v2 == nil {
		t.Fatal("a viewer was refused")
	}
	viewers := []*videotest.Viewer{v1, v2}
	waitAll := func(n []int64, more int64, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for i, v := range viewers {
			for v.Frames.Load() < n[i]+more {
				if time.Now().After(deadline) {
					t.Fatalf("viewer %d: %d frames, want %d", i+1, v.Frames.Load(), n[i]+more)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	waitAll([]int64{0, 0}, 50, 20*time.Second) // 2 s of video before the cut
	for i, v := range viewers {
		if v.Keyframes.Load() == 0 {
			t.Errorf("viewer %d got no keyframe before the cut", i+1)
		}
	}

	conn.Cut(true)
	cutAt := time.Now()
	deadline := time.Now().Add(12 * time.Second)
	for {
		if in, _ := s.Video.SFU.Stream(id); in.State == video.StateInterrupted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not notice the cut")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Frames stop reaching the viewers while the link is cut.
	var stalled atomic.Int64
	stalled.Store(v1.Frames.Load())
	time.Sleep(time.Until(cutAt.Add(10 * time.Second)))
	if got := v1.Frames.Load() - stalled.Load(); got > 5 {
		t.Errorf("viewer 1 got %d frames while the publisher was cut off", got)
	}
	before := []int64{v1.Frames.Load(), v2.Frames.Load()}
	keysBefore := []int64{v1.Keyframes.Load(), v2.Keyframes.Load()}
	conn.Cut(false)
	back := time.Now()
	waitAll(before, 25, 5*time.Second)
	resumed := time.Since(back)
	t.Logf("frames reach both viewers %v after the link returned (resumes %d)", resumed, pub.Resumes())
	if pub.StreamID() != id || pub.Resumes() < 1 {
		t.Errorf("publisher: stream %s resumes %d", pub.StreamID(), pub.Resumes())
	}
	for i, v := range viewers {
		if v.Keyframes.Load() <= keysBefore[i] {
			t.Errorf("viewer %d got no keyframe after the resume", i+1)
		}
	}
	waitAll(before, 75, 10*time.Second) // 3 s after the resume
	if err := pub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The recording: one explicit gap, cut + 2 s at most; every segment decodes.
	var rec record.Recording
	deadline = time.Now().Add(30 * time.Second)
	for {
		page, err := s.Recorder.List(context.Background(), yingji.System, record.Filter{ListParams: yingji.ListParams{PageSize: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 1 && !page.Items[0].Live {
			if rec, err = s.Recorder.Get(context.Background(), yingji.System, page.Items[0].ID); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording not finished: %+v", page)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rec.StreamID != id || len(rec.Segments) < 2 {
		t.Fatalf("recording %+v", rec)
	}
	if len(rec.Gaps) != 1 {
		t.Fatalf("gaps %+v, want exactly one", rec.Gaps)
	}
	g := rec.Gaps[0]
	t.Logf("gap %v (cut 10 s); %d segments", time.Duration(g.DurationMS)*time.Millisecond, len(rec.Segments))
	if g.DurationMS > 12000 || g.DurationMS < 9000 {
		t.Errorf("gap lasts %d ms; want the cut (10 s) + at most 2 s", g.DurationMS)
	}
	if d := g.Started.Sub(cutAt); d > time.Second || d < -time.Second {
		t.Errorf("gap starts %v from the cut", d)
	}
	for _, sg := range rec.Segments {
		if sg.Started.Before(g.Ended) && sg.Ended.After(g.Started) {
			t.Errorf("segment %d (%s..%s) overlaps the gap", sg.Index, sg.Started, sg.Ended)
		}
		p := recordtest.FFprobe(t, readSeg(t, s, rec.ID, sg.Index))
		if len(p.Codecs()) == 0 || p.Codecs()[0] != "h264" {
			t.Errorf("segment %d holds %v", sg.Index, p.Codecs())
		}
		if want := float64(sg.DurationMS) / 1000; p.Duration() < want-0.2 || p.Duration() > want+0.2 {
			t.Errorf("segment %d: ffprobe %.3f s, recorded %.3f s", sg.Index, p.Duration(), want)
		}
	}
}

func readSeg(t *testing.T, s *apptest.Server, id string, idx int) []byte {
	t.Helper()
	r := s.Do(t, "GET", "/api/v1/video/recordings/"+id+"/segments/"+strconv.Itoa(idx), s.Login(t, "admin"), nil)
	if r.Status != 200 {
		t.Fatalf("segment %d: %d %s", idx, r.Status, r.Body)
	}
	return r.Body
}

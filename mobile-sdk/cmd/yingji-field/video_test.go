package main_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media/video/videotest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
)

// TestVideoPublish: `video publish` streams an H.264 file made by ffmpeg to a real server; a
// watcher's Go WHEP viewer gets its keyframes and frames; `video list` on the township
// administrator's replica lists it live, and after the publish the stream has ended.
func TestVideoPublish(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "drill.h264")
	out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-bsf:v", "h264_mp4toannexb", "-f", "h264", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	s := apptest.Start(t)
	pubDB, townDB := filepath.Join(dir, "pub.db"), filepath.Join(dir, "town.db")
	if r := field(t, pubDB, "login", "-server", s.URL, "-user", "grid01", "-password", apptest.Password); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	if r := field(t, townDB, "login", "-server", s.URL, "-user", "township01", "-password", apptest.Password); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	expectErr(t, field(t, pubDB, "video", "publish", filepath.Join(dir, "missing.h264")), 2)
	expectErr(t, field(t, pubDB, "video", "bogus"), 1)

	// grid01 publishes for an incident he is a member of.
	var inc struct {
		ID string `json:"id"`
	}
	s.Do(t, "POST", "/api/v1/incidents", s.Login(t, "township01"), map[string]any{"title": "演练火情", "class": "accident"}).JSON(t, &inc)
	ctx := context.Background()
	var uid string
	if err := s.DB.QueryRow(ctx, "SELECT id FROM users WHERE username = 'grid01'").Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		return s.Incidents.AddMembers(ctx, tx, inc.ID, []incident.Member{{UserID: uid, Group: incident.GroupMember}})
	}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", pubDB, "-o", "json", "video", "publish", file, "-incident", inc.ID, "-title", "演练", "-duration", "6s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The stream shows in the township's live list.
	var id string
	deadline := time.Now().Add(20 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		r := field(t, townDB, "video", "list")
		if l, _ := r.out.([]any); len(l) == 1 {
			m := l[0].(map[string]any)
			if m["title"] == "演练" && m["publisher_name"] == "周网格" {
				id = m["id"].(string)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the stream never showed in video list")
	}
	// A watcher gets the file's frames.
	api, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := videotest.NewViewer(api)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	offer, err := videotest.Offer(v.PC)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/video/streams/"+id+"/whep", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+s.Login(t, "township01"))
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("whep: %d %s", res.StatusCode, answer)
	}
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-v.FirstKey:
	case <-time.After(10 * time.Second):
		t.Fatal("viewer: no keyframe")
	}
	for v.Frames.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if v.Frames.Load() < 20 {
		t.Errorf("viewer got %d frames", v.Frames.Load())
	}

	b, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("publish: %v %s", err, b)
	}
	if !strings.Contains(string(b), `"stream_id": "`+id+`"`) || !strings.Contains(string(b), `"ended": true`) {
		t.Errorf("publish printed %s", b)
	}
	r := field(t, townDB, "video", "list")
	if l, _ := r.out.([]any); r.code != 0 || len(l) != 0 {
		t.Errorf("live list after the end: %+v", r)
	}
	r = field(t, townDB, "video", "list", "-all", "true")
	if l, _ := r.out.([]any); r.code != 0 || len(l) != 1 || l[0].(map[string]any)["state"] != "ended" {
		t.Errorf("full list: %+v", r)
	}
}

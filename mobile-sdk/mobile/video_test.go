package mobile_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yingji/yingji/mobile-sdk/mobile"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
)

// TestVideoFacade: a native app gets the WHIP endpoint, its token and the configured STUN/TURN
// servers from a real server, and the position message its data channel sends.
func TestVideoFacade(t *testing.T) {
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) {
		c.VideoICEServers = "stun:stun.example.cn:3478,turn:turn.example.cn:3478"
		c.VideoTURNUsername, c.VideoTURNCredential = "u1", "p1"
	}))
	c, err := mobile.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.VideoPublishInfo("", "", ""); mobile.ErrorClass(err) != 5 {
		t.Fatalf("before login: %v", err)
	}
	if _, err := c.Login(s.URL, "rescue01", apptest.Password); err != nil {
		t.Fatal(err)
	}
	raw, err := c.VideoPublishInfo("", "inc-7", "东门")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		URL     string `json:"whip_url"`
		Tok     string `json:"token"`
		Channel string `json:"position_channel"`
		ICE     []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.URL, s.URL+"/api/v1/video/whip?") || !strings.Contains(info.URL, "incident_id=inc-7") || info.Tok == "" ||
		info.Channel != "position" || len(info.ICE) != 2 || info.ICE[1].Username != "u1" || info.ICE[0].Username != "" {
		t.Errorf("info = %s", raw)
	}
	if l, err := c.VideoStreams(true); err != nil || l != "[]" {
		t.Errorf("streams = %s %v", l, err)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(mobile.VideoPositionJSON(30.1, 120.2, -1, 2.5, 1767225600000)), &p); err != nil {
		t.Fatal(err)
	}
	if p["lat"] != 30.1 || p["speed"] != 2.5 || p["heading"] != nil || p["time"] != "2026-01-01T00:00:00Z" {
		t.Errorf("position = %v", p)
	}
}

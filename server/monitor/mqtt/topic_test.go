package mqtt_test

import (
	"strings"
	"testing"

	"github.com/yingji/yingji/server/monitor/mqtt"
)

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		topic, code, kind string
		ok                bool
	}{
		{"yingji/devices/T-01/readings", "T-01", "readings", true},
		{"yingji/devices/液位计1/heartbeat", "液位计1", "heartbeat", true},
		{mqtt.ReadingsTopic("x"), "x", "readings", true},
		{mqtt.HeartbeatTopic("x"), "x", "heartbeat", true},
		{mqtt.CommandsTopic("x"), "", "", false},
		{"yingji/devices/x/readings/more", "", "", false},
		{"yingji/devices//readings", "", "", false},
		{"yingji/devices/$x/readings", "", "", false},
		{"yingji/devices/+/readings", "", "", false},
		{"yingji/devices/#", "", "", false},
		{"yingji/devices/x", "", "", false},
		{"other/devices/x/readings", "", "", false},
		{"yingji/devices/" + strings.Repeat("a", 129) + "/readings", "", "", false},
		{"yingji/devices/bad\xff/readings", "", "", false},
	} {
		code, kind, ok := mqtt.ParseTopic(tc.topic)
		if code != tc.code || kind != tc.kind || ok != tc.ok {
			t.Errorf("ParseTopic(%q) = %q, %q, %v; want %q, %q, %v", tc.topic, code, kind, ok, tc.code, tc.kind, tc.ok)
		}
	}
}

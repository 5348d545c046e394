package timeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// jsonHash is the event hash as it was first defined (encoding/json): anchors made with it
// must keep verifying.
func jsonHash(e *Event) string {
	b, _ := json.Marshal([]any{e.Key, e.Kind, e.At, e.Actor, e.TeamID, e.Title, e.Lat, e.Lng, e.Ref, e.Media})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestHashMatchesJSON(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	odd := []string{"", "现场反馈：氯气泄漏 <50m> & \"东门\"", "tab\tnew\nline\r\\", "\x00\x1f\x7f", "bad\xffutf8\xc3", "line\u2028sep\u2029",
		"emoji 🚒", "任务“关闭阀门”已完成，原因：x"}
	floats := []*float64{nil, f(0), f(30.2231), f(-120.3512), f(1e-7), f(-3.5e-9), f(1e21), f(123456789.125), f(0.000001)}
	cases := []Event{{Key: "incident:x", Kind: KindIncidentReported, At: "2026-12-07T08:00:00.000Z"},
		{Key: "feedback:y", Kind: KindFeedback, Title: odd[1], Lat: floats[2], Lng: floats[3], Media: []string{}},
		{Key: "video:z:ended", Kind: KindVideo, Media: []string{"aa", "bb"}, Ref: "video_recordings/z"}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		e := Event{Key: odd[rng.IntN(len(odd))], Kind: odd[rng.IntN(len(odd))], At: odd[rng.IntN(len(odd))], Actor: odd[rng.IntN(len(odd))],
			TeamID: odd[rng.IntN(len(odd))], Title: odd[rng.IntN(len(odd))], Lat: floats[rng.IntN(len(floats))], Lng: floats[rng.IntN(len(floats))],
			Ref: odd[rng.IntN(len(odd))]}
		if n := rng.IntN(4); n > 0 {
			for range n - 1 {
				e.Media = append(e.Media, odd[rng.IntN(len(odd))])
			}
			if e.Media == nil {
				e.Media = []string{}
			}
		}
		cases = append(cases, e)
	}
	for _, e := range cases {
		if got, want := e.hash(), jsonHash(&e); got != want {
			b, _ := json.Marshal([]any{e.Key, e.Kind, e.At, e.Actor, e.TeamID, e.Title, e.Lat, e.Lng, e.Ref, e.Media})
			t.Fatalf("hash of %s differs from encoding/json's", b)
		}
	}
}

func TestNormFastPath(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-07T08:00:00Z": "2026-12-07T08:00:00.000Z", "2026-12-07T08:00:00.123Z": "2026-12-07T08:00:00.123Z",
		"2026-12-07T16:00:00+08:00": "2026-12-07T08:00:00.000Z", "2026-12-07T08:00:00.5Z": "2026-12-07T08:00:00.500Z",
		"2026-13-07T08:00:00Z": "2026-13-07T08:00:00Z", "": "", "garbage": "garbage",
	} {
		if got := norm(in); got != want {
			t.Errorf("norm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStepsOf(t *testing.T) {
	for _, in := range []string{"", "null", "[]", `[{"status":"accepted","by":"u1","at":"2026-12-07T08:00:00.000Z","received_at":"x"}]`,
		`[{"status":"done","by":"u","at":"t"}, {"status":"refused","by":"u","at":"t","reason":"设备 \u003c 2 台"}]`,
		`[{"status":"done","level":3}]`, `[{"status":"a\"b"}]`, `[{"status":"x"},]`, `garbage`} {
		var want []step
		json.Unmarshal([]byte(in), &want)
		got := stepsOf(in)
		if len(got) != len(want) {
			t.Fatalf("%s: %+v, want %+v", in, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %+v, want %+v", in, got, want)
			}
		}
	}
}

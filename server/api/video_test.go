package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/yingji/yingji/media/video"
	"github.com/yingji/yingji/media/video/videotest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// sdpPost sends an SDP (or sdpfrag) body.
func sdpPost(t *testing.T, s *apptest.Server, method, path, token, ctype, body string, hdr map[string]string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func videoServer(t *testing.T, start func(testing.TB, ...apptest.Option) *apptest.Server, opts ...func(*config.Config)) *apptest.Server {
	return start(t, apptest.WithConfig(func(c *config.Config) {
		c.VideoUDPAddr = "127.0.0.1:0"
		c.VideoICEServers = "stun:stun.example.cn:3478"
		for _, o := range opts {
			o(c)
		}
	}))
}

// whipPublish publishes synthetic H.264 as the token's user; it answers the response and the
// running publisher (nil when refused).
func whipPublish(t *testing.T, s *apptest.Server, api *webrtc.API, token, query string) (apptest.Response, *videotest.Publisher) {
	t.Helper()
	p, err := videotest.NewPublisher(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	offer, err := videotest.Offer(p.PC)
	if err != nil {
		t.Fatal(err)
	}
	r := sdpPost(t, s, "POST", "/api/v1/video/whip"+query, token, "application/sdp", offer, nil)
	if r.Status != http.StatusCreated {
		p.Close()
		return r, nil
	}
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(r.Body)}); err != nil {
		t.Fatal(err)
	}
	p.Start()
	return r, p
}

func whepView(t *testing.T, s *apptest.Server, api *webrtc.API, token, streamID string) (apptest.Response, *videotest.Viewer) {
	t.Helper()
	v, err := videotest.NewViewer(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	offer, err := videotest.Offer(v.PC)
	if err != nil {
		t.Fatal(err)
	}
	r := sdpPost(t, s, "POST", "/api/v1/video/streams/"+streamID+"/whep", token, "application/sdp", offer, nil)
	if r.Status != http.StatusCreated {
		v.Close()
		return r, nil
	}
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(r.Body)}); err != nil {
		t.Fatal(err)
	}
	return r, v
}

// TestVideoWHIP: a grid worker publishes by WHIP, the township's administrator and the city's
// watch by WHEP and get frames; positions sent over the data channel show on the stream and its
// track; another township's administrator is refused; the publisher ends the stream with DELETE;
// every step is in the audit log. On both engines.
func TestVideoWHIP(t *testing.T) {
	for _, e := range []struct {
		name  string
		start func(testing.TB, ...apptest.Option) *apptest.Server
	}{{"SQLite", apptest.Start}, {"Postgres", apptest.StartPostgres}} {
		t.Run(e.name, func(t *testing.T) {
			s := videoServer(t, e.start)
			api, _, err := videotest.API(nil)
			if err != nil {
				t.Fatal(err)
			}
			grid, town, other, admin := s.Login(t, "grid01"), s.Login(t, "township01"), s.Login(t, "township02"), s.Login(t, "admin")

			inc := videoIncident(t, s, town, "grid01")
			r, pub := whipPublish(t, s, api, grid, "?incident_id="+inc+"&title="+"%E4%B8%9C%E9%97%A8")
			if r.Status != http.StatusCreated {
				t.Fatalf("publish: %d %s", r.Status, r.Body)
			}
			loc, etag, id := r.Header.Get("Location"), r.Header.Get("ETag"), r.Header.Get("X-Stream-ID")
			if !strings.HasPrefix(loc, "/api/v1/video/whip/") || etag == "" || id == "" ||
				r.Header.Get("Content-Type") != "application/sdp" ||
				r.Header.Get("Link") != `<stun:stun.example.cn:3478>; rel="ice-server"` {
				t.Fatalf("publish headers: %v", r.Header)
			}

			_, v1 := whepView(t, s, api, town, id)
			_, v2 := whepView(t, s, api, admin, id)
			if v1 == nil || v2 == nil {
				t.Fatal("a viewer was refused")
			}
			for i, v := range []*videotest.Viewer{v1, v2} {
				deadline := time.Now().Add(20 * time.Second)
				for v.Frames.Load() < 30 {
					if time.Now().After(deadline) {
						t.Fatalf("viewer %d: %d frames", i+1, v.Frames.Load())
					}
					time.Sleep(20 * time.Millisecond)
				}
				if v.Keyframes.Load() == 0 {
					t.Errorf("viewer %d: no keyframe", i+1)
				}
			}

			// Refusals.
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/streams/"+id+"/whep", other, "application/sdp", "v=0", nil), 403, "auth.out_of_scope")
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip", "", "application/sdp", "v=0", nil), 401, "auth.no_token")
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip", s.Login(t, "auditor01"), "application/sdp", "v=0", nil), 403, "video.publish_forbidden")
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip", grid, "application/sdp", "v=0\r\nnot sdp at all", nil), 400, "video.bad_sdp")
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip", grid, "application/json", "{}", nil), 400, "video.content_type")
			h265 := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 116 45\r\nc=IN IP4 0.0.0.0\r\n" +
				"a=rtpmap:116 H265/90000\r\na=rtpmap:45 AV1/90000\r\na=sendonly\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
				"a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\na=setup:actpass\r\n"
			m := wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip", grid, "application/sdp", h265, nil), 400, "video.unsupported_codec")
			if !strings.Contains(fmt.Sprint(m["message"]), "H.264") {
				t.Errorf("message = %v", m["message"])
			}
			// Another user cannot take over the stream.
			wantError(t, sdpPost(t, s, "POST", "/api/v1/video/whip?stream_id="+id, s.Login(t, "safety01"), "application/sdp", h265, nil), 403, "video.not_publisher")

			// Positions over the data channel.
			deadline := time.Now().Add(10 * time.Second)
			for pub.DC.ReadyState() != webrtc.DataChannelStateOpen && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			for i := 0; i < 3; i++ {
				if err := pub.DC.SendText(fmt.Sprintf(`{"lat":%f,"lng":120.15,"heading":%d,"speed":1.5}`, 29.87+float64(i)*0.001, i*10)); err != nil {
					t.Fatal(err)
				}
			}
			var st video.Stream
			for {
				want(t, s.Do(t, "GET", "/api/v1/video/streams/"+id, town, nil), 200, &st)
				if (st.Last != nil && st.Last.Lat > 29.8715) || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if st.State != video.StateLive || st.Last == nil || st.IncidentID == nil || *st.IncidentID != inc || st.Title != "东门" ||
				st.PublisherName != "周网格" || st.Viewers != 2 || len(st.Codecs) == 0 {
				t.Errorf("stream = %+v", st)
			}
			var track []video.Position
			want(t, s.Do(t, "GET", "/api/v1/video/streams/"+id+"/positions", town, nil), 200, &track)
			if len(track) != 3 || track[0].Lat != 29.87 {
				t.Errorf("track = %+v", track)
			}
			want(t, s.Do(t, "GET", "/api/v1/video/streams/"+id+"/positions?since="+track[1].Time.Format(time.RFC3339Nano), town, nil), 200, &track)
			if len(track) != 1 {
				t.Errorf("track since = %+v", track)
			}
			var page yingji.Page[video.Stream]
			want(t, s.Do(t, "GET", "/api/v1/video/streams?live=true", town, nil), 200, &page)
			if page.Total != 1 || page.Items[0].ID != id {
				t.Errorf("township01 live list = %+v", page)
			}
			want(t, s.Do(t, "GET", "/api/v1/video/streams?live=true", other, nil), 200, &page)
			if page.Total != 0 {
				t.Errorf("township02 sees %+v", page)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/video/streams/"+id, other, nil), 403, "auth.out_of_scope")
			wantError(t, s.Do(t, "GET", "/api/v1/video/streams?state=bogus", town, nil), 400, "request.bad_query")

			// PATCH: If-Match is required and checked; a candidate is taken.
			cand := "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
			wantError(t, sdpPost(t, s, "PATCH", loc, grid, "application/trickle-ice-sdpfrag", cand, nil), 400, "video.if_match_required")
			wantError(t, sdpPost(t, s, "PATCH", loc, grid, "application/trickle-ice-sdpfrag", cand, map[string]string{"If-Match": `"nope"`}), 412, "video.etag_mismatch")
			wantError(t, sdpPost(t, s, "PATCH", loc, town, "application/trickle-ice-sdpfrag", cand, map[string]string{"If-Match": etag}), 403, "auth.out_of_scope")
			if r := sdpPost(t, s, "PATCH", loc, grid, "application/trickle-ice-sdpfrag", cand, map[string]string{"If-Match": etag}); r.Status != 204 {
				t.Errorf("patch: %d %s", r.Status, r.Body)
			}

			// DELETE by someone else is refused; by the publisher ends the stream.
			wantError(t, s.Do(t, "DELETE", loc, admin, nil), 403, "auth.out_of_scope")
			if r := s.Do(t, "DELETE", loc, grid, nil); r.Status != 204 {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			wantError(t, s.Do(t, "DELETE", loc, grid, nil), 404, "video.session_not_found")
			want(t, s.Do(t, "GET", "/api/v1/video/streams/"+id, grid, nil), 200, &st)
			if st.State != video.StateEnded || st.EndedAt == nil {
				t.Errorf("after delete: %+v", st)
			}
			if n := s.Video.SFU.Sessions(); n != 0 {
				t.Errorf("%d sessions left", n)
			}

			var audit struct {
				Items []struct {
					Action string `json:"action"`
					Result string `json:"result"`
				} `json:"items"`
			}
			want(t, s.Do(t, "GET", "/api/v1/audit?object_id="+id+"&page_size=100", admin, nil), 200, &audit)
			got := map[string]int{}
			for _, a := range audit.Items {
				got[a.Action+"/"+a.Result]++
			}
			for _, k := range []string{"video.start/ok", "video.watch/ok", "video.watch/denied", "video.stop/ok", "video.end/ok"} {
				if got[k] == 0 {
					t.Errorf("audit lacks %s: %v", k, got)
				}
			}
		})
	}
}

// videoIncident reports an incident as the token's user and makes the named users its active
// members; it returns the incident's id.
func videoIncident(t *testing.T, s *apptest.Server, token string, members ...string) string {
	t.Helper()
	var x struct {
		ID string `json:"id"`
	}
	want(t, s.Do(t, "POST", "/api/v1/incidents", token, map[string]any{"title": "东门仓库火灾", "class": "accident"}), 201, &x)
	ctx := context.Background()
	for _, u := range members {
		var uid string
		if err := s.DB.QueryRow(ctx, "SELECT id FROM users WHERE username = $1", u).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		if err := s.DB.InTx(ctx, func(tx sqldb.Querier) error {
			return s.Incidents.AddMembers(ctx, tx, x.ID, []incident.Member{{UserID: uid, Group: incident.GroupMember}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	return x.ID
}

// TestVideoIncidentRules: a stream for an incident is published only by the incident's active
// members (others, and an unknown incident, get 403 video.not_incident_member); the incident's
// members watch and list its streams although their role cannot watch otherwise; the command
// centre whose subtree holds the incident watches a member's stream from outside its subtree;
// a township outside both is refused; refusals and watches are audited. On both engines.
func TestVideoIncidentRules(t *testing.T) {
	for _, e := range []struct {
		name  string
		start func(testing.TB, ...apptest.Option) *apptest.Server
	}{{"SQLite", apptest.Start}, {"Postgres", apptest.StartPostgres}} {
		t.Run(e.name, func(t *testing.T) {
			s := videoServer(t, e.start)
			api, _, err := videotest.API(nil)
			if err != nil {
				t.Fatal(err)
			}
			grid, rescue, safety := s.Login(t, "grid01"), s.Login(t, "rescue01"), s.Login(t, "safety01")
			town, other, admin := s.Login(t, "township01"), s.Login(t, "township02"), s.Login(t, "admin")
			inc := videoIncident(t, s, town, "grid01", "rescue01")

			// Not a member, or no such incident: refused, coded, in Chinese, audited.
			r, _ := whipPublish(t, s, api, safety, "?incident_id="+inc)
			m := wantError(t, r, 403, "video.not_incident_member")
			if !strings.Contains(fmt.Sprint(m["message"]), "事件") {
				t.Errorf("message = %v", m["message"])
			}
			r, _ = whipPublish(t, s, api, grid, "?incident_id=no-such-incident")
			wantError(t, r, 403, "video.not_incident_member")

			// Members publish: the grid worker and the rescue team member (whose unit is not
			// under township01).
			r, _ = whipPublish(t, s, api, grid, "?incident_id="+inc)
			if r.Status != 201 {
				t.Fatalf("member grid01: %d %s", r.Status, r.Body)
			}
			gridStream := r.Header.Get("X-Stream-ID")
			r, _ = whipPublish(t, s, api, rescue, "?incident_id="+inc)
			if r.Status != 201 {
				t.Fatalf("member rescue01: %d %s", r.Status, r.Body)
			}
			rescueStream := r.Header.Get("X-Stream-ID")

			// rescue01 cannot watch by role, but as a member he watches grid01's stream.
			if _, v := whepView(t, s, api, rescue, gridStream); v == nil {
				t.Fatal("member rescue01 refused grid01's stream")
			} else {
				waitViewer(t, v, 10)
			}
			// township01 holds the incident: it watches rescue01's stream from outside its subtree.
			if _, v := whepView(t, s, api, town, rescueStream); v == nil {
				t.Fatal("township01 refused a stream of its incident")
			} else {
				waitViewer(t, v, 10)
			}
			r, _ = whepView(t, s, api, other, rescueStream)
			wantError(t, r, 403, "auth.out_of_scope")

			list := func(token string) []string {
				var page yingji.Page[video.Stream]
				want(t, s.Do(t, "GET", "/api/v1/video/streams?live=true&sort=started_at", token, nil), 200, &page)
				var ids []string
				for _, x := range page.Items {
					ids = append(ids, x.ID)
				}
				sort.Strings(ids)
				return ids
			}
			both := []string{gridStream, rescueStream}
			sort.Strings(both)
			for name, tok := range map[string]string{"rescue01": rescue, "township01": town, "admin": admin} {
				if got := list(tok); fmt.Sprint(got) != fmt.Sprint(both) {
					t.Errorf("%s lists %v, want %v", name, got, both)
				}
			}
			if got := list(other); len(got) != 0 {
				t.Errorf("township02 lists %v", got)
			}
			if got := list(safety); len(got) != 0 {
				t.Errorf("safety01 lists %v", got)
			}

			var audit struct {
				Items []struct {
					Action   string `json:"action"`
					Result   string `json:"result"`
					ObjectID string `json:"object_id"`
				} `json:"items"`
			}
			want(t, s.Do(t, "GET", "/api/v1/audit?action=video.publish&page_size=100", admin, nil), 200, &audit)
			denied := 0
			for _, a := range audit.Items {
				if a.Result == "denied" && (a.ObjectID == inc || a.ObjectID == "no-such-incident") {
					denied++
				}
			}
			if denied != 2 {
				t.Errorf("%d refused publishes audited, want 2: %+v", denied, audit.Items)
			}
			want(t, s.Do(t, "GET", "/api/v1/audit?object_id="+rescueStream+"&page_size=100", admin, nil), 200, &audit)
			got := map[string]int{}
			for _, a := range audit.Items {
				got[a.Action+"/"+a.Result]++
			}
			if got["video.watch/ok"] != 1 || got["video.watch/denied"] != 1 || got["video.start/ok"] != 1 {
				t.Errorf("audit of rescue01's stream: %v", got)
			}
		})
	}
}

func waitViewer(t *testing.T, v *videotest.Viewer, frames int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for v.Frames.Load() < frames {
		if time.Now().After(deadline) {
			t.Fatalf("viewer: %d frames", v.Frames.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVideoFull: beyond video_max_streams a publish is answered 503 with Retry-After, and
// nothing is left behind.
func TestVideoFull(t *testing.T) {
	s := videoServer(t, apptest.Start, func(c *config.Config) { c.VideoMaxStreams = 1 })
	api, _, err := videotest.API(nil)
	if err != nil {
		t.Fatal(err)
	}
	grid := s.Login(t, "grid01")
	r, _ := whipPublish(t, s, api, grid, "")
	if r.Status != 201 {
		t.Fatalf("first: %d %s", r.Status, r.Body)
	}
	r2, _ := whipPublish(t, s, api, s.Login(t, "rescue01"), "")
	wantError(t, r2, 503, "video.full")
	if ra := r2.Header.Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After = %q", ra)
	}
	if r := s.Do(t, "DELETE", r.Header.Get("Location"), grid, nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	if n := s.Video.SFU.Sessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	_ = bytes.MinRead
}

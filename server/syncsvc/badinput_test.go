package syncsvc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/syncproto"
)

// TestBadInput: the sync endpoints refuse malformed, oversized and outdated requests with a
// stable code and a Chinese message, and speak gzip both ways.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const limit = 65536
	small := apptest.WithConfig(func(c *config.Config) { c.MaxSyncBytes = limit })
	eachEngine(t, func(t *testing.T, e *env) {
		safety := e.client(t, "safety01")
		tok := safety.token
		push := func(body string) apptest.Response { return e.rawPost(t, "/api/v1/sync/push", tok, []byte(body), nil) }

		t.Run("malformed", func(t *testing.T) {
			for _, body := range []string{
				`{"protocol":1,"mutations":[`,
				`{"protocol":1,"mutations":{}}`,
				`{"protocol":"1","mutations":[]}`,
				`{"protocol":1,"mutations":[],"extra":true}`,
				`[1,2,3]`,
				`not json`,
			} {
				wantError(t, push(body), 400, "sync.bad_batch")
			}
			wantError(t, e.rawPost(t, "/api/v1/sync/pull", tok, []byte(`{"protocol":1,"checkpoints":{"ent:x":"many"}}`), nil), 400, "sync.bad_batch")
			wantError(t, push(``), 400, "request.empty_body")
			wantError(t, e.rawPost(t, "/api/v1/sync/push", tok, []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}), 400, "request.bad_gzip")
		})

		t.Run("too large", func(t *testing.T) {
			big := syncproto.PushRequest{Protocol: 1, DeviceID: safety.device,
				Mutations: []syncproto.Mutation{safety.newHazard(e.entID(entA), strings.Repeat("大", limit))}}
			body := mustJSON(t, big)
			m := wantError(t, e.rawPost(t, "/api/v1/sync/push", tok, body, nil), 413, "request.too_large")
			if data, _ := m["data"].(map[string]any); data["limit_bytes"] != float64(limit) || !strings.Contains(m["message"].(string), "64 KiB") {
				t.Fatalf("too large answer %v", m)
			}
			// Compressed small but larger than the limit once inflated: refused the same way.
			zipped := gzipped(t, body)
			if len(zipped) >= limit {
				t.Fatalf("test body compresses to %d bytes", len(zipped))
			}
			wantError(t, e.rawPost(t, "/api/v1/sync/push", tok, zipped, map[string]string{"Content-Encoding": "gzip"}), 413, "request.too_large")
			wantError(t, e.rawPost(t, "/api/v1/sync/pull", tok, []byte(`{"protocol":1,"checkpoints":{"`+strings.Repeat("x", limit)+`":1}}`), nil), 413, "request.too_large")
			// Nothing of the refused batch is in.
			if _, ok := newReplicaOf(t, safety).get("ent:"+e.entID(entA), "hazards", big.Mutations[0].ID); ok {
				t.Fatalf("hazard of a refused batch was saved")
			}
		})

		t.Run("gzip", func(t *testing.T) {
			m := safety.newHazard(e.entID(entA), "压缩提交")
			body := gzipped(t, mustJSON(t, syncproto.PushRequest{Protocol: 1, DeviceID: safety.device, Mutations: []syncproto.Mutation{m}}))
			r := e.rawPost(t, "/api/v1/sync/push", tok, body, map[string]string{"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
			// The answer of one change is small: sent as it is (compressing it costs more than
			// it saves), though the client accepts gzip.
			if r.Status != 200 || r.Header.Get("Content-Encoding") != "" || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Fatalf("gzip push: %d %v", r.Status, r.Header)
			}
			var resp syncproto.PushResponse
			if err := json.Unmarshal(r.Body, &resp); err != nil || len(resp.Results) != 1 {
				t.Fatalf("gzip push answer: %v %+v", err, resp)
			}
			wantResult(t, resp.Results[0], syncproto.StatusApplied, "")
			// A pull answered in gzip holds the hazard.
			r = e.rawPost(t, "/api/v1/sync/pull", tok, []byte(`{"protocol":1,"checkpoints":{}}`), map[string]string{"Accept-Encoding": "gzip"})
			if r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("gzip pull: %d %v", r.Status, r.Header)
			}
			plain := gunzip(t, r.Body)
			var pull syncproto.PullResponse
			if err := json.Unmarshal(plain, &pull); err != nil || !bytes.Contains(plain, []byte(m.ID)) {
				t.Fatalf("gzip pull answer lacks the hazard: %v", err)
			}
			if len(r.Body) >= len(plain) {
				t.Fatalf("gzip answer of %d bytes for %d plain", len(r.Body), len(plain))
			}
			// Without Accept-Encoding the answer is plain JSON.
			r = e.rawPost(t, "/api/v1/sync/pull", tok, []byte(`{"protocol":1,"checkpoints":{}}`), map[string]string{"Accept-Encoding": "identity"})
			if r.Status != 200 || r.Header.Get("Content-Encoding") != "" || !json.Valid(r.Body) {
				t.Fatalf("plain pull: %d %v", r.Status, r.Header)
			}
		})

		t.Run("protocol", func(t *testing.T) {
			for _, path := range []string{"/api/v1/sync/push", "/api/v1/sync/pull"} {
				m := wantError(t, e.rawPost(t, path, tok, []byte(`{"protocol":0}`), nil), 400, syncproto.CodeUpgrade)
				if data, _ := m["data"].(map[string]any); data["min_protocol"] != float64(syncproto.MinProtocol) || data["max_protocol"] != float64(syncproto.Protocol) {
					t.Fatalf("upgrade answer %v", m)
				}
				wantError(t, e.rawPost(t, path, tok, []byte(fmt.Sprintf(`{"protocol":%d}`, syncproto.Protocol+1)), nil), 400, "sync.server_too_old")
			}
		})

		t.Run("batch too large", func(t *testing.T) {
			body := `{"protocol":1,"mutations":[` + strings.TrimSuffix(strings.Repeat("{},", 1001), ",") + `]}`
			m := wantError(t, push(body), 413, "sync.batch_too_large")
			if data, _ := m["data"].(map[string]any); data["limit"] != float64(1000) {
				t.Fatalf("batch too large answer %v", m)
			}
			// 1000 is fine (each empty mutation is rejected on its own).
			var resp syncproto.PushResponse
			mustOK(t, push(`{"protocol":1,"mutations":[`+strings.TrimSuffix(strings.Repeat("{},", 1000), ",")+`]}`), &resp)
			if len(resp.Results) != 1000 || resp.Results[999].Code != syncproto.CodeInvalid {
				t.Fatalf("1000 empty mutations: %d results", len(resp.Results))
			}
		})

		t.Run("no token", func(t *testing.T) {
			for _, path := range []string{"/api/v1/sync/push", "/api/v1/sync/pull"} {
				wantError(t, e.rawPost(t, path, "", []byte(`{"protocol":1}`), nil), 401, "auth.no_token")
				wantError(t, e.rawPost(t, path, "yj_forged", []byte(`{"protocol":1}`), nil), 401, "auth.invalid_token")
			}
		})
	}, small)
}

// newReplicaOf is a fresh full pull of a device.
func newReplicaOf(t testing.TB, c *client) *replica {
	t.Helper()
	r := newReplica()
	c.sync(t, r, 0)
	return r
}

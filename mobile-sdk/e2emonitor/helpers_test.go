package e2emonitor_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/alert"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/notify/notifytest"
)

// The shared end-to-end helpers, under this package's names.
var (
	send = e2etest.Send
	raw  = e2etest.Raw
	sum  = e2etest.Sum
)

// smsTemplate is the provider template id the SMS stand-in registers for alerts, with the
// parameters the server's alert message fills (config key sms_alert_template).
const smsTemplate = "SMS_YJ_ALERT_01"

var smsParams = []string{"enterprise", "title", "level", "time"}

// standIns are the outside services, each a local stand-in that checks what the real one checks.
type standIns struct {
	ZZD      *notifytest.ZZD
	SMS      *notifytest.SMS
	FCM      *notifytest.FCM
	DingTalk *notifytest.DingTalk
}

// newStandIns starts the stand-ins. apptest has no option to set Main.Channels, so the server
// builds its real notify clients from the configuration keys, pointed at the stand-ins.
func newStandIns(t *testing.T) (*standIns, apptest.Option) {
	t.Helper()
	st := &standIns{ZZD: notifytest.NewZZD(t), SMS: notifytest.NewSMS(t), FCM: notifytest.NewFCM(t), DingTalk: notifytest.NewDingTalk(t)}
	st.SMS.Template(smsTemplate, smsParams...)
	creds := filepath.Join(t.TempDir(), "fcm-service-account.json")
	if err := os.WriteFile(creds, []byte(st.FCM.ServiceAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	return st, apptest.WithConfig(func(c *config.Config) {
		c.ZZDDomain, c.ZZDAppKey, c.ZZDAppSecret, c.ZZDTenantID = st.ZZD.URL, st.ZZD.AppKey, st.ZZD.AppSecret, st.ZZD.TenantID
		c.SMSURL, c.SMSAccessKey, c.SMSSecret, c.SMSSignName = st.SMS.URL, st.SMS.AccessKey, st.SMS.Secret, st.SMS.SignName
		c.SMSAlertTemplate = smsTemplate
		c.FCMProjectID, c.FCMCredentialsFile, c.FCMEndpoint = st.FCM.ProjectID, creds, st.FCM.Endpoint()
	})
}

// noRefusals fails when a stand-in refused a request on its own account (bad signature, stale
// timestamp, reused nonce, unknown template, ...): the real service would have refused it too.
func (st *standIns) noRefusals(t *testing.T) {
	t.Helper()
	for name, rs := range map[string][]notifytest.Refusal{"浙政钉": st.ZZD.Refusals(), "短信": st.SMS.Refusals(),
		"FCM": st.FCM.Refusals(), "钉钉": st.DingTalk.Refusals()} {
		if len(rs) > 0 {
			t.Errorf("the %s stand-in refused requests: %+v", name, rs)
		}
	}
}

// photo is a real JPEG, different for every seed.
func photo(t *testing.T, seed uint64) []byte {
	t.Helper()
	rng := mrand.New(mrand.NewPCG(seed, 29))
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.IntN(64))
			img.Set(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) + n, uint8(seed*70) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// phone is a field client: a real SDK replica signed in through url (a proxy or the server).
type phone struct {
	*sdk.Client
	name string
}

func newPhone(t *testing.T, url, user string, opts sdk.Options) *phone {
	t.Helper()
	return &phone{Client: e2etest.Phone(t, url, user, opts), name: user}
}

func (p *phone) sync(t *testing.T) sdk.SyncStats {
	t.Helper()
	return e2etest.Sync(t, p.Client, p.name)
}

// field decodes one field of a replica record.
func field[T any](t *testing.T, r sdk.Record, name string) T {
	t.Helper()
	var v T
	if b, ok := r.Fields[name]; ok {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("field %s of %s/%s: %v (%s)", name, r.Collection, r.ID, err, b)
		}
	}
	return v
}

// api is a REST client on a server URL (an in-process apptest server or a server process).
func api(url string) *apptest.Server {
	return &apptest.Server{URL: url, Client: &http.Client{Timeout: 30 * time.Second}}
}

// get GETs path and decodes the JSON answer into out, failing on any status but 200.
func get(t *testing.T, s *apptest.Server, path, token string, out any) {
	t.Helper()
	r := s.Do(t, http.MethodGet, path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if out != nil {
		r.JSON(t, out)
	}
}

type me struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	OrgUnitID    string `json:"org_unit_id"`
	EnterpriseID string `json:"enterprise_id"`
}

type enterprise struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	TownshipID string `json:"township_id"`
	OrgPath    string `json:"org_path"`
}

// demoPlace is the demo enterprise of safety01 and its township (township01's unit).
type demoPlace struct {
	admin      string
	safety     me
	township   me
	enterprise enterprise
}

func demo(t *testing.T, s *apptest.Server) demoPlace {
	t.Helper()
	var d demoPlace
	d.admin = s.Login(t, "admin")
	get(t, s, "/api/v1/auth/me", s.Login(t, "safety01"), &d.safety)
	get(t, s, "/api/v1/auth/me", s.Login(t, "township01"), &d.township)
	if d.safety.EnterpriseID == "" || d.township.OrgUnitID == "" {
		t.Fatalf("demo accounts: safety01 %+v, township01 %+v", d.safety, d.township)
	}
	get(t, s, "/api/v1/enterprises/"+d.safety.EnterpriseID, d.admin, &d.enterprise)
	if d.enterprise.TownshipID != d.township.OrgUnitID {
		t.Fatalf("safety01's enterprise %+v is not in township01's township %s", d.enterprise, d.township.OrgUnitID)
	}
	return d
}

// tempDevice is a device with one temperature point whose only rule is 一级 at 80 ℃ (high,
// no minimum duration) and no data-quality checks, so the only alert it can cause is the
// threshold's.
type tempDevice struct {
	ID, Code, Secret string
	Point            monitor.Point
}

const pointCode = "TI-101"

func createTempDevice(t *testing.T, s *apptest.Server, admin, enterpriseID, code string, extraPoints ...string) tempDevice {
	t.Helper()
	var created struct {
		Device monitor.Device `json:"device"`
		Secret string         `json:"secret"`
	}
	send(t, s, http.MethodPost, "/api/v1/devices", admin, map[string]any{"enterprise_id": enterpriseID, "code": code,
		"name": "1号储罐测温仪", "category": "hazchem", "kind": "sensor"}, http.StatusCreated, &created)
	if created.Secret == "" || created.Device.Code != code || created.Device.EnterpriseID != enterpriseID {
		t.Fatalf("device created: %+v", created)
	}
	d := tempDevice{ID: created.Device.ID, Code: code, Secret: created.Secret}
	send(t, s, http.MethodPost, "/api/v1/monitor-points", admin, map[string]any{"device_id": d.ID, "code": pointCode,
		"name": "1号储罐温度", "kind": "temperature", "unit": "℃", "sampling_period_s": 1, "quality": map[string]any{},
		"thresholds": []map[string]any{{"id": "hi", "direction": "high", "min_duration_s": 0,
			"levels": []map[string]any{{"level": 1, "name": "一级", "value": 80}}}}}, http.StatusCreated, &d.Point)
	if len(d.Point.Thresholds) != 1 || len(d.Point.Thresholds[0].Levels) != 1 || d.Point.Thresholds[0].Levels[0].Value != 80 {
		t.Fatalf("point thresholds: %+v", d.Point.Thresholds)
	}
	for _, c := range extraPoints {
		send(t, s, http.MethodPost, "/api/v1/monitor-points", admin, map[string]any{"device_id": d.ID, "code": c,
			"name": "探测点 " + c, "kind": "temperature", "unit": "℃", "quality": map[string]any{}, "thresholds": []any{}},
			http.StatusCreated, nil)
	}
	return d
}

// payload is a readings message: one reading of point at ts.
func payload(point string, value float64, ts time.Time) string {
	return fmt.Sprintf(`{"ts": %d, "readings": [{"point": %q, "value": %g, "unit": "℃"}]}`, ts.UnixMilli(), point, value)
}

// mqttDevice connects a device to an MQTT broker the way a gateway does: MQTT 5, client id and
// username = its code, password = its secret (user and pass empty: no credentials).
func mqttDevice(t *testing.T, addr, clientID, user, pass string) *paho.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial MQTT %s: %v", addr, err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: clientID, Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: clientID, KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pass), true
	}
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		t.Fatalf("MQTT connect as %s: %v (connack %+v)", clientID, err, ack)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

// publish publishes with QoS 1 and fails unless the broker acknowledged it as a success.
func publish(t *testing.T, c *paho.Client, topic, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(body)})
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	if res != nil && res.ReasonCode >= 0x80 {
		t.Fatalf("publish %s refused: reason 0x%x", topic, res.ReasonCode)
	}
}

func readingsTopic(code string) string { return "yingji/devices/" + code + "/readings" }

// eventually polls fn every 100 ms until it returns "" or within passes; then it fails with
// fn's last word.
func eventually(t *testing.T, within time.Duration, fn func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msg := fn()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getAlert(t *testing.T, s *apptest.Server, token, id string) alert.Alert {
	t.Helper()
	var a alert.Alert
	get(t, s, "/api/v1/alerts/"+id, token, &a)
	return a
}

// alertsOfDevice lists the alerts a device caused.
func alertsOfDevice(t *testing.T, s *apptest.Server, token, enterpriseID, deviceID string) []alert.Alert {
	t.Helper()
	var page struct {
		Items []alert.Alert `json:"items"`
		Total int           `json:"total"`
	}
	get(t, s, "/api/v1/alerts?page_size=100&enterprise_id="+enterpriseID, token, &page)
	var out []alert.Alert
	for _, a := range page.Items {
		if a.DeviceID == deviceID {
			out = append(out, a)
		}
	}
	return out
}

func deliveries(t *testing.T, s *apptest.Server, token, id string) []alert.Delivery {
	t.Helper()
	var out struct {
		Items []alert.Delivery `json:"items"`
	}
	get(t, s, "/api/v1/alerts/"+id+"/deliveries", token, &out)
	return out.Items
}

func timeline(t *testing.T, s *apptest.Server, token, id string) []alert.TimelineItem {
	t.Helper()
	var out struct {
		Items []alert.TimelineItem `json:"items"`
	}
	get(t, s, "/api/v1/alerts/"+id+"/timeline", token, &out)
	return out.Items
}

func parseAt(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q is not an RFC 3339 time: %v", what, s, err)
	}
	return v
}

// counter sums a metric family of a registry (all label values, or those with label=value).
func counter(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if label != "" {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label && lp.GetValue() != value {
						continue metrics
					}
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// ci reports whether missing outside services must fail the test rather than skip it.
func ci() bool { return os.Getenv("CI") != "" }

// mustReach dials addr; without it the test fails under CI and is skipped otherwise.
func mustReach(t *testing.T, what, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if ci() {
			t.Fatalf("%s %s unreachable: %v", what, addr, err)
		}
		t.Skipf("%s %s unreachable (start it to run this test): %v", what, addr, err)
	}
	c.Close()
}

package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/monitor"
	"github.com/yingji/yingji/server/yingji"
)

var xlPointHeaders = []string{"设备编码", "设备名称", "企业统一社会信用代码", "设备类别", "设备类型", "监测点编码", "监测点名称", "监测类型",
	"单位", "量程下限", "量程上限", "采样周期（秒）", "报警方向", "一级阈值", "二级阈值", "报警持续时间（秒）"}

// monitorServer serves the monitoring routes beside the app under test: an API server of its
// own on the app's database and accounts, with a started monitor service.
func monitorServer(t *testing.T, s *apptest.Server) (*apptest.Server, *monitor.Service) {
	t.Helper()
	m := monitor.New(s.DB, s.Audit, s.Log, monitor.Config{})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	a := api.New(api.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 4 << 20, Version: "test"},
		api.Deps{DB: s.DB, Accounts: s.Accounts, Org: s.Org, Audit: s.Audit, Sync: s.Sync, Registry: prometheus.NewRegistry(), Log: s.Log})
	a.MountMonitor(m)
	hs := httptest.NewServer(a.Echo)
	t.Cleanup(hs.Close)
	return &apptest.Server{Main: s.Main, URL: hs.URL, Client: hs.Client()}, m
}

func ingest(t *testing.T, s *apptest.Server, code, secret, body string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/ingest/readings", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if code != "" {
		req.SetBasicAuth(code, secret)
	}
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func TestMonitorREST(t *testing.T) {
	eachEngine(t, func(t *testing.T, app *apptest.Server) {
		d := loadDemo(t, app)
		s, m := monitorServer(t, app)
		safety := s.Login(t, "safety01")

		var created api.DeviceCreated
		want(t, s.Do(t, "POST", "/api/v1/devices", safety, map[string]any{"enterprise_id": d.ownEnt.ID, "code": "GW-001",
			"name": "1号罐区网关", "category": "hazchem", "kind": "gateway"}), http.StatusCreated, &created)
		if created.Secret == "" || created.Device.Code != "GW-001" {
			t.Fatalf("created %+v", created)
		}
		var gas monitor.Point
		want(t, s.Do(t, "POST", "/api/v1/monitor-points", safety, map[string]any{"device_id": created.Device.ID, "code": "GT-101",
			"name": "1号罐可燃气体", "kind": "flammable_gas", "range_min": 0, "range_max": 100}), http.StatusCreated, &gas)
		if len(gas.Thresholds) != 1 || gas.Thresholds[0].Levels[1].Value != 50 || gas.Quality.StuckMinutes != 120 {
			t.Fatalf("point %+v", gas)
		}

		t.Run("Ingest", func(t *testing.T) {
			now := time.Now().UTC().Format(time.RFC3339)
			r := ingest(t, s, "GW-001", created.Secret, `{"messages": [{"ts": "`+now+`", "readings": [{"point": "GT-101", "value": 12.5, "unit": "%LEL"},
				{"point": "GT-999", "value": 1}]}, {"readings": [{"point": "GT-101", "value": 13, "unit": "ppm"}]}]}`)
			var res monitor.IngestResult
			want(t, r, http.StatusOK, &res)
			if res.Accepted != 1 || res.Rejected != 2 || res.Rejects[0].Reason != monitor.RejectUnknownPoint ||
				res.Rejects[1].Reason != monitor.RejectWrongUnit || res.Rejects[1].Message != 1 {
				t.Fatalf("result %+v", res)
			}
			var p monitor.Point
			want(t, s.Do(t, "GET", "/api/v1/monitor-points/"+gas.ID, safety, nil), 200, &p)
			if p.Latest == nil || p.Latest.Value != 12.5 {
				t.Fatalf("latest %+v", p.Latest)
			}
		})
		t.Run("ErrIngestAuth", func(t *testing.T) {
			body := wantError(t, ingest(t, s, "GW-001", "wrong", `{"readings": []}`), http.StatusUnauthorized, "monitor.device_auth_failed")
			if !strings.Contains(body["message"].(string), "设备认证失败") {
				t.Fatalf("message %v", body["message"])
			}
			wantError(t, ingest(t, s, "", "", `{}`), http.StatusUnauthorized, "monitor.device_auth_missing")
			wantError(t, ingest(t, s, "GW-001", created.Secret, `{"readings": [`), http.StatusBadRequest, "monitor.bad_payload")
		})
		t.Run("Scope", func(t *testing.T) {
			other := s.Login(t, "township02")
			wantError(t, s.Do(t, "GET", "/api/v1/devices/"+created.Device.ID, other, nil), http.StatusForbidden, "auth.out_of_scope")
			var page yingji.Page[monitor.Device]
			want(t, s.Do(t, "GET", "/api/v1/devices?category=hazchem&page_size=100", d.admin, nil), 200, &page)
			if !slices.ContainsFunc(page.Items, func(x monitor.Device) bool { return x.ID == created.Device.ID }) {
				t.Fatalf("admin list lacks the new device: %+v", page)
			}
			want(t, s.Do(t, "GET", "/api/v1/devices?page_size=100", other, nil), 200, &page)
			for _, x := range page.Items {
				if x.EnterpriseID == created.Device.EnterpriseID {
					t.Fatalf("township02 sees a device of another township: %+v", x)
				}
			}
		})
		t.Run("Thresholds", func(t *testing.T) {
			r := s.Do(t, "PUT", "/api/v1/monitor-points/"+gas.ID+"/thresholds", safety, map[string]any{"thresholds": []map[string]any{
				{"id": "hi", "direction": "high", "levels": []map[string]any{{"level": 1, "value": 30}, {"level": 2, "value": 20}}}}})
			wantError(t, r, http.StatusBadRequest, "monitor.bad_thresholds")
			var p monitor.Point
			want(t, s.Do(t, "PUT", "/api/v1/monitor-points/"+gas.ID+"/thresholds", safety, map[string]any{"thresholds": []map[string]any{
				{"id": "hi", "direction": "high", "levels": []map[string]any{{"level": 1, "value": 20}, {"level": 2, "value": 40}}}}}), 200, &p)
			if p.Thresholds[0].Levels[0].Name != "一级" || p.Thresholds[0].Levels[0].Value != 20 {
				t.Fatalf("thresholds %+v", p.Thresholds)
			}
		})
		t.Run("Import", func(t *testing.T) {
			credit := d.ownEnt.CreditCode
			bad := xlWorkbook(t, xlPointHeaders,
				[]any{"GW-002", "2号网关", credit, "危化品", "数据采集网关", "TI-1", "温度", "温度", "℃", 0, 200, 60, "高", 80, 100, 30},
				[]any{"GW-002", "2号网关", credit, "危化品", "数据采集网关", "PI-1", "压力", "压力", "bar", "", "", "", "", "", "", ""})
			e := xlWantError(t, xlUpload(t, s, "/api/v1/monitor-points/import", safety, bad), http.StatusBadRequest, "import.invalid_rows")
			if len(e.Data.Errors) != 1 || e.Data.Errors[0].Row != 3 || e.Data.Errors[0].Column != "单位" {
				t.Fatalf("errors %+v", e.Data.Errors)
			}
			good := xlWorkbook(t, xlPointHeaders,
				[]any{"GW-002", "2号网关", credit, "危化品", "数据采集网关", "TI-1", "温度", "温度", "℃", 0, 200, 60, "高", 80, 100, 30},
				[]any{"GW-002", "2号网关", credit, "危化品", "数据采集网关", "PI-1", "压力", "压力", "MPa", "", "", "", "", "", "", ""})
			var res api.PointImportResult
			want(t, xlUpload(t, s, "/api/v1/monitor-points/import", safety, good), 200, &res)
			if res.Imported != 2 || len(res.Devices) != 1 || !m.AuthDevice(context.Background(), "GW-002", res.Devices[0].Secret) {
				t.Fatalf("import %+v", res)
			}
			f := xlDownload(t, s, "/api/v1/monitor-points/export.xlsx", safety, "")
			rows := xlRows(t, f)
			found := false
			for _, r := range rows {
				if len(r) > 14 && r[0] == "GW-002" && r[5] == "TI-1" && r[13] == "80" && r[14] == "100" {
					found = true
				}
			}
			if !found {
				t.Fatalf("export rows %v", rows)
			}
		})
		t.Run("Readings", func(t *testing.T) {
			if err := m.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			var ser monitor.Series
			want(t, s.Do(t, "GET", "/api/v1/monitor-points/"+gas.ID+"/readings?resolution=raw", safety, nil), 200, &ser)
			if len(ser.Items) != 1 || ser.Items[0].Value != 12.5 {
				t.Fatalf("series %+v", ser)
			}
			var rej yingji.Page[monitor.RejectCount]
			want(t, s.Do(t, "GET", "/api/v1/monitor/rejects?device_id="+created.Device.ID, safety, nil), 200, &rej)
			if rej.Total < 2 {
				t.Fatalf("rejects %+v", rej)
			}
			var h monitor.DeviceHealth
			want(t, s.Do(t, "GET", "/api/v1/devices/"+created.Device.ID+"/health", safety, nil), 200, &h)
			if len(h.Changes) != 1 || !h.Changes[0].Online {
				t.Fatalf("health %+v", h)
			}
		})
		var sec api.DeviceSecret
		want(t, s.Do(t, "POST", "/api/v1/devices/"+created.Device.ID+"/reset-secret", safety, nil), 200, &sec)
		wantError(t, ingest(t, s, "GW-001", created.Secret, `{"readings": []}`), http.StatusUnauthorized, "monitor.device_auth_failed")
		want(t, ingest(t, s, "GW-001", sec.Secret, `{"readings": []}`), 200, nil)
	})
}

// TestMonitorOpenAPI checks the document stays valid with the monitoring routes mounted and
// lists the ingest endpoint as authenticated by the device's HTTP Basic credentials only.
func TestMonitorOpenAPI(t *testing.T) {
	s := newOpenAPIServer(t)
	s.MountMonitor(monitor.New(nil, nil, nil, monitor.Config{}))
	doc := loadOpenAPI(t, s)
	op := doc.Paths.Find("/api/v1/ingest/readings").GetOperation(http.MethodPost)
	if op == nil || op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["deviceBasic"] == nil || len((*op.Security)[0]) != 1 {
		t.Fatalf("ingest should need the device's HTTP Basic credentials (deviceBasic) and nothing else: %+v", op)
	}
	if doc.Paths.Find("/api/v1/monitor-points/{id}/readings") == nil {
		t.Fatal("readings route missing")
	}
}

//go:build oapiclient

package oapiclient

import (
	"fmt"
	"testing"
	"time"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/securityprovider"
	_ "github.com/oapi-codegen/runtime" // what client.gen.go needs; keeps it in go.mod while the file is absent

	"github.com/yingji/yingji/server/app/apptest"
)

func ptr[T any](v T) *T { return &v }

// TestGeneratedClient drives a real server only through the client oapi-codegen generated from
// admin-web/openapi.json, the way a third-party integrator would: log in (bearer), create a
// risk point, register a device and its gas point, send readings with the device's HTTP Basic
// credentials, page through the alerts they raise, and run a hazard through the REST steps.
func TestGeneratedClient(t *testing.T) {
	s := apptest.Start(t)
	ctx := t.Context()
	anon, err := NewClientWithResponses(s.URL)
	if err != nil {
		t.Fatal(err)
	}

	login, err := anon.PostAuthLoginWithResponse(ctx, LoginInput{Username: "admin", Password: apptest.Password, Client: ptr(Web)})
	if err != nil || login.JSON200 == nil {
		t.Fatalf("login: %v %s", err, body(login.Body))
	}
	if bad, _ := anon.PostAuthLoginWithResponse(ctx, LoginInput{Username: "admin", Password: "wrong"}); bad.JSON401 == nil || bad.JSON401.Code == "" {
		t.Fatalf("wrong password: status %d, want a coded 401: %s", bad.StatusCode(), bad.Body)
	}
	bearer, _ := securityprovider.NewSecurityProviderBearerToken(login.JSON200.Token)
	c, err := NewClientWithResponses(s.URL, WithRequestEditorFn(bearer.Intercept))
	if err != nil {
		t.Fatal(err)
	}
	if unauth, _ := anon.GetAlertsWithResponse(ctx, nil); unauth.JSON401 == nil {
		t.Fatalf("alerts without a session: status %d, want 401", unauth.StatusCode())
	}

	ents, err := c.GetEnterprisesWithResponse(ctx, &GetEnterprisesParams{PageSize: ptr(1)})
	if err != nil || ents.JSON200 == nil || len(ents.JSON200.Items) == 0 {
		t.Fatalf("enterprises: %v %s", err, body(ents.Body))
	}
	ent := ents.JSON200.Items[0]

	rp, err := c.PostRiskPointsWithResponse(ctx, RiskPointInput{EnterpriseId: ent.Id, Code: "OAPI-001", Name: "生成客户端创建的风险点",
		Level: RiskPointInputLevelOrange, Measures: &[]Measure{{Kind: ptr(Engineering), Text: ptr("储罐静电接地完好")}}})
	if err != nil || rp.JSON201 == nil || rp.JSON201.Id == "" || rp.JSON201.Level != RiskPointLevelOrange || len(rp.JSON201.Measures) != 1 {
		t.Fatalf("create risk point: %v %s", err, body(rp.Body))
	}
	if dup, _ := c.PostRiskPointsWithResponse(ctx, RiskPointInput{EnterpriseId: ent.Id, Code: "OAPI-001", Name: "重复", Level: RiskPointInputLevelBlue}); dup.JSON409 == nil {
		t.Errorf("duplicate code: status %d, want a coded 409: %s", dup.StatusCode(), dup.Body)
	}

	dev, err := c.PostDevicesWithResponse(ctx, DeviceInput{EnterpriseId: ent.Id, Code: "OAPI-GW-1", Name: "生成客户端网关",
		Category: Hazchem, Kind: "gateway"})
	if err != nil || dev.JSON201 == nil || dev.JSON201.Secret == "" {
		t.Fatalf("create device: %v %s", err, body(dev.Body))
	}
	pt, err := c.PostMonitorPointsWithResponse(ctx, MonitorPointInput{DeviceId: dev.JSON201.Device.Id, Code: "OAPI-GT-1",
		Name: "生成客户端可燃气体", Kind: "flammable_gas"})
	if err != nil || pt.JSON201 == nil || len(pt.JSON201.Thresholds) == 0 {
		t.Fatalf("create point: %v %s", err, body(pt.Body))
	}

	basic, _ := securityprovider.NewSecurityProviderBasicAuth(dev.JSON201.Device.Code, dev.JSON201.Secret)
	device, _ := NewClientWithResponses(s.URL, WithRequestEditorFn(basic.Intercept))
	now := time.Now().UTC()
	in, err := device.PostIngestReadingsWithResponse(ctx, IngestBody{Ts: now.Format(time.RFC3339),
		Readings: &[]IngestReading{{Point: "OAPI-GT-1", Value: 80}, {Point: "NO-SUCH-POINT", Value: 1}}})
	if err != nil || in.JSON200 == nil || in.JSON200.Accepted != 1 || in.JSON200.Rejected != 1 || len(in.JSON200.Rejects) != 1 {
		t.Fatalf("ingest: %v %s", err, body(in.Body))
	}
	wrong, _ := securityprovider.NewSecurityProviderBasicAuth(dev.JSON201.Device.Code, "wrong-secret")
	impostor, _ := NewClientWithResponses(s.URL, WithRequestEditorFn(wrong.Intercept))
	if r, _ := impostor.PostIngestReadingsWithResponse(ctx, IngestBody{Readings: &[]IngestReading{{Point: "OAPI-GT-1", Value: 1}}}); r.JSON401 == nil {
		t.Errorf("ingest with a wrong secret: status %d, want a coded 401: %s", r.StatusCode(), r.Body)
	}

	// The reading raises an alert (rules run beside ingest): wait for it, then page through
	// all alerts two at a time and find it exactly once.
	var total int
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := c.GetAlertsWithResponse(ctx, &GetAlertsParams{EnterpriseId: &ent.Id, Kind: ptr(GetAlertsParamsKindThreshold)})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("alerts: %v %s", err, body(r.Body))
		}
		if found(r.JSON200.Items, pt.JSON201.Id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert for the point after 20 s: %+v", r.JSON200.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]bool{}
	mine := 0
	for page := 1; ; page++ {
		r, err := c.GetAlertsWithResponse(ctx, &GetAlertsParams{Page: ptr(page), PageSize: ptr(2), Sort: ptr("-started_at")})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("alerts page %d: %v %s", page, err, body(r.Body))
		}
		total = r.JSON200.Total
		for _, a := range r.JSON200.Items {
			if seen[a.Id] {
				t.Errorf("alert %s on two pages", a.Id)
			}
			seen[a.Id] = true
			if a.PointId == pt.JSON201.Id {
				mine++
				if a.Status != AlertStatusNew || a.Kind != AlertKindThreshold || a.Value != 80 {
					t.Errorf("the reading's alert: %+v", a)
				}
			}
		}
		if len(r.JSON200.Items) < 2 || page > 1000 {
			break
		}
	}
	if len(seen) != total || mine != 1 {
		t.Errorf("paged through %d alerts of %d, the reading's alert %d times", len(seen), total, mine)
	}
	if r, _ := c.GetAlertsWithResponse(ctx, &GetAlertsParams{Status: ptr(GetAlertsParamsStatus("nonsense"))}); r.JSON400 == nil {
		t.Errorf("status=nonsense: %d, want a coded 400", r.StatusCode())
	}

	// A hazard through the REST steps of the rectification loop.
	h, err := c.PostHazardsWithResponse(ctx, HazardReport{EnterpriseId: ent.Id, Title: "生成客户端上报的隐患", Level: ptr(HazardReportLevelMajor)})
	if err != nil || h.JSON201 == nil || h.JSON201.Status != HazardStatusReported {
		t.Fatalf("report hazard: %v %s", err, body(h.Body))
	}
	as, err := c.PostHazardsByIdAssignWithResponse(ctx, h.JSON201.Id, HazardAssign{Deadline: now.Add(72 * time.Hour).Format(time.RFC3339),
		RectifierId: login.JSON200.User.Id, Note: ptr("三日内整改")})
	if err != nil || as.JSON200 == nil || as.JSON200.Status != HazardStatusAssigned {
		t.Fatalf("assign: %v %s", err, body(as.Body))
	}
	if sub, _ := c.PostHazardsByIdSubmitWithResponse(ctx, h.JSON201.Id, HazardSubmit{Photos: []string{}}); sub.JSON409 == nil || sub.JSON409.Code != "sync.bad_transition" {
		t.Errorf("submit an assigned hazard: %d %s, want 409 sync.bad_transition", sub.StatusCode(), sub.Body)
	}
}

func found(items []Alert, point string) bool {
	for _, a := range items {
		if a.PointId == point {
			return true
		}
	}
	return false
}

func body(b []byte) string { return fmt.Sprintf("%.500s", b) }

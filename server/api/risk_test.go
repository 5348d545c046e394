package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/risk"
	"github.com/yingji/yingji/server/risk/qrtoken"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

var xlRiskHeaders = []string{"企业统一社会信用代码", "风险点编号", "名称", "风险等级", "事故类型", "责任人", "纬度", "经度", "管控措施"}

func riskInput(ent, code string) map[string]any {
	return map[string]any{"enterprise_id": ent, "code": code, "name": "液氨储罐区", "level": "red",
		"accident_types": []string{"火灾", "爆炸"}, "responsible": "张三", "location": map[string]float64{"lat": 30.22, "lng": 120.35},
		"measures": []map[string]any{
			{"kind": "engineering", "text": "设置可燃气体报警器", "hazard_template": map[string]string{"title": "可燃气体报警器失效", "level": "major"}},
			{"kind": "management", "text": "每班巡检一次"},
		}}
}

func TestRiskPointsREST(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		d := loadDemo(t, s)
		safety := s.Login(t, "safety01")
		var p risk.RiskPoint
		want(t, s.Do(t, "POST", "/api/v1/risk-points", safety, riskInput(d.ownEnt.ID, "FX-001")), http.StatusCreated, &p)
		if p.QRVersion != 1 || len(p.Measures) != 2 || p.Measures[0].HazardTemplate == nil || p.Measures[0].HazardTemplate.Level != "major" {
			t.Fatalf("created %+v", p)
		}

		t.Run("OK", func(t *testing.T) {
			var page yingji.Page[risk.RiskPoint]
			want(t, s.Do(t, "GET", "/api/v1/risk-points?level=red&q=FX&enterprise_id="+d.ownEnt.ID, d.admin, nil), 200, &page)
			if page.Total != 1 || page.Items[0].ID != p.ID {
				t.Fatalf("list %+v", page)
			}
			var up risk.RiskPoint
			want(t, s.Do(t, "PATCH", "/api/v1/risk-points/"+p.ID, d.admin, map[string]any{"name": "一号储罐区", "level": "orange"}), 200, &up)
			if up.Name != "一号储罐区" || up.Level != risk.LevelOrange || up.Measures[0].ID != p.Measures[0].ID {
				t.Fatalf("patched %+v", up)
			}
			var got risk.RiskPoint
			want(t, s.Do(t, "GET", "/api/v1/risk-points/"+p.ID, s.Login(t, "grid01"), nil), 200, &got)
			if got.Name != "一号储罐区" {
				t.Fatalf("get %+v", got)
			}
		})
		t.Run("QR", func(t *testing.T) {
			var key struct{ PublicKey, KeyID string }
			r := s.Do(t, "GET", "/api/v1/risk-points/qr-key", safety, nil)
			want(t, r, 200, nil)
			var km map[string]string
			r.JSON(t, &km)
			key.PublicKey, key.KeyID = km["public_key"], km["key_id"]
			pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
			if err != nil || len(pub) != ed25519.PublicKeySize || qrtoken.KeyID(pub) != key.KeyID {
				t.Fatalf("key %+v", km)
			}
			var tok struct {
				Token     string
				QRVersion int `json:"qr_version"`
			}
			want(t, s.Do(t, "GET", "/api/v1/risk-points/"+p.ID+"/qr", safety, nil), 200, &tok)
			c, err := qrtoken.Verify(pub, tok.Token, p.ID, 1)
			if err != nil || c.EnterpriseID != d.ownEnt.ID {
				t.Fatalf("verify %+v %v", c, err)
			}
			r = s.Do(t, "GET", "/api/v1/risk-points/"+p.ID+"/qr.png", safety, nil)
			if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("qr.png %d %s", r.Status, r.Header.Get("Content-Type"))
			}
			var re struct {
				Token     string
				QRVersion int `json:"qr_version"`
			}
			want(t, s.Do(t, "POST", "/api/v1/risk-points/"+p.ID+"/qr/reissue", safety, nil), 200, &re)
			if re.QRVersion != 2 {
				t.Fatalf("reissued %+v", re)
			}
			if _, err := qrtoken.Verify(pub, tok.Token, p.ID, re.QRVersion); !errors.Is(err, qrtoken.ErrStale) {
				t.Fatalf("old code: %v", err)
			}
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points/qr/verify", safety, map[string]string{"token": tok.Token}), 400, "risk.qr_stale")
			want(t, s.Do(t, "POST", "/api/v1/risk-points/qr/verify", safety, map[string]string{"token": re.Token}), 200, nil)
		})
		t.Run("Labels", func(t *testing.T) {
			want(t, s.Do(t, "POST", "/api/v1/risk-points", safety, riskInput(d.ownEnt.ID, "FX-002")), http.StatusCreated, nil)
			r := s.Do(t, "GET", "/api/v1/risk-points/labels.png?enterprise_id="+d.ownEnt.ID, safety, nil)
			if r.Status != 200 {
				t.Fatalf("labels %d %s", r.Status, r.Body)
			}
			img, err := png.Decode(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 2480 || b.Dy() != 3508 {
				t.Fatalf("sheet %v, want A4 at 300 dpi", b)
			}
			wantError(t, s.Do(t, "GET", "/api/v1/risk-points/labels.png", safety, nil), 400, "request.bad_query")
		})
		t.Run("Errors", func(t *testing.T) {
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points", safety, riskInput(d.ownEnt.ID, "FX-001")), 409, "risk.duplicate_code")
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points", safety, riskInput(d.otherTown.ID, "FX-009")), 403, "auth.out_of_scope")
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points", s.Login(t, "township02"), riskInput(d.ownEnt.ID, "FX-009")), 403, "auth.out_of_scope")
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points", s.Login(t, "grid01"), riskInput(d.ownEnt.ID, "FX-009")), 403, "auth.forbidden")
			bad := riskInput(d.ownEnt.ID, "FX-009")
			bad["level"] = "purple"
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points", safety, bad), 400, "risk.bad_level")
			wantError(t, s.Do(t, "GET", "/api/v1/risk-points/"+p.ID, s.Login(t, "safety02"), nil), 403, "auth.out_of_scope")
			wantError(t, s.Do(t, "GET", "/api/v1/risk-points/"+yingji.NewID(), safety, nil), 404, "risk.not_found")
			wantError(t, s.Do(t, "POST", "/api/v1/risk-points/qr/verify", safety, map[string]string{"token": "YJRP1.abc.def"}), 400, "risk.qr_malformed")
		})
		t.Run("Delete", func(t *testing.T) {
			want(t, s.Do(t, "DELETE", "/api/v1/risk-points/"+p.ID, d.admin, nil), http.StatusNoContent, nil)
			wantError(t, s.Do(t, "GET", "/api/v1/risk-points/"+p.ID, d.admin, nil), 404, "risk.not_found")
		})
	})
}

func TestRiskPointsImport(t *testing.T) {
	s := apptest.Start(t)
	d := loadDemo(t, s)
	admin := d.admin
	code := d.ownEnt.CreditCode
	t.Run("OK", func(t *testing.T) {
		data := xlWorkbook(t, xlRiskHeaders,
			[]any{code, "IM-001", "液氨储罐区", "红", "火灾、爆炸", "张三", 30.22, 120.35,
				"工程技术|设置可燃气体报警器|可燃气体报警器失效|重大\n管理|每班巡检一次||"},
			[]any{code, "IM-002", "装卸区", "蓝", "", "", "", "", "个体防护|佩戴防护手套"})
		xlWantImported(t, xlUpload(t, s, "/api/v1/risk-points/import", admin, data), 2)
		var page yingji.Page[risk.RiskPoint]
		want(t, s.Do(t, "GET", "/api/v1/risk-points?q=IM-&sort=code", admin, nil), 200, &page)
		if page.Total != 2 || len(page.Items[0].Measures) != 2 || page.Items[0].Measures[0].HazardTemplate.Level != "major" ||
			page.Items[0].Level != risk.LevelRed || len(page.Items[0].AccidentTypes) != 2 || page.Items[1].Location != nil {
			t.Fatalf("imported %+v", page.Items)
		}
		f := xlDownload(t, s, "/api/v1/risk-points/export.xlsx?q=IM-", admin, "风险点")
		rows := xlRows(t, f)
		if len(rows) != 3 || rows[1][1] != "IM-001" || !strings.Contains(rows[1][8], "重大") {
			t.Fatalf("export rows %q", rows)
		}
		xlDownload(t, s, "/api/v1/risk-points/template.xlsx", admin, "风险点导入模板")
	})
	t.Run("ErrRows", func(t *testing.T) {
		data := xlWorkbook(t, xlRiskHeaders,
			[]any{code, "IM-010", "好的一行", "黄", "", "", "", "", ""},
			[]any{code, "IM-011", "等级不对", "紫", "", "", "", "", ""},
			[]any{code, "IM-001", "编号已存在", "红", "", "", "", "", ""},
			[]any{code, "IM-012", "措施不对", "橙", "", "", "", "", "魔法|念咒语"})
		b := xlWantError(t, xlUpload(t, s, "/api/v1/risk-points/import", admin, data), http.StatusBadRequest, "import.invalid_rows")
		want := []struct {
			row         int
			column, has string
		}{{3, "风险等级", "紫"}, {4, "风险点编号", "已存在"}, {5, "管控措施", "魔法"}}
		if len(b.Data.Errors) != len(want) {
			t.Fatalf("errors %+v, want %d", b.Data.Errors, len(want))
		}
		for i, w := range want {
			if g := b.Data.Errors[i]; g.Row != w.row || g.Column != w.column || !strings.Contains(g.Message, w.has) {
				t.Errorf("error %d: %+v, want %+v", i, g, w)
			}
		}
		var page yingji.Page[risk.RiskPoint]
		want2 := s.Do(t, "GET", "/api/v1/risk-points?q=IM-010", admin, nil)
		want2.JSON(t, &page)
		if page.Total != 0 {
			t.Fatal("a bad file stored rows")
		}
	})
}

// TestRiskPointsSync: a risk point written in the portal arrives on the enterprise's phone.
func TestRiskPointsSync(t *testing.T) {
	s := apptest.Start(t)
	d := loadDemo(t, s)
	var p risk.RiskPoint
	want(t, s.Do(t, "POST", "/api/v1/risk-points", d.admin, riskInput(d.ownEnt.ID, "SY-001")), http.StatusCreated, &p)
	pull := func(user string) map[string]syncproto.Record {
		tok := s.LoginAs(t, user, apptest.Password, "mobile", "phone-"+user)
		var resp syncproto.PullResponse
		want(t, s.Do(t, "POST", "/api/v1/sync/pull", tok, syncproto.PullRequest{Protocol: syncproto.Protocol}), 200, &resp)
		out := map[string]syncproto.Record{}
		for _, sc := range resp.Scopes {
			for _, r := range sc.Records {
				if r.Collection == "risk_points" {
					out[r.ID] = r
				}
			}
		}
		return out
	}
	got := pull("safety01")
	r, ok := got[p.ID]
	if !ok {
		t.Fatalf("risk point not pulled: %+v", got)
	}
	var measures []risk.Measure
	var v int
	json.Unmarshal(r.Fields["measures"], &measures)
	json.Unmarshal(r.Fields["qr_version"], &v)
	if len(measures) != 2 || measures[0].ID != p.Measures[0].ID || v != 1 || string(r.Fields["code"]) != `"SY-001"` {
		t.Fatalf("pulled %s", mustJSON(r.Fields))
	}
	if _, ok := pull("safety02")[p.ID]; ok {
		t.Fatal("another enterprise's officer pulled the risk point")
	}
	// Phones cannot write risk points.
	tok := s.LoginAs(t, "safety01", apptest.Password, "mobile", "phone-safety01")
	clock := syncproto.NewClock("phone-safety01", nil)
	push := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-safety01", Mutations: []syncproto.Mutation{
		{MutationID: yingji.NewID(), Collection: "risk_points", ID: p.ID, Op: "update", HLC: clock.Now().String(),
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"改名"`)}}}}
	var resp syncproto.PushResponse
	want(t, s.Do(t, "POST", "/api/v1/sync/push", tok, push), 200, &resp)
	if resp.Results[0].Status == "applied" {
		t.Fatalf("phone wrote a risk point: %+v", resp.Results)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

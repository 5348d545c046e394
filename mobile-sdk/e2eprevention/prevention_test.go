// Package e2eprevention_test is the prevention issue's end-to-end test ("Done when" of issue 6):
// risk points imported from Excel, QR labels printed, a grid worker's phone scanning a code and
// recording a patrol offline, the patrol synced twice (the second a replay), the hazards it
// raised rectified offline by the enterprise and accepted offline by the township, and the
// statistics showing it — the real server, real SDK clients.
//
//	go test -race -count=1 ./mobile-sdk/e2eprevention/
package e2eprevention_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/risk/qrtoken"
)

// The shared end-to-end helpers, under this package's names.
var (
	raw = e2etest.Raw
	sum = e2etest.Sum
)

const pushPath = "/api/v1/sync/push"

// photo is a real JPEG, different for every seed.
func photo(t *testing.T, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.IntN(64))
			img.Set(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) + n, uint8(seed*50) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writePhoto writes a JPEG into dir and returns its path and hash.
func writePhoto(t *testing.T, dir, name string, seed uint64) (string, string) {
	t.Helper()
	b := photo(t, seed)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, sum(b)
}

// phone is a field client: a real SDK replica signed in through the proxy.
type phone struct {
	*sdk.Client
	user struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Role         string `json:"role"`
		EnterpriseID string `json:"enterprise_id"`
	}
}

func newPhone(t *testing.T, server, user string, opts sdk.Options) *phone {
	t.Helper()
	ctx := context.Background()
	c, err := sdk.Open(ctx, filepath.Join(t.TempDir(), user+".db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &phone{Client: c}
	u, err := c.Login(ctx, server, user, apptest.Password)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	if err := json.Unmarshal(u, &p.user); err != nil || p.user.ID == "" {
		t.Fatalf("login %s: user %s", user, u)
	}
	return p
}

func (p *phone) sync(t *testing.T) sdk.SyncStats {
	t.Helper()
	return e2etest.Sync(t, p.Client, p.user.Name)
}

// offline runs fn with the network down and checks that nothing reached the server.
func offline(t *testing.T, proxy *apptest.CutProxy, fn func()) {
	t.Helper()
	proxy.SetDown(true)
	before := len(proxy.Requests())
	fn()
	if n := len(proxy.Requests()); n != before {
		t.Fatalf("offline work reached the server: %d requests", n-before)
	}
	proxy.SetDown(false)
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

// upload POSTs data as the multipart "file" field.
func upload(t *testing.T, s *apptest.Server, path, token, name string, data []byte) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

type hazardJSON struct {
	ID           string   `json:"id"`
	EnterpriseID string   `json:"enterprise_id"`
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	Level        string   `json:"level"`
	Status       string   `json:"status"`
	Photos       []string `json:"photos"`
	ReportedBy   string   `json:"reported_by"`
}

func hazardsOf(t *testing.T, s *apptest.Server, token, enterpriseID string) []hazardJSON {
	t.Helper()
	var page struct {
		Items []hazardJSON `json:"items"`
		Total int          `json:"total"`
	}
	get(t, s, "/api/v1/hazards?page_size=100&enterprise_id="+url.QueryEscape(enterpriseID), token, &page)
	if page.Total != len(page.Items) {
		t.Fatalf("hazards: total %d, %d items", page.Total, len(page.Items))
	}
	return page.Items
}

type statsRow struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
	Open  int    `json:"open"`
}

func hazardStats(t *testing.T, s *apptest.Server, token string) map[string]statsRow {
	t.Helper()
	var st struct {
		GroupBy string     `json:"group_by"`
		Rows    []statsRow `json:"rows"`
		Total   statsRow   `json:"total"`
	}
	get(t, s, "/api/v1/stats/hazards?group_by=status", token, &st)
	out := map[string]statsRow{"": st.Total}
	for _, r := range st.Rows {
		out[r.Key] = r
	}
	return out
}

type home struct {
	OpenHazards       int            `json:"open_hazards"`
	OpenByLevel       map[string]int `json:"open_by_level"`
	PendingAcceptance int            `json:"pending_acceptance"`
}

type supervision struct {
	CreditScore      int               `json:"credit_score"`
	SupervisionLevel string            `json:"supervision_level"`
	Reasons          []json.RawMessage `json:"reasons"`
}

// TestPreventionEndToEnd is issue 6's "Done when", on SQLite.
func TestPreventionEndToEnd(t *testing.T) {
	t.Parallel()
	runPrevention(t, apptest.Start(t))
}

// TestPreventionEndToEndPostgres is the same on PostgreSQL (skipped without a server).
func TestPreventionEndToEndPostgres(t *testing.T) {
	t.Parallel()
	runPrevention(t, apptest.StartPostgres(t))
}

func runPrevention(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	dir := t.TempDir()
	admin := s.Login(t, "admin")
	township := s.Login(t, "township01")
	grid := s.Login(t, "grid01")

	// ---- the enterprise and the baselines ----
	var ents struct {
		Items []struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			CreditCode string `json:"credit_code"`
		} `json:"items"`
	}
	get(t, s, "/api/v1/enterprises?q="+url.QueryEscape("临港石化"), admin, &ents)
	i := slices.IndexFunc(ents.Items, func(e struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		CreditCode string `json:"credit_code"`
	}) bool {
		return e.Name == "临港石化储运有限公司"
	})
	if i < 0 || ents.Items[i].CreditCode == "" {
		t.Fatalf("enterprise 临港石化储运有限公司 not found: %+v", ents.Items)
	}
	ent := ents.Items[i]
	if n := len(hazardsOf(t, s, admin, ent.ID)); n != 0 {
		t.Fatalf("the enterprise starts with %d hazards", n)
	}
	stats0 := hazardStats(t, s, township)
	var home0 home
	get(t, s, "/api/v1/stats/home", grid, &home0)
	var sup0 supervision
	get(t, s, "/api/v1/enterprises/"+ent.ID+"/supervision", township, &sup0)

	// ---- 1. import two risk points from the downloaded template ----
	tr := s.Do(t, http.MethodGet, "/api/v1/risk-points/template.xlsx", admin, nil)
	if tr.Status != http.StatusOK {
		t.Fatalf("template: %d %s", tr.Status, tr.Body)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(tr.Body))
	if err != nil {
		t.Fatalf("template is not a workbook: %v", err)
	}
	defer wb.Close()
	const sheetName = "风险点"
	hdr, err := wb.GetRows(sheetName)
	if err != nil || len(hdr) == 0 {
		t.Fatalf("template sheet %s: %v %q", sheetName, err, hdr)
	}
	col := map[string]int{}
	for j, title := range hdr[0] {
		col[strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(title, "*")), "（必填）")] = j
	}
	const lat, lng = 30.2231, 120.3512
	rows := []map[string]any{
		{"企业统一社会信用代码": ent.CreditCode, "风险点编号": "E2E-001", "名称": "液化烃储罐区", "风险等级": "橙",
			"事故类型": "火灾、爆炸", "责任人": "沈国强", "纬度": lat, "经度": lng,
			"管控措施": "工程技术|储罐区设置可燃气体报警器|可燃气体报警器失效|一般\n" +
				"工程技术|储罐区设防火堤|防火堤破损|一般\n" +
				"管理|每班巡检一次||"},
		{"企业统一社会信用代码": ent.CreditCode, "风险点编号": "E2E-002", "名称": "装卸栈台", "风险等级": "黄",
			"事故类型": "中毒和窒息", "责任人": "沈国强", "纬度": lat + 0.001, "经度": lng + 0.001,
			"管控措施": "个体防护|装卸人员佩戴防护面具|防护面具未佩戴|一般"},
	}
	for r, row := range rows {
		for title, v := range row {
			j, ok := col[title]
			if !ok {
				t.Fatalf("template lacks column %s: %q", title, hdr[0])
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, r+2)
			if err := wb.SetCellValue(sheetName, cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	filled, err := wb.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	res := upload(t, s, "/api/v1/risk-points/import", admin, "风险点.xlsx", filled.Bytes())
	var imp struct {
		Imported int `json:"imported"`
	}
	if res.JSON(t, &imp); res.Status != http.StatusOK || imp.Imported != 2 {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	type measure struct {
		ID             string `json:"id"`
		Text           string `json:"text"`
		HazardTemplate *struct {
			Title string `json:"title"`
			Level string `json:"level"`
		} `json:"hazard_template"`
	}
	var points struct {
		Items []struct {
			ID        string    `json:"id"`
			Code      string    `json:"code"`
			QRVersion int       `json:"qr_version"`
			Measures  []measure `json:"measures"`
		} `json:"items"`
		Total int `json:"total"`
	}
	get(t, s, "/api/v1/risk-points?sort=code&enterprise_id="+ent.ID, admin, &points)
	if points.Total != 2 || points.Items[0].Code != "E2E-001" || len(points.Items[0].Measures) != 3 {
		t.Fatalf("imported points: %+v", points)
	}
	point := points.Items[0]

	// ---- 2. print the labels; the token a label carries ----
	lr := s.Do(t, http.MethodGet, "/api/v1/risk-points/labels.png?enterprise_id="+ent.ID, admin, nil)
	if lr.Status != http.StatusOK || lr.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("labels: %d %s %.200s", lr.Status, lr.Header.Get("Content-Type"), lr.Body)
	}
	sheetImg, err := png.Decode(bytes.NewReader(lr.Body))
	if err != nil {
		t.Fatalf("labels are not a PNG: %v", err)
	}
	if b := sheetImg.Bounds(); b.Dx() != 2480 || b.Dy() != 3508 {
		t.Fatalf("label sheet is %v, want A4 at 300 dpi (2480×3508)", b)
	}
	if lr.Header.Get("X-Total-Pages") != "1" {
		t.Errorf("label sheets: %q, want 1", lr.Header.Get("X-Total-Pages"))
	}
	var qr struct {
		RiskPointID string `json:"risk_point_id"`
		QRVersion   int    `json:"qr_version"`
		Token       string `json:"token"`
	}
	get(t, s, "/api/v1/risk-points/"+point.ID+"/qr", admin, &qr)
	if qr.RiskPointID != point.ID || !strings.HasPrefix(qr.Token, qrtoken.Prefix+".") {
		t.Fatalf("qr token: %+v", qr)
	}
	scanned := qr.Token // what the phone's camera reads off the printed label

	// ---- 3. the grid worker's phone: sync, then offline scan and patrol ----
	proxy := apptest.NewCutProxy(t, s.URL)
	gridPhone := newPhone(t, proxy.URL, "grid01", sdk.Options{RetryBudget: 1500 * time.Millisecond})
	var key struct {
		Algorithm string `json:"algorithm"`
		PublicKey string `json:"public_key"`
	}
	get(t, s, "/api/v1/risk-points/qr-key", grid, &key) // fetched while online, kept by the app
	pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
	if err != nil || key.Algorithm != "Ed25519" || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("qr key: %+v %v", key, err)
	}
	gridPhone.sync(t)

	var other struct{ Token string } // the other point's label: must not verify as this one
	get(t, s, "/api/v1/risk-points/"+points.Items[1].ID+"/qr", admin, &other)

	photoA, shaA := writePhoto(t, dir, "IMG_1001.jpg", 1)
	photoB, shaB := writePhoto(t, dir, "IMG_1002.jpg", 2)
	var patrolID string
	offline(t, proxy, func() {
		rp, err := gridPhone.Get(ctx, "risk_points", point.ID)
		if err != nil {
			t.Fatalf("risk point not on the phone: %v", err)
		}
		var ver int
		var ms []measure
		json.Unmarshal(rp.Fields["qr_version"], &ver)
		json.Unmarshal(rp.Fields["measures"], &ms)
		if ver != qr.QRVersion || len(ms) != 3 {
			t.Fatalf("replica risk point: %s", raw(rp))
		}
		claims, err := qrtoken.Verify(ed25519.PublicKey(pub), scanned, rp.ID, ver)
		if err != nil || claims.EnterpriseID != ent.ID {
			t.Fatalf("offline verify: %+v %v", claims, err)
		}
		if _, err := qrtoken.Verify(ed25519.PublicKey(pub), other.Token, rp.ID, ver); !errors.Is(err, qrtoken.ErrOtherPoint) {
			t.Fatalf("another point's code verified as this one: %v", err)
		}
		tampered := scanned[:len(scanned)-2] + "AA"
		if tampered == scanned {
			tampered = scanned[:len(scanned)-2] + "BB"
		}
		if _, err := qrtoken.Verify(ed25519.PublicKey(pub), tampered, rp.ID, ver); err == nil {
			t.Fatal("a tampered code verified")
		}
		// The checklist on the screen: two measures found not under control (both have hazard
		// templates), one under control; photos taken by the camera, referenced by hash.
		cst := time.FixedZone("CST", 8*3600)
		start := time.Now().Add(-10 * time.Minute).In(cst).Truncate(time.Second)
		items := []map[string]any{
			{"measure_id": ms[0].ID, "controlled": false, "note": "报警器无显示，按测试键无反应", "photos": []string{shaA}},
			{"measure_id": ms[1].ID, "controlled": false, "note": "防火堤东侧有裂缝约 1 米", "photos": []string{shaB}},
			{"measure_id": ms[2].ID, "controlled": true, "note": "", "photos": []string{}},
		}
		patrolID, err = gridPhone.Create(ctx, "patrols", map[string]json.RawMessage{
			"risk_point_id": raw(rp.ID),
			"qr_token":      raw(scanned),
			"started_at":    raw(start.Format(time.RFC3339)),
			"finished_at":   raw(start.Add(4 * time.Minute).Format(time.RFC3339)), // ≥ 5 s per item
			"location":      raw(map[string]float64{"lat": lat + 0.0002, "lng": lng - 0.0002}),
			"items":         raw(items),
		})
		if err != nil {
			t.Fatalf("create patrol offline: %v", err)
		}
		if pend, _ := gridPhone.Pending(ctx); len(pend) != 1 || pend[0].Collection != "patrols" {
			t.Fatalf("pending: %+v", pend)
		}
		if _, err := gridPhone.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
			t.Fatalf("sync offline: %v, want unreachable", err)
		}
	})

	// ---- 4. sync twice: the first push's answers are lost, the second replays it ----
	proxy.CutNext(pushPath, 1000) // every answer to a push cut until the budget runs out
	if _, err := gridPhone.Sync(ctx); sdk.KindOf(err) != sdk.KindUnreachable {
		t.Fatalf("first sync with its answers cut: %v, want unreachable", err)
	}
	proxy.CutNext(pushPath, 0)
	pend, err := gridPhone.Pending(ctx)
	if err != nil || len(pend) != 1 || pend[0].State != "sending" {
		t.Fatalf("after the cut sync the patrol should wait as sending: %+v %v", pend, err)
	}
	replayed := pend[0].MutationID
	pushes := 0
	for _, f := range proxy.Requests() {
		if f.Path == pushPath && f.Status == http.StatusOK {
			pushes++
		}
	}
	if pushes < 1 || proxy.Cut.Load() < 1 {
		t.Fatalf("the server never got the push (%d pushes, %d cut)", pushes, proxy.Cut.Load())
	}
	if hs := hazardsOf(t, s, admin, ent.ID); len(hs) != 2 {
		t.Fatalf("after the first (cut) push: %d hazards, want 2", len(hs))
	}
	st := gridPhone.sync(t) // the replay: same mutation id, answered from the stored result
	if st.Pushed != 1 || st.Applied+st.Merged != 1 {
		t.Fatalf("replay sync: %+v", st)
	}
	if pend, _ := gridPhone.Pending(ctx); len(pend) != 0 {
		t.Fatalf("outbox after the replay: %+v (replayed %s)", pend, replayed)
	}
	hs := hazardsOf(t, s, admin, ent.ID)
	if len(hs) != 2 {
		t.Fatalf("after the replay: %d hazards, want exactly 2: %+v", len(hs), hs)
	}
	slices.SortFunc(hs, func(a, b hazardJSON) int { return strings.Compare(a.Title, b.Title) })
	byTitle := map[string]hazardJSON{}
	for _, h := range hs {
		byTitle[h.Title] = h
	}
	wantTitles := map[string]string{"可燃气体报警器失效": shaA, "防火堤破损": shaB}
	for title, sha := range wantTitles {
		h, ok := byTitle[title]
		if !ok || h.Status != "reported" || h.Level != "general" || h.ReportedBy != gridPhone.user.ID ||
			!slices.Equal(h.Photos, []string{sha}) {
			t.Fatalf("hazard %s: %+v (all %+v)", title, h, hs)
		}
	}
	var pat sdk.Record
	if pat, err = gridPhone.Get(ctx, "patrols", patrolID); err != nil || pat.State != sdk.StateSynced {
		t.Fatalf("patrol on the phone: %+v %v", pat, err)
	}
	var flags []string
	var dist float64
	json.Unmarshal(pat.Fields["flags"], &flags)
	json.Unmarshal(pat.Fields["distance_m"], &dist)
	if len(flags) != 0 || dist <= 0 || dist > 100 {
		t.Fatalf("patrol judged %s", raw(pat))
	}
	var homeMid home
	get(t, s, "/api/v1/stats/home", grid, &homeMid)
	if homeMid.OpenHazards != home0.OpenHazards+2 {
		t.Fatalf("home open hazards %d after the patrol, want %d+2", homeMid.OpenHazards, home0.OpenHazards)
	}
	// The patrol's photos: on the phone the hazards it raised already carry them; attaching
	// the camera files there adds nothing to the records and queues the uploads.
	for title, file := range map[string]string{"可燃气体报警器失效": photoA, "防火堤破损": photoB} {
		if _, err := gridPhone.Get(ctx, "hazards", byTitle[title].ID); err != nil {
			t.Fatalf("hazard %s not on the grid worker's phone: %v", title, err)
		}
		if _, err := gridPhone.Attach(ctx, "hazards", byTitle[title].ID, "photos", file); err != nil {
			t.Fatalf("attach the patrol photo: %v", err)
		}
	}
	if pend, _ := gridPhone.Pending(ctx); len(pend) != 0 {
		t.Fatalf("attaching photos the hazards hold changed records: %+v", pend)
	}
	if st := gridPhone.sync(t); st.MediaUploaded != 2 {
		t.Fatalf("patrol photos: %+v", st)
	}
	for _, sha := range []string{shaA, shaB} {
		if r := s.Do(t, http.MethodGet, "/api/v1/media/"+sha, admin, nil); r.Status != http.StatusOK || sum(r.Body) != sha {
			t.Fatalf("patrol photo %s on the server: %d", sha, r.Status)
		}
	}
	if hs := hazardsOf(t, s, admin, ent.ID); len(hs) != 2 {
		t.Fatalf("%d hazards, want exactly 2", len(hs))
	}

	// ---- 5. the enterprise rectifies offline ----
	safetyPhone := newPhone(t, proxy.URL, "safety01", sdk.Options{})
	if safetyPhone.user.EnterpriseID != ent.ID {
		t.Fatalf("safety01 belongs to %s, not %s", safetyPhone.user.EnterpriseID, ent.ID)
	}
	safetyPhone.sync(t)
	after := map[string]string{}
	offline(t, proxy, func() {
		local, err := safetyPhone.List(ctx, "hazards", sdk.Filter{Field: "enterprise_id", Value: ent.ID})
		if err != nil || len(local) != 2 {
			t.Fatalf("hazards on the safety officer's phone: %d %v", len(local), err)
		}
		for k, h := range local {
			if err := safetyPhone.Update(ctx, "hazards", h.ID, map[string]json.RawMessage{"status": raw("rectifying")}); err != nil {
				t.Fatalf("rectifying: %v", err)
			}
			file, sha := writePhoto(t, dir, fmt.Sprintf("AFTER_%d.jpg", k), uint64(10+k))
			if a, err := safetyPhone.Attach(ctx, "hazards", h.ID, "photos", file); err != nil || a.SHA256 != sha {
				t.Fatalf("attach after-photo: %+v %v", a, err)
			}
			after[h.ID] = sha
			if err := safetyPhone.Update(ctx, "hazards", h.ID, map[string]json.RawMessage{"status": raw("submitted")}); err != nil {
				t.Fatalf("submitted: %v", err)
			}
			if r, _ := safetyPhone.Get(ctx, "hazards", h.ID); string(r.Fields["status"]) != `"submitted"` || r.State != sdk.StatePending {
				t.Fatalf("local view: %s", raw(r))
			}
		}
	})
	if st := safetyPhone.sync(t); st.Pushed != 6 || st.MediaUploaded != 2 {
		t.Fatalf("safety officer's sync: %+v", st)
	}
	for _, h := range hazardsOf(t, s, admin, ent.ID) {
		if h.Status != "submitted" || !slices.Contains(h.Photos, after[h.ID]) || len(h.Photos) != 2 {
			t.Fatalf("after rectification: %+v", h)
		}
	}

	// ---- 6. the township accepts offline ----
	townPhone := newPhone(t, proxy.URL, "township01", sdk.Options{})
	townPhone.sync(t)
	offline(t, proxy, func() {
		for _, h := range hs {
			if err := townPhone.Update(ctx, "hazards", h.ID, map[string]json.RawMessage{"status": raw("accepted")}); err != nil {
				t.Fatalf("accept offline: %v", err)
			}
		}
	})
	if st := townPhone.sync(t); st.Pushed != 2 || st.Applied+st.Merged != 2 {
		t.Fatalf("township's sync: %+v", st)
	}
	who := map[string]string{"report": gridPhone.user.ID, "rectify": safetyPhone.user.ID,
		"submit": safetyPhone.user.ID, "accept": townPhone.user.ID}
	for _, h := range hazardsOf(t, s, admin, ent.ID) {
		if h.Status != "accepted" {
			t.Fatalf("hazard %s is %s, want accepted", h.Title, h.Status)
		}
		var tl struct {
			Items []struct {
				UserID   string `json:"user_id"`
				UserName string `json:"user_name"`
				Status   *struct {
					From string `json:"from"`
					To   string `json:"to"`
					Step string `json:"step"`
				} `json:"status"`
				PhotosAdded []string `json:"photos_added"`
				Summary     string   `json:"summary"`
			} `json:"items"`
		}
		get(t, s, "/api/v1/hazards/"+h.ID+"/timeline", admin, &tl)
		var steps []string
		photoAdded := false
		for _, ev := range tl.Items {
			photoAdded = photoAdded || slices.Contains(ev.PhotosAdded, after[h.ID])
			if ev.Status == nil {
				continue
			}
			steps = append(steps, ev.Status.Step)
			if ev.UserID != who[ev.Status.Step] || ev.UserName == "" {
				t.Errorf("hazard %s: step %s by %s (%s), want %s", h.Title, ev.Status.Step, ev.UserID, ev.UserName, who[ev.Status.Step])
			}
		}
		if !slices.Equal(steps, []string{"report", "rectify", "submit", "accept"}) || !photoAdded {
			t.Fatalf("hazard %s timeline: steps %v, after-photo shown %v: %s", h.Title, steps, photoAdded, raw(tl))
		}
	}

	// ---- 7. statistics show it ----
	stats1 := hazardStats(t, s, township)
	if got, want := stats1["accepted"].Count, stats0["accepted"].Count+2; got != want {
		t.Errorf("stats accepted %d, want %d", got, want)
	}
	if got, want := stats1[""].Count, stats0[""].Count+2; got != want {
		t.Errorf("stats total %d, want %d", got, want)
	}
	if stats1[""].Open != stats0[""].Open {
		t.Errorf("stats open %d, want %d (the two are closed)", stats1[""].Open, stats0[""].Open)
	}
	for _, k := range []string{"reported", "rectifying", "submitted"} {
		if stats1[k].Count != stats0[k].Count {
			t.Errorf("stats %s %d, want %d", k, stats1[k].Count, stats0[k].Count)
		}
	}
	var home1 home
	get(t, s, "/api/v1/stats/home", grid, &home1)
	if home1.OpenHazards != home0.OpenHazards || home1.PendingAcceptance != home0.PendingAcceptance {
		t.Errorf("grid worker's home %+v, want the open counts of before the patrol %+v", home1, home0)
	}
	var open struct {
		Total int `json:"total"`
	}
	get(t, s, "/api/v1/hazards?page_size=1&status=reported&enterprise_id="+ent.ID, grid, &open)
	if open.Total != 0 {
		t.Errorf("grid worker sees %d reported hazards of the enterprise", open.Total)
	}
	var sup supervision
	get(t, s, "/api/v1/enterprises/"+ent.ID+"/supervision", township, &sup)
	if sup.CreditScore != sup0.CreditScore || sup.SupervisionLevel != sup0.SupervisionLevel || len(sup.Reasons) != len(sup0.Reasons) {
		t.Errorf("supervision %+v, want unchanged %+v (the patrol was genuine)", sup, sup0)
	}
	var ps struct {
		Patrols        int `json:"patrols"`
		FlaggedPatrols int `json:"flagged_patrols"`
	}
	get(t, s, "/api/v1/stats/patrols", township, &ps)
	if ps.Patrols < 1 || ps.FlaggedPatrols != 0 {
		t.Errorf("patrol stats %+v", ps)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/api"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/monitor/rules"
	"github.com/yingji/yingji/server/yingji"
)

// auditRow is what the audit log holds of one request.
type auditRow struct {
	Action, UserID, Username, IP, Result string
	Detail                               map[string]any
}

func auditRows(t *testing.T, s *apptest.Server, requestID string) []auditRow {
	t.Helper()
	rows, err := s.DB.Query(context.Background(), `SELECT action, user_id, username, ip, result, detail FROM audit_log WHERE request_id = $1`, requestID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var detail string
		if err := rows.Scan(&r.Action, &r.UserID, &r.Username, &r.IP, &r.Result, &detail); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(detail), &r.Detail); err != nil {
			t.Fatalf("detail %q: %v", detail, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantRefusalAudited checks that the refused request left one audit row naming the user (""
// for none), the route, the method, the status and the client's address.
func wantRefusalAudited(t *testing.T, s *apptest.Server, r apptest.Response, user, method, route string) {
	t.Helper()
	id := r.Header.Get("X-Request-ID")
	rows := auditRows(t, s, id)
	if len(rows) != 1 {
		t.Fatalf("%s %s answered %d: %d audit rows for request %s, want 1: %+v", method, route, r.Status, len(rows), id, rows)
	}
	a := rows[0]
	if a.Result != "denied" && a.Result != "failed" || a.Username != user || a.IP != "127.0.0.1" ||
		a.Detail["method"] != method || a.Detail["route"] != route || a.Detail["status"] != float64(r.Status) {
		t.Fatalf("%s %s answered %d: audit row %+v, want user %q", method, route, r.Status, a, user)
	}
	if code, _ := a.Detail["code"].(string); code == "" && r.Status != http.StatusNotFound {
		t.Fatalf("%s %s: audit row without the error code: %+v", method, route, a)
	}
}

var pathParam = regexp.MustCompile(`\{[a-z0-9_]+\}`)

// TestEveryRefusalAudited walks every operation of the OpenAPI document as nobody, with a token
// no session has, as a safety officer of another enterprise than the records' and as a rescue
// team member (fewest permissions), and checks that each refusal (401, 403) left an audit row.
// One server serves the whole walk.
func TestEveryRefusalAudited(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	admin := s.Login(t, "admin")

	// Records of safety01's enterprise: a hazard, a risk point, a checklist, an alert.
	e := newHzEnv(t, s)
	hz := yingji.NewID()
	e.ok(t, e.push(t, "safety01", "hazards", hz, "create", map[string]any{"title": "消防通道堵塞", "enterprise_id": e.ent}))
	var rp struct{ ID string }
	want(t, s.Do(t, "POST", "/api/v1/risk-points", admin, riskInput(e.ent, "FX-PROBE")), http.StatusCreated, &rp)
	var cl struct{ ID string }
	want(t, s.Do(t, "POST", "/api/v1/checklists", admin, map[string]any{"enterprise_id": e.ent, "name": "每日巡查", "frequency": "daily",
		"risk_point_ids": []string{rp.ID}}), http.StatusCreated, &cl)
	var dev, point, unit, team, contact, user string
	q := func(dst *string, sql string, args ...any) {
		t.Helper()
		if err := s.DB.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(&dev, `SELECT id FROM devices WHERE enterprise_id = $1 LIMIT 1`, e.ent)
	q(&point, `SELECT id FROM monitor_points WHERE device_id = $1 LIMIT 1`, dev)
	q(&unit, `SELECT org_unit_id FROM users WHERE username = 'township01'`)
	q(&team, `SELECT id FROM teams LIMIT 1`)
	q(&contact, `SELECT id FROM contacts WHERE enterprise_id = $1 LIMIT 1`, e.ent)
	q(&user, `SELECT id FROM users WHERE username = 'safety01'`)
	if err := s.Alerts.Apply(ctx, []rules.Event{{Action: rules.Raise, Kind: rules.KindOffline, Cause: "offline:" + dev, DeviceID: dev,
		Level: 1, LevelName: "离线", At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	var alertID string
	q(&alertID, `SELECT id FROM alerts WHERE enterprise_id = $1 LIMIT 1`, e.ent)
	ids := map[string]string{"hazards": hz, "risk-points": rp.ID, "checklists": cl.ID, "alerts": alertID, "devices": dev,
		"monitor-points": point, "enterprises": e.ent, "org-units": unit, "teams": team, "contacts": contact, "users": user}
	fill := func(path string) string {
		seg := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")[0]
		return pathParam.ReplaceAllStringFunc(path, func(p string) string {
			switch p {
			case "{sha256}":
				return strings.Repeat("ab", 32)
			case "{variant}":
				return "original"
			case "{width}":
				return "320"
			case "{device_id}":
				return "probe-phone"
			}
			if id, ok := ids[seg]; ok {
				return id
			}
			return yingji.NewID()
		})
	}

	// The document, as a client sees it.
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]map[string][]string `json:"security"`
		} `json:"paths"`
	}
	want(t, s.Do(t, "GET", "/api/v1/openapi.json", "", nil), http.StatusOK, &doc)
	type op struct {
		method, path string
		public       bool
	}
	var ops []op
	for path, item := range doc.Paths {
		for method, o := range item {
			method = strings.ToUpper(method)
			if !slicesContains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}, method) {
				continue
			}
			// Public: the route does not take a bearer session (no security at all, or a
			// device's HTTP Basic, or a signed URL), so it never names the token's owner.
			bearer := false
			if o.Security != nil {
				for _, req := range *o.Security {
					_, ok := req["bearerAuth"]
					bearer = bearer || ok
				}
			}
			ops = append(ops, op{method, path, !bearer})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	if len(ops) < 100 {
		t.Fatalf("only %d operations in the document", len(ops))
	}

	probers := []struct{ name, user, token string }{
		{"nobody", "", ""},
		{"unknown token", "", "no-such-session-token"},
		{"other enterprise", "safety02", s.Login(t, "safety02")},
		{"few permissions", "rescue01", s.Login(t, "rescue01")},
	}
	refusals := map[string]int{}
	status := map[string]int{} // "prober METHOD path" → status
	seen := map[string]bool{}  // identical refusals (user, method, route, code) are coalesced
	for _, p := range probers {
		for _, o := range ops {
			if p.user != "" && o.method == "POST" && o.path == "/api/v1/auth/logout" {
				continue // would end the prober's session
			}
			route := pathParam.ReplaceAllStringFunc(o.path, func(x string) string { return ":" + strings.Trim(x, "{}") })
			r := probe(t, s, o.method, fill(o.path), p.token)
			status[p.name+" "+o.method+" "+o.path] = r.Status
			if !o.public && p.user == "" && r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s as %s answered %d, want 401: %s", o.method, o.path, p.name, r.Status, r.Body)
				continue
			}
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
				continue
			}
			refusals[p.name]++
			var body struct{ Code string }
			json.Unmarshal(r.Body, &body)
			user := p.user
			if o.public {
				user = "" // a public route does not look at the bearer token
			}
			key := strings.Join([]string{user, o.method, o.path, body.Code}, " ")
			if o.method != "HEAD" && seen[key] {
				if rows := auditRows(t, s, r.Header.Get("X-Request-ID")); len(rows) != 0 {
					t.Errorf("%s %s as %s: an identical refusal was audited again: %+v", o.method, o.path, p.name, rows)
				}
				continue
			}
			seen[key] = true
			wantRefusalAudited(t, s, r, user, o.method, "/api/v1"+strings.TrimPrefix(route, "/api/v1"))
		}
	}
	t.Logf("refusals audited: %v", refusals)
	// The refusals the issue named are among them.
	for _, k := range []string{
		"few permissions GET /api/v1/users", "few permissions GET /api/v1/audit", "few permissions GET /api/v1/alert-receivers",
		"few permissions POST /api/v1/users/import", "few permissions POST /api/v1/enterprises/import",
		"other enterprise GET /api/v1/hazards/{id}", "other enterprise GET /api/v1/hazards/{id}/timeline",
		"other enterprise GET /api/v1/enterprises/{id}/supervision", "other enterprise POST /api/v1/alerts/{id}/acknowledge",
		"other enterprise POST /api/v1/alerts/{id}/dispose", "other enterprise GET /api/v1/alerts/{id}/timeline",
	} {
		if st, ok := status[k]; !ok || st != http.StatusForbidden {
			t.Errorf("%s: status %d (probed %v), want 403", k, st, ok)
		}
	}
	if refusals["nobody"] < 100 || refusals["unknown token"] < 100 || refusals["other enterprise"] < 30 || refusals["few permissions"] < 40 {
		t.Fatalf("too few refusals probed: %v", refusals)
	}
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// probe sends a request with an empty JSON object (or, to upload routes, a multipart form
// with a small file) and a bearer token when given.
func probe(t *testing.T, s *apptest.Server, method, path, token string) apptest.Response {
	t.Helper()
	var body *bytes.Buffer
	ct := ""
	switch {
	case method == "POST" && strings.HasSuffix(path, "/import"):
		body = &bytes.Buffer{}
		mw := multipart.NewWriter(body)
		fw, _ := mw.CreateFormFile("file", "x.xlsx")
		fw.Write([]byte("not a workbook"))
		mw.Close()
		ct = mw.FormDataContentType()
	case method == "POST" || method == "PUT" || method == "PATCH":
		body, ct = bytes.NewBufferString("{}"), "application/json"
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequest(method, s.URL+path, body)
	} else {
		req, err = http.NewRequest(method, s.URL+path, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Body: b.Bytes()}
}

// TestRefusalAuditNamesTheTokenOwner: a replaced, an expired and a logged-out token are
// refused with 401, and the audit row names the token's owner; a user created outside the
// administrator's subtree is refused and audited as his.
func TestRefusalAuditNamesTheTokenOwner(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	old := s.Login(t, "safety01")
	s.Login(t, "safety01") // a newer web login replaces the older session
	r := s.Do(t, "GET", "/api/v1/auth/me", old, nil)
	wantError(t, r, http.StatusUnauthorized, "auth.session_replaced")
	wantRefusalAudited(t, s, r, "safety01", "GET", "/api/v1/auth/me")

	expired := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-grid01")
	if _, err := s.DB.Exec(ctx, `UPDATE sessions SET expires_at = $1 WHERE user_id = (SELECT id FROM users WHERE username = 'grid01')`,
		time.Now().Add(-time.Hour).UTC()); err != nil {
		t.Fatal(err)
	}
	r = s.Do(t, "GET", "/api/v1/hazards", expired, nil)
	wantError(t, r, http.StatusUnauthorized, "auth.session_expired")
	wantRefusalAudited(t, s, r, "grid01", "GET", "/api/v1/hazards")

	town := s.Login(t, "township01")
	var otherUnit string
	if err := s.DB.QueryRow(ctx, `SELECT org_unit_id FROM users WHERE username = 'township02'`).Scan(&otherUnit); err != nil {
		t.Fatal(err)
	}
	r = s.Do(t, "POST", "/api/v1/users", town, map[string]any{"username": "probe01", "name": "越权", "role": "grid_worker",
		"org_unit_id": otherUnit, "password": "Probe-2026-x"})
	wantError(t, r, http.StatusForbidden, "auth.out_of_scope")
	wantRefusalAudited(t, s, r, "township01", "POST", "/api/v1/users")

	// What the auditor reads: the refusal in the audit list, by action.
	var page api.AuditPage
	want(t, s.Do(t, "GET", "/api/v1/audit?action="+api.ActionRefused+"&username=township01", s.Login(t, "admin"), nil), http.StatusOK, &page)
	if page.Total != 1 || page.Items[0].Result != "denied" || page.Items[0].ObjectID != "POST /api/v1/users" {
		t.Fatalf("audit list %+v", page)
	}
}

// TestIdenticalRefusalsCoalesced: a flood of identical bad requests from one address leaves
// one audit row per minute, not one per request.
func TestIdenticalRefusalsCoalesced(t *testing.T) {
	s := apptest.Start(t)
	var first string
	for i := 0; i < 20; i++ {
		r := s.Do(t, "GET", "/api/v1/users", "stolen-or-guessed", nil)
		wantError(t, r, http.StatusUnauthorized, "auth.invalid_token")
		if i == 0 {
			first = r.Header.Get("X-Request-ID")
		}
	}
	var n int
	if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1`, api.ActionRefused).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(auditRows(t, s, first)) != 1 {
		t.Fatalf("%d audit rows for 20 identical refusals, want 1 (the first)", n)
	}
	// Another route is another refusal.
	r := s.Do(t, "GET", "/api/v1/audit", "stolen-or-guessed", nil)
	wantRefusalAudited(t, s, r, "", "GET", "/api/v1/audit")
}

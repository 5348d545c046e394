package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/patrol"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// riskPoint inserts a risk point with three measures (two with hazard templates) into the
// first enterprise grid01 may read and returns its id and enterprise.
func riskPoint(t *testing.T, s *apptest.Server) (id, ent string) {
	t.Helper()
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			OrgPath string `json:"org_path"`
		} `json:"items"`
	}
	want(t, s.Do(t, "GET", "/api/v1/enterprises?page_size=1", s.Login(t, "grid01"), nil), http.StatusOK, &page)
	if len(page.Items) == 0 {
		t.Fatal("grid01 sees no enterprise")
	}
	ent = page.Items[0].ID
	var path string
	ctx := context.Background()
	if err := s.DB.QueryRow(ctx, `SELECT org_path FROM enterprises WHERE id = $1`, ent).Scan(&path); err != nil {
		t.Fatal(err)
	}
	id = yingji.NewID()
	measures := `[{"id":"m1","kind":"engineering","text":"可燃气体报警器完好","hazard_template":{"title":"可燃气体报警器失效","level":"major"}},
		{"id":"m2","kind":"management","text":"储罐区巡检记录齐全","hazard_template":{"title":"巡检记录缺失","level":"general"}},
		{"id":"m3","kind":"training","text":"员工持证上岗","hazard_template":null}]`
	now := time.Now().UTC()
	if _, err := s.DB.Exec(ctx, `INSERT INTO risk_points (id, enterprise_id, org_path, code, name, level, location, measures, created_at, updated_at)
		VALUES ($1, $2, $3, $4, '液化烃储罐区', 'red', '{"lat":30.2231,"lng":120.3512}', $5, $6, $6)`, id, ent, path, "FX-"+id[:8], measures, now); err != nil {
		t.Fatal(err)
	}
	var qr struct{ Token string }
	want(t, s.Do(t, "GET", "/api/v1/risk-points/"+id+"/qr", s.Login(t, "admin"), nil), http.StatusOK, &qr)
	qrTokens.Store(id, qr.Token)
	return id, ent
}

func raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// qrTokens holds the token each test risk point's label carries (see riskPoint).
var qrTokens sync.Map

func patrolFields(rp string, lat, lng float64, start, fin time.Time) map[string]json.RawMessage {
	tok, _ := qrTokens.Load(rp)
	return map[string]json.RawMessage{
		"risk_point_id": raw(rp), "qr_token": raw(tok), "started_at": raw(start.Format(time.RFC3339)),
		"finished_at": raw(fin.Format(time.RFC3339)), "location": raw(map[string]float64{"lat": lat, "lng": lng}),
		"items": raw([]map[string]any{
			{"measure_id": "m1", "controlled": false, "note": "报警器无响应", "photos": []string{fmt.Sprintf("%064x", 1)}},
			{"measure_id": "m2", "controlled": false, "note": "缺三天记录", "photos": []string{}},
			{"measure_id": "m3", "controlled": true, "note": "", "photos": []string{}},
		}),
	}
}

func push(t *testing.T, s *apptest.Server, tok string, ms ...syncproto.Mutation) []syncproto.Result {
	t.Helper()
	var resp syncproto.PushResponse
	want(t, s.Do(t, "POST", "/api/v1/sync/push", tok, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-g", Mutations: ms}), http.StatusOK, &resp)
	return resp.Results
}

func countHazards(t *testing.T, s *apptest.Server, ent string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM hazards WHERE enterprise_id = $1`, ent).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPatrolRaisesHazardsOnce: a patrol with two uncontrolled measures with templates raises
// exactly two hazards, which phones pull; a replay and a retry under a new mutation id keep two.
// A patrol far from its point and too fast is flagged and costs the enterprise credit.
func TestPatrolRaisesHazardsOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		rp, ent := riskPoint(t, s)
		tok := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-g")
		clock := syncproto.NewClock("phone-g", nil)
		fin := time.Now().Add(-time.Minute)
		id := yingji.NewID()
		m := syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: id, Op: "create", HLC: clock.Now().String(),
			Fields: patrolFields(rp, 30.2232, 120.3513, fin.Add(-3*time.Minute), fin)}
		if r := push(t, s, tok, m); r[0].Status != "applied" {
			t.Fatalf("push %+v", r)
		}
		if n := countHazards(t, s, ent); n != 2 {
			t.Fatalf("%d hazards, want 2", n)
		}
		// The replay returns the stored answer; a retry with a new mutation id is refused as existing.
		if r := push(t, s, tok, m); r[0].Status != "applied" {
			t.Fatalf("replay %+v", r)
		}
		m2 := m
		m2.MutationID, m2.HLC = yingji.NewID(), clock.Now().String()
		if r := push(t, s, tok, m2); r[0].Status != "rejected" {
			t.Fatalf("retry %+v", r)
		}
		if n := countHazards(t, s, ent); n != 2 {
			t.Fatalf("%d hazards after replay and retry, want 2", n)
		}
		// The hazards reach phones with the patrol's data and derived ids.
		var pull syncproto.PullResponse
		want(t, s.Do(t, "POST", "/api/v1/sync/pull", tok, syncproto.PullRequest{Protocol: syncproto.Protocol}), http.StatusOK, &pull)
		got := map[string]syncproto.Record{}
		for _, sc := range pull.Scopes {
			for _, r := range sc.Records {
				got[r.Collection+"/"+r.ID] = r
			}
		}
		h, ok := got["hazards/"+patrol.HazardID(id, "m1")]
		if !ok || string(h.Fields["title"]) != `"可燃气体报警器失效"` || string(h.Fields["level"]) != `"major"` ||
			string(h.Fields["status"]) != `"reported"` || string(h.Fields["description"]) != `"报警器无响应"` {
			t.Fatalf("hazard from m1: %+v", h)
		}
		p, ok := got["patrols/"+id]
		if !ok || string(p.Fields["flags"]) != "[]" {
			t.Fatalf("patrol %+v", p)
		}
		sup := map[string]any{}
		want(t, s.Do(t, "GET", "/api/v1/enterprises/"+ent+"/supervision", s.Login(t, "admin"), nil), http.StatusOK, &sup)
		if sup["credit_score"] != float64(100) {
			t.Fatalf("supervision %v", sup)
		}

		// A patrol ~11 km away, finished 3 s after it started with 3 items.
		far := yingji.NewID()
		r := push(t, s, tok, syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: far, Op: "create", HLC: clock.Now().String(),
			Fields: patrolFields(rp, 30.3231, 120.3512, fin.Add(-3*time.Second), fin)})
		if r[0].Status != "applied" {
			t.Fatalf("far push %+v", r)
		}
		var flags, dist string
		if err := s.DB.QueryRow(context.Background(), `SELECT flags, distance_m FROM patrols WHERE id = $1`, far).Scan(&flags, &dist); err != nil {
			t.Fatal(err)
		}
		if flags != `["far_from_point","too_fast"]` || dist < "11000" || dist > "11200" {
			t.Fatalf("flags %s distance %s", flags, dist)
		}
		if n := countHazards(t, s, ent); n != 4 {
			t.Fatalf("%d hazards, want 4", n)
		}
		var got2 patrol.Supervision
		want(t, s.Do(t, "GET", "/api/v1/enterprises/"+ent+"/supervision", s.Login(t, "admin"), nil), http.StatusOK, &got2)
		if got2.CreditScore != 90 || len(got2.Reasons) != 2 || got2.Reasons[0].Flag != patrol.FlagFar || got2.Reasons[0].Text == "" {
			t.Fatalf("supervision %+v", got2)
		}
		// A server-owned field written by a phone is refused.
		f := patrolFields(rp, 30.2232, 120.3513, fin.Add(-3*time.Minute), fin)
		f["flags"] = raw([]string{})
		if r := push(t, s, tok, syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: yingji.NewID(), Op: "create",
			HLC: clock.Now().String(), Fields: f}); r[0].Code != syncproto.CodeServerOwned {
			t.Fatalf("server-owned %+v", r)
		}
	})
}

// TestChecklistCalendar: CRUD with scope checks, the calendar and the overdue list.
func TestChecklistCalendar(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apptest.Server) {
		rp, ent := riskPoint(t, s)
		admin, grid := s.Login(t, "admin"), s.Login(t, "grid01")
		in := map[string]any{"enterprise_id": ent, "name": "储罐区每日巡查", "frequency": "daily", "risk_point_ids": []string{rp}}
		wantError(t, s.Do(t, "POST", "/api/v1/checklists", grid, in), http.StatusForbidden, "auth.out_of_scope")
		wantError(t, s.Do(t, "POST", "/api/v1/checklists", admin, map[string]any{"enterprise_id": ent, "name": "x", "frequency": "hourly",
			"risk_point_ids": []string{rp}}), http.StatusBadRequest, "checklist.invalid")
		var cl patrol.Checklist
		want(t, s.Do(t, "POST", "/api/v1/checklists", admin, in), http.StatusCreated, &cl)
		if !cl.Active || cl.Frequency != "daily" {
			t.Fatalf("checklist %+v", cl)
		}
		want(t, s.Do(t, "GET", "/api/v1/checklists/"+cl.ID, grid, nil), http.StatusOK, nil)
		wantError(t, s.Do(t, "GET", "/api/v1/checklists/"+cl.ID, s.Login(t, "township02"), nil), http.StatusForbidden, "auth.out_of_scope")

		// Patrol it yesterday (Shanghai) only; it was created three days ago (a checklist has no
		// period that ended before it was created).
		today := patrol.Schedule{Frequency: patrol.Daily}.PeriodAt(time.Now()).Start
		if _, err := s.DB.Exec(context.Background(), `UPDATE checklists SET created_at = $1 WHERE id = $2`, today.AddDate(0, 0, -3).UTC(), cl.ID); err != nil {
			t.Fatal(err)
		}
		yday := today.AddDate(0, 0, -1).Add(10 * time.Hour)
		tok := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-g")
		if r := push(t, s, tok, syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: yingji.NewID(), Op: "create",
			HLC: syncproto.NewClock("phone-g", nil).Now().String(), Fields: patrolFields(rp, 30.2231, 120.3512, yday.Add(-5*time.Minute), yday)}); r[0].Status != "applied" {
			t.Fatalf("push %+v", r)
		}
		day := func(t time.Time) string { return t.In(patrol.Zone).Format("2006-01-02") }
		var cal struct{ Items []patrol.CalendarPeriod }
		want(t, s.Do(t, "GET", "/api/v1/checklists/"+cl.ID+"/calendar?from="+day(today.AddDate(0, 0, -2))+"&to="+day(today), admin, nil), http.StatusOK, &cal)
		if len(cal.Items) != 3 || cal.Items[0].Status != "overdue" || cal.Items[1].Status != "done" || cal.Items[2].Status != "due" {
			t.Fatalf("calendar %+v", cal.Items)
		}
		var over struct {
			Items []patrol.OverduePeriod
		}
		want(t, s.Do(t, "GET", "/api/v1/checklists/overdue?from="+day(today.AddDate(0, 0, -2)), admin, nil), http.StatusOK, &over)
		if len(over.Items) != 1 || over.Items[0].ChecklistID != cl.ID || !over.Items[0].Start.Equal(today.AddDate(0, 0, -2)) {
			t.Fatalf("overdue %+v", over.Items)
		}
		var page struct{ Items []patrol.Checklist }
		want(t, s.Do(t, "GET", "/api/v1/checklists/overdue?from="+day(today), s.Login(t, "township02"), nil), http.StatusOK, &page)
		if len(page.Items) != 0 {
			t.Fatalf("township02 sees %+v", page.Items)
		}
		var upd patrol.Checklist
		want(t, s.Do(t, "PATCH", "/api/v1/checklists/"+cl.ID, admin, map[string]any{"frequency": "shift", "shifts": []string{"08:00", "20:00"}}), http.StatusOK, &upd)
		if upd.Frequency != "shift" || len(upd.Shifts) != 2 {
			t.Fatalf("updated %+v", upd)
		}
		wantError(t, s.Do(t, "DELETE", "/api/v1/checklists/"+cl.ID, grid, nil), http.StatusForbidden, "auth.out_of_scope")
		want(t, s.Do(t, "DELETE", "/api/v1/checklists/"+cl.ID, admin, nil), http.StatusNoContent, nil)
	})
}

// TestPatrolQRCodeChecked: a patrol whose scanned code is forged, or was revoked by a re-issue,
// is kept but flagged; a forged code costs the enterprise credit with the reason.
func TestPatrolQRCodeChecked(t *testing.T) {
	s := apptest.Start(t)
	rp, ent := riskPoint(t, s)
	tok := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-q")
	clock := syncproto.NewClock("phone-q", nil)
	fin := time.Now().Add(-time.Minute)
	send := func(qr string) string {
		f := patrolFields(rp, 30.2232, 120.3513, fin.Add(-3*time.Minute), fin)
		f["qr_token"] = raw(qr)
		id := yingji.NewID()
		if r := push(t, s, tok, syncproto.Mutation{MutationID: yingji.NewID(), Collection: "patrols", ID: id, Op: "create",
			HLC: clock.Now().String(), Fields: f}); r[0].Status != "applied" {
			t.Fatalf("push %+v", r)
		}
		var flags string
		if err := s.DB.QueryRow(context.Background(), `SELECT flags FROM patrols WHERE id = $1`, id).Scan(&flags); err != nil {
			t.Fatal(err)
		}
		return flags
	}
	good, _ := qrTokens.Load(rp)
	if f := send(good.(string)); f != "[]" {
		t.Fatalf("genuine code flagged %s", f)
	}
	forged := good.(string)[:len(good.(string))-4] + "AAAA"
	if f := send(forged); f != `["qr_forged"]` {
		t.Fatalf("forged code: flags %s", f)
	}
	admin := s.Login(t, "admin")
	if r := s.Do(t, "POST", "/api/v1/risk-points/"+rp+"/qr/reissue", admin, nil); r.Status >= 300 {
		t.Fatalf("reissue %d %s", r.Status, r.Body)
	}
	if f := send(good.(string)); f != `["qr_stale"]` {
		t.Fatalf("revoked code: flags %s", f)
	}
	sup := map[string]any{}
	want(t, s.Do(t, "GET", "/api/v1/enterprises/"+ent+"/supervision", admin, nil), http.StatusOK, &sup)
	if sup["credit_score"] != float64(95) {
		t.Fatalf("supervision %v, want 95 after one forged code", sup)
	}
}

// TestChecklistsReachPhones: checklists made in the office reach the phones of the enterprise's
// scope through sync, read-only; a later edit and a delete follow.
func TestChecklistsReachPhones(t *testing.T) {
	s := apptest.Start(t)
	rp, ent := riskPoint(t, s)
	admin := s.Login(t, "admin")
	var cl patrol.Checklist
	want(t, s.Do(t, "POST", "/api/v1/checklists", admin, map[string]any{"enterprise_id": ent, "name": "储罐区每日巡查",
		"frequency": "daily", "risk_point_ids": []string{rp}}), http.StatusCreated, &cl)
	phone := s.LoginAs(t, "grid01", apptest.Password, "mobile", "phone-cl")
	find := func() (syncproto.Record, bool) {
		var pull syncproto.PullResponse
		want(t, s.Do(t, "POST", "/api/v1/sync/pull", phone, syncproto.PullRequest{Protocol: syncproto.Protocol}), http.StatusOK, &pull)
		var got syncproto.Record
		found := false
		for _, sc := range pull.Scopes {
			for _, r := range sc.Records {
				if r.Collection == "checklists" && r.ID == cl.ID {
					got, found = r, true
				}
			}
		}
		return got, found
	}
	r, ok := find()
	if !ok || string(r.Fields["name"]) != `"储罐区每日巡查"` || string(r.Fields["frequency"]) != `"daily"` {
		t.Fatalf("checklist on the phone: %v %+v", ok, r)
	}
	want(t, s.Do(t, "PATCH", "/api/v1/checklists/"+cl.ID, admin, map[string]any{"name": "储罐区每班巡查"}), http.StatusOK, nil)
	if r, _ := find(); string(r.Fields["name"]) != `"储罐区每班巡查"` {
		t.Fatalf("edit did not reach the phone: %s", r.Fields["name"])
	}
	res := push(t, s, phone, syncproto.Mutation{MutationID: yingji.NewID(), Collection: "checklists", ID: cl.ID, Op: "update",
		HLC: syncproto.NewClock("phone-cl", nil).Now().String(), Fields: map[string]json.RawMessage{"name": raw("手机改名")}})
	if res[0].Status != "rejected" {
		t.Fatalf("a phone edited a checklist: %+v", res[0])
	}
	if r := s.Do(t, "DELETE", "/api/v1/checklists/"+cl.ID, admin, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete %d %s", r.Status, r.Body)
	}
	if _, ok := find(); ok {
		t.Fatal("a deleted checklist is still on a fresh phone")
	}
}

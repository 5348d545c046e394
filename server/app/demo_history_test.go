package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/demo"
)

// historyBase is where the test servers' clock starts: the history ends a few seconds later,
// always in the same minute, so every server makes the same history.
var historyBase = time.Date(2026, 11, 30, 10, 0, 0, 0, demo.Zone)

func historyClock() func() time.Time { return clockFrom(historyBase) }

func clockFrom(base time.Time) func() time.Time {
	t0 := time.Now()
	return func() time.Time { return base.Add(time.Since(t0)) }
}

// TestDemoHistory starts the demo with its history on SQLite and PostgreSQL: every list and
// chart of the portal has rows, safety01 has work waiting, the readings' rollups agree with
// the readings, and both engines hold the same history.
func TestDemoHistory(t *testing.T) {
	prints := map[string][]string{}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			opts := []apptest.Option{apptest.WithDemoHistory(), apptest.WithClock(historyClock())}
			var s *apptest.Server
			if engine == "sqlite" {
				s = apptest.Start(t, opts...)
			} else {
				s = apptest.StartPostgres(t, opts...)
			}
			before := tableCounts(t, s)
			checkQuiet(t, s, before)
			checkPortalData(t, s)
			checkRollups(t, s)
			prints[engine] = fingerprint(t, s)
		})
	}
	if prints["sqlite"] != nil && prints["postgres"] != nil {
		sameHistory(t, "SQLite", prints["sqlite"], "PostgreSQL", prints["postgres"])
	}
}

// TestDemoHistoryAnyHour: a first start just after midnight (no patrol done yet today, the
// morning's reminders not run) still shows every kind of record.
func TestDemoHistoryAnyHour(t *testing.T) {
	s := apptest.Start(t, apptest.WithDemoHistory(), apptest.WithClock(clockFrom(time.Date(2026, 12, 1, 0, 20, 0, 0, demo.Zone))))
	checkPortalData(t, s)
}

// TestDemoHistoryOnce: a second start finds the city and adds nothing; the same seed and
// end make the same history again.
func TestDemoHistoryOnce(t *testing.T) {
	dir := t.TempDir()
	onDir := apptest.WithConfig(func(c *config.Config) { c.DataDir = dir })
	var first, again []string
	var counts map[string]int
	t.Run("first", func(t *testing.T) {
		s := apptest.Start(t, apptest.WithDemoHistory(), apptest.WithClock(historyClock()), onDir)
		first, counts = fingerprint(t, s), tableCounts(t, s)
		// the same history, made again on another database
		other := apptest.Start(t, apptest.WithDemoHistory(), apptest.WithClock(historyClock()))
		again = fingerprint(t, other)
	})
	sameHistory(t, "first start", first, "another first start", again)
	t.Run("second", func(t *testing.T) {
		s := apptest.Start(t, apptest.WithDemoHistory(), onDir)
		if got := tableCounts(t, s); !mapsEqual(got, counts) {
			t.Fatalf("a second start changed the demo: %v, was %v", got, counts)
		}
	})
}

// TestDemoHistoryOff: demo_history=false gives the city and its devices without history.
func TestDemoHistoryOff(t *testing.T) {
	s := apptest.Start(t) // apptest turns the history off
	for table, n := range tableCounts(t, s) {
		if table != "devices" && n != 0 {
			t.Errorf("%d rows in %s without the history", n, table)
		}
	}
}

var countedTables = []string{"alert_receivers", "risk_points", "checklists", "patrols", "hazards", "hazard_actions", "alerts", "alert_events",
	"alert_deliveries", "readings", "reading_rollups", "device_status_log", "devices"}

// checkQuiet: once the live alert sweep has run over the history, it scheduled no timer and no
// dispatch (every open alert is as far escalated as its age takes it, with its deliveries),
// and the historic readings raised nothing new.
func checkQuiet(t *testing.T, s *apptest.Server, before map[string]int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'alert_sweep' AND state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the alert sweep did not run at start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var jobs int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind IN ('alert_timer', 'alert_dispatch', 'alert_delivery')`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		t.Errorf("the sweep scheduled %d alert jobs for the history", jobs)
	}
	if after := tableCounts(t, s); !mapsEqual(after, before) {
		t.Errorf("the start changed the history: %v, was %v", after, before)
	}
	var detail string
	if err := s.DB.QueryRow(ctx, `SELECT detail FROM audit_log WHERE action = 'demo.history'`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	var d struct{ Stats demo.HistoryStats }
	json.Unmarshal([]byte(detail), &d)
	if st := d.Stats; st.QualityEvents != 0 || st.Readings == 0 {
		t.Errorf("history stats %s: want readings and no data-quality events", detail)
	}
}

func tableCounts(t *testing.T, s *apptest.Server) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range countedTables {
		var n int
		if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// get fetches an API path as a user and decodes the answer.
func get(t *testing.T, s *apptest.Server, token, path string, v any) {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1"+path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	r.JSON(t, v)
}

type page struct {
	Items []map[string]any `json:"items"`
	Total int              `json:"total"`
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func checkPortalData(t *testing.T, s *apptest.Server) {
	admin, safety, town := s.Login(t, "admin"), s.Login(t, "safety01"), s.Login(t, "township01")
	now := s.Now()
	nonEmpty := func(what string, n int) {
		t.Helper()
		if n == 0 {
			t.Errorf("%s: no rows", what)
		}
	}

	var rps page
	get(t, s, admin, "/risk-points?page_size=200", &rps)
	levels := map[string]int{}
	for _, p := range rps.Items {
		levels[str(p, "level")]++
		if ms, _ := p["measures"].([]any); len(ms) == 0 {
			t.Errorf("risk point %s has no measures", str(p, "name"))
		}
	}
	for _, l := range []string{"red", "orange", "yellow", "blue"} {
		nonEmpty("risk points "+l, levels[l])
	}
	if r := s.Do(t, http.MethodGet, "/api/v1/risk-points/"+str(rps.Items[0], "id")+"/qr.png", admin, nil); r.Status != 200 {
		t.Errorf("QR label: %d", r.Status)
	}

	var lists []map[string]any
	raw := s.Do(t, http.MethodGet, "/api/v1/checklists", admin, nil)
	var cl page
	if json.Unmarshal(raw.Body, &cl) == nil && cl.Items != nil {
		lists = cl.Items
	} else {
		raw.JSON(t, &lists)
	}
	nonEmpty("checklists", len(lists))
	var overdue []map[string]any
	raw = s.Do(t, http.MethodGet, "/api/v1/checklists/overdue", admin, nil)
	var op page
	if json.Unmarshal(raw.Body, &op) == nil && op.Items != nil {
		overdue = op.Items
	} else {
		raw.JSON(t, &overdue)
	}
	nonEmpty("overdue checklist periods", len(overdue))

	var patrols page
	get(t, s, admin, "/patrols?page_size=500", &patrols)
	if patrols.Total < 200 {
		t.Errorf("%d patrols in a month, want hundreds", patrols.Total)
	}
	flags := map[string]int{}
	late := 0
	for _, p := range patrols.Items {
		for _, f := range p["flags"].([]any) {
			flags[str(f.(map[string]any), "code")]++
		}
		fin, _ := time.Parse(time.RFC3339, str(p, "finished_at"))
		rec, _ := time.Parse(time.RFC3339, str(p, "received_at"))
		if rec.Sub(fin) > 6*time.Hour || fin.In(demo.Zone).Hour() >= 21 {
			late++
		}
	}
	if flags["qr_forged"] != 1 || flags["qr_stale"] == 0 || flags["too_fast"] == 0 || flags["far_from_point"] == 0 {
		t.Errorf("patrol flags %v: want one forged QR code and each other flag", flags)
	}
	nonEmpty("late patrols", late)

	var hz page
	get(t, s, admin, "/hazards?page_size=200", &hz)
	status := map[string]int{}
	overdueHazards := 0
	for _, h := range hz.Items {
		status[str(h, "status")]++
		if d, err := time.Parse(time.RFC3339, str(h, "deadline")); err == nil && d.Before(now) && str(h, "status") != "accepted" {
			overdueHazards++
		}
	}
	for _, st := range []string{"reported", "assigned", "rectifying", "submitted", "accepted"} {
		nonEmpty("hazards "+st, status[st])
	}
	nonEmpty("overdue hazards", overdueHazards)
	var tl page
	for _, h := range hz.Items {
		if str(h, "status") == "accepted" {
			get(t, s, admin, "/hazards/"+str(h, "id")+"/timeline", &tl)
			if len(tl.Items) < 5 {
				t.Errorf("accepted hazard %s: %d timeline events", str(h, "title"), len(tl.Items))
			}
			break
		}
	}

	for _, st := range []string{"new", "acknowledged", "disposing", "closed", "false_alarm"} {
		var al page
		get(t, s, admin, "/alerts?status="+st, &al)
		nonEmpty("alerts "+st, al.Total)
	}
	var open page
	get(t, s, safety, "/alerts?status=new", &open)
	if open.Total < 3 {
		t.Errorf("safety01 has %d new alerts, want at least 3", open.Total)
	}
	for _, a := range open.Items {
		var d page
		get(t, s, safety, "/alerts/"+str(a, "id")+"/deliveries", &d)
		nonEmpty("deliveries of "+str(a, "title"), d.Total+len(d.Items))
		if str(a, "tier") != "county" {
			t.Errorf("alert %s open for hours is at tier %s, want county", str(a, "title"), str(a, "tier"))
		}
	}
	var mine page
	get(t, s, safety, "/hazards?open=true&page_size=100", &mine)
	toRectify := 0
	me := userID(t, s, safety)
	for _, h := range mine.Items {
		if str(h, "rectifier_id") == me && (str(h, "status") == "assigned" || str(h, "status") == "rectifying") {
			toRectify++
		}
	}
	nonEmpty("hazards for safety01 to rectify", toRectify)

	var rcv page
	get(t, s, admin, "/alert-receivers", &rcv)
	nonEmpty("alert receivers", len(rcv.Items))

	var devs page
	get(t, s, admin, "/devices?page_size=50", &devs)
	offline := 0
	for _, d := range devs.Items {
		var h struct {
			Changes    []map[string]any `json:"changes"`
			OnlineRate float64          `json:"online_rate"`
		}
		get(t, s, admin, "/devices/"+str(d, "id")+"/health", &h)
		for _, c := range h.Changes {
			if c["online"] == false {
				offline++
			}
		}
		if h.OnlineRate <= 0.9 || h.OnlineRate > 1 {
			t.Errorf("device %s online rate %g", str(d, "code"), h.OnlineRate)
		}
		if d["online"] != true {
			t.Errorf("device %s is not online as its history ends", str(d, "code"))
		}
	}
	nonEmpty("offline periods", offline)

	var pts page
	get(t, s, admin, "/monitor-points?page_size=50", &pts)
	if len(pts.Items) != 10 {
		t.Errorf("%d demo points, want 10", len(pts.Items))
	}
	q := url.Values{"from": {now.Add(-7 * 24 * time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}
	for _, p := range pts.Items {
		if p["latest"] == nil {
			t.Errorf("point %s has no latest reading", str(p, "code"))
		}
		for _, res := range []string{"minute", "hour"} {
			q.Set("resolution", res)
			q.Set("max_points", "10000")
			var series struct {
				Items []map[string]any `json:"items"`
			}
			get(t, s, admin, "/monitor-points/"+str(p, "id")+"/readings?"+q.Encode(), &series)
			if len(series.Items) < 100 {
				t.Errorf("point %s: %d %s values over a week", str(p, "code"), len(series.Items), res)
			}
		}
	}

	var hs struct {
		Total map[string]any `json:"total"`
		Rows  []any          `json:"rows"`
	}
	get(t, s, admin, "/stats/hazards", &hs)
	nonEmpty("hazard statistics", len(hs.Rows))
	var ps struct {
		Patrols        int   `json:"patrols"`
		FlaggedPatrols int   `json:"flagged_patrols"`
		Checklists     []any `json:"checklists"`
	}
	get(t, s, admin, "/stats/patrols", &ps)
	nonEmpty("patrol statistics", ps.Patrols*ps.FlaggedPatrols*len(ps.Checklists))
	var as struct {
		Rows []any `json:"rows"`
	}
	get(t, s, admin, "/stats/alerts?from="+now.AddDate(0, 0, -30).In(demo.Zone).Format("2006-01-02"), &as)
	nonEmpty("alert statistics", len(as.Rows))

	var dash struct {
		Patrol struct {
			Today          struct{ Total int }
			OverduePeriods int `json:"overdue_periods"`
		}
		Hazards struct {
			Open, Overdue     int
			PendingAcceptance int `json:"pending_acceptance"`
		}
		Alerts struct {
			Open, Unconfirmed int
			ByTier            []struct {
				Key   string
				Count int
			} `json:"by_tier"`
		}
		Devices struct{ Total, Online int }
	}
	get(t, s, admin, "/dashboard", &dash)
	countyOpen := 0
	for _, c := range dash.Alerts.ByTier {
		if c.Key == "county" {
			countyOpen = c.Count
		}
	}
	for what, n := range map[string]int{"dashboard: checklist periods today": dash.Patrol.Today.Total,
		"dashboard: overdue periods": dash.Patrol.OverduePeriods, "dashboard: open hazards": dash.Hazards.Open,
		"dashboard: overdue hazards": dash.Hazards.Overdue, "dashboard: hazards to accept": dash.Hazards.PendingAcceptance,
		"dashboard: open alerts": dash.Alerts.Open, "dashboard: unconfirmed alerts": dash.Alerts.Unconfirmed,
		"dashboard: alerts at the county": countyOpen, "dashboard: devices online": dash.Devices.Online} {
		nonEmpty(what, n)
	}

	for _, who := range []string{town, safety} {
		var rem page
		get(t, s, who, "/reminders?page_size=100", &rem)
		nonEmpty("reminders", len(rem.Items))
	}

	var ents page
	get(t, s, admin, "/enterprises?page_size=100", &ents)
	flagged := 0
	for _, e := range ents.Items {
		var sup struct {
			CreditScore int              `json:"credit_score"`
			Reasons     []map[string]any `json:"reasons"`
		}
		get(t, s, admin, "/enterprises/"+str(e, "id")+"/supervision", &sup)
		if len(sup.Reasons) > 0 && sup.CreditScore < 100 {
			flagged++
		}
	}
	nonEmpty("enterprises with a lowered credit score", flagged)
}

func userID(t *testing.T, s *apptest.Server, token string) string {
	var me map[string]any
	get(t, s, token, "/auth/me", &me)
	if u, ok := me["user"].(map[string]any); ok {
		return str(u, "id")
	}
	return str(me, "id")
}

// checkRollups: every minute and hour rollup is the aggregate of its raw readings.
func checkRollups(t *testing.T, s *apptest.Server) {
	for _, c := range []struct{ res, width string }{{"minute", "60000"}, {"hour", "3600000"}} {
		var bad, n int
		err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM reading_rollups r WHERE r.resolution = $1 AND (
			r.n <> (SELECT COUNT(*) FROM readings x WHERE x.point_id = r.point_id AND x.ts >= r.bucket AND x.ts < r.bucket + `+c.width+`)
			OR r.min <> (SELECT MIN(value) FROM readings x WHERE x.point_id = r.point_id AND x.ts >= r.bucket AND x.ts < r.bucket + `+c.width+`)
			OR r.max <> (SELECT MAX(value) FROM readings x WHERE x.point_id = r.point_id AND x.ts >= r.bucket AND x.ts < r.bucket + `+c.width+`)
			OR r.last_ts <> (SELECT MAX(ts) FROM readings x WHERE x.point_id = r.point_id AND x.ts >= r.bucket AND x.ts < r.bucket + `+c.width+`))`,
			c.res).Scan(&bad)
		if err == nil {
			err = s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM reading_rollups WHERE resolution = $1`, c.res).Scan(&n)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || bad != 0 {
			t.Errorf("%s rollups: %d of %d disagree with the readings", c.res, bad, n)
		}
	}
	var orphans int
	if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM readings x WHERE NOT EXISTS (SELECT 1 FROM reading_rollups r
		WHERE r.point_id = x.point_id AND r.resolution = 'hour' AND r.bucket = (x.ts / 3600000) * 3600000)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d readings without an hour rollup", orphans)
	}
}

// fingerprint lists the history's records without their ids (and without what differs by
// design between two databases: QR signing keys, audit times of the live start).
func fingerprint(t *testing.T, s *apptest.Server) []string {
	t.Helper()
	queries := map[string]string{
		"risk_points": `SELECT e.name, r.code, r.name, r.level, r.accident_types, r.responsible, r.qr_version
			FROM risk_points r JOIN enterprises e ON e.id = r.enterprise_id`,
		"checklists": `SELECT e.name, c.name, c.frequency, u.username FROM checklists c JOIN enterprises e ON e.id = c.enterprise_id
			JOIN users u ON u.id = c.assignee`,
		"patrols": `SELECT e.name, r.code, u.username, p.started_at, p.finished_at, p.received_at, p.location, p.items, p.distance_m, p.flags
			FROM patrols p JOIN risk_points r ON r.id = p.risk_point_id JOIN enterprises e ON e.id = p.enterprise_id
			JOIN users u ON u.id = p.patrolled_by`,
		"hazards": `SELECT e.name, h.title, h.description, h.level, h.status, h.photos, h.reported_at, h.deadline, u.username,
			COALESCE(v.username, '') FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id JOIN users u ON u.id = h.reported_by
			LEFT JOIN users v ON v.id = h.rectifier_id`,
		"hazard_actions": `SELECT h.title, a.kind, a.text, a.at, u.username FROM hazard_actions a JOIN hazards h ON h.id = a.hazard_id
			JOIN users u ON u.id = a.by_user`,
		"alerts": `SELECT title, kind, level, level_name, status, tier, message, value, threshold, started_at, last_at, cleared_at,
			escalated_at, acknowledged_at, disposed_at, closed_at, disposal_reason, disposal_measures FROM alerts`,
		"alert_events": `SELECT a.title, a.started_at, e.kind, e.level, e.tier, e.status, e.message, e.at
			FROM alert_events e JOIN alerts a ON a.id = e.alert_id`,
		"alert_deliveries": `SELECT a.title, a.started_at, d.tier, d.level, d.channel, d.receiver_name, d.status, d.error_code, d.at
			FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id`,
		"alert_actions": `SELECT a.title, x.kind, x.text, x.tier, x.at FROM alert_actions x JOIN alerts a ON a.id = x.alert_id`,
		"readings":      `SELECT COUNT(*), MIN(ts), MAX(ts), SUM(ROUND(value * 1000)) FROM readings`,
		"rollups":       `SELECT resolution, COUNT(*), CAST(SUM(n) AS BIGINT), MIN(bucket), MAX(bucket) FROM reading_rollups GROUP BY resolution`,
		"status_log": `SELECT d.code, CASE WHEN l.online THEN 1 ELSE 0 END, l.at, l.reason FROM device_status_log l
			JOIN devices d ON d.id = l.device_id`,
		"supervision": `SELECT e.name, s.credit_score, s.supervision_level FROM enterprise_supervision s JOIN enterprises e ON e.id = s.enterprise_id`,
		"media":       `SELECT sha256, size, content_type FROM media_objects`,
		"reminders": `SELECT r.kind, r.object_type, r.message, r.due_at, u.username FROM reminders r JOIN users u ON u.id = r.user_id
			WHERE r.created_at < $1`,
	}
	var out []string
	names := make([]string, 0, len(queries))
	for k := range queries {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		var args []any
		if strings.Contains(queries[name], "$1") {
			args = append(args, historyBase.UTC()) // reminders of the history, not of the live start
		}
		rows, err := s.DB.Query(context.Background(), queries[name], args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var lines []string
		for rows.Next() {
			cols := make([]any, columns(queries[name]))
			ptrs := make([]any, len(cols))
			for i := range cols {
				ptrs[i] = &cols[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			parts := make([]string, len(cols))
			for i, c := range cols {
				parts[i] = norm(c)
			}
			lines = append(lines, name+": "+strings.Join(parts, " | "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(lines) == 0 && name != "alert_actions" {
			t.Errorf("fingerprint: no %s", name)
		}
		slices.Sort(lines)
		out = append(out, lines...)
	}
	return out
}

// columns counts the select list of a query (its commas outside parentheses before FROM).
func columns(q string) int {
	n, depth := 1, 0
	for i := len("SELECT "); i < len(q); i++ {
		switch q[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
		if depth == 0 && strings.HasPrefix(q[i:], "FROM ") && strings.ContainsRune(" \t\n", rune(q[i-1])) {
			return n
		}
	}
	return n
}

func norm(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case int32:
		return strconv.Itoa(int(x))
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

func sameHistory(t *testing.T, an string, a []string, bn string, b []string) {
	t.Helper()
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			t.Fatalf("the history differs at line %d:\n%s: %s\n%s: %s", i, an, a[i], bn, b[i])
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%s has %d records, %s %d", an, len(a), bn, len(b))
	}
}

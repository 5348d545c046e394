package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/task"
)

func ptr(f float64) *float64 { return &f }

func at2(loc string) (*float64, *float64) {
	if loc == "null" || loc == "" {
		return nil, nil
	}
	l, ok := scanLocation(loc)
	if !ok {
		l = nil
		if json.Unmarshal([]byte(loc), &l) != nil {
			return nil, nil
		}
	}
	if l == nil || !l.Valid() {
		return nil, nil
	}
	return ptr(l.Lat), ptr(l.Lng)
}

// scanLocation reads the form the services write, {"lat":N,"lng":N} with JSON numbers and no
// spaces, without encoding/json (a replay reads thousands); false for anything else, which
// the caller decodes with encoding/json. The numbers parse as encoding/json parses them.
func scanLocation(s string) (*task.Location, bool) {
	const a, b = `{"lat":`, `,"lng":`
	if len(s) < len(a)+len(b)+3 || s[:len(a)] != a || s[len(s)-1] != '}' {
		return nil, false
	}
	rest := s[len(a) : len(s)-1]
	i := strings.Index(rest, b)
	if i < 0 {
		return nil, false
	}
	lat, lng := rest[:i], rest[i+len(b):]
	if !jsonNumber(lat) || !jsonNumber(lng) {
		return nil, false
	}
	x, err1 := strconv.ParseFloat(lat, 64)
	y, err2 := strconv.ParseFloat(lng, 64)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	return &task.Location{Lat: x, Lng: y}, true
}

// jsonNumber reports whether s is a number by the JSON grammar.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// mediaList decodes a JSON array of hashes as encoding/json does (an empty list is empty, not
// nil: the event hash tells them apart), the common empty list without encoding/json.
func mediaList(s string) []string {
	if s == "[]" {
		return []string{}
	}
	var out []string
	json.Unmarshal([]byte(s), &out)
	return out
}

// incidentEvents: the report (when it happened, from whom) and the termination.
func incidentEvents(_ context.Context, _ sqldb.Querier, inc Incident) ([]Event, error) {
	when := inc.ReportedAt
	if when == "" {
		when = inc.OccurredAt
	}
	out := []Event{{Key: "incident:" + inc.ID, Kind: KindIncidentReported, At: when, Title: fmt.Sprintf("接报突发事件 %s（发生于 %s）", inc.Code, inc.OccurredAt),
		Lat: inc.Lat, Lng: inc.Lng, Ref: "incidents/" + inc.ID}}
	if inc.TerminatedAt != "" {
		out = append(out, Event{Key: "incident:" + inc.ID + ":terminated", Kind: KindIncidentTerminated, At: inc.TerminatedAt,
			Title: "应急响应终止", Ref: "incidents/" + inc.ID})
	}
	return out, nil
}

var alertEventNames = map[string]string{"raised": "预警产生", "level": "预警级别变化", "cleared": "监测值恢复正常", "escalated": "预警升级",
	"status": "预警状态变更"}

// alertEvents: what happened to the incident's alert, the actions on it and every delivery.
func alertEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	if inc.AlertID == "" {
		return nil, nil
	}
	var out []Event
	rows, err := q.Query(ctx, `SELECT id, kind, level, status, by_user, message, at FROM alert_events WHERE alert_id = $1`, inc.AlertID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, kind, status, by, msg, t string
		var level int
		if err := rows.Scan(&id, &kind, &level, &status, &by, &msg, &t); err != nil {
			rows.Close()
			return nil, err
		}
		title := alertEventNames[kind]
		if title == "" {
			title = "预警：" + kind
		}
		if level > 0 {
			title += fmt.Sprintf("（%d级）", level)
		}
		if status != "" {
			title += "：" + status
		}
		if msg != "" {
			title += "，" + msg
		}
		out = append(out, Event{Key: "alert_event:" + id, Kind: KindAlert, At: t, Actor: by, Title: title, Ref: "alerts/" + inc.AlertID})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT id, kind, text, photos, by_user, at FROM alert_actions WHERE alert_id = $1`, inc.AlertID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, kind, text, photos, by, t string
		if err := rows.Scan(&id, &kind, &text, &photos, &by, &t); err != nil {
			rows.Close()
			return nil, err
		}
		var media []string
		json.Unmarshal([]byte(photos), &media)
		out = append(out, Event{Key: "alert_action:" + id, Kind: KindAlertAction, At: t, Actor: by, Title: "预警处置（" + kind + "）：" + text,
			Ref: "alert_actions/" + id, Media: media})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT id, channel, receiver_name, user_id, tier, status, at FROM alert_deliveries WHERE alert_id = $1`, inc.AlertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, ch, name, user, tier, status, t string
		if err := rows.Scan(&id, &ch, &name, &user, &tier, &status, &t); err != nil {
			return nil, err
		}
		out = append(out, Event{Key: "delivery:" + id, Kind: KindDelivery, At: t, Title: fmt.Sprintf("通知 %s（%s，%s）：%s", name, ch, tier, status),
			Ref: "alert_deliveries/" + id})
	}
	return out, rows.Err()
}

// readingEvents: the readings of the alert's monitoring point from an hour before the alert
// to an hour after (at most 240, evenly thinned).
func readingEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	if inc.AlertID == "" {
		return nil, nil
	}
	var point, started, unit string
	if err := q.QueryRow(ctx, `SELECT point_id, started_at, unit FROM alerts WHERE id = $1`, inc.AlertID).Scan(&point, &started, &unit); err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, started)
	if point == "" || err != nil {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT ts, value FROM readings WHERE point_id = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts`,
		point, t.Add(-time.Hour).UnixMilli(), t.Add(time.Hour).UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type rd struct {
		ts int64
		v  float64
	}
	var all []rd
	for rows.Next() {
		var r rd
		if err := rows.Scan(&r.ts, &r.v); err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	step := max(1, (len(all)+239)/240)
	var out []Event
	for i := 0; i < len(all); i += step {
		r := all[i]
		out = append(out, Event{Key: fmt.Sprintf("reading:%s:%d", point, r.ts), Kind: KindReading, At: fmtTime(time.UnixMilli(r.ts)),
			Title: fmt.Sprintf("监测值 %g %s", r.v, unit), Ref: "monitor_points/" + point})
	}
	return out, rows.Err()
}

// priorEvents: the enterprise's patrols and hazards in the 30 days before the incident (the
// conditions before it).
func priorEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	if inc.EnterpriseID == "" || inc.OccurredAt == "" {
		return nil, nil
	}
	end, err := time.Parse(time.RFC3339Nano, inc.OccurredAt)
	if err != nil {
		return nil, nil
	}
	from := end.Add(-30 * 24 * time.Hour)
	var out []Event
	rows, err := q.Query(ctx, `SELECT p.id, p.patrolled_by, p.finished_at, p.items, p.flags, p.location, COALESCE(r.name, '') FROM patrols p
		LEFT JOIN risk_points r ON r.id = p.risk_point_id WHERE p.enterprise_id = $1 AND p.finished_utc >= $2 AND p.finished_utc <= $3`,
		inc.EnterpriseID, from.UTC(), end.UTC())
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, by, fin, items, flags, loc, name string
		if err := rows.Scan(&id, &by, &fin, &items, &flags, &loc, &name); err != nil {
			rows.Close()
			return nil, err
		}
		var its []struct {
			Controlled bool `json:"controlled"`
		}
		json.Unmarshal([]byte(items), &its)
		bad := 0
		for _, it := range its {
			if !it.Controlled {
				bad++
			}
		}
		out = append(out, Event{Key: "patrol:" + id, Kind: KindPatrol, At: fin, Actor: by,
			Title: fmt.Sprintf("巡查风险点 %s：%d 项措施，%d 项未管控", name, len(its), bad), Ref: "patrols/" + id})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT id, title, level, reported_by, reported_at FROM hazards WHERE enterprise_id = $1 AND reported_at >= $2 AND reported_at <= $3`,
		inc.EnterpriseID, fmtTime(from), inc.OccurredAt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, title, level, by, t string
		if err := rows.Scan(&id, &title, &level, &by, &t); err != nil {
			return nil, err
		}
		out = append(out, Event{Key: "hazard:" + id, Kind: KindHazard, At: t, Actor: by, Title: "上报隐患（" + level + "）：" + title, Ref: "hazards/" + id})
	}
	return out, rows.Err()
}

// taskEvents: each task given, and each of its steps. The team and assignee names are read
// apart (a handful of ids), not joined: joined, PostgreSQL may hash the wide task rows (steps
// and all) when its statistics are stale, which cost it three times the scan.
func taskEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, title, source, team_id, assignee_id, assigned_by, assigned_at, steps, location
		FROM tasks WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	type taskRow struct{ id, title, src, team, user, by, when, steps, loc string }
	var ts []taskRow
	for rows.Next() {
		var r taskRow
		if err := rows.Scan(&r.id, &r.title, &r.src, &r.team, &r.user, &r.by, &r.when, &r.steps, &r.loc); err != nil {
			rows.Close()
			return nil, err
		}
		ts = append(ts, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	teams, users := map[string]string{}, map[string]string{}
	for _, r := range ts {
		teams[r.team], users[r.user] = "", ""
	}
	if err := namesOf(ctx, q, "teams", teams); err != nil {
		return nil, err
	}
	if err := namesOf(ctx, q, "users", users); err != nil {
		return nil, err
	}
	out := make([]Event, 0, 5*len(ts))
	for _, r := range ts {
		to := teams[r.team]
		if n := users[r.user]; n != "" {
			to = n
		}
		from := "指挥部"
		if r.src == "plan" {
			from = "预案措施"
		}
		lat, lng := at2(r.loc)
		out = append(out, Event{Key: "task:" + r.id, Kind: KindTaskAssigned, At: r.when, Actor: r.by, TeamID: r.team,
			Title: "下达任务（" + from + "）给 " + to + "：" + r.title, Lat: lat, Lng: lng, Ref: "tasks/" + r.id})
		for i, s := range stepsOf(r.steps) {
			t := "任务“" + r.title + "”" + task.StatusNames[s.Status]
			if s.Reason != "" {
				t += "，原因：" + s.Reason
			}
			out = append(out, Event{Key: "task:" + r.id + ":" + strconv.Itoa(i), Kind: KindTaskStep, At: s.At, Actor: s.By, TeamID: r.team, Title: t,
				Ref: "tasks/" + r.id})
		}
	}
	return out, nil
}

// namesOf fills names (id → "") with the names of those ids in table (teams or users); an id
// not found keeps "".
func namesOf(ctx context.Context, q sqldb.Querier, table string, names map[string]string) error {
	ids := make([]string, 0, len(names))
	for id := range names {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, "SELECT id, name FROM "+table+" WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, n string
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			names[id] = n
		}
		return rows.Err()
	})
}

func checkinEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, team_id, user_id, location, note, at FROM checkins WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	type checkinRow struct{ id, team, user, loc, note, t string }
	var cs []checkinRow
	for rows.Next() {
		var r checkinRow
		if err := rows.Scan(&r.id, &r.team, &r.user, &r.loc, &r.note, &r.t); err != nil {
			rows.Close()
			return nil, err
		}
		cs = append(cs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	teams := map[string]string{}
	for _, r := range cs {
		teams[r.team] = ""
	}
	if err := namesOf(ctx, q, "teams", teams); err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(cs))
	for _, r := range cs {
		lat, lng := at2(r.loc)
		title := "到达现场报到"
		if n := teams[r.team]; n != "" {
			title = n + " " + title
		}
		if r.note != "" {
			title += "：" + r.note
		}
		out = append(out, Event{Key: "checkin:" + r.id, Kind: KindCheckin, At: r.t, Actor: r.user, TeamID: r.team, Title: title, Lat: lat, Lng: lng,
			Ref: "checkins/" + r.id})
	}
	return out, nil
}

func feedbackEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, team_id, user_id, text, photos, videos, location, at FROM feedback WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, team, user, text, photos, videos, loc, t string
		if err := rows.Scan(&id, &team, &user, &text, &photos, &videos, &loc, &t); err != nil {
			return nil, err
		}
		ps, vs := mediaList(photos), mediaList(videos)
		lat, lng := at2(loc)
		title := "现场反馈：" + text
		if len(ps)+len(vs) > 0 {
			title += fmt.Sprintf("（照片 %d，视频 %d）", len(ps), len(vs))
		}
		out = append(out, Event{Key: "feedback:" + id, Kind: KindFeedback, At: t, Actor: user, TeamID: team, Title: title, Lat: lat, Lng: lng,
			Ref: "feedback/" + id, Media: append(ps, vs...)})
	}
	return out, rows.Err()
}

var responseKinds = map[string]string{"start": "启动", "raise": "提升", "lower": "降低", "terminate": "终止"}

// responseEvents: each response step proposed, and its decision by the leader.
func responseEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, kind, level, plan_id, reason, state, proposed_by, proposed_at, approver_id, decided_by, decided_at, comment
		FROM response_actions WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, kind, plan, reason, state, by, at, approver, decidedBy, decidedAt, comment string
		var level int
		if err := rows.Scan(&id, &kind, &level, &plan, &reason, &state, &by, &at, &approver, &decidedBy, &decidedAt, &comment); err != nil {
			return nil, err
		}
		what := responseKinds[kind] + "应急响应"
		if kind != "terminate" && level > 0 {
			what = fmt.Sprintf("%s（%d级）", what, level)
		}
		t := "提请" + what
		if reason != "" {
			t += "，理由：" + reason
		}
		out = append(out, Event{Key: "response:" + id, Kind: KindResponseProposed, At: at, Actor: by, Title: t, Ref: "response_actions/" + id})
		if state != "proposed" && decidedAt != "" {
			d := "批准"
			if state == "rejected" {
				d = "不批准"
			}
			t := d + what
			if comment != "" {
				t += "：" + comment
			}
			out = append(out, Event{Key: "response:" + id + ":decided", Kind: KindResponseDecided, At: decidedAt, Actor: decidedBy, Title: t,
				Ref: "response_actions/" + id})
		}
	}
	return out, rows.Err()
}

var messageKinds = map[string]string{"text": "", "photo": "[照片] ", "location": "[位置] "}

// chatEvents: the incident group's messages.
func chatEvents(ctx context.Context, q sqldb.Querier, inc Incident) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, kind, text, photos, location, sender_id, sent_at FROM incident_messages WHERE incident_id = $1`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, kind, text, photos, loc, by, at string
		if err := rows.Scan(&id, &kind, &text, &photos, &loc, &by, &at); err != nil {
			return nil, err
		}
		var ps []string
		json.Unmarshal([]byte(photos), &ps)
		lat, lng := at2(loc)
		out = append(out, Event{Key: "message:" + id, Kind: KindMessage, At: at, Actor: by, Title: "群组消息：" + messageKinds[kind] + text,
			Lat: lat, Lng: lng, Ref: "incident_messages/" + id, Media: ps})
	}
	return out, rows.Err()
}

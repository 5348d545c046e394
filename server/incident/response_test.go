package incident_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/notify/notifytest"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// withSMS points the server's SMS channel at a local stand-in that checks the signature,
// the sign name and the template as the provider would.
func withSMS(sms *notifytest.SMS) apptest.Option {
	sms.Template("SMS_REMIND", "kind", "title", "time")
	return apptest.WithConfig(func(c *config.Config) {
		c.SMSURL, c.SMSAccessKey, c.SMSSecret, c.SMSSignName = sms.URL, sms.AccessKey, sms.Secret, sms.SignName
		c.SMSReminderTemplate = "SMS_REMIND"
	})
}

// engineStart runs fn on SQLite and PostgreSQL servers with the SMS stand-in.
func enginesSMS(t *testing.T, fn func(t *testing.T, s *apptest.Server, sms *notifytest.SMS)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		sms := notifytest.NewSMS(t)
		fn(t, apptest.Start(t, withSMS(sms)), sms)
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		sms := notifytest.NewSMS(t)
		fn(t, apptest.StartPostgres(t, withSMS(sms)), sms)
	})
}

// raiseAlert writes an open alert of the first demo enterprise, as the monitoring rules do.
func raiseAlert(t *testing.T, s *apptest.Server) string {
	t.Helper()
	ctx := context.Background()
	var ent, path string
	if err := s.DB.QueryRow(ctx, `SELECT id, org_path FROM enterprises ORDER BY credit_code LIMIT 1`).Scan(&ent, &path); err != nil {
		t.Fatal(err)
	}
	id := yingji.NewID()
	now := time.Now().UTC().Add(-20 * time.Minute).Format(incident.TimeLayout)
	if _, err := s.DB.Exec(ctx, `INSERT INTO alerts (id, enterprise_id, org_path, cause, kind, level, title, message, started_at, last_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'threshold', '2', '氯气浓度超限', '储罐区氯气浓度 35 mg/m³，超过二级阈值', $5, $5, $6, $6)`,
		id, ent, path, "test:"+id, now, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestResponse(t *testing.T) {
	enginesSMS(t, func(t *testing.T, s *apptest.Server, sms *notifytest.SMS) {
		ctx := context.Background()
		duty, admin, leader := s.Login(t, "duty01"), s.Login(t, "admin"), s.Login(t, "leader01")
		leaderActor, dutyActor := actorOf(t, s, leader), actorOf(t, s, duty)

		// An alert becomes an incident in one step, linked both ways, on the alert's timeline.
		alertID := raiseAlert(t, s)
		r := s.Do(t, http.MethodPost, "/api/v1/alerts/"+alertID+"/incident", duty, map[string]any{
			"class": "accident", "sub_type": "危险化学品事故", "grade": "较大", "dead": 3, "injured": 5,
			"materials": []map[string]any{{"name": "氯气", "cas": "7782-50-5", "amount": 2, "unit": "t"}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("alert to incident: %d %s", r.Status, r.Body)
		}
		var x incident.Incident
		r.JSON(t, &x)
		if x.AlertID != alertID || x.Source != "alert" || x.Title != "氯气浓度超限" || x.EnterpriseID == "" || x.Lat == nil {
			t.Fatalf("incident from the alert: %+v", x)
		}
		var linked, evMsg string
		s.DB.QueryRow(ctx, `SELECT incident_id FROM alerts WHERE id = $1`, alertID).Scan(&linked)
		s.DB.QueryRow(ctx, `SELECT message FROM alert_events WHERE alert_id = $1 AND kind = 'incident'`, alertID).Scan(&evMsg)
		if linked != x.ID || !strings.Contains(evMsg, x.Code) {
			t.Fatalf("alert not linked back (%q) or no timeline entry (%q)", linked, evMsg)
		}
		// the alert as the portal reads it names its incident, and its timeline says so
		var al struct {
			IncidentID string `json:"incident_id"`
		}
		s.Do(t, http.MethodGet, "/api/v1/alerts/"+alertID, duty, nil).JSON(t, &al)
		var tl struct {
			Items []struct{ Kind, Text string } `json:"items"`
		}
		s.Do(t, http.MethodGet, "/api/v1/alerts/"+alertID+"/timeline", duty, nil).JSON(t, &tl)
		converted := false
		for _, it := range tl.Items {
			converted = converted || (it.Kind == "incident" && it.Text == "已转为事件 "+x.Code+"："+x.Title)
		}
		if al.IncidentID != x.ID || !converted {
			t.Fatalf("the alert's API shows incident %q and timeline %+v, want %s and its conversion", al.IncidentID, tl.Items, x.ID)
		}
		if r := s.Do(t, http.MethodPost, "/api/v1/alerts/"+alertID+"/incident", duty, map[string]any{}); r.Status != http.StatusConflict {
			t.Fatalf("the same alert twice: %d %s", r.Status, r.Body)
		}

		// The plan and level match, explained; the 总指挥 with his account; the MSDS linked.
		var m incident.Match
		if r := s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/match", duty, nil); r.Status != 200 {
			t.Fatalf("match: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &m)
		}
		if m.PlanID == "" || m.Level == 0 || !strings.Contains(m.Explanation, "响应") || len(m.Plans[0].Result.Reasons) == 0 {
			t.Fatalf("match %+v", m)
		}
		if m.Plans[0].Leader == nil || m.Plans[0].Leader.UserID != leaderActor.UserID {
			t.Fatalf("the plan's 总指挥 is not leader01: %+v", m.Plans[0].Leader)
		}

		// An override without a reason is refused; the matched plan and level are proposed.
		other := m.Level%4 + 1
		if r := s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/responses", duty, map[string]any{"kind": "start", "plan_id": m.PlanID, "level": other}); r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Fatalf("override without a reason: %d %s", r.Status, r.Body)
		}
		var act incident.Action
		if r := s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/responses", duty, map[string]any{"kind": "start", "plan_id": m.PlanID, "level": m.Level}); r.Status != http.StatusCreated {
			t.Fatalf("propose: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &act)
		}
		if act.ApproverID != leaderActor.UserID || act.State != "proposed" {
			t.Fatalf("proposal %+v", act)
		}

		// A non-approver is refused, on the portal and on a phone.
		if r := s.Do(t, http.MethodPost, "/api/v1/responses/"+act.ID+"/approve", admin, map[string]any{}); r.Status != http.StatusForbidden {
			t.Fatalf("admin approved: %d %s", r.Status, r.Body)
		}
		res, err := s.Sync.Push(ctx, dutyActor, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "duty-phone",
			Mutations: []syncproto.Mutation{{MutationID: yingji.NewID(), Collection: incident.ActionsName, ID: act.ID, Op: syncproto.OpUpdate,
				Fields: map[string]json.RawMessage{"state": json.RawMessage(`"approved"`)}, HLC: hlc(time.Now(), "duty-phone")}}})
		if err != nil || res.Results[0].Status != syncproto.StatusRejected || res.Results[0].Code != syncproto.CodeForbidden {
			t.Fatalf("duty officer's phone approved: %+v %v", res, err)
		}

		// The leader's phone pulls the proposal (his user scope), goes offline, approves at
		// tapped and syncs later: the decision keeps the time he tapped.
		pull, err := s.Sync.Pull(ctx, leaderActor, syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: map[string]int64{"user:" + leaderActor.UserID: 0}})
		if err != nil || !hasRecord(pull, incident.ActionsName, act.ID) {
			t.Fatalf("the proposal did not reach the leader's phone: %v", err)
		}
		tapped := time.Now().Add(-90 * time.Second).UTC().Truncate(time.Second)
		if tapped.Format(incident.TimeLayout) < act.ProposedAt {
			tapped, _ = time.Parse(time.RFC3339, act.ProposedAt)
		}
		res, err = s.Sync.Push(ctx, leaderActor, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "leader-phone",
			Mutations: []syncproto.Mutation{{MutationID: yingji.NewID(), Collection: incident.ActionsName, ID: act.ID, Op: syncproto.OpUpdate,
				Fields: map[string]json.RawMessage{"state": json.RawMessage(`"approved"`), "comment": json.RawMessage(`"同意启动"`)},
				HLC:    hlc(tapped, "leader-phone")}}})
		if err != nil || res.Results[0].Status == syncproto.StatusRejected {
			t.Fatalf("leader's approval: %+v %v", res, err)
		}
		var acts struct{ Items []incident.Action }
		s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/responses", duty, nil).JSON(t, &acts)
		got := acts.Items[0]
		if got.State != "approved" || got.DecidedBy != leaderActor.UserID || got.DecidedAt != tapped.Format(incident.TimeLayout) || got.DecidedReceivedAt < got.DecidedAt {
			t.Fatalf("decision %+v (tapped %s)", got, tapped)
		}
		s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID, duty, nil).JSON(t, &x)
		if x.Status != "responding" || x.ResponseLevel != m.Level || x.PlanID != m.PlanID {
			t.Fatalf("incident after approval %+v", x)
		}
		var ms struct{ Items []incident.Member }
		s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/members", duty, nil).JSON(t, &ms)
		groups := map[string]string{}
		for _, mb := range ms.Items {
			groups[mb.Username] += mb.Group + ","
		}
		if !strings.Contains(groups["leader01"], "hq") || !strings.Contains(groups["duty01"], "hq") {
			t.Fatalf("command groups %v", groups)
		}
		// Every member told: in his inbox and by SMS, with delivery records.
		waitFor(t, "SMS delivery records of the members' notices", func() bool {
			var n int
			s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
				WHERE n.ref_id = $1 AND d.channel = 'sms' AND d.status = 'sent'`, x.ID).Scan(&n)
			return n >= 2
		})
		for _, u := range []*yingji.Actor{leaderActor, dutyActor} {
			var n int
			s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'incident_group' AND ref_id = $2`, u.UserID, x.ID).Scan(&n)
			if n != 1 {
				t.Fatalf("%s has %d in-app notices of the response", u.Username, n)
			}
		}

		// Chat: a member posts; the order is by the time sent.
		r = s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/messages", duty, map[string]any{"kind": "text", "text": "请下风向人员撤离"})
		if r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
		base := time.Now().Add(-10 * time.Minute)
		var muts []syncproto.Mutation
		for i := 0; i < 3; i++ {
			muts = append(muts, syncproto.Mutation{MutationID: yingji.NewID(), Collection: incident.MessagesName, ID: yingji.NewID(), Op: syncproto.OpCreate,
				Fields: map[string]json.RawMessage{"incident_id": jsonOf(x.ID), "kind": jsonOf("text"), "text": jsonOf(fmt.Sprintf("离线消息 %d", i+1))},
				HLC:    hlc(base.Add(time.Duration(i)*time.Minute), "leader-phone")})
		}
		if res, err := s.Sync.Push(ctx, leaderActor, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "leader-phone", Mutations: muts}); err != nil || res.Results[2].Status == syncproto.StatusRejected {
			t.Fatalf("offline chat: %+v %v", res, err)
		}
		var msgs struct{ Items []incident.Message }
		s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/messages", duty, nil).JSON(t, &msgs)
		if len(msgs.Items) != 4 || msgs.Items[0].Text != "离线消息 1" || msgs.Items[2].Text != "离线消息 3" || msgs.Items[3].Text != "请下风向人员撤离" {
			t.Fatalf("chat order %+v", msgs.Items)
		}

		// A rescue team joins: its member's phone holds the incident's scope and gets the
		// incident and its chat, though the incident is outside his team's unit.
		rescue := actorOf(t, s, s.LoginAs(t, "rescue01", apptest.Password, "mobile", "rescue-phone"))
		if err := s.DB.InTx(ctx, func(tx sqldb.Querier) error { return s.Incidents.AddTeam(ctx, tx, x.ID, rescue.TeamID) }); err != nil {
			t.Fatal(err)
		}
		scopes, err := s.Sync.ActorScopes(ctx, rescue)
		if err != nil || !slices.Contains(scopes, incident.Scope(x.ID)) {
			t.Fatalf("rescue01's scopes %v %v", scopes, err)
		}
		pull, err = s.Sync.Pull(ctx, rescue, syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: map[string]int64{incident.Scope(x.ID): 0}})
		if err != nil || !hasRecord(pull, incident.CollectionName, x.ID) || !hasRecord(pull, incident.MessagesName, msgs.Items[0].ID) {
			t.Fatalf("the incident and its chat did not reach the rescue member's phone: %v", err)
		}

		// Termination: proposed, approved on the portal, announced by SMS.
		before := len(sms.Messages())
		r = s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/responses", duty, map[string]any{"kind": "terminate", "reason": "泄漏已封堵，险情消除"})
		if r.Status != http.StatusCreated {
			t.Fatalf("propose termination: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &act)
		if r := s.Do(t, http.MethodPost, "/api/v1/responses/"+act.ID+"/approve", leader, map[string]any{"comment": "同意"}); r.Status != 200 {
			t.Fatalf("approve termination: %d %s", r.Status, r.Body)
		}
		s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID, duty, nil).JSON(t, &x)
		if x.Status != "terminated" || x.TerminatedAt == "" {
			t.Fatalf("after termination %+v", x)
		}
		waitFor(t, "termination SMS", func() bool {
			for _, m := range sms.Messages()[before:] {
				if strings.Contains(m.Params["title"], "响应终止") {
					return true
				}
			}
			return false
		})
	})
}

func actorOf(t *testing.T, s *apptest.Server, token string) *yingji.Actor {
	t.Helper()
	a, err := s.Accounts.Authenticate(context.Background(), token, "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func jsonOf(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func hlc(t time.Time, node string) string {
	return syncproto.HLC{Wall: t.UnixMilli(), Node: node}.String()
}

func hasRecord(p syncproto.PullResponse, coll, id string) bool {
	for _, sc := range p.Scopes {
		for _, r := range sc.Records {
			if r.Collection == coll && r.ID == id {
				return true
			}
		}
	}
	return false
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

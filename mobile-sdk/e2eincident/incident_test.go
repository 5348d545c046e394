// Package e2eincident tests the response end to end with real SDK replicas as the phones: the
// leader approves a response on a phone that was offline when it was proposed, and the
// incident group's chat sent offline lands in the order it was written.
package e2eincident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	sdk "github.com/yingji/yingji/mobile-sdk"
	"github.com/yingji/yingji/mobile-sdk/internal/e2etest"
	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/incident"
)

// The shared end-to-end helpers, under this package's names.
var (
	raw = e2etest.Raw
)

func phone(t *testing.T, url, user string) *sdk.Client {
	return e2etest.Phone(t, url, user, sdk.Options{})
}

var engines = []struct {
	name  string
	start func(testing.TB, ...apptest.Option) *apptest.Server
}{{"sqlite", apptest.Start}, {"postgres", apptest.StartPostgres}}

func TestLeaderApprovesOffline(t *testing.T) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) {
			t.Parallel()
			testLeaderApprovesOffline(t, en.start(t))
		})
	}
}

func sync(t *testing.T, c *sdk.Client) {
	t.Helper()
	st, err := c.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejected != 0 {
		rj, _ := c.Rejected(context.Background())
		t.Fatalf("rejected: %+v", rj)
	}
}

func do(t *testing.T, s *apptest.Server, method, path, token string, body any, want int, out any) {
	t.Helper()
	r := s.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, bytes.TrimSpace(r.Body))
	}
	if out != nil {
		r.JSON(t, out)
	}
}

func testLeaderApprovesOffline(t *testing.T, s *apptest.Server) {
	ctx := context.Background()
	duty := s.Login(t, "duty01")
	leader := phone(t, s.URL, "leader01")
	sync(t, leader) // the phone has the city; then it goes offline

	// The duty officer records an incident and proposes the matched response.
	var x incident.Incident
	do(t, s, http.MethodPost, "/api/v1/incidents", duty, map[string]any{"title": "青山镇山体滑坡", "class": "natural",
		"sub_type": "地质灾害", "grade": "较大", "lat": 30.05, "lng": 119.9, "dead": 3, "injured": 6, "source": "phone",
		"reporter_name": "村委会", "reporter_phone": "13900001111"}, http.StatusCreated, &x)
	var m incident.Match
	do(t, s, http.MethodGet, "/api/v1/incidents/"+x.ID+"/match", duty, nil, http.StatusOK, &m)
	p := map[string]any{"kind": "start", "plan_id": m.PlanID, "level": m.Level}
	if m.PlanID == "" {
		// No quantified match: the duty officer picks an applicable plan and a level, with a reason.
		if len(m.Plans) == 0 {
			t.Fatalf("no applicable plan: %+v", m)
		}
		p = map[string]any{"kind": "start", "plan_id": m.Plans[0].PlanID, "level": 3, "reason": "研判为三级"}
	}
	var act incident.Action
	do(t, s, http.MethodPost, "/api/v1/incidents/"+x.ID+"/responses", duty, p, http.StatusCreated, &act)

	// The phone comes online once, gets the proposal, and is offline again when he taps.
	sync(t, leader)
	recs, err := leader.List(ctx, incident.ActionsName)
	if err != nil || len(recs) != 1 || recs[0].ID != act.ID {
		t.Fatalf("the proposal on the leader's phone: %+v %v", recs, err)
	}
	tapped := time.Now().UTC()
	if err := leader.Update(ctx, incident.ActionsName, act.ID, map[string]json.RawMessage{"state": raw("approved"), "comment": raw("同意，立即启动")}); err != nil {
		t.Fatal(err)
	}
	// Chat written offline, in order.
	for _, text := range []string{"已到指挥部", "请调派挖掘机两台", "注意二次滑坡"} {
		if _, err := leader.Create(ctx, incident.MessagesName, map[string]json.RawMessage{"incident_id": raw(x.ID), "kind": raw("text"),
			"text": raw(text), "sent_at": raw(time.Now().UTC().Format(time.RFC3339Nano))}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	sync(t, leader) // back online, a few seconds later

	var acts struct{ Items []incident.Action }
	do(t, s, http.MethodGet, "/api/v1/incidents/"+x.ID+"/responses", duty, nil, http.StatusOK, &acts)
	got := acts.Items[0]
	at, _ := time.Parse(time.RFC3339, got.DecidedAt)
	rec, _ := time.Parse(time.RFC3339, got.DecidedReceivedAt)
	if got.State != "approved" || at.Sub(tapped.Truncate(time.Second)) > time.Second || !rec.After(at) {
		t.Fatalf("decision %+v: want it at the tap %s, received later", got, tapped)
	}
	do(t, s, http.MethodGet, "/api/v1/incidents/"+x.ID, duty, nil, http.StatusOK, &x)
	if x.Status != "responding" || x.ResponseLevel == 0 {
		t.Fatalf("incident after the offline approval: %+v", x)
	}
	var msgs struct{ Items []incident.Message }
	do(t, s, http.MethodGet, "/api/v1/incidents/"+x.ID+"/messages", duty, nil, http.StatusOK, &msgs)
	if len(msgs.Items) != 3 || msgs.Items[0].Text != "已到指挥部" || msgs.Items[2].Text != "注意二次滑坡" || msgs.Items[0].SenderName != "林志远" {
		t.Fatalf("chat %+v", msgs.Items)
	}
	// The leader is in the headquarters group now: his phone holds the incident's scope and,
	// after a sync, the incident with its new status.
	sync(t, leader)
	r, err := leader.Get(ctx, incident.CollectionName, x.ID)
	if err != nil || r.Fields["status"] == nil || string(r.Fields["status"]) != `"responding"` {
		t.Fatalf("the incident on the leader's phone: %+v %v", r, err)
	}
	mine, _ := leader.List(ctx, incident.MessagesName)
	sort.Slice(mine, func(i, j int) bool { return string(mine[i].Fields["sent_at"]) < string(mine[j].Fields["sent_at"]) })
	if len(mine) != 3 {
		t.Fatalf("chat on the phone %+v", mine)
	}
}

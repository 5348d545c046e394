package app_test

import (
	"encoding/json"
	"testing"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// TestSyncWritesAudited: a change that arrives by sync is in the audit log like any other
// write — who, from where, which device, what — and a refused one is audited as denied.
func TestSyncWritesAudited(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.start(t)
			tok := s.LoginAs(t, "safety01", apptest.Password, "mobile", "phone-a")
			var pull syncproto.PullResponse
			s.Do(t, "POST", "/api/v1/sync/pull", tok, syncproto.PullRequest{Protocol: syncproto.Protocol}).JSON(t, &pull)
			ent := ""
			for _, sc := range pull.Scopes {
				for _, r := range sc.Records {
					if r.Collection == "enterprises" {
						ent = r.ID
					}
				}
			}
			if ent == "" {
				t.Fatal("no enterprise pulled")
			}
			id := yingji.NewID()
			clock := syncproto.NewClock("phone-a", nil)
			raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
			push := syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-a", Mutations: []syncproto.Mutation{
				{MutationID: yingji.NewID(), Collection: "hazards", ID: id, Op: "create", HLC: clock.Now().String(),
					Fields: map[string]json.RawMessage{"title": raw("泄漏报警器失效"), "enterprise_id": raw(ent)}},
				{MutationID: yingji.NewID(), Collection: "hazards", ID: id, Op: "update", HLC: clock.Now().String(),
					Fields: map[string]json.RawMessage{"reported_by": raw("someone-else")}},
			}}
			var resp syncproto.PushResponse
			s.Do(t, "POST", "/api/v1/sync/push", tok, push).JSON(t, &resp)
			if resp.Results[0].Status != "applied" || resp.Results[1].Code != syncproto.CodeServerOwned {
				t.Fatalf("results %+v", resp.Results)
			}
			admin := s.Login(t, "admin")
			var page struct {
				Items []struct {
					Username, Action, ObjectID, Result, IP string
					Detail                                 map[string]any
				}
				Total int
			}
			s.Do(t, "GET", "/api/v1/audit?object_id="+id, admin, nil).JSON(t, &page)
			var created, denied bool
			for _, it := range page.Items {
				switch {
				case it.Action == "sync.create" && it.Result == "ok" && it.Username == "safety01" && it.IP != "" && it.Detail["device_id"] == "phone-a":
					created = true
				case it.Action == "sync.push" && it.Result == "denied":
					denied = true
				}
			}
			if !created || !denied {
				t.Fatalf("audit for the hazard: %+v", page.Items)
			}
		})
	}
}

package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/yingji/yingji/server/app/apptest"
	"github.com/yingji/yingji/server/config"
	"github.com/yingji/yingji/server/dispatch"
	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/notify/notifytest"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// engines runs a test on a demo server on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, s *apptest.Server), opts ...apptest.Option) {
	t.Run("SQLite", func(t *testing.T) { t.Parallel(); fn(t, apptest.Start(t, opts...)) })
	t.Run("Postgres", func(t *testing.T) { t.Parallel(); fn(t, apptest.StartPostgres(t, opts...)) })
}

func actor(t *testing.T, s *apptest.Server, username string) *yingji.Actor {
	t.Helper()
	a, err := s.Accounts.Authenticate(context.Background(), s.Login(t, username), "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func f64(v float64) *float64 { return &v }

// newIncident reports a chlorine leak at the demo chemical company in the 临港 park.
func newIncident(t *testing.T, s *apptest.Server, duty *yingji.Actor) incident.Incident {
	t.Helper()
	x, err := incident.New(s.DB, s.Sync, s.Audit, nil).Create(context.Background(), duty, incident.Incident{Title: "临江氯碱化工氯气泄漏",
		Class: "accident", SubType: "危险化学品事故", Grade: "较大", Lat: f64(30.2198), Lng: f64(120.3478), Address: "临港化工园区纬一路 8 号"})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func resourceID(t *testing.T, s *apptest.Server, kind resource.Kind, name string) string {
	t.Helper()
	var id string
	if err := s.DB.QueryRow(context.Background(), `SELECT id FROM resources WHERE kind = $1 AND name = $2`, string(kind), name).Scan(&id); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
	return id
}

func reserved(t *testing.T, s *apptest.Server, id string) (qty, res float64) {
	t.Helper()
	if err := s.DB.QueryRow(context.Background(), `SELECT quantity, reserved FROM resources WHERE id = $1`, id).Scan(&qty, &res); err != nil {
		t.Fatal(err)
	}
	return
}

func TestNearby(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		duty := actor(t, s, "duty01")
		x := newIncident(t, s, duty)
		near, err := s.Dispatch.Nearby(ctx, duty, x.ID, []resource.Kind{resource.KindTeam, resource.KindSupply}, 4, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(near.Groups) != 2 || near.Groups[0].Kind != resource.KindTeam || len(near.Groups[0].Items) == 0 {
			t.Fatalf("groups %+v", near.Groups)
		}
		team := near.Groups[0].Items[0]
		if team.Name != "临江氯碱化工企业应急救援队" || team.DistanceM > 200 {
			t.Errorf("nearest team %s at %.0f m", team.Name, team.DistanceM)
		}
		for _, g := range near.Groups {
			for i, h := range g.Items {
				if i > 0 && h.DistanceM < g.Items[i-1].DistanceM {
					t.Errorf("%s not in order of distance", g.Kind)
				}
				if (i < 2) != (h.Route != nil) {
					t.Errorf("%s item %d route %v", g.Kind, i, h.Route)
				}
				if h.Route != nil && (h.Route.Source != "graph" || h.Route.DistanceM < h.DistanceM-1 || h.Route.Duration <= 0) {
					t.Errorf("%s → incident: %+v (straight %.0f m)", h.Name, *h.Route, h.DistanceM)
				}
				if g.Kind == resource.KindSupply && (h.Free == nil || *h.Free != h.Quantity) {
					t.Errorf("supply %s free %v of %v", h.Name, h.Free, h.Quantity)
				}
			}
		}
		// The REST answer is the same, and needs an incident the caller may see.
		tok := s.Login(t, "duty01")
		r := s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/nearby?kinds=team,fire&n=3", tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		apptest.WantError(t, s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/nearby", s.Login(t, "township02"), nil), http.StatusForbidden, "auth.out_of_scope")
		apptest.WantError(t, s.Do(t, http.MethodGet, "/api/v1/incidents/"+x.ID+"/nearby?kinds=boat", tok, nil), http.StatusBadRequest, "dispatch.bad_kind")
	})
}

func TestSupplyOrders(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		duty := actor(t, s, "duty01")
		x := newIncident(t, s, duty)
		suit := resourceID(t, s, resource.KindSupply, "重型防化服") // 40 sets at 临港园区危化应急物资库
		t.Run("OK", func(t *testing.T) {
			o, err := s.Dispatch.CreateOrder(ctx, duty, x.ID, dispatch.OrderInput{Kind: "supply", ResourceID: suit, Quantity: 12, Note: "送东门"})
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != "ordered" || o.FromName != "临港园区危化应急物资库" || o.Quantity != 12 || o.Unit != "套" || o.Code == "" ||
				o.Route == nil || o.Route.Source != "graph" || o.ToLocation == nil || o.ETA == "" || o.OrderedBy != duty.UserID {
				t.Fatalf("order %+v", o)
			}
			if _, res := reserved(t, s, suit); res != 12 {
				t.Fatalf("reserved %v, want 12", res)
			}
			// Cancelling needs a reason, then gives the stock back.
			_, err = s.Dispatch.SetStatus(ctx, duty, o.ID, dispatch.StatusInput{Status: "cancelled"})
			if yingji.ErrorCode(err) != "dispatch.bad_value" {
				t.Fatalf("cancel without reason: %v", err)
			}
			c, err := s.Dispatch.SetStatus(ctx, duty, o.ID, dispatch.StatusInput{Status: "cancelled", Reason: "改由企业自备"})
			if err != nil || c.Status != "cancelled" || c.CancelledAt == "" || c.CancelReason != "改由企业自备" {
				t.Fatalf("cancel %+v %v", c, err)
			}
			if _, res := reserved(t, s, suit); res != 0 {
				t.Fatalf("reserved after cancel %v", res)
			}
			if _, err := s.Dispatch.SetStatus(ctx, duty, o.ID, dispatch.StatusInput{Status: "departed"}); yingji.ErrorCode(err) != "dispatch.bad_transition" {
				t.Fatalf("a cancelled order departed: %v", err)
			}
		})
		t.Run("ErrStockShort", func(t *testing.T) {
			_, err := s.Dispatch.CreateOrder(ctx, duty, x.ID, dispatch.OrderInput{Kind: "supply", ResourceID: suit, Quantity: 41})
			if yingji.ErrorCode(err) != "dispatch.stock_short" {
				t.Fatalf("%v", err)
			}
			r := s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/dispatch-orders", s.Login(t, "duty01"),
				map[string]any{"kind": "supply", "resource_id": suit, "quantity": 41})
			if m := apptest.WantError(t, r, http.StatusConflict, "dispatch.stock_short"); m["message"] != "重型防化服库存不足：可调拨 40套" {
				t.Errorf("message %v", m["message"])
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/dispatch-orders", s.Login(t, "rescue01"),
				map[string]any{"kind": "supply", "resource_id": suit, "quantity": 1})
			apptest.WantError(t, r, http.StatusForbidden, "auth.forbidden")
			r = s.Do(t, http.MethodPost, "/api/v1/incidents/"+x.ID+"/dispatch-orders", s.Login(t, "township02"),
				map[string]any{"kind": "supply", "resource_id": suit, "quantity": 1})
			apptest.WantError(t, r, http.StatusForbidden, "auth.out_of_scope")
		})
		t.Run("Concurrent", func(t *testing.T) {
			// 16 orders of 5 at once against 40 free: exactly 8 get stock, never below zero.
			var wg sync.WaitGroup
			var mu sync.Mutex
			okN, short := 0, 0
			var ids []string
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o, err := s.Dispatch.CreateOrder(ctx, duty, x.ID, dispatch.OrderInput{Kind: "supply", ResourceID: suit, Quantity: 5})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						okN++
						ids = append(ids, o.ID)
					case yingji.ErrorCode(err) == "dispatch.stock_short":
						short++
					default:
						t.Errorf("order: %v", err)
					}
				}()
			}
			wg.Wait()
			if okN != 8 || short != 8 {
				t.Fatalf("%d ordered, %d short; want 8 and 8", okN, short)
			}
			if q, res := reserved(t, s, suit); q != 40 || res != 40 {
				t.Fatalf("quantity %v reserved %v", q, res)
			}
			// One arrives and returns: its 5 come back.
			for _, st := range []string{"departed", "arrived", "returned"} {
				if _, err := s.Dispatch.SetStatus(ctx, duty, ids[0], dispatch.StatusInput{Status: st}); err != nil {
					t.Fatal(st, err)
				}
			}
			if _, res := reserved(t, s, suit); res != 35 {
				t.Fatalf("reserved after a return %v", res)
			}
			page, err := s.Dispatch.ListOrders(ctx, duty, dispatch.OrderFilter{IncidentID: x.ID, Open: true}, yingji.ListParams{})
			if err != nil || page.Total != 7 {
				t.Fatalf("open orders %d %v", page.Total, err)
			}
			o, _ := s.Dispatch.GetOrder(ctx, duty, ids[0])
			if o.DepartedAt == "" || o.ArrivedAt == "" || o.ReturnedAt == "" || o.ETA != "" {
				t.Errorf("returned order %+v", o)
			}
		})
	})
}

// push sends one mutation as a phone user.
func push(t *testing.T, s *apptest.Server, a *yingji.Actor, coll, id, op string, at time.Time, kv map[string]any) syncproto.Result {
	t.Helper()
	f := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		f[k] = b
	}
	hlc := syncproto.HLC{Wall: at.UnixMilli(), Node: "phone-" + a.Username}
	resp, err := s.Sync.Push(context.Background(), a, syncproto.PushRequest{Protocol: syncproto.Protocol, DeviceID: "phone-" + a.Username,
		Mutations: []syncproto.Mutation{{MutationID: yingji.NewID(), Collection: coll, ID: id, Op: op, HLC: hlc.String(), Fields: f}}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Results[0]
}

func TestTeamOrder(t *testing.T) {
	engines(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		duty, rescue := actor(t, s, "duty01"), actor(t, s, "rescue01")
		x := newIncident(t, s, duty)
		// rescue01 is not in the incident: he can ask for nothing.
		r := push(t, s, rescue, "resource_requests", yingji.NewID(), syncproto.OpCreate, time.Now(), map[string]any{"incident_id": x.ID, "item": "沙袋"})
		if r.Status != syncproto.StatusRejected || r.Code != syncproto.CodeForbidden {
			t.Fatalf("request before dispatch: %+v", r)
		}
		o, err := s.Dispatch.CreateOrder(ctx, duty, x.ID, dispatch.OrderInput{Kind: "team", ResourceID: rescue.TeamID})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = $1 AND user_id = $2 AND removed_at IS NULL`, x.ID, rescue.UserID).Scan(&n)
		if n != 1 {
			t.Fatalf("rescue01 is not a member of the incident after his team's dispatch")
		}
		// His phone now holds the incident's scope and pulls the order.
		pull, err := s.Sync.Pull(ctx, rescue, syncproto.PullRequest{Protocol: syncproto.Protocol, Checkpoints: map[string]int64{}})
		if err != nil {
			t.Fatal(err)
		}
		gotOrder := false
		for _, sc := range pull.Scopes {
			for _, rec := range sc.Records {
				gotOrder = gotOrder || (sc.Scope == "inc:"+x.ID && rec.Collection == "dispatch_orders" && rec.ID == o.ID)
			}
		}
		if !gotOrder {
			t.Fatalf("rescue01's pull lacks his team's order: %+v", pull.Scopes)
		}
		if _, err := s.Dispatch.CreateOrder(ctx, duty, x.ID, dispatch.OrderInput{Kind: "team", ResourceID: rescue.TeamID}); yingji.ErrorCode(err) != "dispatch.team_already" {
			t.Fatalf("second dispatch of the team: %v", err)
		}
		// The order went out half an hour ago; offline on his phone he asks for sand bags and
		// reports departure 10 minutes before he syncs: the step keeps his time.
		if _, err := s.DB.Exec(ctx, `UPDATE dispatch_orders SET ordered_at = $1 WHERE id = $2`,
			time.Now().Add(-30*time.Minute).UTC().Format(time.RFC3339), o.ID); err != nil {
			t.Fatal(err)
		}
		reqID := yingji.NewID()
		left := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
		r = push(t, s, rescue, "resource_requests", reqID, syncproto.OpCreate, left, map[string]any{"incident_id": x.ID, "item": "沙袋",
			"quantity": 500, "unit": "条", "urgency": "urgent", "location": map[string]float64{"lat": 30.2199, "lng": 120.348}})
		if r.Status != syncproto.StatusApplied {
			t.Fatalf("request: %+v", r)
		}
		r = push(t, s, rescue, "dispatch_orders", o.ID, syncproto.OpUpdate, left, map[string]any{"status": "departed"})
		if r.Status != syncproto.StatusApplied {
			t.Fatalf("departed: %+v", r)
		}
		got, _ := s.Dispatch.GetOrder(ctx, duty, o.ID)
		if got.Status != "departed" || got.StatusBy != rescue.UserID || got.DepartedAt != left.UTC().Format(time.RFC3339) || got.StatusReceivedAt <= got.DepartedAt {
			t.Fatalf("departed order %+v", got)
		}
		// He may not cancel it; the duty officer may.
		r = push(t, s, rescue, "dispatch_orders", o.ID, syncproto.OpUpdate, time.Now(), map[string]any{"status": "cancelled", "cancel_reason": "x"})
		if r.Status != syncproto.StatusRejected {
			t.Fatalf("cancel by the team: %+v", r)
		}
		reqs, err := s.Dispatch.ListRequests(ctx, duty, x.ID, "")
		if err != nil || len(reqs) != 1 || reqs[0].RequestedBy != rescue.UserID || reqs[0].Quantity != 500 || reqs[0].RequestedAt != left.UTC().Format(time.RFC3339) {
			t.Fatalf("requests %+v %v", reqs, err)
		}
		h, err := s.Dispatch.HandleRequest(ctx, duty, reqID, dispatch.HandleInput{Status: "accepted", Reply: "已调拨"})
		if err != nil || h.Status != "accepted" || h.HandledBy != duty.UserID {
			t.Fatalf("handle %+v %v", h, err)
		}
		if _, err := s.Dispatch.SetStatus(ctx, duty, o.ID, dispatch.StatusInput{Status: "cancelled", Reason: "险情已控制"}); err != nil {
			t.Fatal(err)
		}
		s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = $1 AND user_id = $2 AND removed_at IS NULL`, x.ID, rescue.UserID).Scan(&n)
		if n != 0 {
			t.Fatalf("rescue01 still in the incident after the cancel")
		}
	})
}

func TestContact(t *testing.T) {
	sms := notifytest.NewSMS(t)
	sms.Template("T_ALERT", "enterprise", "title", "level", "time")
	sms.Template("T_CONTACT", "sender", "text")
	fax := notifytest.NewFax(t)
	opt := apptest.WithConfig(func(c *config.Config) {
		c.SMSURL, c.SMSAccessKey, c.SMSSecret, c.SMSSignName = sms.URL, sms.AccessKey, sms.Secret, sms.SignName
		c.SMSAlertTemplate, c.SMSContactTemplate = "T_ALERT", "T_CONTACT"
		c.FaxURL, c.FaxToken, c.FaxSender = fax.URL, fax.Token, "临江市应急管理局"
	})
	engines(t, func(t *testing.T, s *apptest.Server) {
		duty := s.Login(t, "duty01")
		team := resourceID(t, s, resource.KindTeam, "临江蓝天救援队")
		depot := resourceID(t, s, resource.KindDepot, "临江市应急物资储备库")
		text := fmt.Sprintf("请立即带队前往临港化工园区纬一路 8 号集结（%s）。", s.DB.Engine())
		r := s.Do(t, http.MethodPost, "/api/v1/contact/sms", duty, map[string]any{"target_kind": "resource", "target_id": team, "text": text})
		var m dispatch.ContactMessage
		r.JSON(t, &m)
		if r.Status != http.StatusCreated || m.Status != "sent" || m.Address != "13957120403" || m.ProviderID == "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		found := false
		for _, x := range sms.Messages() {
			if x.TemplateID == "T_CONTACT" && x.Params["text"] == text && x.Params["sender"] == "王值班" && len(x.Phones) == 1 && x.Phones[0] == "13957120403" {
				found = x.BizID == m.ProviderID
			}
		}
		if !found {
			t.Errorf("the SMS gateway did not get the message: %+v", sms.Messages())
		}
		faxText := "调拨通知：救灾帐篷 50 顶 " + s.DB.Engine()
		r = s.Do(t, http.MethodPost, "/api/v1/contact/fax", duty, map[string]any{"target_kind": "resource", "target_id": depot, "subject": "调拨通知", "text": faxText})
		r.JSON(t, &m)
		if r.Status != http.StatusCreated || m.Status != "sent" || m.Address != "0571-86101200" {
			t.Fatalf("fax %d %s", r.Status, r.Body)
		}
		found = false
		for _, x := range fax.Faxes() {
			found = found || (x.Content == faxText && x.To == "0571-86101200" && x.Subject == "调拨通知" && x.Sender == "临江市应急管理局" && x.ToName == "临江市应急物资储备库（储备库值班室）")
		}
		if !found {
			t.Errorf("the fax gateway did not get the fax: %+v", fax.Faxes())
		}
		// The gateway's line is busy: recorded as failed, shown to the user.
		fax.FailNext(1, notifytest.Failure{Status: 503, Code: "LineBusy", Message: "线路忙"})
		r = s.Do(t, http.MethodPost, "/api/v1/contact/fax", duty, map[string]any{"target_kind": "address", "name": "园区管委会", "address": "0571-86109999", "text": "测试"})
		r.JSON(t, &m)
		if m.Status != "failed" || m.ErrorCode != "LineBusy" {
			t.Fatalf("busy fax %s", r.Body)
		}
		var list []dispatch.ContactMessage
		s.Do(t, http.MethodGet, "/api/v1/contact/messages", duty, nil).JSON(t, &list)
		if len(list) != 3 || list[0].Status != "failed" {
			t.Errorf("messages %+v", list)
		}
		apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/contact/sms", duty, map[string]any{"target_kind": "address", "address": "0571-1", "text": "x"}),
			http.StatusBadRequest, "contact.no_address")
		apptest.WantError(t, s.Do(t, http.MethodPost, "/api/v1/contact/sms", s.Login(t, "rescue01"), map[string]any{"target_kind": "resource", "target_id": team, "text": "x"}),
			http.StatusForbidden, "auth.forbidden")
	}, opt)
}

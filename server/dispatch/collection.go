package dispatch

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

func stampNow(now time.Time) string { return now.UTC().Format(time.RFC3339) }

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func bad(msg string) error { return syncsvc.Rejected(syncproto.CodeBadValue, msg) }

// pointOf reads a {lat, lng} field; ok is false for null or absent, err for a bad point.
func pointOf(f syncsvc.Fields, name string) (route.LatLng, bool, error) {
	v, has := f[name]
	if !has || len(v) == 0 || string(v) == "null" {
		return route.LatLng{}, false, nil
	}
	var p struct {
		Lat *float64 `json:"lat"`
		Lng *float64 `json:"lng"`
	}
	if err := json.Unmarshal(v, &p); err != nil || p.Lat == nil || p.Lng == nil {
		return route.LatLng{}, false, bad("位置“" + name + "”应为 {\"lat\": 纬度, \"lng\": 经度}")
	}
	ll := route.LatLng{Lat: *p.Lat, Lng: *p.Lng}
	if !ll.Valid() {
		return route.LatLng{}, false, bad("位置“" + name + "”的经纬度超出范围")
	}
	return ll, true, nil
}

func number(f syncsvc.Fields, name string) float64 {
	var n float64
	json.Unmarshal(f[name], &n)
	return n
}

// Orders is the dispatch_orders collection. Orders are made at headquarters (Service.Order);
// phones move their status (the team reports departed, arrived, returned) and headquarters
// may cancel.
type Orders struct {
	syncsvc.Table
	Now func() time.Time
}

// NewOrders returns the dispatch_orders collection.
func NewOrders() *Orders {
	c := &Orders{Now: time.Now}
	c.Table = syncsvc.Table{Name: "dispatch_orders", Stamped: true, Columns: orderColumns,
		JSON: map[string]bool{"quantity": true, "from_location": true, "to_location": true, "route": true},
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			p, err := placeOf(ctx, q, f)
			return map[string]any{"org_path": p.OrgPath}, err
		}}
	return c
}

func (c *Orders) Spec() *syncproto.CollectionSpec { return orderSpec }

func (c *Orders) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return placeOf(ctx, q, f)
}

// Authorize lets staff who may order for the incident move any order of it, and the members
// of a dispatched team report its progress (not cancel it). Orders are created only at
// headquarters.
func (c *Orders) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if cur == nil || m.Op == syncproto.OpCreate {
		return syncsvc.Rejected(syncproto.CodeForbidden, "调度指令由指挥中心下达，不能在手机上新建")
	}
	if m.Op == syncproto.OpDelete {
		return syncsvc.Rejected(syncproto.CodeForbidden, "调度指令不能删除，可以取消")
	}
	in, err := loadIncident(ctx, q, syncsvc.Str(cur, "incident_id"))
	if err != nil {
		return err
	}
	if canOrder(a, in) {
		return nil
	}
	ownTeam := syncsvc.Str(cur, "kind") == KindTeam && a.TeamID != "" && a.TeamID == syncsvc.Str(cur, "resource_id")
	if !ownTeam {
		if ok, err := isMember(ctx, q, in.ID, a.UserID); err != nil || !ok || syncsvc.Str(cur, "kind") != KindSupply {
			if err != nil {
				return err
			}
			return syncsvc.Rejected(syncproto.CodeForbidden, "只有指挥中心和被调派队伍的队员能更新该调度指令")
		}
		// Members on the scene confirm a supply's arrival.
	}
	if syncsvc.Str(m.Fields, "status") == StatusCancelled {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只有指挥中心能取消调度指令")
	}
	if _, ok := m.Fields["cancel_reason"]; ok {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只有指挥中心能填写取消原因")
	}
	return nil
}

// Prepare validates an order.
func (c *Orders) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	if st := syncsvc.Str(f, "status"); OrderMachine.Rank(st) < 0 {
		return bad("调度状态无效")
	}
	if syncsvc.Str(f, "status") == StatusCancelled && strings.TrimSpace(syncsvc.Str(f, "cancel_reason")) == "" {
		return bad("取消调度须填写原因")
	}
	if len([]rune(syncsvc.Str(f, "cancel_reason"))) > 500 {
		return bad("取消原因不超过 500 个字")
	}
	return nil
}

// stepFields is the field that keeps the time of reaching each status.
var stepFields = map[string]string{StatusDeparted: "departed_at", StatusArrived: "arrived_at", StatusReturned: "returned_at", StatusCancelled: "cancelled_at"}

// CheckChange stamps the step a status change takes: when the person took it (the device's
// action time, never before the steps before it) and who.
func (c *Orders) CheckChange(ctx context.Context, _ sqldb.Querier, a *yingji.Actor, prev, next syncsvc.Fields) error {
	return stampStep(ctx, a, prev, next, c.Now())
}

func stampStep(ctx context.Context, a *yingji.Actor, prev, next syncsvc.Fields, now time.Time) error {
	from, to := syncsvc.Str(prev, "status"), syncsvc.Str(next, "status")
	if from == to {
		return nil
	}
	field, ok := stepFields[to]
	if !ok {
		return nil
	}
	st := syncsvc.StepOf(ctx)
	at, received := now.UTC(), now.UTC()
	if st != nil {
		for _, name := range []string{"ordered_at", "departed_at", "arrived_at"} {
			if t := parseTime(syncsvc.Str(next, name)); !t.IsZero() {
				st.NotBefore(t)
			}
		}
		at, received = st.At, st.Received
	}
	next[field] = syncsvc.JSON(fmtTime(at))
	next["status_by"] = syncsvc.JSON(a.UserID)
	next["status_received_at"] = syncsvc.JSON(fmtTime(received))
	return nil
}

// Requests is the resource_requests collection: what the scene asks for, made offline.
type Requests struct {
	syncsvc.Table
	Now func() time.Time
}

// NewRequests returns the resource_requests collection.
func NewRequests() *Requests {
	c := &Requests{Now: time.Now}
	c.Table = syncsvc.Table{Name: "resource_requests", Stamped: true, Columns: requestColumns,
		JSON: map[string]bool{"quantity": true, "location": true, "photos": true},
		Extra: func(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (map[string]any, error) {
			p, err := placeOf(ctx, q, f)
			return map[string]any{"org_path": p.OrgPath}, err
		}}
	return c
}

func (c *Requests) Spec() *syncproto.CollectionSpec { return requestSpec }

func (c *Requests) Place(ctx context.Context, q sqldb.Querier, _ string, f syncsvc.Fields) (syncsvc.Place, error) {
	return placeOf(ctx, q, f)
}

var handledStatuses = []string{"accepted", "rejected", "fulfilled"}

// Authorize lets the incident's members and staff in scope ask; the one who asked edits or
// withdraws his open request; staff who may order accept, reject or fulfil it.
func (c *Requests) Authorize(ctx context.Context, q sqldb.Querier, a *yingji.Actor, m syncproto.Mutation, cur syncsvc.Fields) error {
	if m.Op == syncproto.OpDelete {
		return syncsvc.Rejected(syncproto.CodeForbidden, "资源需求不能删除，可以撤回")
	}
	f := cur
	if f == nil {
		f = m.Fields
	}
	in, err := loadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if err != nil {
		if err == errNoIncident {
			return syncsvc.Rejected(syncproto.CodeInvalid, "所属事件不存在")
		}
		return err
	}
	if cur == nil {
		ok, err := canRequest(ctx, q, a, in)
		if err != nil {
			return err
		}
		if !ok {
			return syncsvc.Rejected(syncproto.CodeForbidden, "您不是该事件的处置人员，不能提出资源需求")
		}
		if in.Status == "terminated" {
			return syncsvc.Rejected(syncproto.CodeInvalid, "事件已终止，不能再提出资源需求")
		}
		return nil
	}
	if canOrder(a, in) {
		return nil
	}
	if syncsvc.Str(cur, "requested_by") != a.UserID {
		return syncsvc.Rejected(syncproto.CodeForbidden, "只能修改自己提出的资源需求")
	}
	if s := syncsvc.Str(m.Fields, "status"); slices.Contains(handledStatuses, s) {
		return syncsvc.Rejected(syncproto.CodeForbidden, "资源需求由指挥中心受理或驳回")
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Prepare fills a new request's defaults, who asked and when, and validates it.
func (c *Requests) Prepare(ctx context.Context, q sqldb.Querier, a *yingji.Actor, f syncsvc.Fields, created bool) error {
	if created {
		f["requested_by"] = syncsvc.JSON(a.UserID)
		def := map[string]any{"kind": "supply", "quantity": 0, "unit": "", "location": nil, "address": "", "urgency": "normal",
			"note": "", "photos": []string{}, "status": RequestMachine.Initial, "handled_by": "", "handled_at": "", "reply": ""}
		for k, v := range def {
			if _, ok := f[k]; !ok {
				f[k] = syncsvc.JSON(v)
			}
		}
		st := syncsvc.StepOf(ctx)
		at, received := c.Now().UTC(), c.Now().UTC()
		if given := syncsvc.Str(f, "requested_at"); given != "" {
			t, err := time.Parse(time.RFC3339, given)
			if err != nil {
				return bad("时间“requested_at”应为 RFC 3339 格式，如 2026-11-28T08:00:00+08:00")
			}
			at = t
			if st != nil {
				at = st.Set(t)
			}
		} else if st != nil {
			at = st.At
		}
		if st != nil {
			received = st.Received
		}
		f["requested_at"] = syncsvc.JSON(fmtTime(at))
		f["received_at"] = syncsvc.JSON(fmtTime(received))
	}
	if it := strings.TrimSpace(syncsvc.Str(f, "item")); it == "" || len([]rune(it)) > 100 {
		return bad("需求内容不能为空，且不超过 100 个字")
	}
	if !validKind(syncsvc.Str(f, "kind")) {
		return bad("需求种类应为 " + strings.Join(RequestKinds, "、") + " 之一")
	}
	if !slices.Contains(Urgencies, syncsvc.Str(f, "urgency")) {
		return bad("紧急程度应为 normal（一般）或 urgent（紧急）")
	}
	if n := number(f, "quantity"); n < 0 || n > 1e9 {
		return bad("需求数量应在 0 到 10 亿之间")
	}
	if len([]rune(syncsvc.Str(f, "unit"))) > 10 || len([]rune(syncsvc.Str(f, "address"))) > 200 || len([]rune(syncsvc.Str(f, "note"))) > 2000 {
		return bad("计量单位不超过 10 个字，地址不超过 200 个字，说明不超过 2000 个字")
	}
	if _, _, err := pointOf(f, "location"); err != nil {
		return err
	}
	var photos []string
	json.Unmarshal(f["photos"], &photos)
	for _, p := range photos {
		if !sha256Hex.MatchString(p) {
			return bad("照片应以 SHA-256（64 位小写十六进制）引用")
		}
	}
	return nil
}

// CheckChange stamps who handled a request and when.
func (c *Requests) CheckChange(ctx context.Context, _ sqldb.Querier, a *yingji.Actor, prev, next syncsvc.Fields) error {
	if prev == nil {
		return nil
	}
	from, to := syncsvc.Str(prev, "status"), syncsvc.Str(next, "status")
	if from != to && slices.Contains(handledStatuses, to) {
		at, _ := syncsvc.StepTimes(ctx, c.Now())
		if st := syncsvc.StepOf(ctx); st != nil {
			at = st.NotBefore(parseTime(syncsvc.Str(prev, "requested_at")))
		}
		next["handled_by"] = syncsvc.JSON(a.UserID)
		next["handled_at"] = syncsvc.JSON(fmtTime(at))
	}
	return nil
}

func decode(v json.RawMessage, dst any) {
	if len(v) > 0 {
		json.Unmarshal(v, dst)
	}
}

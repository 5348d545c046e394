package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/yingji/yingji/server/audit"
	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// ChangeLog is what dispatch needs of the sync service.
type ChangeLog interface {
	Lock(ctx context.Context, q sqldb.Querier) error
	Changed(ctx context.Context, q sqldb.Querier, collection string, ids ...string) error
}

// Service is dispatch: orders, requests, stock, nearby resources with travel times.
type Service struct {
	DB        sqldb.DB
	Sync      ChangeLog
	Audit     yingji.Auditor
	Log       *slog.Logger
	Router    route.Router
	Incidents Incidents
	Resources *resource.Service
	Now       func() time.Time

	orders   *Orders
	requests *Requests
}

// New returns the service. Register its collections with the sync service (Collections) and
// its observer (Observe).
func New(db sqldb.DB, sync ChangeLog, audit yingji.Auditor, log *slog.Logger, router route.Router, incidents Incidents, resources *resource.Service) *Service {
	if log == nil {
		log = slog.Default()
	}
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	s := &Service{DB: db, Sync: sync, Audit: audit, Log: log.With("component", "dispatch"), Router: router, Incidents: incidents,
		Resources: resources, Now: time.Now, orders: NewOrders(), requests: NewRequests()}
	s.orders.Now = func() time.Time { return s.Now() }
	s.requests.Now = func() time.Time { return s.Now() }
	return s
}

// Collections are the synced collections of dispatch.
func (s *Service) Collections() []syncsvc.Collection {
	return []syncsvc.Collection{s.orders, s.requests}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Second) }

// Objects of dispatch's audit entries.
const (
	ObjectIncident = "incident"
	ObjectOrder    = "dispatch_order"
	ObjectRequest  = "resource_request"
)

// ok records a write that succeeded (audit.OK).
func (s *Service) ok(ctx context.Context, a *yingji.Actor, action, objType, id string, detail any) {
	audit.OK(ctx, s.Audit, a, action, objType, id, detail)
}

// deny records a refusal of action on the object and returns err: a permission or scope
// refusal, or one of the object's state (audit.Refused); other errors pass unrecorded.
func (s *Service) deny(ctx context.Context, a *yingji.Actor, action, objType, id string, err error) error {
	return audit.Refused(ctx, s.Audit, a, action, objType, id, err)
}

func (s *Service) writeTx(ctx context.Context, fn func(tx sqldb.Querier) error) error {
	return s.DB.InTx(ctx, func(tx sqldb.Querier) error {
		if err := s.Sync.Lock(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

// asError turns a sync rejection into a coded error for the API.
func asError(err error) error {
	var r *syncproto.Rejection
	if errors.As(err, &r) {
		kind := yingji.EINVALID
		if r.Code == syncproto.CodeForbidden {
			kind = yingji.EFORBIDDEN
		}
		return &yingji.Error{Kind: kind, Code: strings.Replace(r.Code, "sync.", "dispatch.", 1), Message: r.Message}
	}
	return err
}

// Incident returns the incident if the actor may see its dispatch.
func (s *Service) Incident(ctx context.Context, a *yingji.Actor, id string) (Incident, error) {
	in, err := s.incident(ctx, s.DB, id)
	if err != nil {
		return in, err
	}
	ok, err := canRead(ctx, s.DB, a, in)
	if err != nil {
		return in, err
	}
	if !ok {
		return in, s.deny(ctx, a, "dispatch.read", ObjectIncident, id, yingji.Forbidden("事件"))
	}
	return in, nil
}

// Order is a dispatch order as the API shows it.
type Order struct {
	ID               string        `json:"id"`
	IncidentID       string        `json:"incident_id"`
	Code             string        `json:"code"`
	RequestID        string        `json:"request_id"`
	Kind             string        `json:"kind"`
	ResourceID       string        `json:"resource_id"`
	ResourceName     string        `json:"resource_name"`
	Quantity         float64       `json:"quantity"`
	Unit             string        `json:"unit"`
	FromID           string        `json:"from_id"`
	FromName         string        `json:"from_name"`
	FromLocation     *route.LatLng `json:"from_location"`
	ToLocation       *route.LatLng `json:"to_location"`
	ToAddress        string        `json:"to_address"`
	Route            *route.Route  `json:"route"`
	Note             string        `json:"note"`
	Status           string        `json:"status"`
	StatusName       string        `json:"status_name"`
	CancelReason     string        `json:"cancel_reason"`
	OrderedBy        string        `json:"ordered_by"`
	OrderedAt        string        `json:"ordered_at"`
	DepartedAt       string        `json:"departed_at"`
	ArrivedAt        string        `json:"arrived_at"`
	ReturnedAt       string        `json:"returned_at"`
	CancelledAt      string        `json:"cancelled_at"`
	StatusBy         string        `json:"status_by"`
	StatusReceivedAt string        `json:"status_received_at"`
	ETA              string        `json:"eta"` // ordered (or departed) + route duration, until arrival
}

func orderOf(id string, f syncsvc.Fields) Order {
	o := Order{ID: id}
	o.IncidentID, o.Code, o.RequestID, o.Kind = syncsvc.Str(f, "incident_id"), syncsvc.Str(f, "code"), syncsvc.Str(f, "request_id"), syncsvc.Str(f, "kind")
	o.ResourceID, o.ResourceName, o.Unit = syncsvc.Str(f, "resource_id"), syncsvc.Str(f, "resource_name"), syncsvc.Str(f, "unit")
	o.Quantity = number(f, "quantity")
	o.FromID, o.FromName, o.ToAddress, o.Note = syncsvc.Str(f, "from_id"), syncsvc.Str(f, "from_name"), syncsvc.Str(f, "to_address"), syncsvc.Str(f, "note")
	if p, ok, _ := pointOf(f, "from_location"); ok {
		o.FromLocation = &p
	}
	if p, ok, _ := pointOf(f, "to_location"); ok {
		o.ToLocation = &p
	}
	if v := f["route"]; len(v) > 0 && string(v) != "null" {
		var r route.Route
		if json.Unmarshal(v, &r) == nil {
			o.Route = &r
		}
	}
	o.Status, o.CancelReason = syncsvc.Str(f, "status"), syncsvc.Str(f, "cancel_reason")
	o.StatusName = OrderStatusName(o.Status)
	o.OrderedBy, o.OrderedAt, o.DepartedAt, o.ArrivedAt = syncsvc.Str(f, "ordered_by"), syncsvc.Str(f, "ordered_at"), syncsvc.Str(f, "departed_at"), syncsvc.Str(f, "arrived_at")
	o.ReturnedAt, o.CancelledAt, o.StatusBy, o.StatusReceivedAt = syncsvc.Str(f, "returned_at"), syncsvc.Str(f, "cancelled_at"), syncsvc.Str(f, "status_by"), syncsvc.Str(f, "status_received_at")
	if o.Route != nil && (o.Status == StatusOrdered || o.Status == StatusDeparted) {
		start := parseTime(o.OrderedAt)
		if t := parseTime(o.DepartedAt); !t.IsZero() {
			start = t
		}
		if !start.IsZero() {
			o.ETA = fmtTime(start.Add(o.Route.Duration))
		}
	}
	return o
}

// OrderInput is a new dispatch order.
type OrderInput struct {
	Kind       string        `json:"kind"`        // team or supply
	ResourceID string        `json:"resource_id"` // the team, or the supply (held by a depot or team)
	Quantity   float64       `json:"quantity"`    // supply: how much
	To         *route.LatLng `json:"to"`          // where to; the incident's point when absent
	ToAddress  string        `json:"to_address"`
	RequestID  string        `json:"request_id"` // the request it answers, if any
	Note       string        `json:"note"`
}

// StockError says a supply has not enough free stock.
func stockShort(name string, free float64, unit string) error {
	return yingji.Errorf(yingji.ECONFLICT, "dispatch.stock_short", "%s库存不足：可调拨 %s%s", name, trimFloat(free), unit).
		WithData(map[string]any{"available": free})
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// Reserve takes qty of a supply's free stock (quantity − reserved) in the caller's
// transaction: one conditional UPDATE, so concurrent orders on both engines never take the
// free stock below zero. It returns the free stock left.
func Reserve(ctx context.Context, q sqldb.Querier, supplyID string, qty float64) (float64, error) {
	var left float64
	err := q.QueryRow(ctx, `UPDATE resources SET reserved = reserved + $1
		WHERE id = $2 AND kind = 'supply' AND quantity - reserved >= $1 - 1e-9 RETURNING quantity - reserved`, qty, supplyID).Scan(&left)
	if errors.Is(err, yingji.ErrNotFound) {
		var name, unit string
		var quantity, reserved float64
		if err := q.QueryRow(ctx, `SELECT name, unit, quantity, reserved FROM resources WHERE id = $1 AND kind = 'supply'`, supplyID).
			Scan(&name, &unit, &quantity, &reserved); err != nil {
			if errors.Is(err, yingji.ErrNotFound) {
				return 0, yingji.Errorf(yingji.ENOTFOUND, "dispatch.no_supply", "物资不存在")
			}
			return 0, err
		}
		return 0, stockShort(name, math.Max(0, quantity-reserved), unit)
	}
	return left, err
}

// Release gives back qty of a supply's reserved stock (never below zero reserved).
func Release(ctx context.Context, q sqldb.Querier, supplyID string, qty float64) error {
	_, err := q.Exec(ctx, `UPDATE resources SET reserved = CASE WHEN reserved > $1 THEN reserved - $1 ELSE 0 END WHERE id = $2`, qty, supplyID)
	return err
}

// Free returns the free stock of supplies (quantity − reserved) by id.
func Free(ctx context.Context, q sqldb.Querier, ids []string) (map[string]float64, error) {
	out := map[string]float64{}
	err := sqldb.InChunks(ids, nil, func(args []any, in string) error {
		rows, err := q.Query(ctx, `SELECT id, quantity - reserved FROM resources WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var v float64
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			out[id] = v
		}
		return rows.Err()
	})
	return out, err
}

// CreateOrder orders a team or a quantity of a supply to an incident: the actor must order
// for the incident's unit; a supply's stock is reserved at its depot; a team joins the
// incident (its members get it on their phones); the route from the resource to the place is
// planned (within the router's timeout; an estimate if no router answers).
func (s *Service) CreateOrder(ctx context.Context, a *yingji.Actor, incidentID string, in OrderInput) (Order, error) {
	const action = "dispatch.order"
	if err := a.Require(yingji.PermDispatchOrder); err != nil {
		return Order{}, s.deny(ctx, a, action, ObjectIncident, incidentID, err)
	}
	inc, err := loadIncident(ctx, s.DB, incidentID)
	if err != nil {
		return Order{}, err
	}
	if !canOrder(a, inc) {
		return Order{}, s.deny(ctx, a, action, ObjectIncident, incidentID, yingji.Forbidden("事件"))
	}
	if inc.Status == "terminated" {
		return Order{}, s.deny(ctx, a, action, ObjectIncident, incidentID, yingji.Errorf(yingji.ECONFLICT, "dispatch.incident_terminated", "事件已终止，不能再调度"))
	}
	if in.Kind != KindTeam && in.Kind != KindSupply {
		return Order{}, yingji.Invalid("dispatch.bad_kind", "kind", "调度种类应为 team（救援队伍）或 supply（物资）")
	}
	if len([]rune(in.Note)) > 500 || len([]rune(in.ToAddress)) > 200 {
		return Order{}, yingji.Invalid("dispatch.too_long", "note", "说明不超过 500 个字，目的地地址不超过 200 个字")
	}
	res, err := s.Resources.Get(ctx, yingji.System, in.ResourceID)
	if err != nil || string(res.Kind) != in.Kind {
		return Order{}, yingji.Invalid("dispatch.no_resource", "resource_id", "所选%s不存在", map[string]string{KindTeam: "救援队伍", KindSupply: "物资"}[in.Kind])
	}
	if in.Kind == KindSupply {
		if !(in.Quantity > 0) || in.Quantity > 1e9 {
			return Order{}, yingji.Invalid("dispatch.bad_quantity", "quantity", "调拨数量应大于 0")
		}
	} else {
		in.Quantity = 0
		if res.Status == resource.StatusRetired {
			return Order{}, s.deny(ctx, a, action, ObjectIncident, incidentID, yingji.Errorf(yingji.ECONFLICT, "dispatch.team_retired", "该队伍已撤销，不能调派"))
		}
	}
	to := in.To
	if to == nil && inc.Located() {
		to = &route.LatLng{Lat: *inc.Lat, Lng: *inc.Lng}
	}
	if to != nil && !to.Valid() {
		return Order{}, yingji.Invalid("dispatch.bad_point", "to", "目的地经纬度无效")
	}
	if in.ToAddress == "" {
		in.ToAddress = inc.Address
	}
	// Where from: the team's base, or the depot (or team) holding the supply.
	fromID, fromName := res.ID, res.Name
	if in.Kind == KindSupply && res.HolderID != "" {
		fromID = res.HolderID
		if h, err := s.Resources.Get(ctx, yingji.System, res.HolderID); err == nil {
			fromName = h.Name
		}
	}
	var from *route.LatLng
	if e, ok := s.Resources.Index().Get(res.ID); ok {
		from = &route.LatLng{Lat: e.Lat, Lng: e.Lng}
	} else if res.Location != nil {
		from = &route.LatLng{Lat: res.Location.Lat, Lng: res.Location.Lng}
	}
	var rt *route.Route
	if from != nil && to != nil && s.Router != nil {
		r, err := s.Router.Route(ctx, *from, *to)
		if err == nil {
			rt = &r
		} else {
			s.Log.Warn("no route for the order", "err", err)
		}
	}
	id := yingji.NewID()
	now := s.now()
	f := syncsvc.Fields{
		"incident_id": syncsvc.JSON(inc.ID), "request_id": syncsvc.JSON(in.RequestID), "kind": syncsvc.JSON(in.Kind),
		"resource_id": syncsvc.JSON(res.ID), "resource_name": syncsvc.JSON(res.Name), "quantity": syncsvc.JSON(in.Quantity),
		"unit": syncsvc.JSON(res.Unit), "from_id": syncsvc.JSON(fromID), "from_name": syncsvc.JSON(fromName),
		"from_location": syncsvc.JSON(from), "to_location": syncsvc.JSON(to), "to_address": syncsvc.JSON(strings.TrimSpace(in.ToAddress)),
		"route": syncsvc.JSON(rt), "note": syncsvc.JSON(strings.TrimSpace(in.Note)), "status": syncsvc.JSON(StatusOrdered),
		"cancel_reason": syncsvc.JSON(""), "ordered_by": syncsvc.JSON(a.UserID), "ordered_at": syncsvc.JSON(fmtTime(now)),
		"departed_at": syncsvc.JSON(""), "arrived_at": syncsvc.JSON(""), "returned_at": syncsvc.JSON(""), "cancelled_at": syncsvc.JSON(""),
		"status_by": syncsvc.JSON(a.UserID), "status_received_at": syncsvc.JSON(fmtTime(now)),
	}
	err = s.writeTx(ctx, func(tx sqldb.Querier) error {
		if in.RequestID != "" {
			var reqInc string
			if err := tx.QueryRow(ctx, `SELECT incident_id FROM resource_requests WHERE id = $1`, in.RequestID).Scan(&reqInc); err != nil || reqInc != inc.ID {
				if err != nil && !errors.Is(err, yingji.ErrNotFound) {
					return err
				}
				return yingji.Invalid("dispatch.no_request", "request_id", "所答复的资源需求不存在或不属于该事件")
			}
		}
		if in.Kind == KindSupply {
			if _, err := Reserve(ctx, tx, res.ID, in.Quantity); err != nil {
				return err
			}
		} else {
			var busy int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM dispatch_orders WHERE incident_id = $1 AND resource_id = $2 AND status IN ('ordered', 'departed', 'arrived')`,
				inc.ID, res.ID).Scan(&busy); err != nil {
				return err
			}
			if busy > 0 {
				return yingji.Errorf(yingji.ECONFLICT, "dispatch.team_already", "该队伍已调派到本事件")
			}
			if s.Incidents != nil {
				if err := s.Incidents.AddTeam(ctx, tx, inc.ID, res.ID); err != nil {
					return fmt.Errorf("dispatch: add team: %w", err)
				}
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM dispatch_orders WHERE incident_id = $1`, inc.ID).Scan(&n); err != nil {
			return err
		}
		code := inc.Code
		if code == "" {
			code = "DD"
		}
		f["code"] = syncsvc.JSON(fmt.Sprintf("%s-%02d", code, n+1))
		if err := s.orders.Save(ctx, tx, id, f, true, false); err != nil {
			return err
		}
		return s.Sync.Changed(ctx, tx, orderSpec.Name, id)
	})
	if err != nil {
		return Order{}, s.deny(ctx, a, action, ObjectIncident, incidentID, err)
	}
	o := orderOf(id, f)
	s.ok(ctx, a, action, ObjectOrder, id, map[string]any{"incident_id": inc.ID, "kind": in.Kind, "resource_id": res.ID, "resource_name": res.Name,
		"quantity": in.Quantity, "from_id": fromID, "route_source": routeSource(rt)})
	return s.GetOrder(ctx, a, o.ID)
}

func routeSource(r *route.Route) string {
	if r == nil {
		return ""
	}
	return r.Source
}

// GetOrder returns an order the actor may see.
func (s *Service) GetOrder(ctx context.Context, a *yingji.Actor, id string) (Order, error) {
	cur, err := s.orders.Load(ctx, s.DB, []string{id})
	if err != nil {
		return Order{}, err
	}
	f, ok := cur[id]
	if !ok {
		return Order{}, yingji.Errorf(yingji.ENOTFOUND, "dispatch.not_found", "调度指令不存在")
	}
	if _, err := s.Incident(ctx, a, syncsvc.Str(f, "incident_id")); err != nil {
		return Order{}, err
	}
	return orderOf(id, f), nil
}

// StatusInput moves an order: the status and, to cancel, the reason.
type StatusInput struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// SetStatus moves an order from the portal by the same rules as a phone's push; cancelling
// or returning a supply releases its stock; cancelling a team takes it out of the incident.
func (s *Service) SetStatus(ctx context.Context, a *yingji.Actor, id string, in StatusInput) (Order, error) {
	action := "dispatch." + in.Status
	if err := a.Require(yingji.PermDispatchOrder); err != nil {
		return Order{}, s.deny(ctx, a, action, ObjectOrder, id, err)
	}
	var prevStatus string
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		cur, err := s.orders.Load(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		f, ok := cur[id]
		if !ok {
			return yingji.Errorf(yingji.ENOTFOUND, "dispatch.not_found", "调度指令不存在")
		}
		inc, err := loadIncident(ctx, tx, syncsvc.Str(f, "incident_id"))
		if err != nil {
			return err
		}
		if !canOrder(a, inc) {
			return yingji.Forbidden("事件")
		}
		prevStatus = syncsvc.Str(f, "status")
		if OrderMachine.Rank(in.Status) < 0 || in.Status == prevStatus || !OrderMachine.Allowed(prevStatus, in.Status) {
			return yingji.Errorf(yingji.ECONFLICT, "dispatch.bad_transition", "调度指令当前为“%s”，不能改为“%s”",
				OrderStatusName(prevStatus), orDefault(OrderStatusName(in.Status), in.Status))
		}
		next := syncsvc.Fields{}
		for k, v := range f {
			next[k] = v
		}
		next["status"] = syncsvc.JSON(in.Status)
		if in.Status == StatusCancelled {
			next["cancel_reason"] = syncsvc.JSON(strings.TrimSpace(in.Reason))
		}
		if err := s.orders.Prepare(ctx, tx, a, next, false); err != nil {
			return asError(err)
		}
		if err := stampStep(ctx, a, f, next, s.now()); err != nil {
			return err
		}
		if err := s.settle(ctx, tx, id, f, next); err != nil {
			return err
		}
		if err := s.orders.Save(ctx, tx, id, next, false, false); err != nil {
			return err
		}
		return s.Sync.Changed(ctx, tx, orderSpec.Name, id)
	})
	if err != nil {
		return Order{}, s.deny(ctx, a, action, ObjectOrder, id, err)
	}
	s.ok(ctx, a, action, ObjectOrder, id, map[string]any{"from": prevStatus, "to": in.Status, "reason": in.Reason})
	return s.GetOrder(ctx, a, id)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// settle releases what an order held when it closes (cancelled or returned): the supply's
// reserved stock; a cancelled team leaves the incident unless another open order holds it.
func (s *Service) settle(ctx context.Context, q sqldb.Querier, id string, prev, next syncsvc.Fields) error {
	if prev == nil || next == nil || !open(syncsvc.Str(prev, "status")) || open(syncsvc.Str(next, "status")) {
		return nil
	}
	rid := syncsvc.Str(next, "resource_id")
	switch syncsvc.Str(next, "kind") {
	case KindSupply:
		return Release(ctx, q, rid, number(next, "quantity"))
	case KindTeam:
		if syncsvc.Str(next, "status") != StatusCancelled || s.Incidents == nil {
			return nil
		}
		var others int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM dispatch_orders WHERE incident_id = $1 AND resource_id = $2
			AND status IN ('ordered', 'departed', 'arrived') AND id <> $3`, syncsvc.Str(next, "incident_id"), rid, id).Scan(&others); err != nil {
			return err
		}
		if others == 0 {
			return s.Incidents.RemoveTeam(ctx, q, syncsvc.Str(next, "incident_id"), rid)
		}
	}
	return nil
}

// Observe is the observer of dispatch_orders pushes (register with the sync service): an
// order closed from a phone releases what it held, as SetStatus does.
func (s *Service) Observe(ctx context.Context, q sqldb.Querier, a *yingji.Actor, id string, prev, next syncsvc.Fields) error {
	return s.settle(ctx, q, id, prev, next)
}

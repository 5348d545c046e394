package dispatch

import (
	"context"
	"strings"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
)

// OrderFilter narrows a list of orders.
type OrderFilter struct {
	IncidentID string
	Kind       string
	Status     string
	Open       bool // only orders still out (ordered, departed, arrived)
}

// ListOrders lists the orders the actor may see, newest first: of one incident (staff in
// scope or its members), or of every incident in the actor's subtree.
func (s *Service) ListOrders(ctx context.Context, a *yingji.Actor, f OrderFilter, p yingji.ListParams) (yingji.Page[Order], error) {
	if err := a.Require(yingji.PermDispatchRead); err != nil {
		return yingji.Page[Order]{}, err
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + itoa(len(args)) }
	if f.IncidentID != "" {
		if _, err := s.Incident(ctx, a, f.IncidentID); err != nil {
			return yingji.Page[Order]{}, err
		}
		where = append(where, "incident_id = "+arg(f.IncidentID))
	} else {
		if a.Role.ScopeKind() != yingji.ScopeOrg {
			where = append(where, "incident_id IN (SELECT incident_id FROM incident_members WHERE user_id = "+arg(a.UserID)+" AND removed_at IS NULL)")
		} else {
			where = append(where, "org_path LIKE "+arg(a.OrgPath+"%"))
		}
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.Open {
		where = append(where, "status IN ('ordered', 'departed', 'arrived')")
	}
	w := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM dispatch_orders"+w, args...).Scan(&total); err != nil {
		return yingji.Page[Order]{}, err
	}
	size := p.PageSize
	if size <= 0 || size > 500 {
		size = 50
	}
	page := max(p.Page, 1)
	ids, err := strs(ctx, s.DB, "SELECT id FROM dispatch_orders"+w+" ORDER BY ordered_at DESC, id DESC LIMIT "+itoa(size)+" OFFSET "+itoa((page-1)*size), args...)
	if err != nil {
		return yingji.Page[Order]{}, err
	}
	recs, err := s.orders.Load(ctx, s.DB, ids)
	if err != nil {
		return yingji.Page[Order]{}, err
	}
	out := yingji.Page[Order]{Items: []Order{}, Total: total}
	for _, id := range ids {
		if f, ok := recs[id]; ok {
			out.Items = append(out.Items, orderOf(id, f))
		}
	}
	return out, nil
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%10]}, b...)
		n /= 10
	}
	return string(b)
}

func strs(ctx context.Context, q sqldb.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Request is a resource request as the API shows it.
type Request struct {
	ID          string   `json:"id"`
	IncidentID  string   `json:"incident_id"`
	Kind        string   `json:"kind"`
	Item        string   `json:"item"`
	Quantity    float64  `json:"quantity"`
	Unit        string   `json:"unit"`
	Location    any      `json:"location"`
	Address     string   `json:"address"`
	Urgency     string   `json:"urgency"`
	Note        string   `json:"note"`
	Photos      []string `json:"photos"`
	Status      string   `json:"status"`
	StatusName  string   `json:"status_name"`
	RequestedBy string   `json:"requested_by"`
	RequestedAt string   `json:"requested_at"`
	ReceivedAt  string   `json:"received_at"`
	HandledBy   string   `json:"handled_by"`
	HandledAt   string   `json:"handled_at"`
	Reply       string   `json:"reply"`
}

func requestOf(id string, f syncsvc.Fields) Request {
	r := Request{ID: id, IncidentID: syncsvc.Str(f, "incident_id"), Kind: syncsvc.Str(f, "kind"), Item: syncsvc.Str(f, "item"),
		Quantity: number(f, "quantity"), Unit: syncsvc.Str(f, "unit"), Address: syncsvc.Str(f, "address"), Urgency: syncsvc.Str(f, "urgency"),
		Note: syncsvc.Str(f, "note"), Status: syncsvc.Str(f, "status"), RequestedBy: syncsvc.Str(f, "requested_by"),
		RequestedAt: syncsvc.Str(f, "requested_at"), ReceivedAt: syncsvc.Str(f, "received_at"), HandledBy: syncsvc.Str(f, "handled_by"),
		HandledAt: syncsvc.Str(f, "handled_at"), Reply: syncsvc.Str(f, "reply"), Photos: []string{}}
	r.StatusName = RequestStatusName(r.Status)
	if p, ok, _ := pointOf(f, "location"); ok {
		r.Location = p
	}
	decode(f["photos"], &r.Photos)
	return r
}

// ListRequests lists an incident's resource requests, newest first.
func (s *Service) ListRequests(ctx context.Context, a *yingji.Actor, incidentID, status string) ([]Request, error) {
	if _, err := s.Incident(ctx, a, incidentID); err != nil {
		return nil, err
	}
	q := "SELECT id FROM resource_requests WHERE incident_id = $1"
	args := []any{incidentID}
	if status != "" {
		q += " AND status = $2"
		args = append(args, status)
	}
	ids, err := strs(ctx, s.DB, q+" ORDER BY requested_at DESC, id DESC LIMIT 1000", args...)
	if err != nil {
		return nil, err
	}
	recs, err := s.requests.Load(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	out := []Request{}
	for _, id := range ids {
		if f, ok := recs[id]; ok {
			out = append(out, requestOf(id, f))
		}
	}
	return out, nil
}

// RequestInput is a request made on the portal (a phone call from the scene).
type RequestInput struct {
	Kind     string   `json:"kind"`
	Item     string   `json:"item"`
	Quantity float64  `json:"quantity"`
	Unit     string   `json:"unit"`
	Location any      `json:"location"`
	Address  string   `json:"address"`
	Urgency  string   `json:"urgency"`
	Note     string   `json:"note"`
	Photos   []string `json:"photos"`
}

// CreateRequest records a request from the portal, by the rules of a phone's.
func (s *Service) CreateRequest(ctx context.Context, a *yingji.Actor, incidentID string, in RequestInput) (Request, error) {
	inc, err := loadIncident(ctx, s.DB, incidentID)
	if err != nil {
		return Request{}, err
	}
	ok, err := canRequest(ctx, s.DB, a, inc)
	if err != nil {
		return Request{}, err
	}
	if !ok {
		return Request{}, s.deny(ctx, a, "dispatch.request", ObjectIncident, incidentID, yingji.Forbidden("事件"))
	}
	f := syncsvc.Fields{"incident_id": syncsvc.JSON(incidentID), "kind": syncsvc.JSON(orDefault(in.Kind, "supply")),
		"item": syncsvc.JSON(strings.TrimSpace(in.Item)), "quantity": syncsvc.JSON(in.Quantity), "unit": syncsvc.JSON(strings.TrimSpace(in.Unit)),
		"location": syncsvc.JSON(in.Location), "address": syncsvc.JSON(strings.TrimSpace(in.Address)), "urgency": syncsvc.JSON(orDefault(in.Urgency, "normal")),
		"note": syncsvc.JSON(strings.TrimSpace(in.Note))}
	if in.Photos != nil {
		f["photos"] = syncsvc.JSON(in.Photos)
	}
	id := yingji.NewID()
	err = s.writeTx(ctx, func(tx sqldb.Querier) error {
		if err := s.requests.Prepare(ctx, tx, a, f, true); err != nil {
			return asError(err)
		}
		if err := s.requests.Save(ctx, tx, id, f, true, false); err != nil {
			return err
		}
		return s.Sync.Changed(ctx, tx, requestSpec.Name, id)
	})
	if err != nil {
		return Request{}, s.deny(ctx, a, "dispatch.request", ObjectIncident, incidentID, err)
	}
	s.ok(ctx, a, "dispatch.request", ObjectRequest, id, map[string]any{"incident_id": incidentID, "item": in.Item, "quantity": in.Quantity})
	return requestOf(id, f), nil
}

// HandleInput accepts, rejects or fulfils a request.
type HandleInput struct {
	Status string `json:"status"`
	Reply  string `json:"reply"`
}

// HandleRequest moves a request at headquarters.
func (s *Service) HandleRequest(ctx context.Context, a *yingji.Actor, id string, in HandleInput) (Request, error) {
	action := "dispatch.request_" + in.Status
	if err := a.Require(yingji.PermDispatchOrder); err != nil {
		return Request{}, s.deny(ctx, a, action, ObjectRequest, id, err)
	}
	var out syncsvc.Fields
	err := s.writeTx(ctx, func(tx sqldb.Querier) error {
		cur, err := s.requests.Load(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		f, ok := cur[id]
		if !ok {
			return yingji.Errorf(yingji.ENOTFOUND, "dispatch.request_not_found", "资源需求不存在")
		}
		inc, err := loadIncident(ctx, tx, syncsvc.Str(f, "incident_id"))
		if err != nil {
			return err
		}
		if !canOrder(a, inc) {
			return yingji.Forbidden("事件")
		}
		from := syncsvc.Str(f, "status")
		if from == in.Status || !RequestMachine.Allowed(from, in.Status) || in.Status == "cancelled" {
			return yingji.Errorf(yingji.ECONFLICT, "dispatch.bad_transition", "资源需求当前为“%s”，不能改为“%s”",
				RequestStatusName(from), orDefault(RequestStatusName(in.Status), in.Status))
		}
		if len([]rune(in.Reply)) > 500 {
			return yingji.Invalid("dispatch.too_long", "reply", "答复不超过 500 个字")
		}
		next := syncsvc.Fields{}
		for k, v := range f {
			next[k] = v
		}
		next["status"] = syncsvc.JSON(in.Status)
		next["reply"] = syncsvc.JSON(strings.TrimSpace(in.Reply))
		if err := s.requests.CheckChange(ctx, tx, a, f, next); err != nil {
			return asError(err)
		}
		if err := s.requests.Save(ctx, tx, id, next, false, false); err != nil {
			return err
		}
		out = next
		return s.Sync.Changed(ctx, tx, requestSpec.Name, id)
	})
	if err != nil {
		return Request{}, s.deny(ctx, a, action, ObjectRequest, id, err)
	}
	s.ok(ctx, a, action, ObjectRequest, id, in)
	return requestOf(id, out), nil
}

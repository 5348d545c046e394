// Package dispatch holds rescue resource dispatch (救援资源调度): resource requests from the
// scene (resource_requests, made offline by responders) and dispatch orders from headquarters
// (dispatch_orders: a team or a quantity of a supply, from where to where, with its planned
// route and the time of each step). Both are synced collections placed in their incident, so
// the incident's members have them offline. A supply order reserves stock at its depot
// (never below zero) and releases it when cancelled or returned; a team order makes the team
// members of the incident. The package also sends one-click messages (contact.go).
package dispatch

import (
	"slices"

	"github.com/yingji/yingji/syncproto"
)

// Order statuses: ordered → departed → arrived → returned, or cancelled before arrival.
const (
	StatusOrdered   = "ordered"
	StatusDeparted  = "departed"
	StatusArrived   = "arrived"
	StatusReturned  = "returned"
	StatusCancelled = "cancelled"
)

// OrderMachine is the order's state machine.
var OrderMachine = &syncproto.StateMachine{
	States:  []string{StatusOrdered, StatusDeparted, StatusArrived, StatusReturned, StatusCancelled},
	Initial: StatusOrdered,
	Transitions: map[string][]string{
		StatusOrdered:  {StatusDeparted, StatusArrived, StatusCancelled},
		StatusDeparted: {StatusArrived, StatusCancelled},
		StatusArrived:  {StatusReturned},
	},
}

var orderStatusNames = map[string]string{StatusOrdered: "已下达", StatusDeparted: "已出发", StatusArrived: "已到达",
	StatusReturned: "已返回", StatusCancelled: "已取消"}

// OrderStatusName is the status's Chinese name.
func OrderStatusName(s string) string { return orderStatusNames[s] }

// open reports whether an order in this status still holds its stock or team.
func open(status string) bool { return status != StatusReturned && status != StatusCancelled }

// Order kinds.
const (
	KindTeam   = "team"
	KindSupply = "supply"
)

// Request statuses: open → accepted → fulfilled, or rejected / cancelled.
var RequestMachine = &syncproto.StateMachine{
	States:  []string{"open", "accepted", "fulfilled", "rejected", "cancelled"},
	Initial: "open",
	Transitions: map[string][]string{
		"open":     {"accepted", "rejected", "cancelled", "fulfilled"},
		"accepted": {"fulfilled", "cancelled"},
	},
}

var requestStatusNames = map[string]string{"open": "待处理", "accepted": "已受理", "fulfilled": "已满足", "rejected": "已驳回", "cancelled": "已撤回"}

// RequestStatusName is the status's Chinese name.
func RequestStatusName(s string) string { return requestStatusNames[s] }

// RequestKinds are what the scene may ask for (resource kinds and 'other').
var RequestKinds = []string{"supply", "team", "expert", "medical", "police", "fire", "shelter", "other"}

// Urgencies of a request.
var Urgencies = []string{"normal", "urgent"}

func validKind(k string) bool { return slices.Contains(RequestKinds, k) }

var orderSpec = &syncproto.CollectionSpec{
	Name: "dispatch_orders",
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "code", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "request_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "resource_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "resource_name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "quantity", Type: syncproto.TypeNumber, Rule: syncproto.ServerOwned},
		{Name: "unit", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "from_id", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "from_name", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "from_location", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
		{Name: "to_location", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
		{Name: "to_address", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "route", Type: syncproto.TypeObject, Rule: syncproto.ServerOwned},
		{Name: "note", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: OrderMachine},
		{Name: "cancel_reason", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "ordered_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "ordered_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "departed_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "arrived_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "returned_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "cancelled_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "status_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "status_received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
	},
}

var orderColumns = []string{"incident_id", "code", "request_id", "kind", "resource_id", "resource_name", "quantity", "unit", "from_id",
	"from_name", "from_location", "to_location", "to_address", "route", "note", "status", "cancel_reason", "ordered_by", "ordered_at",
	"departed_at", "arrived_at", "returned_at", "cancelled_at", "status_by", "status_received_at"}

var requestSpec = &syncproto.CollectionSpec{
	Name: "resource_requests",
	Fields: []syncproto.FieldSpec{
		{Name: "incident_id", Type: syncproto.TypeString, Rule: syncproto.Immutable, Required: true},
		{Name: "kind", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "item", Type: syncproto.TypeString, Rule: syncproto.LWW, Required: true},
		{Name: "quantity", Type: syncproto.TypeNumber, Rule: syncproto.LWW},
		{Name: "unit", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "location", Type: syncproto.TypeObject, Rule: syncproto.LWW},
		{Name: "address", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "urgency", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "note", Type: syncproto.TypeString, Rule: syncproto.LWW},
		{Name: "photos", Type: syncproto.TypeArray, Rule: syncproto.Set},
		{Name: "status", Type: syncproto.TypeString, Rule: syncproto.State, Machine: RequestMachine},
		{Name: "requested_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		// requested_at is when the person asked: sent by the device or the mutation's time
		// (syncsvc.Step), bounded like it; received_at is when the server got it.
		{Name: "requested_at", Type: syncproto.TypeTime, Rule: syncproto.Immutable},
		{Name: "received_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "handled_by", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
		{Name: "handled_at", Type: syncproto.TypeTime, Rule: syncproto.ServerOwned},
		{Name: "reply", Type: syncproto.TypeString, Rule: syncproto.ServerOwned},
	},
}

var requestColumns = []string{"incident_id", "kind", "item", "quantity", "unit", "location", "address", "urgency", "note", "photos",
	"status", "requested_by", "requested_at", "received_at", "handled_by", "handled_at", "reply"}

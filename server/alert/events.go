package alert

import (
	"context"
	"fmt"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Kinds of alert events (the alert_events table), written in the transaction of the change.
const (
	EventRaised    = "raised"    // the alert was raised
	EventLevel     = "level"     // its level rose
	EventCleared   = "cleared"   // the condition recovered
	EventRecurred  = "recurred"  // the condition came back before the alert was handled
	EventEscalated = "escalated" // dispatched to a higher tier after a deadline passed
	EventStatus    = "status"    // its status changed (acknowledged, disposing, closed, false alarm)
	EventIncident  = "incident"  // it was turned into an incident (written by the incident module; message: code and title)
)

// event is one row of alert_events.
type event struct {
	AlertID, Kind string
	Level         int
	Tier, Status  string
	By, Message   string
	At            string
	// ReceivedAt is when the server received a step taken on a phone, when it differs from At
	// (the time the person took it); "" otherwise.
	ReceivedAt string
}

func addEvent(ctx context.Context, q sqldb.Querier, e event) error {
	if e.ReceivedAt == e.At {
		e.ReceivedAt = ""
	}
	_, err := q.Exec(ctx, `INSERT INTO alert_events (id, alert_id, kind, level, tier, status, by_user, message, at, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, yingji.NewID(), e.AlertID, e.Kind, e.Level, e.Tier, e.Status, e.By,
		e.Message, e.At, e.ReceivedAt)
	if err != nil {
		return fmt.Errorf("alert: event: %w", err)
	}
	return nil
}

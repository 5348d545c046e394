package alert

import (
	"context"
	"fmt"
	"strings"

	"github.com/yingji/yingji/server/inbox"
)

// Inbox puts notifications in users' inboxes: *inbox.Service implements it.
type Inbox interface {
	Put(ctx context.Context, it inbox.Item) (bool, error)
}

// notifyInApp puts the dispatch of an alert at a tier and level in a receiver's inbox, once
// per user (a user named by two receiver entries gets one), and returns the notification's id
// ("" without an inbox). The enterprise tier's is a dispatch, the others' an escalation.
func (s *Service) notifyInApp(ctx context.Context, al Alert, d DispatchArgs, userID string) (string, error) {
	if s.Inbox == nil {
		return "", nil
	}
	kind := inbox.KindAlertDispatch
	if d.Tier != TierEnterprise {
		kind = inbox.KindAlertEscalation
	}
	m := s.message(al, DeliveryArgs{AlertID: al.ID, Tier: d.Tier, Level: d.Level, Channel: ChannelApp})
	level := al.LevelName
	if level == "" {
		level = fmt.Sprintf("%d级", al.Level)
	}
	key := strings.Join([]string{"alert", al.ID, d.Tier, fmt.Sprint(d.Level), userID}, ":")
	if _, err := s.Inbox.Put(ctx, inbox.Item{Key: key, UserID: userID, Kind: kind, Title: m.Title, Body: m.Body, Level: level,
		RefCollection: "alerts", RefID: al.ID, Link: inbox.AlertLink(al.ID)}); err != nil {
		return "", fmt.Errorf("alert: notify in app: %w", err)
	}
	return inbox.ID(key), nil
}

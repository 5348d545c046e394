package app

import (
	"github.com/riverqueue/river"

	"github.com/yingji/yingji/server/hazard"
	"github.com/yingji/yingji/server/inbox"
	"github.com/yingji/yingji/server/wake"
)

// The per-user inbox and the FCM wake of background phones.

// openInbox builds the inbox on the sync service: its collection, the alert service's in-app
// notifications and the hazard assignments pushed by phones.
func (m *Main) openInbox() {
	m.Inbox = inbox.New(m.DB, m.Sync, nil, m.Log, m.Channels)
	m.Sync.Register(m.Inbox.Collection())
	m.Sync.Observe(hazard.NewCollection().Spec().Name, m.Inbox.HazardAssigned)
	m.Alerts.Inbox = m.Inbox
}

// workers registers the river workers of the alert service and the inbox.
func (m *Main) workers(w *river.Workers) {
	m.Alerts.Workers(w)
	m.Inbox.Workers(w)
	m.timelineAnchorer().Workers(w)
}

// startWake wakes background phones by FCM when their scopes change (when FCM is configured).
func (m *Main) startWake() {
	fcm := m.Channels["fcm"]
	if fcm == nil {
		return
	}
	m.wake = &wake.Waker{DB: m.DB, FCM: fcm, Live: m.Sync.Hub.Holds, Scopes: m.Sync.ActorScopes, Window: m.Config.FCMWakeInterval, Log: m.Log}
	m.wake.Start()
	m.Sync.OnChange = m.wake.Changed
}

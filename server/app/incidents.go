package app

import (
	"github.com/yingji/yingji/server/incident"
)

// Incidents and the response (应急响应): the incident module on the sync service and the inbox.

// openIncidents builds the incident service and registers its synced collections (incidents,
// response steps, the incident chat) before any data is written.
func (m *Main) openIncidents() {
	m.Incidents = incident.New(m.DB, m.Sync, nil, m.Log.With("component", "incident"))
	m.Incidents.Inbox = m.Inbox
	m.Sync.Register(m.Incidents.Collection())
	m.Sync.Register(m.Incidents.ActionCollection())
	m.Sync.Register(m.Incidents.MessageCollection())
	// Active members of an incident hold its scope inc:<id>: its records reach their phones.
	m.Sync.AddScopeSource(m.Incidents.ScopeSource)
	m.Incidents.ScopesChanged = m.Sync.ScopesChanged
}

package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/yingji/yingji/server/incident"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/syncsvc"
	"github.com/yingji/yingji/server/yingji"
	"github.com/yingji/yingji/syncproto"
)

// Incident is what dispatch needs of an incident (table incidents, owned by package
// incident): where it is and whose it is.
type Incident struct {
	ID       string   `json:"id"`
	Code     string   `json:"code"`
	Title    string   `json:"title"`
	Status   string   `json:"status"`
	OrgPath  string   `json:"org_path"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	Address  string   `json:"address"`
	Exercise bool     `json:"exercise"`
}

// Located reports whether the incident has a point.
func (i Incident) Located() bool { return i.Lat != nil && i.Lng != nil }

// Incidents is what dispatch asks of the incident service: a dispatched team joins the
// incident (its members get it on their phones); a cancelled one leaves it.
type Incidents interface {
	incident.Reader
	AddTeam(ctx context.Context, q sqldb.Querier, incidentID, teamID string) error
	RemoveTeam(ctx context.Context, q sqldb.Querier, incidentID, teamID string) error
}

var errNoIncident = yingji.Errorf(yingji.ENOTFOUND, "incident.not_found", "事件不存在")

// loadIncident reads an incident through the incident module's store (incident.Load), cached
// for the push batch.
func loadIncident(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	return syncsvc.Cached(ctx, "dispatch_incident:"+id, func() (Incident, error) {
		x, err := incident.Load(ctx, q, id)
		if errors.Is(err, yingji.ErrNotFound) {
			return Incident{}, errNoIncident
		}
		if err != nil {
			return Incident{}, fmt.Errorf("dispatch: load incident: %w", err)
		}
		return fromIncident(x), nil
	})
}

// incident reads an incident through the incident service (Incidents.Get) when dispatch has
// one, else through the store.
func (s *Service) incident(ctx context.Context, q sqldb.Querier, id string) (Incident, error) {
	if s.Incidents == nil {
		return loadIncident(ctx, q, id)
	}
	x, err := s.Incidents.Get(ctx, q, id)
	if errors.Is(err, yingji.ErrNotFound) {
		return Incident{}, errNoIncident
	} else if err != nil {
		return Incident{}, fmt.Errorf("dispatch: load incident: %w", err)
	}
	return fromIncident(x), nil
}

// fromIncident is what dispatch keeps of an incident.
func fromIncident(x incident.Incident) Incident {
	return Incident{ID: x.ID, Code: x.Code, Title: x.Title, Status: x.Status, OrgPath: x.OrgPath, Lat: x.Lat, Lng: x.Lng,
		Address: x.Address, Exercise: x.Exercise}
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	}
	return false
}

// isMember reports whether the user is an active member of the incident (incident_members).
func isMember(ctx context.Context, q sqldb.Querier, incidentID, userID string) (bool, error) {
	if userID == "" {
		return false, nil
	}
	return syncsvc.Cached(ctx, "dispatch_member:"+incidentID+":"+userID, func() (bool, error) {
		var n int
		err := q.QueryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = $1 AND user_id = $2 AND removed_at IS NULL`,
			incidentID, userID).Scan(&n)
		return n > 0, err
	})
}

// canRead reports whether the actor may see the incident's dispatch: staff whose subtree holds
// the incident, and its members.
func canRead(ctx context.Context, q sqldb.Querier, a *yingji.Actor, in Incident) (bool, error) {
	if !a.Can(yingji.PermDispatchRead) {
		return false, nil
	}
	if a.Role.ScopeKind() == yingji.ScopeOrg && a.InSubtree(in.OrgPath) {
		return true, nil
	}
	return isMember(ctx, q, in.ID, a.UserID)
}

// canOrder reports whether the actor may order resources for the incident.
func canOrder(a *yingji.Actor, in Incident) bool {
	return a.Can(yingji.PermDispatchOrder) && a.InSubtree(in.OrgPath)
}

// canRequest reports whether the actor may ask for resources for the incident: staff in scope
// and the incident's members.
func canRequest(ctx context.Context, q sqldb.Querier, a *yingji.Actor, in Incident) (bool, error) {
	if !a.Can(yingji.PermDispatchRequest) {
		return false, nil
	}
	if a.Role.ScopeKind() == yingji.ScopeOrg && a.InSubtree(in.OrgPath) {
		return true, nil
	}
	return isMember(ctx, q, in.ID, a.UserID)
}

// incidentPlace is where an incident's dispatch records belong: the incident's scope
// (inc:<id>, held by its members) and its unit chain.
func incidentPlace(in Incident) syncsvc.Place {
	return syncsvc.Place{IncidentID: in.ID, OrgPath: in.OrgPath}
}

// placeOf loads the incident of a record and returns its place.
func placeOf(ctx context.Context, q sqldb.Querier, f syncsvc.Fields) (syncsvc.Place, error) {
	in, err := loadIncident(ctx, q, syncsvc.Str(f, "incident_id"))
	if errors.Is(err, errNoIncident) {
		return syncsvc.Place{}, syncsvc.Rejected(syncproto.CodeInvalid, "所属事件不存在")
	}
	return incidentPlace(in), err
}

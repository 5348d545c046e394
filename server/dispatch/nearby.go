package dispatch

import (
	"context"
	"slices"
	"sync"

	"github.com/yingji/yingji/server/resource"
	"github.com/yingji/yingji/server/route"
	"github.com/yingji/yingji/server/yingji"
)

// NearbyKinds are the kinds the command map lists around an incident, in order.
var NearbyKinds = []resource.Kind{resource.KindTeam, resource.KindSupply, resource.KindDepot, resource.KindExpert,
	resource.KindShelter, resource.KindMedical, resource.KindPolice, resource.KindFire}

// NearbyHit is a resource near an incident: its great-circle distance and, for the first few
// of each kind, the route from it to the incident (travel time). Free is a supply's stock not
// reserved by open orders.
type NearbyHit struct {
	resource.Hit
	Free  *float64     `json:"free,omitempty"`
	Route *route.Route `json:"route,omitempty"`
}

// NearbyGroup is the nearest resources of one kind.
type NearbyGroup struct {
	Kind  resource.Kind `json:"kind"`
	Name  string        `json:"name"`
	Items []NearbyHit   `json:"items"`
}

// Nearby is the answer of a nearby query.
type Nearby struct {
	IncidentID string        `json:"incident_id"`
	Lat        float64       `json:"lat"`
	Lng        float64       `json:"lng"`
	Groups     []NearbyGroup `json:"groups"`
}

// Nearby returns the n nearest resources of each kind around the incident (in the actor's
// resource scope), routing the first routed of each kind to the incident in parallel.
func (s *Service) Nearby(ctx context.Context, a *yingji.Actor, incidentID string, kinds []resource.Kind, n, routed int) (Nearby, error) {
	inc, err := s.Incident(ctx, a, incidentID)
	if err != nil {
		return Nearby{}, err
	}
	if !inc.Located() {
		return Nearby{}, yingji.Errorf(yingji.ECONFLICT, "dispatch.no_location", "事件还没有位置，无法查询周边资源")
	}
	if len(kinds) == 0 {
		kinds = NearbyKinds
	}
	for _, k := range kinds {
		if !k.Valid() {
			return Nearby{}, yingji.Invalid("dispatch.bad_kind", "kinds", "资源种类“%s”无效", k)
		}
	}
	if n <= 0 {
		n = 5
	}
	n = min(n, 50)
	routed = min(max(routed, 0), n)
	to := route.LatLng{Lat: *inc.Lat, Lng: *inc.Lng}
	out := Nearby{IncidentID: inc.ID, Lat: to.Lat, Lng: to.Lng, Groups: []NearbyGroup{}}
	var supplies []string
	for _, k := range slices.Compact(kinds) {
		hits, err := s.Resources.Nearest(ctx, a, resource.Query{Lat: to.Lat, Lng: to.Lng, N: n, Kinds: []resource.Kind{k}})
		if err != nil {
			return Nearby{}, err
		}
		g := NearbyGroup{Kind: k, Name: k.Name(), Items: make([]NearbyHit, len(hits))}
		for i, h := range hits {
			g.Items[i] = NearbyHit{Hit: h}
			if k == resource.KindSupply {
				supplies = append(supplies, h.ID)
			}
		}
		out.Groups = append(out.Groups, g)
	}
	if len(supplies) > 0 {
		free, err := Free(ctx, s.DB, supplies)
		if err != nil {
			return Nearby{}, err
		}
		for gi := range out.Groups {
			for i := range out.Groups[gi].Items {
				if v, ok := free[out.Groups[gi].Items[i].ID]; ok {
					out.Groups[gi].Items[i].Free = &v
				}
			}
		}
	}
	if s.Router != nil && routed > 0 {
		var wg sync.WaitGroup
		for gi := range out.Groups {
			for i := 0; i < routed && i < len(out.Groups[gi].Items); i++ {
				h := &out.Groups[gi].Items[i]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r, err := s.Router.Route(ctx, route.LatLng{Lat: h.Lat, Lng: h.Lng}, to); err == nil {
						h.Route = &r
					}
				}()
			}
		}
		wg.Wait()
	}
	return out, nil
}

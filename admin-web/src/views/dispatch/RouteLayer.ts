import L from '@/views/map/leaflet'
import type { Schemas } from '@/api/client'
import { fmtRoute } from './format'

type Route = Schemas['Route']

/**
 * routeLayer draws a planned route on a Leaflet map: a solid line along the roads, or a dashed
 * one when the route is a straight-line estimate, with its distance and time as the tooltip and
 * markers at both ends. Add the returned layer group to the map; remove it to clear the route.
 */
export function routeLayer(route: Route, label = ''): L.LayerGroup {
  const pts = (route.path ?? []).map((p) => L.latLng(p.lat ?? 0, p.lng ?? 0))
  const g = L.layerGroup()
  if (pts.length < 2) return g
  const line = L.polyline(pts, {
    color: route.estimate ? '#e6a23c' : '#1677ff', weight: 5, opacity: 0.85, dashArray: route.estimate ? '8 8' : undefined,
    className: 'yj-route',
  })
  line.bindTooltip(`${label ? label + '：' : ''}${fmtRoute(route)}`, { sticky: true })
  g.addLayer(line)
  g.addLayer(L.circleMarker(pts[0], { radius: 6, color: '#1677ff', fillOpacity: 1 }).bindTooltip('出发地'))
  g.addLayer(L.circleMarker(pts[pts.length - 1], { radius: 6, color: '#f56c6c', fillOpacity: 1 }).bindTooltip('目的地'))
  return g
}

/** fitRoute zooms the map to a route. */
export function fitRoute(map: L.Map, route: Route) {
  const pts = (route.path ?? []).map((p) => L.latLng(p.lat ?? 0, p.lng ?? 0))
  if (pts.length > 1) map.fitBounds(L.latLngBounds(pts), { padding: [30, 30] })
}

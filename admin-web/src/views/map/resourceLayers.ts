import { reactive } from 'vue'
import { api, must, type Schemas } from '@/api/client'
import { useSession } from '@/stores/session'
import L from './leaflet'
import { escapeHtml } from './layers'

/**
 * The one-map's resource and target layers (应急资源): one clustered layer per resource kind and
 * per target kind, toggled, and the "nearest resources" query around a point clicked on the
 * map, drawn as numbered markers joined to the point. MapView attaches it to its map.
 */
export type Entry = Schemas['resource.Entry']
export type Hit = Schemas['resource.Hit']

export interface ResLayer {
  key: string
  label: string
  color: string
  kind: string
  category?: string
  /** drawn when the map opens */
  on: boolean
}

export const resLayers: ResLayer[] = [
  { key: 'team', label: '救援队伍', color: '#d35400', kind: 'team', on: true },
  { key: 'depot', label: '储备库', color: '#7d3c98', kind: 'depot', on: true },
  { key: 'supply', label: '物资装备', color: '#a569bd', kind: 'supply', on: false },
  { key: 'expert', label: '应急专家', color: '#138d75', kind: 'expert', on: false },
  { key: 'shelter', label: '避难场所', color: '#28b463', kind: 'shelter', on: true },
  { key: 'medical', label: '医疗机构', color: '#e74c3c', kind: 'medical', on: true },
  { key: 'police', label: '警力', color: '#1a5276', kind: 'police', on: true },
  { key: 'fire', label: '消防力量', color: '#cb4335', kind: 'fire', on: true },
  { key: 'target-protection', label: '防护目标', color: '#2874a6', kind: 'target', category: '防护目标', on: true },
  { key: 'target-vulnerable', label: '脆弱目标', color: '#f39c12', kind: 'target', category: '脆弱目标', on: true },
  { key: 'target-important', label: '重要目标', color: '#922b21', kind: 'target', category: '重要目标', on: true },
  { key: 'target-unloading', label: '卸载点', color: '#566573', kind: 'target', category: '卸载点', on: true },
]

/** The kinds the nearest query may ask for. */
export const nearestKinds = [
  { kind: 'team', label: '救援队伍' }, { kind: 'supply', label: '物资装备' }, { kind: 'depot', label: '储备库' },
  { kind: 'expert', label: '专家' }, { kind: 'shelter', label: '避难场所' }, { kind: 'medical', label: '医疗机构' },
  { kind: 'police', label: '警力' }, { kind: 'fire', label: '消防力量' },
]

export function layerOf(e: { kind?: string; category?: string }): ResLayer | undefined {
  return resLayers.find((l) => l.kind === e.kind && (!l.category || l.category === e.category))
}

export function distanceText(m?: number): string {
  if (m === undefined) return ''
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(m < 10000 ? 2 : 1)} 公里`
}

export function createResourceLayers() {
  const session = useSession()
  const state = reactive({
    enabled: session.can('resource:read'),
    counts: Object.fromEntries(resLayers.map((l) => [l.key, 0])) as Record<string, number>,
    shown: Object.fromEntries(resLayers.map((l) => [l.key, l.on])) as Record<string, boolean>,
    error: '',
    selected: null as Entry | null,
    armed: false,
    nearest: { lat: null as number | null, lng: null as number | null, n: 5, kinds: ['team'] as string[], status: 'available',
      accident: '', items: [] as Hit[], loading: false, error: '' },
  })
  let map: L.Map | null = null
  const groups = new Map<string, L.MarkerClusterGroup>()
  let drawn: L.LayerGroup | null = null

  function marker(e: Entry, l: ResLayer): L.Marker {
    const m = L.marker([e.lat!, e.lng!], {
      title: e.name, alt: e.name, keyboard: true, riseOnHover: true,
      icon: L.divIcon({ className: `yj-mk yj-mk-res yj-mk-res-${l.key}`, iconSize: L.point(16, 16), iconAnchor: L.point(8, 8),
        html: `<span class="yj-mk-dot yj-mk-sq" style="background:${l.color}"></span>` }),
    })
    m.on('click', () => (state.selected = e))
    return m
  }

  async function attach(m: L.Map) {
    map = m
    // A map removed while the layers load (the user left the page) must not get them: Leaflet
    // throws on a removed map ('_leaflet_pos').
    m.on('unload', () => {
      if (map === m) map = null
    })
    if (!state.enabled) return
    try {
      const res = await must(api.GET('/api/v1/resources/map'))
      if (map !== m) return
      const byLayer = new Map<string, Entry[]>()
      for (const e of res.items ?? []) {
        const l = layerOf(e)
        if (l) byLayer.set(l.key, [...(byLayer.get(l.key) ?? []), e])
      }
      for (const l of resLayers) {
        const items = byLayer.get(l.key) ?? []
        state.counts[l.key] = items.length
        const g = L.markerClusterGroup({
          showCoverageOnHover: false, maxClusterRadius: 40, disableClusteringAtZoom: 15,
          iconCreateFunction: (c) => L.divIcon({ html: `<span>${c.getChildCount()}</span>`, className: `yj-cluster yj-cluster-res yj-cluster-res-${l.key}`,
            iconSize: L.point(32, 32) }),
        })
        for (const e of items) g.addLayer(marker(e, l))
        groups.get(l.key)?.remove()
        groups.set(l.key, g)
        if (state.shown[l.key] && map) g.addTo(map)
      }
      if (res.truncated) state.error = '资源过多，地图只显示了前 20000 个'
    } catch (e) {
      state.error = e instanceof Error ? e.message : '资源图层加载失败'
    }
  }

  function toggle(key: string, on: boolean) {
    state.shown[key] = on
    const g = groups.get(key)
    if (!g || !map) return
    if (on) g.addTo(map)
    else g.remove()
  }

  /** pick waits for one click on the map and queries around it. */
  function pick() {
    if (!map) return
    state.armed = true
    map.getContainer().classList.add('yj-picking')
    map.once('click', (ev: L.LeafletMouseEvent) => {
      state.armed = false
      map?.getContainer().classList.remove('yj-picking')
      query(ev.latlng.lat, ev.latlng.lng)
    })
  }

  function clear() {
    drawn?.remove()
    drawn = null
    state.nearest.items = []
    state.nearest.lat = state.nearest.lng = null
  }

  async function query(lat: number, lng: number) {
    const n = state.nearest
    n.lat = Math.round(lat * 1e6) / 1e6
    n.lng = Math.round(lng * 1e6) / 1e6
    n.loading = true
    n.error = ''
    try {
      const q: Record<string, string | number> = { lat: n.lat, lng: n.lng, n: n.n }
      if (n.kinds.length) q.kinds = n.kinds.join(',')
      if (n.status) q.status = n.status
      if (n.accident) q.accident_type = n.accident
      const res = await must(api.GET('/api/v1/resources/nearest', { params: { query: q as never } }))
      n.items = res.items ?? []
      draw()
    } catch (e) {
      n.items = []
      n.error = e instanceof Error ? e.message : '查询失败'
    } finally {
      n.loading = false
    }
  }

  function draw() {
    if (!map || state.nearest.lat === null || state.nearest.lng === null) return
    drawn?.remove()
    const at: L.LatLngExpression = [state.nearest.lat, state.nearest.lng!]
    const g = L.layerGroup()
    L.circleMarker(at, { radius: 9, color: '#fff', weight: 3, fillColor: '#b3261e', fillOpacity: 1, className: 'yj-nearest-point' })
      .bindTooltip('查询位置', { permanent: false }).addTo(g)
    const pts: L.LatLngExpression[] = [at]
    state.nearest.items.forEach((h, i) => {
      const to: L.LatLngExpression = [h.lat!, h.lng!]
      pts.push(to)
      L.polyline([at, to], { color: '#b3261e', weight: 2, dashArray: '6 4', opacity: 0.8, className: 'yj-nearest-line' })
        .bindTooltip(`${i + 1}. ${escapeHtml(h.name ?? '')} ${distanceText(h.distance_m)}`).addTo(g)
      L.marker(to, { keyboard: false, zIndexOffset: 1000,
        icon: L.divIcon({ className: 'yj-mk yj-nearest-mk', iconSize: L.point(22, 22), iconAnchor: L.point(11, 11), html: `<span>${i + 1}</span>` }) })
        .on('click', () => (state.selected = h)).addTo(g)
    })
    g.addTo(map)
    drawn = g
    if (pts.length > 1) map.fitBounds(L.latLngBounds(pts), { padding: [40, 40], maxZoom: 15 })
  }

  return { state, attach, toggle, pick, query, clear }
}

export type ResourceLayers = ReturnType<typeof createResourceLayers>

import { api, type Schemas } from '@/api/client'
import { router } from '@/router'
import L from '@/views/map/leaflet'
import { escapeHtml } from '@/views/map/layers'

/**
 * Live video streams on a map (单兵/手机视频回传 on the one-map and the command map): each live
 * stream the user may watch is a camera marker at its last position with its track since it
 * started; a click opens the stream on the 视频回传 page (or calls onOpen). Polled every 3 s;
 * mounting is one line: `createStreamLayer().attach(map)` — the layer stops by itself when the
 * map is removed.
 */
type Stream = Schemas['Stream']
type Position = Schemas['video.Position']

export interface StreamLayerOptions {
  /** what a click on a stream does; default: open it on the 视频回传 page */
  onOpen?: (streamId: string) => void
  /** poll interval in ms (default 3000) */
  every?: number
}

interface Drawn {
  marker: L.Marker
  track: L.Polyline
  since: string
}

export function createStreamLayer(opts: StreamLayerOptions = {}) {
  const group = L.layerGroup()
  const drawn = new Map<string, Drawn>()
  let map: L.Map | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  const open = opts.onOpen ?? ((id: string) => { void router.push({ name: 'video', query: { stream: id } }) })

  function icon(s: Stream) {
    // inline styles: the layer is mounted on maps whose pages do not know it
    const bg = s.state === 'interrupted' ? '#7f8c8d' : '#c0392b'
    return L.divIcon({ className: 'yj-stream', iconSize: L.point(26, 26), iconAnchor: L.point(13, 13),
      html: `<span aria-hidden="true" style="display:flex;align-items:center;justify-content:center;width:26px;height:26px;` +
        `border-radius:50%;background:${bg};color:#fff;font-size:12px;border:2px solid #fff;box-sizing:border-box;` +
        `box-shadow:0 0 0 1px rgba(0,0,0,.35)">▶</span>` })
  }

  async function track(s: Stream, d: Drawn) {
    const { data } = await api.GET('/api/v1/video/streams/{id}/positions', { params: { path: { id: s.id }, query: d.since ? { since: d.since } : {} } })
    if (!data) return
    for (const p of data as Position[]) d.track.addLatLng([p.lat, p.lng])
    if (data.length) d.since = data[data.length - 1].time
  }

  async function load() {
    const { data } = await api.GET('/api/v1/video/streams', { params: { query: { live: true, page_size: 100 } } })
    if (!data || !map) return
    const seen = new Set<string>()
    for (const s of data.items) {
      if (!s.last_position) continue
      seen.add(s.id)
      const ll: L.LatLngExpression = [s.last_position.lat, s.last_position.lng]
      let d = drawn.get(s.id)
      if (!d) {
        const marker = L.marker(ll, { icon: icon(s), title: `现场视频：${s.publisher_name}`, keyboard: true })
        marker.on('click', () => open(s.id))
        d = { marker, track: L.polyline([], { color: '#c0392b', weight: 3, opacity: 0.7, interactive: false }), since: '' }
        d.track.addTo(group)
        d.marker.addTo(group)
        drawn.set(s.id, d)
      } else {
        d.marker.setLatLng(ll)
        d.marker.setIcon(icon(s))
      }
      const title = `${escapeHtml(s.publisher_name)}${s.title ? '：' + escapeHtml(s.title) : ''}`
      d.marker.bindTooltip(`<strong>现场视频</strong> ${title}${s.state === 'interrupted' ? '（断线等待恢复）' : ''}<br>点击观看`)
      await track(s, d)
      d.marker.getElement()?.setAttribute('data-stream', s.id)
    }
    for (const [id, d] of drawn) {
      if (!seen.has(id)) {
        group.removeLayer(d.marker)
        group.removeLayer(d.track)
        drawn.delete(id)
      }
    }
  }

  async function poll() {
    try {
      await load()
    } catch {
      // keep what is shown; the next poll tries again
    }
    if (map) timer = setTimeout(poll, opts.every ?? 3000)
  }

  function detach() {
    clearTimeout(timer)
    group.remove()
    drawn.clear()
    group.clearLayers()
    map = null
  }

  function attach(m: L.Map) {
    map = m
    group.addTo(m)
    m.on('unload', detach)
    void poll()
  }

  return { attach, detach, layer: group, count: () => drawn.size }
}

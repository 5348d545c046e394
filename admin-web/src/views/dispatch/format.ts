import type { Schemas } from '@/api/client'

type Route = Schemas['Route']

/** Chinese names of the order statuses. */
export const ORDER_STATUS: Record<string, string> = {
  ordered: '已下达', departed: '已出发', arrived: '已到达', returned: '已返回', cancelled: '已取消',
}

/** The next steps headquarters may take from a status (cancel only before arrival). */
export const NEXT_STEPS: Record<string, string[]> = {
  ordered: ['departed', 'arrived', 'cancelled'],
  departed: ['arrived', 'cancelled'],
  arrived: ['returned'],
}

/** fmtDistance shows metres as "850 米" or "12.3 公里". */
export function fmtDistance(m?: number | null): string {
  if (m === undefined || m === null) return '—'
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`
}

/** fmtDuration shows seconds as "约 12 分钟" or "约 1 小时 5 分钟". */
export function fmtDuration(s?: number | null): string {
  if (s === undefined || s === null) return '—'
  const min = Math.max(1, Math.round(s / 60))
  return min < 60 ? `约 ${min} 分钟` : `约 ${Math.floor(min / 60)} 小时 ${min % 60} 分钟`
}

/** fmtRoute is the one-line summary of a route: distance, time, and whether it is an estimate. */
export function fmtRoute(r?: Route | null): string {
  if (!r) return '—'
  const src = r.estimate ? '（直线估算）' : r.source === 'osrm' ? '（路径服务）' : ''
  return `${fmtDistance(r.distance_m)} · ${fmtDuration(r.duration_s)}${src}`
}

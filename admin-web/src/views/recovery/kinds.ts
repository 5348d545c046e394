/**
 * The timeline's event kinds (server/timeline: KindNames) with their Chinese names, in the order
 * an incident runs, and their colours on the timeline and the map.
 */
export const kindNames: Record<string, string> = {
  'hazard': '隐患', 'patrol': '巡查', 'reading': '监测数据', 'alert.event': '预警', 'alert.action': '预警处置', 'alert.delivery': '预警通知',
  'incident.reported': '事件接报', 'response.proposed': '响应提请', 'response.decided': '领导审批', 'task.assigned': '任务下达',
  'task.step': '任务进展', 'checkin': '队伍报到', 'feedback': '现场反馈', 'message': '群组消息', 'dispatch.order': '调度指令',
  'recording': '视频录像', 'incident.terminated': '响应终止',
}

export const kindColors: Record<string, string> = {
  'hazard': '#8a6d3b', 'patrol': '#6b7280', 'reading': '#0e7490', 'alert.event': '#d03050', 'alert.action': '#c2410c',
  'alert.delivery': '#9a3412', 'incident.reported': '#b91c1c', 'response.proposed': '#7c3aed', 'response.decided': '#6d28d9',
  'task.assigned': '#1d4ed8', 'task.step': '#2563eb', 'checkin': '#047857', 'feedback': '#b45309', 'message': '#475569',
  'recording': '#0f766e', 'incident.terminated': '#374151',
}

/** kindName is a kind's Chinese name (the code itself for a kind this page does not know yet). */
export const kindName = (k: string) => kindNames[k] ?? k

/** kindOrder sorts kinds as listed above, unknown ones last. */
export function kindOrder(a: string, b: string): number {
  const keys = Object.keys(kindNames)
  const ia = keys.indexOf(a) < 0 ? keys.length : keys.indexOf(a)
  const ib = keys.indexOf(b) < 0 ? keys.length : keys.indexOf(b)
  return ia - ib || a.localeCompare(b)
}

/** Positions of these kinds are where a team or a person was (the moving markers); feedback stays where it was sent. */
export const movingKinds = new Set(['checkin', 'task.assigned', 'task.step'])

/** The minutes between two moments as 1 小时 5 分 (— when it did not happen: the server's -1). */
export function minutesText(m?: number | null): string {
  if (m === undefined || m === null || m < 0) return '—'
  if (m < 60) return `${m} 分钟`
  const h = Math.floor(m / 60)
  const r = Math.round(m - h * 60)
  return r ? `${h} 小时 ${r} 分` : `${h} 小时`
}

/** lastIndexAtOrBefore is how many of the items (sorted by at, fixed-width UTC text) happened at or before at. */
export function countAtOrBefore(items: readonly { at: string }[], at: string): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (items[mid].at <= at) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** isoAt is the fixed-width UTC text of the server's timeline ("2026-12-07T01:30:00.000Z") of ms since the epoch. */
export const isoAt = (ms: number) => new Date(ms).toISOString()

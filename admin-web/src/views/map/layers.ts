import type { Schemas } from '@/api/client'
import { fmtTime } from '@/views/monitoring/common/format'

/** Risk levels (红/橙/黄/蓝) in display order, with their colours. */
export const riskLevels: { key: string; name: string; color: string }[] = [
  { key: 'red', name: '重大风险（红）', color: '#c0392b' },
  { key: 'orange', name: '较大风险（橙）', color: '#e67e22' },
  { key: 'yellow', name: '一般风险（黄）', color: '#d4a106' },
  { key: 'blue', name: '低风险（蓝）', color: '#1f6fd1' },
]

export function riskLevel(key?: string) {
  return riskLevels.find((l) => l.key === key) ?? { key: key ?? '', name: key || '未定级', color: '#7f8c8d' }
}

/** One item shown on the map and in the details panel. */
export interface MapItem {
  kind: 'risk' | 'enterprise' | 'device' | 'alert'
  id: string
  lat: number
  lng: number
  title: string
  rows: [string, string][]
  /** Portal page with the item's details. */
  link: string
  linkText: string
}

export type Enterprise = Schemas['Enterprise']
export type RiskPoint = Schemas['RiskPoint']
export type Device = Schemas['Device']
export type Alert = Schemas['Alert']

const yes = (b?: boolean) => (b ? '是' : '否')

function has(lat?: number | null, lng?: number | null): boolean {
  return typeof lat === 'number' && typeof lng === 'number' && !(lat === 0 && lng === 0)
}

/** The map items of each layer; records without coordinates are left out (and counted). */
export function riskItems(list: RiskPoint[], ents: Map<string, Enterprise>): MapItem[] {
  return list.filter((r) => has(r.location?.lat, r.location?.lng)).map((r) => ({
    kind: 'risk', id: r.id ?? '', lat: r.location!.lat!, lng: r.location!.lng!, title: r.name ?? '',
    rows: [['编号', r.code ?? ''], ['风险等级', riskLevel(r.level).name], ['所属企业', ents.get(r.enterprise_id ?? '')?.name ?? '—'],
      ['责任人', r.responsible || '—'], ['管控措施', `${r.measures?.length ?? 0} 项`]],
    link: `/risk-points?id=${encodeURIComponent(r.id ?? '')}`, linkText: '查看风险点详情',
  }))
}

export function enterpriseItems(list: Enterprise[]): MapItem[] {
  return list.filter((e) => has(e.lat, e.lng)).map((e) => ({
    kind: 'enterprise', id: e.id ?? '', lat: e.lat!, lng: e.lng!, title: e.name ?? '',
    rows: [['行业', e.industry || '—'], ['地址', e.address || '—'], ['危险化学品', yes(e.hazardous_chemicals)],
      ['重大危险源', yes(e.major_hazard)], ['电话', e.phone || '—']],
    link: `/enterprises?q=${encodeURIComponent(e.name ?? '')}`, linkText: '查看企业信息',
  }))
}

export function deviceItems(list: Device[], ents: Map<string, Enterprise>): MapItem[] {
  return list.filter((d) => has(d.lat, d.lng)).map((d) => ({
    kind: 'device', id: d.id ?? '', lat: d.lat!, lng: d.lng!, title: d.name ?? '',
    rows: [['编码', d.code ?? ''], ['状态', d.disabled ? '已停用' : d.online ? '在线' : '离线'],
      ['所属企业', ents.get(d.enterprise_id ?? '')?.name ?? '—'],
      ['最后上报', d.last_seen_at ? fmtTime(d.last_seen_at) : '从未上报']],
    link: `/devices?id=${encodeURIComponent(d.id ?? '')}`, linkText: '查看设备详情',
  }))
}

/** Alerts sit at their device, or at their enterprise when the device has no coordinates. */
export function alertItems(list: Alert[], devices: Map<string, Device>, ents: Map<string, Enterprise>): MapItem[] {
  const out: MapItem[] = []
  for (const a of list) {
    const d = devices.get(a.device_id ?? '')
    const e = ents.get(a.enterprise_id ?? '')
    const [lat, lng] = has(d?.lat, d?.lng) ? [d!.lat!, d!.lng!] : has(e?.lat, e?.lng) ? [e!.lat!, e!.lng!] : [NaN, NaN]
    if (Number.isNaN(lat)) continue
    out.push({
      kind: 'alert', id: a.id ?? '', lat, lng, title: a.title ?? '',
      rows: [['级别', a.level_name ? `${a.level} 级（${a.level_name}）` : `${a.level} 级`], ['企业', a.enterprise_name || '—'],
        ['开始时间', a.started_at ? fmtTime(a.started_at) : '—'], ['内容', a.message || '—']],
      link: `/alerts?id=${encodeURIComponent(a.id ?? '')}`, linkText: '查看预警详情',
    })
  }
  return out
}

/** tileOptions picks the subdomains of a tile template: Tianditu serves t0–t7. */
export function subdomains(url: string): string {
  return /tianditu/i.test(url) ? '01234567' : 'abc'
}

/** escapeHtml makes text safe inside a marker's HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

import { api, must } from '@/api/client'
import { listNotifications, markRead, notificationsAvailable } from '@/api/notifications'
import { hazardStatusNames, stepsFor } from '@/views/prevention/common/hazard'

/**
 * The to-do inbox (我的待办) of the home page is a list of sources: each says who it is for and
 * loads its items from the server. The inbox shows every source the user may read, most urgent
 * first; each item is one click from the page where the work is done.
 *
 * A later module (tasks of an incident, approvals) adds its source here: push an InboxSource
 * onto inboxSources (or add it to the array), with the permission it needs.
 */
export interface InboxItem {
  /** Unique within the inbox (source + record id). */
  key: string
  /** What kind of work, shown as a tag: 待确认预警, 待整改隐患… */
  kind: string
  title: string
  detail?: string
  /** RFC 3339; the newest first within the same urgency. */
  at?: string
  /** The page where the work is done (a ?id= link opens the record). */
  link: string
  /** danger first, then warning, then info. */
  urgency: 'danger' | 'warning' | 'info'
  /** The button text: 去确认, 去整改… */
  action: string
  /** Called when the user opens the item (a notification is marked read). */
  opened?: () => Promise<unknown>
}

export interface InboxUser {
  id?: string
  role?: string
  enterprise_id?: string
  can(perm: string): boolean
}

export interface InboxSource {
  key: string
  title: string
  /** The permission the source needs (absent: everyone). */
  perm?: string
  load(user: InboxUser): Promise<InboxItem[]>
}

const PAGE = 50

/** Alerts waiting for an acknowledgement by someone who may handle them. */
const alerts: InboxSource = {
  key: 'alerts',
  title: '待确认预警',
  perm: 'alert:handle',
  async load() {
    const page = await must(api.GET('/api/v1/alerts', { params: { query: { status: 'new', page_size: PAGE } } }))
    return (page.items ?? []).map((a) => ({
      key: `alert:${a.id}`,
      kind: '待确认预警',
      title: a.title ?? '预警',
      detail: [a.enterprise_name, a.level ? `${a.level} 级${a.level_name ? `（${a.level_name}）` : ''}` : ''].filter(Boolean).join(' · '),
      at: a.started_at,
      link: `/alerts?id=${a.id}`,
      urgency: (a.level ?? 0) >= 2 ? 'danger' : 'warning',
      action: '去确认',
    }))
  },
}

const hazardWork: Record<string, { kind: string; action: string }> = {
  assign: { kind: '待交办隐患', action: '去交办' },
  rectify: { kind: '待整改隐患', action: '去整改' },
  submit: { kind: '整改中隐患', action: '提交验收' },
  accept: { kind: '待验收隐患', action: '去验收' },
}

/** Open hazards the user may move by a step: assign, rectify, submit or accept (by the workflow's roles). */
const hazards: InboxSource = {
  key: 'hazards',
  title: '隐患',
  perm: 'risk:read',
  async load(user) {
    const page = await must(api.GET('/api/v1/hazards', { params: { query: { open: true, page_size: PAGE } } }))
    const out: InboxItem[] = []
    for (const h of page.items ?? []) {
      // government staff assign and accept; the enterprise rectifies and submits (an administrator
      // may also start a rectification, but that is the enterprise's work, not his to-do)
      const step = stepsFor(user.role, h.status, h.level)
        .find((s) => s.step !== 'send_back' && (user.enterprise_id ? true : s.step === 'assign' || s.step === 'accept'))
      // an enterprise rectifies what was assigned to it; someone else's assignment is not my work
      if (!step || (step.step !== 'assign' && h.rectifier_id && user.enterprise_id && h.rectifier_id !== user.id)) continue
      const w = hazardWork[step.step]
      const overdue = !!h.deadline && new Date(h.deadline).getTime() < Date.now()
      out.push({
        key: `hazard:${h.id}`,
        kind: w.kind,
        title: h.title ?? '隐患',
        detail: [h.enterprise_name, hazardStatusNames[h.status ?? ''], overdue ? '已逾期' : ''].filter(Boolean).join(' · '),
        at: h.reported_at,
        link: `/hazards?id=${h.id}`,
        urgency: overdue || h.level === 'major' ? 'danger' : 'warning',
        action: w.action,
      })
    }
    return out
  },
}

/** Checklists with overdue periods (one item per checklist). */
const overdue: InboxSource = {
  key: 'overdue',
  title: '逾期未巡查',
  perm: 'risk:read',
  async load() {
    const page = await must(api.GET('/api/v1/checklists/overdue'))
    const by = new Map<string, { name: string; n: number; last?: string }>()
    for (const p of page.items ?? []) {
      const id = p.checklist_id ?? ''
      const x = by.get(id) ?? { name: p.checklist_name ?? '巡查清单', n: 0 }
      x.n++
      if (!x.last || (p.start ?? '') > x.last) x.last = p.start
      by.set(id, x)
    }
    return [...by.entries()].map(([id, x]) => ({
      key: `overdue:${id}`,
      kind: '逾期未巡查',
      title: x.name,
      detail: `近 30 天逾期 ${x.n} 个周期`,
      at: x.last,
      link: '/checklists?overdue=true',
      urgency: 'warning' as const,
      action: '去巡查',
    }))
  },
}

/** The user's unread notifications, when the server has them (api/notifications.ts). */
const notifications: InboxSource = {
  key: 'notifications',
  title: '通知',
  async load() {
    if (!(await notificationsAvailable())) return []
    const page = await listNotifications({ unread: true, page_size: PAGE })
    return page.items.map((n) => ({
      key: `notification:${n.id}`,
      kind: '通知',
      title: n.title,
      detail: n.body,
      at: n.created_at,
      link: n.link || '/',
      urgency: n.level === 'danger' || n.level === 'error' ? 'danger' : n.level === 'warning' ? 'warning' : 'info',
      action: '查看',
      opened: () => markRead(n.id),
    }))
  },
}

/** The sources of the inbox, in order. Tasks (应急响应) and approvals go here when they exist. */
export const inboxSources: InboxSource[] = [alerts, hazards, overdue, notifications]

const rank = { danger: 0, warning: 1, info: 2 }

/** sortItems puts the most urgent first, then the newest. */
export function sortItems(items: InboxItem[]): InboxItem[] {
  return [...items].sort((a, b) => rank[a.urgency] - rank[b.urgency] || (b.at ?? '').localeCompare(a.at ?? ''))
}

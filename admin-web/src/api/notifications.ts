import { authHeader, reportError } from './client'
import { ApiError, type ErrorBody } from './errors'

/**
 * The user's notifications (GET /api/v1/notifications and friends). Typed by hand, not from
 * schema.d.ts: the portal builds whether or not the server has these routes yet. A server
 * without them is "no notifications source": notificationsAvailable() finds out once from the
 * server's own OpenAPI document (no request that would answer 404 and log a console error).
 */
export interface Notification {
  id: string
  user_id: string
  kind: string
  title: string
  body: string
  level: string
  ref_collection: string
  ref_id: string
  link: string
  created_at: string
  read_at: string | null
}

export interface NotificationPage {
  items: Notification[]
  total: number
}

const BASE = '/api/v1/notifications'
const KEY = 'yingji.notifications.available'

async function call<T>(method: string, path: string): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, { method, headers: { ...authHeader(), Accept: 'application/json' } })
  } catch {
    throw new ApiError(0, undefined)
  }
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!res.ok) {
    const err = new ApiError(res.status, body as Partial<ErrorBody> | undefined)
    reportError(err)
    throw err
  }
  return body as T
}

let probe: Promise<boolean> | null = null
const PROBE_DELAY_MS = 1500

/** notificationsAvailable reports whether the server has the notifications API (asked once per tab). */
export function notificationsAvailable(): Promise<boolean> {
  const known = sessionStorage.getItem(KEY)
  if (known === '1' || known === '0') return Promise.resolve(known === '1')
  // asked a moment after the page shows, so the document does not compete with the page's own data
  probe ??= new Promise((r) => setTimeout(r, PROBE_DELAY_MS))
    .then(() => fetch('/api/v1/openapi.json'))
    .then((r) => (r.ok ? r.json() : null))
    .then((doc: { paths?: Record<string, unknown> } | null) => {
      if (!doc) return false
      const ok = Object.keys(doc.paths ?? {}).some((p) => p === BASE || p === '/notifications' || p.endsWith('/notifications/unread-count'))
      sessionStorage.setItem(KEY, ok ? '1' : '0')
      return ok
    })
    .catch(() => false)
    .finally(() => (probe = null))
  return probe
}

/** listNotifications pages the user's notifications, newest first. */
export function listNotifications(q: { unread?: boolean; kind?: string; page?: number; page_size?: number } = {}): Promise<NotificationPage> {
  const p = new URLSearchParams()
  if (q.unread) p.set('unread', 'true')
  if (q.kind) p.set('kind', q.kind)
  if (q.page) p.set('page', String(q.page))
  if (q.page_size) p.set('page_size', String(q.page_size))
  const qs = p.toString()
  return call<NotificationPage>('GET', qs ? `${BASE}?${qs}` : BASE).then((r) => ({ items: r?.items ?? [], total: r?.total ?? 0 }))
}

export async function unreadCount(): Promise<number> {
  return (await call<{ count: number }>('GET', `${BASE}/unread-count`))?.count ?? 0
}

export function markRead(id: string): Promise<unknown> {
  return call('POST', `${BASE}/${encodeURIComponent(id)}/read`)
}

export function markAllRead(): Promise<unknown> {
  return call('POST', `${BASE}/read-all`)
}

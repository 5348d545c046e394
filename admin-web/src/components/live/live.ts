import { reactive } from 'vue'
import { api, must } from '@/api/client'
import { backoff, diffAlerts, type Alert, type AlertChanges } from './diff'

/**
 * Live alerts: a WebSocket on /api/v1/sync/live. The server says hello, then pokes whenever a
 * record in one of the user's scopes changes; on each poke the open alerts are fetched again
 * and compared with what was known, so new alerts and escalations are announced without a
 * reload. The socket reconnects with backoff; a session ended by the server stops it.
 */

/** Shared state: the bell's count and a version the pages watch to refresh their numbers. */
export const live = reactive({
  /** Open alerts in the user's scope (null before the first answer). */
  open: null as number | null,
  connected: false,
  /** Bumped each time the open alerts changed. */
  version: 0,
})

export interface LiveOptions {
  token(): string | null
  /** Called with what changed after each poke (never for the first snapshot). */
  onChanges(ch: AlertChanges): void
}

const PAGE = 100

/** startLive connects and returns a function that stops it. */
export function startLive(opts: LiveOptions): () => void {
  let ws: WebSocket | null = null
  let stopped = false
  let failures = 0
  let retry: ReturnType<typeof setTimeout> | undefined
  let debounce: ReturnType<typeof setTimeout> | undefined
  let known: Map<string, string> | null = null
  let fetching = false
  let again = false

  async function refresh() {
    if (fetching) {
      again = true
      return
    }
    fetching = true
    try {
      do {
        again = false
        const page = await must(api.GET('/api/v1/alerts', {
          params: { query: { open: true, page_size: PAGE } }, // newest first by default
        }))
        if (stopped) return
        const items: Alert[] = page.items ?? []
        const changed = live.open !== (page.total ?? 0)
        live.open = page.total ?? 0
        if (!known) {
          known = new Map()
          diffAlerts(known, items)
          continue
        }
        const ch = diffAlerts(known, items)
        if (changed || ch.fresh.length || ch.escalated.length) live.version++
        if (ch.fresh.length || ch.escalated.length) opts.onChanges(ch)
      } while (again && !stopped)
    } catch {
      // the next poke tries again; an ended session is handled by the API client
    } finally {
      fetching = false
    }
  }

  function schedule() {
    clearTimeout(debounce)
    debounce = setTimeout(refresh, 250)
  }

  function connect() {
    const token = opts.token()
    if (stopped || !token) return
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/sync/live?token=${encodeURIComponent(token)}`)
    ws = sock
    let ended = false
    sock.onmessage = (ev) => {
      let msg: { type?: string }
      try {
        msg = JSON.parse(String(ev.data))
      } catch {
        return
      }
      if (msg.type === 'hello') {
        failures = 0
        live.connected = true
        refresh() // the baseline, or what changed while disconnected
      } else if (msg.type === 'poke') {
        schedule()
      } else if (msg.type === 'closed') {
        ended = true // the session is over: the API client sends the user to the login page
      }
    }
    sock.onclose = () => {
      live.connected = false
      if (ws === sock) ws = null
      if (stopped || ended) return
      retry = setTimeout(connect, backoff(failures++))
    }
  }

  connect()
  return () => {
    stopped = true
    clearTimeout(retry)
    clearTimeout(debounce)
    live.connected = false
    live.open = null
    ws?.close(1000)
    ws = null
  }
}

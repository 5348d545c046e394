import type { Schemas } from '@/api/client'

export type Alert = Schemas['Alert']

/** Tiers in escalation order. */
export const tiers = ['enterprise', 'township', 'county']

export const tierNames: Record<string, string> = { enterprise: '企业', township: '乡镇（街道）', county: '区县' }

export function tierRank(t?: string): number {
  return tiers.indexOf(t ?? '')
}

/** What changed between two snapshots of the open alerts. */
export interface AlertChanges<T = Alert> {
  /** Alerts not in the previous snapshot. */
  fresh: T[]
  /** Alerts now at a higher tier than before. */
  escalated: T[]
}

/**
 * diffAlerts compares the open alerts with what was known (id → tier) and returns the new and
 * the escalated ones, oldest first. known is updated to the current snapshot.
 */
export function diffAlerts<T extends { id?: string; tier?: string }>(known: Map<string, string>, items: readonly T[]): AlertChanges<T> {
  const out: AlertChanges<T> = { fresh: [], escalated: [] }
  const next = new Map<string, string>()
  for (const a of items) {
    if (!a.id) continue
    next.set(a.id, a.tier ?? '')
    const before = known.get(a.id)
    if (before === undefined) out.fresh.push(a)
    else if (tierRank(a.tier) > tierRank(before)) out.escalated.push(a)
  }
  known.clear()
  for (const [k, v] of next) known.set(k, v)
  out.fresh.reverse()
  out.escalated.reverse()
  return out
}

/** backoff is the reconnection delay after n failed attempts: 1 s doubling to 30 s. */
export function backoff(n: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, n))
}

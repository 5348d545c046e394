/** fmtTime shows an RFC 3339 time in Beijing time as YYYY-MM-DD HH:mm:ss ('' when empty). */
export function fmtTime(v?: string | null): string {
  if (!v) return ''
  const d = new Date(v)
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971) return ''
  const bj = new Date(d.getTime() + 8 * 3600_000)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${bj.getUTCFullYear()}-${p(bj.getUTCMonth() + 1)}-${p(bj.getUTCDate())} ${p(bj.getUTCHours())}:${p(bj.getUTCMinutes())}:${p(bj.getUTCSeconds())}`
}

/** fmtDate shows the Beijing date of a time as YYYY-MM-DD. */
export function fmtDate(v?: string | null): string {
  return fmtTime(v).slice(0, 10)
}

/** today returns the Beijing date shifted by `days`, as YYYY-MM-DD. */
export function beijingDay(days = 0, now = Date.now()): string {
  const bj = new Date(now + 8 * 3600_000 + days * 86400_000)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${bj.getUTCFullYear()}-${p(bj.getUTCMonth() + 1)}-${p(bj.getUTCDate())}`
}

/** pct shows a ratio 0–1 as a percentage with one decimal. */
export function pct(r?: number | null): string {
  if (r === undefined || r === null || Number.isNaN(r)) return '—'
  return `${(r * 100).toFixed(1)}%`
}

/** errText is the message of an error to show (the server's Chinese message for an ApiError). */
export function errText(e: unknown, fallback: string): string {
  return e instanceof Error && e.name === 'ApiError' ? e.message : fallback
}

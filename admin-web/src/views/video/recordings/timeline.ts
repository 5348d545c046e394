/**
 * The timeline of a recording for the player: its segments and gaps placed by their offset
 * from the recording's start, so the seek bar shows where the publisher was away.
 */
export interface Span {
  kind: 'segment' | 'gap'
  /** Seconds from the recording's start. */
  start: number
  end: number
  index?: number
}

export interface TimelineInput {
  segments?: { index?: number; offset_ms?: number; duration_ms?: number }[] | null
  gaps?: { offset_ms?: number; duration_ms?: number }[] | null
}

/** spans lists the segments and gaps in time order. */
export function spans(r: TimelineInput): Span[] {
  const out: Span[] = []
  for (const s of r.segments ?? []) {
    const start = (s.offset_ms ?? 0) / 1000
    out.push({ kind: 'segment', start, end: start + (s.duration_ms ?? 0) / 1000, index: s.index })
  }
  for (const g of r.gaps ?? []) {
    const start = (g.offset_ms ?? 0) / 1000
    out.push({ kind: 'gap', start, end: start + (g.duration_ms ?? 0) / 1000 })
  }
  return out.sort((a, b) => a.start - b.start || (a.kind === 'gap' ? -1 : 1))
}

/** total is the length of the timeline in seconds. */
export function total(list: Span[]): number {
  return list.reduce((m, s) => Math.max(m, s.end), 0)
}

/** Where a time on the recording's bar plays: the k-th segment (of the segments in time order) at local seconds into it. */
export interface Place {
  k: number
  local: number
}

/**
 * locate places a time of the recording's timeline in its segments: inside a segment, there;
 * in a gap (or between segments), at the start of the next segment; past the end, at the end
 * of the last one. null when there are no segments.
 */
export function locate(list: Span[], t: number): Place | null {
  const segs = list.filter((s) => s.kind === 'segment')
  if (!segs.length) return null
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]
    if (t < s.start) return { k, local: 0 }
    if (t < s.end) return { k, local: t - s.start }
  }
  const k = segs.length - 1
  return { k, local: segs[k].end - segs[k].start }
}

/** fmtDuration shows milliseconds as H:MM:SS or M:SS. */
export function fmtDuration(ms?: number | null): string {
  const s = Math.round((ms ?? 0) / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** fmtSize shows bytes as KB/MB/GB. */
export function fmtSize(b?: number | null): string {
  const n = b ?? 0
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`
}

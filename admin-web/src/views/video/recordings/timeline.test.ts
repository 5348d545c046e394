import { describe, expect, it } from 'vitest'
import { locate, spans, total } from './timeline'

// Two segments of 4 s with a 3.2 s gap between them (a publisher away), as the API gives them.
const rec = {
  segments: [
    { index: 0, offset_ms: 0, duration_ms: 4000 },
    { index: 1, offset_ms: 7200, duration_ms: 4000 },
  ],
  gaps: [{ offset_ms: 4000, duration_ms: 3200 }],
}

describe('recording timeline', () => {
  it('shows the gap at its place on the bar, not stretched', () => {
    const list = spans(rec)
    expect(list.map((s) => [s.kind, s.start, s.end])).toEqual([
      ['segment', 0, 4], ['gap', 4, 7.2], ['segment', 7.2, 11.2],
    ])
    expect(total(list)).toBe(11.2)
  })
  it('places a time in a segment where it is', () => {
    expect(locate(spans(rec), 2.5)).toEqual({ k: 0, local: 2.5 })
    expect(locate(spans(rec), 8.2)?.k).toBe(1)
    expect(locate(spans(rec), 8.2)?.local).toBeCloseTo(1)
  })
  it('places a time in the gap at the start of the segment after it', () => {
    expect(locate(spans(rec), 5)).toEqual({ k: 1, local: 0 })
    expect(locate(spans(rec), 4)).toEqual({ k: 1, local: 0 })
  })
  it('places a time past the end at the end of the last segment', () => {
    expect(locate(spans(rec), 99)?.k).toBe(1)
    expect(locate(spans(rec), 99)?.local).toBeCloseTo(4)
    expect(locate(spans({ segments: [] }), 1)).toBeNull()
  })
})

import { describe, expect, test } from 'vitest'
import { backoff, diffAlerts } from './diff'

describe('diffAlerts', () => {
  test('new and escalated alerts, oldest first; the snapshot replaces what was known', () => {
    const known = new Map([['a', 'enterprise'], ['b', 'enterprise'], ['c', 'township']])
    const items = [
      { id: 'e', tier: 'enterprise' },
      { id: 'd', tier: 'enterprise' },
      { id: 'b', tier: 'county' },
      { id: 'c', tier: 'township' },
      { id: 'a', tier: 'township' },
    ]
    const ch = diffAlerts(known, items)
    expect(ch.fresh.map((x) => x.id)).toEqual(['d', 'e'])
    expect(ch.escalated.map((x) => x.id)).toEqual(['a', 'b'])
    expect([...known.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(diffAlerts(known, items)).toEqual({ fresh: [], escalated: [] })
  })

  test('a lower tier (never happens) or a closed alert is no news', () => {
    const known = new Map([['a', 'county'], ['b', 'enterprise']])
    const ch = diffAlerts(known, [{ id: 'a', tier: 'enterprise' }])
    expect(ch).toEqual({ fresh: [], escalated: [] })
    expect(known.has('b')).toBe(false)
  })
})

test('backoff doubles from 1 s to at most 30 s', () => {
  expect([0, 1, 2, 3, 4, 5, 10].map(backoff)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
})

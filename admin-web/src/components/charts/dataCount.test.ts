import { describe, expect, it } from 'vitest'
import { dataCount } from './dataCount'

describe('dataCount', () => {
  it('counts the non-zero values of every series, whatever the datum shape', () => {
    expect(dataCount({ series: [{ type: 'bar', data: [0, 3, { value: 2 }, { value: 0 }] }, { type: 'line', data: [['t', 5], ['t', 0]] }] })).toBe(3)
    expect(dataCount({ series: { type: 'pie', data: [{ name: 'a', value: 0 }] } })).toBe(0)
    expect(dataCount({})).toBe(0)
  })
  it('counts a gauge at 0 (a reading, not missing data)', () => {
    expect(dataCount({ series: [{ type: 'gauge', data: [{ value: 0 }] }] })).toBe(1)
    expect(dataCount({ series: [{ type: 'gauge', data: [] }] })).toBe(0)
  })
})

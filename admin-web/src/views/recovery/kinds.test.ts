import { describe, expect, test } from 'vitest'
import { countAtOrBefore, kindName, kindOrder, minutesText } from './kinds'

describe('recovery kinds', () => {
  test('countAtOrBefore counts the positions played so far (fixed-width UTC text)', () => {
    const items = ['2026-12-07T01:00:00.000Z', '2026-12-07T01:00:00.000Z', '2026-12-07T01:05:00.000Z', '2026-12-07T02:00:00.000Z'].map((at) => ({ at }))
    expect(countAtOrBefore(items, '2026-12-07T00:59:59.999Z')).toBe(0)
    expect(countAtOrBefore(items, '2026-12-07T01:00:00.000Z')).toBe(2)
    expect(countAtOrBefore(items, '2026-12-07T01:30:00.000Z')).toBe(3)
    expect(countAtOrBefore(items, '2026-12-07T02:00:00.000Z')).toBe(4)
    expect(countAtOrBefore([], '2026-12-07T02:00:00.000Z')).toBe(0)
  })

  test('minutesText: the server says -1 when a step did not happen', () => {
    expect(minutesText(-1)).toBe('—')
    expect(minutesText(12.5)).toBe('12.5 分钟')
    expect(minutesText(65)).toBe('1 小时 5 分')
    expect(minutesText(120)).toBe('2 小时')
  })

  test('kinds sort in the order an incident runs; an unknown kind keeps its code and goes last', () => {
    expect(['message', 'incident.reported', 'x.new', 'checkin'].sort(kindOrder)).toEqual(['incident.reported', 'checkin', 'message', 'x.new'])
    expect(kindName('feedback')).toBe('现场反馈')
    expect(kindName('x.new')).toBe('x.new')
  })
})

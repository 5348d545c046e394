import { describe, expect, test } from 'vitest'
import { ApiError, fieldError } from './errors'
import { filename, queryString } from './files'
import { IdleWatch, idleMinutes } from '@/composables/idle'

describe('ApiError', () => {
  test('keeps the server code, message, field and bad rows', () => {
    const e = new ApiError(400, { code: 'import.invalid_rows', message: '第 3 行有误', request_id: 'r1',
      data: { errors: [{ row: 3, column: '统一社会信用代码', message: '校验位错误' }] } })
    expect(e.message).toBe('第 3 行有误')
    expect(e.rowErrors).toEqual([{ row: 3, column: '统一社会信用代码', message: '校验位错误' }])
    expect(e.field).toBeUndefined()
  })
  test('falls back to a Chinese message without a body', () => {
    expect(new ApiError(0, undefined).message).toBe('无法连接服务器，请检查网络后重试')
    expect(new ApiError(502, undefined).message).toBe('服务器内部错误，请稍后再试')
  })
  test('fieldError puts the message on the named field only', () => {
    const fields = { credit_code: '', name: '' }
    const e = new ApiError(400, { code: 'enterprise.bad_credit_code', message: '校验位错误', request_id: '', data: { field: 'credit_code' } })
    expect(fieldError(e, fields)).toBe(true)
    expect(fields).toEqual({ credit_code: '校验位错误', name: '' })
    const other = new ApiError(400, { code: 'x', message: 'y', request_id: '', data: { field: 'unknown' } })
    expect(fieldError(other, fields)).toBe(false)
  })
})

describe('files', () => {
  test('queryString leaves out empty values', () => {
    expect(queryString({ q: '临江', page: 2, township_id: '', flag: false, none: undefined })).toBe('?q=%E4%B8%B4%E6%B1%9F&page=2&flag=false')
    expect(queryString({})).toBe('')
  })
  test('filename prefers the UTF-8 name', () => {
    expect(filename(`attachment; filename="enterprises.xlsx"; filename*=UTF-8''%E4%BC%81%E4%B8%9A.xlsx`, 'x')).toBe('企业.xlsx')
    expect(filename('attachment; filename="a.xlsx"', 'x')).toBe('a.xlsx')
    expect(filename(null, '默认.xlsx')).toBe('默认.xlsx')
  })
})

describe('idle logout', () => {
  test('expires after the limit without activity, activity restarts it', () => {
    let now = 0
    const w = new IdleWatch(30 * 60_000, () => now)
    now = 29 * 60_000
    expect(w.expired()).toBe(false)
    w.touch()
    now = 58 * 60_000
    expect(w.expired()).toBe(false)
    expect(w.remainingMs()).toBe(60_000)
    now = 59 * 60_000
    expect(w.expired()).toBe(true)
  })
  test('the limit is configurable and defaults to 30 minutes', () => {
    expect(idleMinutes(undefined)).toBe(30)
    expect(idleMinutes('15')).toBe(15)
    expect(idleMinutes('0')).toBe(30)
    expect(idleMinutes('abc')).toBe(30)
  })
})

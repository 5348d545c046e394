import type { components } from './schema'

/** The body of every error answer of the server. */
export type ErrorBody = components['schemas']['ErrorBody']

/** ApiError is a failed request: the server's code and Chinese message, ready to show. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string
  readonly data: Record<string, unknown>

  constructor(status: number, body: Partial<ErrorBody> | undefined) {
    super(body?.message || defaultMessage(status))
    this.name = 'ApiError'
    this.status = status
    this.code = body?.code || (status === 0 ? 'network' : 'request.failed')
    this.requestId = body?.request_id || ''
    this.data = (body?.data && typeof body.data === 'object' ? body.data : {}) as Record<string, unknown>
  }

  /** The request field the error is about (data.field), when the server names one. */
  get field(): string | undefined {
    return typeof this.data.field === 'string' ? this.data.field : undefined
  }

  /** The bad cells of an import (code import.invalid_rows). */
  get rowErrors(): RowError[] {
    const errs = this.data.errors
    return Array.isArray(errs) ? (errs as RowError[]) : []
  }
}

/** One bad cell of an Excel import. */
export interface RowError {
  row: number
  column?: string
  message: string
}

/** Session-ending codes: the portal goes back to the login page and shows the message. */
export const sessionEnded = (code: string) => code.startsWith('auth.') && code !== 'auth.forbidden'

export function defaultMessage(status: number): string {
  if (status === 0) return '无法连接服务器，请检查网络后重试'
  if (status >= 500) return '服务器内部错误，请稍后再试'
  if (status === 403) return '没有权限执行该操作'
  if (status === 404) return '请求的记录不存在'
  return '请求失败'
}

/** Puts the message of an error on its form field; returns false when it names no known field. */
export function fieldError(err: unknown, fields: Record<string, string>): boolean {
  if (!(err instanceof ApiError) || !err.field || !(err.field in fields)) return false
  fields[err.field] = err.message
  return true
}

import { authHeader, reportError } from '@/api/client'
import { ApiError } from '@/api/errors'
import { queryString, type Query } from '@/api/files'

/** Risk levels (server/risk/risk.go): colour name, long name, tag colours. */
export const riskLevels: { value: string; name: string; long: string; color: string; text: string }[] = [
  { value: 'red', name: '红', long: '重大风险', color: '#d4261c', text: '#fff' },
  { value: 'orange', name: '橙', long: '较大风险', color: '#a85200', text: '#fff' },
  { value: 'yellow', name: '黄', long: '一般风险', color: '#f2c300', text: '#303133' },
  { value: 'blue', name: '蓝', long: '低风险', color: '#1f5fbf', text: '#fff' },
]

/** riskLevel finds a level by code (undefined when unknown). */
export const riskLevel = (v?: string) => riskLevels.find((l) => l.value === v)

/** Control measure kinds in display order (server/risk/risk.go). */
export const measureKinds: Record<string, string> = {
  engineering: '工程技术', management: '管理', training: '培训教育', ppe: '个体防护', emergency: '应急处置',
}

/** Check frequencies of a checklist (server/patrol/calendar.go). */
export const frequencies: Record<string, string> = { daily: '每日', weekly: '每周', monthly: '每月', shift: '每班' }

/**
 * fetchBlob GETs an API resource that is not JSON (a PNG) with the session and returns it with
 * its headers; an error answer becomes an ApiError with the server's message.
 */
export async function fetchBlob(path: string, query: Query = {}): Promise<{ blob: Blob; headers: Headers }> {
  let res: Response
  try {
    res = await fetch(path + queryString(query), { headers: authHeader() })
  } catch {
    throw new ApiError(0, undefined)
  }
  if (!res.ok) {
    let body
    try {
      body = await res.json()
    } catch {
      body = undefined
    }
    const err = new ApiError(res.status, body)
    reportError(err)
    throw err
  }
  return { blob: await res.blob(), headers: res.headers }
}

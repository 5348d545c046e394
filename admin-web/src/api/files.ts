import { ApiError, type ErrorBody } from './errors'
import { authHeader, reportError } from './client'

/** Query values of list filters: empty values are left out. */
export type Query = Record<string, string | number | boolean | undefined | null>

export function queryString(q: Query): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  }
  const s = p.toString()
  return s ? `?${s}` : ''
}

async function failure(res: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> | undefined
  try {
    body = await res.json()
  } catch {
    body = undefined
  }
  const err = new ApiError(res.status, body)
  reportError(err)
  return err
}

/** filename reads the name from Content-Disposition (RFC 5987 filename* first). */
export function filename(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition)
  if (star) return decodeURIComponent(star[1])
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition)
  return plain ? plain[1] : fallback
}

/** download fetches an Excel file of the API with the session and saves it. */
export async function download(path: string, query: Query, fallbackName: string): Promise<string> {
  let res: Response
  try {
    res = await fetch(path + queryString(query), { headers: authHeader() })
  } catch {
    throw new ApiError(0, undefined)
  }
  if (!res.ok) throw await failure(res)
  const blob = await res.blob()
  const name = filename(res.headers.get('Content-Disposition'), fallbackName)
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return name
}

/** upload posts a file as multipart field "file", reporting the upload progress (0–100). */
export function upload<T>(path: string, file: File, progress: (pct: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', path)
    for (const [k, v] of Object.entries(authHeader())) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(Math.round((e.loaded / e.total) * 100))
    }
    xhr.onerror = () => reject(new ApiError(0, undefined))
    xhr.onload = () => {
      let body: unknown
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = undefined
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(100)
        resolve(body as T)
        return
      }
      const err = new ApiError(xhr.status, body as Partial<ErrorBody>)
      reportError(err)
      reject(err)
    }
    const form = new FormData()
    form.append('file', file)
    xhr.send(form)
  })
}

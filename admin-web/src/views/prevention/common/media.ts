import { api, authHeader, must } from '@/api/client'
import { ApiError } from '@/api/errors'

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')
}

function b64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)))
}

async function fail(res: Response): Promise<ApiError> {
  let body
  try {
    body = await res.json()
  } catch {
    body = undefined
  }
  return new ApiError(res.status, body)
}

/**
 * uploadPhoto uploads a file with the tus protocol of /api/v1/media/uploads (creation with
 * upload, then the rest if the server took only part) and returns its SHA-256, by which
 * records refer to it. A file the server already holds is not sent again.
 */
export async function uploadPhoto(file: File): Promise<string> {
  const buf = await file.arrayBuffer()
  const sha = hex(await crypto.subtle.digest('SHA-256', buf))
  const meta = `sha256 ${b64(sha)},filename ${b64(file.name)},content_type ${b64(file.type || 'application/octet-stream')}`
  let res: Response
  try {
    res = await fetch('/api/v1/media/uploads', {
      method: 'POST',
      headers: { ...authHeader(), 'Tus-Resumable': '1.0.0', 'Upload-Length': String(buf.byteLength), 'Upload-Metadata': meta,
        'Content-Type': 'application/offset+octet-stream' },
      body: buf,
    })
  } catch {
    throw new ApiError(0, undefined)
  }
  if (!res.ok) throw await fail(res)
  let offset = Number(res.headers.get('Upload-Offset') ?? 0)
  const location = res.headers.get('Location')
  if (offset < buf.byteLength && location) {
    const r2 = await fetch(location, {
      method: 'PATCH',
      headers: { ...authHeader(), 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      body: buf.slice(offset),
    })
    if (!r2.ok) throw await fail(r2)
    offset = Number(r2.headers.get('Upload-Offset') ?? 0)
  }
  if (offset < buf.byteLength) throw new ApiError(500, { code: 'media.incomplete', message: '照片上传未完成，请重试' })
  return sha
}

/** signedThumb returns a short-lived URL of a photo's thumbnail (or original) that an <img> can load. */
export async function signedUrl(sha: string, variant: 'thumb320' | 'thumb1280' | 'original' = 'thumb320'): Promise<string> {
  const r = await must(api.POST('/api/v1/media/{sha256}/signed-url', { params: { path: { sha256: sha } }, body: { variant, ttl_seconds: 600 } }))
  return r.url ?? ''
}

/** mediaInfo returns a file's information: EXIF time and place, status. */
export function mediaInfo(sha: string) {
  return must(api.GET('/api/v1/media/{sha256}/info', { params: { path: { sha256: sha } } }))
}

import createClient from 'openapi-fetch'
import type { paths, components } from './schema'
import { ApiError, type ErrorBody } from './errors'

export type Schemas = components['schemas']

/** Hooks the session store installs: the token to send and what to do when the session ends. */
export interface AuthHooks {
  token(): string | null
  ended(err: ApiError): void
}

let hooks: AuthHooks = { token: () => null, ended: () => {} }

/** setAuthHooks connects the client to the session store. */
export function setAuthHooks(h: AuthHooks) {
  hooks = h
}

/** authHeader returns the Authorization header of the current session. */
export function authHeader(): Record<string, string> {
  const t = hooks.token()
  return t ? { Authorization: `Bearer ${t}` } : {}
}

/** The typed client of the server's API (types generated from openapi.json). */
export const api = createClient<paths>({ baseUrl: '' })

api.use({
  onRequest({ request }) {
    const t = hooks.token()
    if (t && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${t}`)
    return request
  },
})

/** reportUnauthorized lets the session store end the session on a 401. */
export function reportError(err: ApiError) {
  if (err.status === 401) hooks.ended(err)
}

interface Result<T> {
  data?: T
  error?: unknown
  response: Response
}

/** must waits for a request and returns its data, or throws an ApiError with the server's message. */
export async function must<T>(p: Promise<Result<T>>): Promise<T> {
  let r: Result<T>
  try {
    r = await p
  } catch {
    throw new ApiError(0, undefined)
  }
  if (r.response.ok) return r.data as T
  const err = new ApiError(r.response.status, r.error as Partial<ErrorBody> | undefined)
  reportError(err)
  throw err
}

import { defineStore } from 'pinia'
import { api, must, setAuthHooks, type Schemas } from '@/api/client'
import { ApiError } from '@/api/errors'

export type LoginUser = Schemas['LoginUser']

const TOKEN_KEY = 'yingji.token'
const USER_KEY = 'yingji.user'
const DEVICE_KEY = 'yingji.device'

/** deviceId identifies this browser to the server (one web session per account and device). */
function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY)
  if (!id) {
    const rnd = new Uint8Array(12)
    crypto.getRandomValues(rnd)
    id = 'web-' + Array.from(rnd, (b) => b.toString(16).padStart(2, '0')).join('')
    localStorage.setItem(DEVICE_KEY, id)
  }
  return id
}

function readUser(): LoginUser | null {
  try {
    const raw = sessionStorage.getItem(USER_KEY)
    return raw ? (JSON.parse(raw) as LoginUser) : null
  } catch {
    return null
  }
}

/** The signed-in user, the session token and why the last session ended. */
export const useSession = defineStore('session', {
  state: () => ({
    token: sessionStorage.getItem(TOKEN_KEY) as string | null,
    user: readUser(),
    /** The message shown on the login page after a session ended (replaced, expired, idle). */
    notice: '',
  }),
  getters: {
    loggedIn: (s) => !!s.token && !!s.user,
    permissions: (s) => new Set(s.user?.permissions ?? []),
  },
  actions: {
    /** can tells whether the role has a permission code (the server still enforces). */
    can(code: string): boolean {
      return this.permissions.has(code)
    },
    async login(username: string, password: string) {
      const res = await must(
        api.POST('/api/v1/auth/login', { body: { username, password, client: 'web', device_id: deviceId() } }),
      )
      this.token = res.token ?? null
      this.user = res.user ?? null
      this.notice = ''
      this.persist()
    },
    /** refresh reloads the user, role and permissions from the server. */
    async refresh() {
      this.user = await must(api.GET('/api/v1/auth/me'))
      this.persist()
    },
    async logout(notice = '') {
      if (this.token) {
        try {
          await must(api.POST('/api/v1/auth/logout'))
        } catch {
          // the session may already be over; leaving is what matters
        }
      }
      this.end(notice)
    },
    /** end forgets the session locally, keeping a message for the login page. */
    end(notice = '') {
      this.token = null
      this.user = null
      this.notice = notice
      this.persist()
    },
    persist() {
      if (this.token && this.user) {
        sessionStorage.setItem(TOKEN_KEY, this.token)
        sessionStorage.setItem(USER_KEY, JSON.stringify(this.user))
      } else {
        sessionStorage.removeItem(TOKEN_KEY)
        sessionStorage.removeItem(USER_KEY)
      }
    },
  },
})

/** installSessionHooks lets the API client use the token and report ended sessions. */
export function installSessionHooks(session: ReturnType<typeof useSession>, onEnded: () => void) {
  setAuthHooks({
    token: () => session.token,
    ended: (err: ApiError) => {
      if (!session.token) return
      session.end(err.message)
      onEnded()
    },
  })
}

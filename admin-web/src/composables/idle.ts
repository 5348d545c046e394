import { onBeforeUnmount, onMounted } from 'vue'

/** Default idle time before the portal logs out, in minutes. */
export const DEFAULT_IDLE_MINUTES = 30

/**
 * idleMinutes is the configured idle logout time: VITE_IDLE_MINUTES at build time, else 30.
 * A value below 1 or not a number falls back to the default.
 */
export function idleMinutes(configured: unknown = import.meta.env.VITE_IDLE_MINUTES): number {
  const n = Number(configured)
  return Number.isFinite(n) && n >= 1 ? n : DEFAULT_IDLE_MINUTES
}

/** IdleWatch tells whether the user did nothing for longer than the limit. */
export class IdleWatch {
  private last: number
  constructor(
    readonly limitMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now()
  }
  /** touch records activity. */
  touch() {
    this.last = this.now()
  }
  /** expired is true once the limit passed without activity. */
  expired(): boolean {
    return this.now() - this.last >= this.limitMs
  }
  /** remainingMs until expiry (0 when expired). */
  remainingMs(): number {
    return Math.max(0, this.limitMs - (this.now() - this.last))
  }
}

const activity = ['mousedown', 'mousemove', 'keydown', 'wheel', 'touchstart', 'scroll'] as const

/** useIdleLogout calls onIdle once after `minutes` without mouse, keyboard or touch activity. */
export function useIdleLogout(minutes: number, onIdle: () => void) {
  const watch = new IdleWatch(minutes * 60_000)
  let timer: ReturnType<typeof setInterval> | undefined
  const touch = () => watch.touch()
  onMounted(() => {
    activity.forEach((ev) => window.addEventListener(ev, touch, { passive: true, capture: true }))
    timer = setInterval(() => {
      if (watch.expired()) {
        clearInterval(timer)
        onIdle()
      }
    }, 5_000)
  })
  onBeforeUnmount(() => {
    activity.forEach((ev) => window.removeEventListener(ev, touch, { capture: true }))
    clearInterval(timer)
  })
  return watch
}

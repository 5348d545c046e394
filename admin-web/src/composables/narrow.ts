import { onBeforeUnmount, ref } from 'vue'

/** Below this width (a phone, a small tablet held upright) the menu is a drawer and lists are cards. */
export const NARROW_PX = 768

/** useNarrow is true while the window is narrower than NARROW_PX. */
export function useNarrow() {
  const mq = window.matchMedia(`(max-width: ${NARROW_PX - 1}px)`)
  const narrow = ref(mq.matches)
  const on = (e: MediaQueryListEvent) => (narrow.value = e.matches)
  mq.addEventListener('change', on)
  onBeforeUnmount(() => mq.removeEventListener('change', on))
  return narrow
}

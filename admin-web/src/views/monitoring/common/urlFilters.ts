import { reactive, watch } from 'vue'
import { useRoute, useRouter, type LocationQuery } from 'vue-router'

/** String filters of a list page, kept in the URL query so that other pages can deep-link. */
export type Filters = Record<string, string>

function same(a: LocationQuery, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== '' && a[k] != null)
  const kb = Object.keys(b)
  return ka.length === kb.length && kb.every((k) => a[k] === b[k])
}

/**
 * useUrlFilters keeps a list's filters in the URL query: they are read from it when the page
 * opens (e.g. /alerts?open=true&level=2) and written back on search, and onChange runs (the
 * list reloads from page 1) whenever the query changes, also by a link to the same page.
 */
export function useUrlFilters<T extends Filters>(defaults: T, onChange: () => void) {
  const route = useRoute()
  const router = useRouter()
  const name = route.name
  const filters = reactive({ ...defaults }) as T

  function fromQuery() {
    for (const k of Object.keys(defaults) as (keyof T & string)[]) {
      const v = route.query[k]
      ;(filters as Filters)[k] = typeof v === 'string' ? v : defaults[k]
    }
  }
  fromQuery()

  function current(): Record<string, string> {
    const q: Record<string, string> = {}
    for (const [k, v] of Object.entries(filters)) if (v !== '' && v != null) q[k] = String(v)
    return q
  }

  /** apply writes the filters into the URL and reloads. */
  function apply() {
    const q = current()
    if (same(route.query, q)) onChange()
    else router.replace({ query: q })
  }

  /** reset clears every filter and reloads. */
  function reset() {
    Object.assign(filters, defaults)
    apply()
  }

  watch(
    () => route.query,
    () => {
      if (route.name !== name) return
      fromQuery()
      onChange()
    },
  )
  return { filters, apply, reset }
}

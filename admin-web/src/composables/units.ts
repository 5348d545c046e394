import { computed, ref } from 'vue'
import { api, must, type Schemas } from '@/api/client'

export type Unit = Schemas['Unit']

/** Chinese names of the unit levels. */
export const levelNames: Record<string, string> = { city: '市', district: '区县', township: '乡镇（街道）', grid: '网格' }

const units = ref<Unit[]>([])
let loading: Promise<void> | null = null

/** useUnits loads the org units in the user's scope once and offers lookups. */
export function useUnits() {
  const byId = computed(() => new Map(units.value.map((u) => [u.id!, u])))
  const townships = computed(() => units.value.filter((u) => u.level === 'township'))
  const load = (force = false) => {
    if (force || !loading) {
      loading = must(api.GET('/api/v1/org-units')).then((p) => {
        units.value = p.items ?? []
      })
      loading.catch(() => (loading = null))
    }
    return loading
  }
  const name = (id?: string) => (id ? (byId.value.get(id)?.name ?? '') : '')
  const gridsOf = (townshipId?: string) => units.value.filter((u) => u.level === 'grid' && u.parent_id === townshipId)
  return { units, byId, townships, load, name, gridsOf }
}

/** forgetUnits drops the cache (after a change or a logout). */
export function forgetUnits() {
  units.value = []
  loading = null
}

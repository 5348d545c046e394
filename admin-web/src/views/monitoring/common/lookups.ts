import { computed, ref } from 'vue'
import { api, must, type Schemas } from '@/api/client'

export type EnterpriseRef = Schemas['Enterprise']
export type MonitorKinds = Schemas['MonitorKinds']

const enterprises = ref<EnterpriseRef[]>([])
let entLoading: Promise<void> | null = null

/** useEnterprises loads the enterprises in the user's scope (up to 500) once, for names and pickers. */
export function useEnterprises() {
  const byId = computed(() => new Map(enterprises.value.map((e) => [e.id!, e])))
  const load = () => {
    if (!entLoading) {
      entLoading = must(api.GET('/api/v1/enterprises', { params: { query: { page_size: 500, sort: 'name' } } })).then((p) => {
        enterprises.value = p.items ?? []
      })
      entLoading.catch(() => (entLoading = null))
    }
    return entLoading
  }
  const name = (id?: string | null) => (id ? (byId.value.get(id)?.name ?? '') : '')
  return { enterprises, byId, load, name }
}

const kinds = ref<MonitorKinds | null>(null)
let kindsLoading: Promise<void> | null = null

/** useMonitorKinds loads the device categories, device kinds and point kinds once. */
export function useMonitorKinds() {
  const load = () => {
    if (!kindsLoading) {
      kindsLoading = must(api.GET('/api/v1/monitor/kinds')).then((k) => {
        kinds.value = k
      })
      kindsLoading.catch(() => (kindsLoading = null))
    }
    return kindsLoading
  }
  const categoryName = (c?: string) => (c ? (kinds.value?.categories?.[c] ?? c) : '')
  const deviceKindName = (k?: string) => (k ? (kinds.value?.device_kinds?.[k] ?? k) : '')
  const pointKindName = (k?: string) => (k ? (kinds.value?.point_kinds?.find((p) => p.kind === k)?.name ?? k) : '')
  return { kinds, load, categoryName, deviceKindName, pointKindName }
}

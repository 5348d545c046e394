import { computed, ref } from 'vue'
import { api, must, type Schemas } from '@/api/client'

type RiskPoint = Schemas['RiskPoint']
type User = Schemas['User']

const points = ref<RiskPoint[]>([])
let pointsLoading: Promise<void> | null = null

/** useRiskPoints loads the risk points in the user's scope (up to 500) once, for names and pickers. */
export function useRiskPoints() {
  const byId = computed(() => new Map(points.value.map((p) => [p.id!, p])))
  const load = (force = false) => {
    if (force || !pointsLoading) {
      pointsLoading = must(api.GET('/api/v1/risk-points', { params: { query: { page_size: 500, sort: 'code' } } })).then((p) => {
        points.value = p.items ?? []
      })
      pointsLoading.catch(() => (pointsLoading = null))
    }
    return pointsLoading
  }
  const label = (id?: string) => {
    const p = id ? byId.value.get(id) : undefined
    return p ? `${p.code} ${p.name}` : (id ?? '')
  }
  return { points, byId, load, label }
}

const users = ref<User[]>([])
let usersLoading: Promise<void> | null = null

/** useUsers loads the users in the user's scope (up to 500) once, for assignee names; without user:read it stays empty. */
export function useUsers() {
  const byId = computed(() => new Map(users.value.map((u) => [u.id!, u])))
  const load = () => {
    if (!usersLoading) {
      usersLoading = must(api.GET('/api/v1/users', { params: { query: { page_size: 500 } } })).then((p) => {
        users.value = p.items ?? []
      })
      usersLoading.catch(() => (usersLoading = null))
    }
    return usersLoading
  }
  const name = (id?: string) => (id ? (byId.value.get(id)?.name ?? '') : '')
  return { users, byId, load, name }
}

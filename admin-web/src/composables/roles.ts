import { ref } from 'vue'
import { api, must, type Schemas } from '@/api/client'

export type RoleInfo = Schemas['RoleInfo']

const roles = ref<RoleInfo[]>([])
let loading: Promise<void> | null = null

/** useRoles loads the roles (name, scope, permissions) once. */
export function useRoles() {
  const load = () => {
    if (!loading) {
      loading = must(api.GET('/api/v1/roles')).then((r) => {
        roles.value = r
      })
      loading.catch(() => (loading = null))
    }
    return loading
  }
  const roleName = (code?: string) => roles.value.find((r) => r.code === code)?.name ?? code ?? ''
  const scopeOf = (code?: string) => roles.value.find((r) => r.code === code)?.scope ?? 'org'
  return { roles, load, roleName, scopeOf }
}

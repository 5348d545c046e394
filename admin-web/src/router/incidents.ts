import type { RouteRecordRaw } from 'vue-router'
import { Aim, List } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of the response pages (应急响应): the incident list and the command map. */
export const incidentsMenu: MenuEntry[] = [
  { path: '/incidents', title: '事件管理', perm: 'incident:read', group: 'respond', icon: List },
  { path: '/command', title: '应急指挥一张图', perm: 'incident:read', group: 'respond', icon: Aim },
]

/** Routes of the response pages, children of the main layout. */
export const incidentsRoutes: RouteRecordRaw[] = [
  { path: 'incidents', name: 'incidents', component: () => import('@/views/incidents/IncidentsView.vue'), meta: { title: '事件管理', perm: 'incident:read' } },
  { path: 'command', name: 'command', component: () => import('@/views/incidents/CommandMap.vue'), meta: { title: '应急指挥一张图', perm: 'incident:read' } },
]

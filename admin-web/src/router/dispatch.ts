import type { RouteRecordRaw } from 'vue-router'
import { Van } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of dispatch (救援资源调度), under 应急响应. */
export const dispatchMenu: MenuEntry[] = [
  { path: '/dispatch', title: '调度指令', perm: 'dispatch:read', group: 'respond', icon: Van },
]

export const dispatchRoutes: RouteRecordRaw[] = [
  { path: 'dispatch', name: 'dispatch', component: () => import('@/views/dispatch/DispatchOrdersView.vue'), meta: { title: '调度指令', perm: 'dispatch:read' } },
]

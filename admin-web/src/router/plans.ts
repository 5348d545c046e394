import type { RouteRecordRaw } from 'vue-router'
import { Notebook, Reading, Search } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of the plan and knowledge-base pages (path from the site root, permission code). */
export const plansMenu: MenuEntry[] = [
  { path: '/plans', title: '应急预案', perm: 'plan:read', group: 'prepare', icon: Notebook },
  { path: '/plan-search', title: '预案检索', perm: 'plan:read', group: 'prepare', icon: Search },
  { path: '/knowledge', title: '应急知识库', perm: 'plan:read', group: 'prepare', icon: Reading },
]

/** Routes of the plan and knowledge-base pages, children of the main layout (paths without a leading slash). */
export const plansRoutes: RouteRecordRaw[] = [
  { path: 'plans', name: 'plans', component: () => import('@/views/plans/PlansView.vue'), meta: { title: '应急预案', perm: 'plan:read' } },
  { path: 'plans/:id', name: 'plan', component: () => import('@/views/plans/PlanView.vue'), meta: { title: '预案详情', perm: 'plan:read' } },
  { path: 'plan-search', name: 'plan-search', component: () => import('@/views/plans/PlanSearchView.vue'), meta: { title: '预案检索', perm: 'plan:read' } },
  { path: 'knowledge', name: 'knowledge', component: () => import('@/views/knowledge/KnowledgeView.vue'), meta: { title: '应急知识库', perm: 'plan:read' } },
]

import type { RouteRecordRaw } from 'vue-router'

/** Side-menu entries of the prevention pages (path relative to the site root, permission code). */
export const preventionMenu: { path: string; title: string; perm?: string }[] = [
  { path: '/hazards', title: '隐患', perm: 'risk:read' },
  { path: '/prevention-stats', title: '统计', perm: 'risk:read' },
]

/** Routes of the prevention pages, children of the main layout (paths without a leading slash). */
export const preventionRoutes: RouteRecordRaw[] = [
  { path: 'hazards', name: 'hazards', component: () => import('@/views/prevention/hazards/HazardsView.vue'), meta: { title: '隐患', perm: 'risk:read' } },
  { path: 'prevention-stats', name: 'prevention-stats', component: () => import('@/views/prevention/stats/PreventionStatsView.vue'), meta: { title: '统计', perm: 'risk:read' } },
]

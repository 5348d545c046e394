import type { RouteRecordRaw } from 'vue-router'

/** Side-menu entries of the prevention pages (path relative to the site root, permission code). */
export const preventionMenu: { path: string; title: string; perm?: string }[] = [
  { path: '/risk-points', title: '风险点', perm: 'risk:read' },
  { path: '/checklists', title: '巡查清单', perm: 'risk:read' },
  { path: '/patrols', title: '巡查记录', perm: 'risk:read' },
  { path: '/hazards', title: '隐患', perm: 'risk:read' },
  { path: '/prevention-stats', title: '统计', perm: 'risk:read' },
]

/** Routes of the prevention pages, children of the main layout (paths without a leading slash). */
export const preventionRoutes: RouteRecordRaw[] = [
  { path: 'risk-points', name: 'risk-points', component: () => import('@/views/prevention/risk/RiskPointsView.vue'), meta: { title: '风险点', perm: 'risk:read' } },
  { path: 'checklists', name: 'checklists', component: () => import('@/views/prevention/checklists/ChecklistsView.vue'), meta: { title: '巡查清单', perm: 'risk:read' } },
  { path: 'patrols', name: 'patrols', component: () => import('@/views/prevention/patrols/PatrolsView.vue'), meta: { title: '巡查记录', perm: 'risk:read' } },
  { path: 'hazards', name: 'hazards', component: () => import('@/views/prevention/hazards/HazardsView.vue'), meta: { title: '隐患', perm: 'risk:read' } },
  { path: 'prevention-stats', name: 'prevention-stats', component: () => import('@/views/prevention/stats/PreventionStatsView.vue'), meta: { title: '统计', perm: 'risk:read' } },
]

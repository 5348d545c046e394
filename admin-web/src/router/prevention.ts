import type { RouteRecordRaw } from 'vue-router'
import { Calendar, DocumentChecked, Location, WarnTriangleFilled, PieChart } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of the prevention pages (path relative to the site root, permission code). */
export const preventionMenu: MenuEntry[] = [
  { path: '/risk-points', title: '风险点', perm: 'risk:read', group: 'prepare', icon: Location },
  { path: '/checklists', title: '巡查清单', perm: 'risk:read', group: 'prepare', icon: Calendar },
  { path: '/patrols', title: '巡查记录', perm: 'risk:read', group: 'prepare', icon: DocumentChecked },
  { path: '/hazards', title: '隐患', perm: 'risk:read', group: 'prepare', icon: WarnTriangleFilled },
  { path: '/prevention-stats', title: '巡查与隐患统计', perm: 'risk:read', group: 'stats', icon: PieChart },
]

/** Routes of the prevention pages, children of the main layout (paths without a leading slash). */
export const preventionRoutes: RouteRecordRaw[] = [
  { path: 'risk-points', name: 'risk-points', component: () => import('@/views/prevention/risk/RiskPointsView.vue'), meta: { title: '风险点', perm: 'risk:read' } },
  { path: 'checklists', name: 'checklists', component: () => import('@/views/prevention/checklists/ChecklistsView.vue'), meta: { title: '巡查清单', perm: 'risk:read' } },
  { path: 'patrols', name: 'patrols', component: () => import('@/views/prevention/patrols/PatrolsView.vue'), meta: { title: '巡查记录', perm: 'risk:read' } },
  { path: 'hazards', name: 'hazards', component: () => import('@/views/prevention/hazards/HazardsView.vue'), meta: { title: '隐患', perm: 'risk:read' } },
  { path: 'prevention-stats', name: 'prevention-stats', component: () => import('@/views/prevention/stats/PreventionStatsView.vue'), meta: { title: '统计', perm: 'risk:read' } },
]

import type { RouteRecordRaw } from 'vue-router'
import { DocumentChecked, VideoPlay } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/**
 * Side-menu entries of recovery (恢复重建): the timeline replay and the assessment reports. The
 * server lets everyone who may read an incident read its replay and reports (incident:read,
 * scoped per incident); writing a report is for headquarters (incident:write holders), which the
 * pages check for their buttons.
 */
export const recoveryMenu: MenuEntry[] = [
  { path: '/replay', title: '灾后复盘', perm: 'incident:read', group: 'recover', icon: VideoPlay },
  { path: '/assessments', title: '应急评估', perm: 'incident:read', group: 'recover', icon: DocumentChecked },
]

/** Routes of the recovery pages, children of the main layout. */
export const recoveryRoutes: RouteRecordRaw[] = [
  { path: 'replay', name: 'replay', component: () => import('@/views/recovery/ReplayView.vue'), meta: { title: '灾后复盘', perm: 'incident:read' } },
  { path: 'assessments', name: 'assessments', component: () => import('@/views/recovery/AssessmentsView.vue'), meta: { title: '应急评估', perm: 'incident:read' } },
  { path: 'assessments/:id', name: 'assessment', component: () => import('@/views/recovery/AssessmentView.vue'), meta: { title: '评估报告', perm: 'incident:read' } },
]

import type { RouteRecordRaw } from 'vue-router'
import { Bell, Cpu, Odometer, Postcard, TrendCharts } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of the monitoring pages (path relative to the site root, permission code). */
export const monitoringMenu: MenuEntry[] = [
  { path: '/devices', title: '监测设备', perm: 'monitor:read', group: 'monitor', icon: Cpu },
  { path: '/monitor-points', title: '监测点', perm: 'monitor:read', group: 'monitor', icon: Odometer },
  { path: '/alerts', title: '预警', perm: 'alert:read', group: 'monitor', icon: Bell },
  { path: '/alert-receivers', title: '预警接收人', perm: 'alert:config', group: 'monitor', icon: Postcard },
  { path: '/alert-stats', title: '预警统计', perm: 'alert:read', group: 'stats', icon: TrendCharts },
]

/** Routes of the monitoring pages, children of the main layout (paths without a leading slash). */
export const monitoringRoutes: RouteRecordRaw[] = [
  { path: 'devices', name: 'devices', component: () => import('@/views/monitoring/devices/DevicesView.vue'), meta: { title: '监测设备', perm: 'monitor:read' } },
  { path: 'monitor-points', name: 'monitor-points', component: () => import('@/views/monitoring/points/PointsView.vue'), meta: { title: '监测点', perm: 'monitor:read' } },
  { path: 'monitor-points/:id', name: 'monitor-point-readings', component: () => import('@/views/monitoring/points/ReadingsView.vue'), meta: { title: '监测曲线', perm: 'monitor:read' } },
  { path: 'alerts', name: 'alerts', component: () => import('@/views/monitoring/alerts/AlertsView.vue'), meta: { title: '预警', perm: 'alert:read' } },
  { path: 'alert-receivers', name: 'alert-receivers', component: () => import('@/views/monitoring/alerts/ReceiversView.vue'), meta: { title: '预警接收人', perm: 'alert:config' } },
  { path: 'alert-stats', name: 'alert-stats', component: () => import('@/views/monitoring/alerts/AlertStatsView.vue'), meta: { title: '预警统计', perm: 'alert:read' } },
]

import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useSession } from '@/stores/session'
import { monitoringMenu, monitoringRoutes } from './monitoring'
import { preventionMenu, preventionRoutes } from './prevention'
import type { MenuEntry } from './menu'
import { DataBoard, HomeFilled, MapLocation, OfficeBuilding, Tickets, User, Histogram } from '@element-plus/icons-vue'
import { plansMenu, plansRoutes } from './plans'
import { resourcesMenu, resourcesRoutes } from './resources'
import { incidentsMenu, incidentsRoutes } from './incidents'
import { dispatchMenu, dispatchRoutes } from './dispatch'
import { recordingsMenu, recordingsRoutes } from './recordings'
import { videoMenu, videoRoutes } from './video'
import { recoveryMenu, recoveryRoutes } from './recovery'

declare module 'vue-router' {
  interface RouteMeta {
    /** Page title (Chinese), shown in the tab and the header. */
    title?: string
    /** Permission code the page needs; the menu hides it and the router refuses it without. */
    perm?: string
    /** Reachable without a session. */
    public?: boolean
  }
}

/**
 * The pages of the side menu, in order within their group (router/menu.ts groups them: each
 * module's entries name their group; an entry without one goes to 预防准备).
 */
export const menu: readonly MenuEntry[] = [
  { path: '/', title: '首页', group: 'home', icon: HomeFilled },
  { path: '/map', title: '一张图', group: 'home', icon: MapLocation },
  { path: '/bigscreen', title: '指挥大屏', group: 'home', icon: DataBoard },
  ...preventionMenu,
  ...monitoringMenu,
  ...plansMenu,
  ...resourcesMenu,
  ...incidentsMenu,
  ...dispatchMenu,
  ...recordingsMenu,
  ...videoMenu,
  ...recoveryMenu,
  { path: '/org-units', title: '组织机构', perm: 'org:read', group: 'system', icon: OfficeBuilding },
  { path: '/enterprises', title: '企业管理', perm: 'enterprise:read', group: 'system', icon: Histogram },
  { path: '/users', title: '用户管理', perm: 'user:read', group: 'system', icon: User },
  { path: '/audit', title: '审计日志', perm: 'audit:read', group: 'system', icon: Tickets },
]

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/views/auth/LoginView.vue'), meta: { title: '登录', public: true } },
  { path: '/bigscreen', name: 'bigscreen', component: () => import('@/views/bigscreen/BigScreenView.vue'), meta: { title: '指挥大屏' } },
  {
    path: '/',
    component: () => import('@/layout/MainLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('@/views/dashboard/DashboardView.vue'), meta: { title: '首页' } },
      { path: 'map', name: 'map', component: () => import('@/views/map/MapView.vue'), meta: { title: '一张图' } },
      { path: 'password', name: 'password', component: () => import('@/views/auth/ChangePasswordView.vue'), meta: { title: '修改密码' } },
      { path: 'org-units', name: 'org-units', component: () => import('@/views/org/OrgUnitsView.vue'), meta: { title: '组织机构', perm: 'org:read' } },
      { path: 'enterprises', name: 'enterprises', component: () => import('@/views/enterprises/EnterprisesView.vue'), meta: { title: '企业管理', perm: 'enterprise:read' } },
      { path: 'users', name: 'users', component: () => import('@/views/users/UsersView.vue'), meta: { title: '用户管理', perm: 'user:read' } },
      { path: 'audit', name: 'audit', component: () => import('@/views/audit/AuditView.vue'), meta: { title: '审计日志', perm: 'audit:read' } },
      ...preventionRoutes,
      ...monitoringRoutes,
      ...plansRoutes,
      ...resourcesRoutes,
      ...incidentsRoutes,
      ...dispatchRoutes,
      ...recordingsRoutes,
      ...videoRoutes,
      ...recoveryRoutes,
      { path: 'forbidden', name: 'forbidden', component: () => import('@/views/errors/ForbiddenView.vue'), meta: { title: '无权访问' } },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/views/errors/NotFoundView.vue'), meta: { title: '页面不存在' } },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach((to) => {
  const session = useSession()
  if (to.meta.public) return session.loggedIn && to.name === 'login' ? { name: 'home' } : true
  if (!session.loggedIn) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  if (session.user?.must_change_password && to.name !== 'password') return { name: 'password' }
  if (to.meta.perm && !session.can(to.meta.perm)) return { name: 'forbidden' }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} - 应急管理综合平台` : '应急管理综合平台'
})

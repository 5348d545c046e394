import type { RouteRecordRaw } from 'vue-router'
import { Aim, Avatar, Box, FirstAidKit, House, School, UserFilled, Van } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entries of the emergency resource pages (应急资源保障). */
export const resourcesMenu: MenuEntry[] = [
  { path: '/resources/supplies', title: '物资装备', perm: 'resource:read', group: 'prepare', icon: Box },
  { path: '/resources/depots', title: '储备库', perm: 'resource:read', group: 'prepare', icon: House },
  { path: '/resources/teams', title: '救援队伍', perm: 'resource:read', group: 'prepare', icon: UserFilled },
  { path: '/resources/experts', title: '应急专家', perm: 'resource:read', group: 'prepare', icon: Avatar },
  { path: '/resources/shelters', title: '避难场所', perm: 'resource:read', group: 'prepare', icon: School },
  { path: '/resources/medical', title: '医疗机构', perm: 'resource:read', group: 'prepare', icon: FirstAidKit },
  { path: '/resources/forces', title: '警力与消防', perm: 'resource:read', group: 'prepare', icon: Van },
  { path: '/resources/targets', title: '防护目标', perm: 'resource:read', group: 'prepare', icon: Aim },
]

const view = () => import('@/views/resources/ResourcesView.vue')

/** Routes of the resource pages, children of the main layout: one view, the page named by the route. */
export const resourcesRoutes: RouteRecordRaw[] = resourcesMenu.map((m) => {
  const name = m.path.split('/').pop()!
  return { path: m.path.slice(1), name: `resources-${name}`, component: view, props: { page: name }, meta: { title: m.title, perm: m.perm } }
})

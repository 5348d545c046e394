import type { RouteRecordRaw } from 'vue-router'
import { VideoCamera } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entry of live video (单兵/手机视频回传). */
export const videoMenu: MenuEntry[] = [{ path: '/video', title: '视频回传', perm: 'video:watch', group: 'respond', icon: VideoCamera }]

/** Routes of the video pages, children of the main layout. */
export const videoRoutes: RouteRecordRaw[] = [
  { path: 'video', name: 'video', component: () => import('@/views/video/VideoView.vue'), meta: { title: '视频回传', perm: 'video:watch' } },
]

import type { RouteRecordRaw } from 'vue-router'
import { Film } from '@element-plus/icons-vue'
import type { MenuEntry } from './menu'

/** Side-menu entry of the video recordings page (录像), beside the live video page. */
export const recordingsMenu: MenuEntry[] = [
  { path: '/video/recordings', title: '视频录像', perm: 'video:watch', group: 'respond', icon: Film },
]

export const recordingsRoutes: RouteRecordRaw[] = [
  { path: 'video/recordings', name: 'video-recordings', component: () => import('@/views/video/recordings/RecordingsView.vue'),
    meta: { title: '视频录像', perm: 'video:watch' } },
]

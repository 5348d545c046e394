import type { RouteRecordRaw } from 'vue-router'

/** Side-menu entries of the monitoring pages (path relative to the site root, permission code). */
export const monitoringMenu: { path: string; title: string; perm?: string }[] = []

/** Routes of the monitoring pages, children of the main layout (paths without a leading slash). */
export const monitoringRoutes: RouteRecordRaw[] = []

import type { RouteRecordRaw } from 'vue-router'

/** Side-menu entries of the prevention pages (path relative to the site root, permission code). */
export const preventionMenu: { path: string; title: string; perm?: string }[] = []

/** Routes of the prevention pages, children of the main layout (paths without a leading slash). */
export const preventionRoutes: RouteRecordRaw[] = []

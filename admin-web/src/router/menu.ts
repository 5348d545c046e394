import { markRaw, type Component } from 'vue'
import { Checked, DataAnalysis, FirstAidKit, HomeFilled, Promotion, Setting, Tools, Warning } from '@element-plus/icons-vue'

/**
 * The side menu is a declaration: each router module (router/prevention.ts, router/monitoring.ts, …)
 * exports its routes and its menu entries, and index.ts lists the modules' entries in one array.
 * The layout groups them by `group` into the platform's phases and topics, shows an entry only with
 * its permission and hides a group left empty. See admin-web/README.md, "Menu".
 */
export type MenuGroupKey = 'home' | 'prepare' | 'monitor' | 'respond' | 'recover' | 'topic' | 'stats' | 'system'

/** A page of the menu. Entries of a module without `group` go to DEFAULT_GROUP. */
export interface MenuEntry {
  /** Path from the site root ("/hazards"); also the key of the active item. */
  path: string
  /** Chinese title, also the breadcrumb. */
  title: string
  /** Permission code the page needs; absent: every signed-in user. */
  perm?: string
  group?: MenuGroupKey
  /** An Element Plus icon (import it from '@element-plus/icons-vue'). */
  icon?: Component
}

export interface MenuGroup {
  key: MenuGroupKey
  title: string
  icon: Component
  items: MenuEntry[]
}

/** The phases and topics in their order. `home` is not a folder: its entries stand at the top. */
export const MENU_GROUPS: readonly { key: MenuGroupKey; title: string; icon: Component }[] = [
  { key: 'home', title: '首页', icon: markRaw(HomeFilled) },
  { key: 'prepare', title: '预防准备', icon: markRaw(Checked) },
  { key: 'monitor', title: '监测预警', icon: markRaw(Warning) },
  { key: 'respond', title: '应急响应', icon: markRaw(Promotion) },
  { key: 'recover', title: '恢复重建', icon: markRaw(Tools) },
  { key: 'topic', title: '专题', icon: markRaw(FirstAidKit) },
  { key: 'stats', title: '统计分析', icon: markRaw(DataAnalysis) },
  { key: 'system', title: '系统管理', icon: markRaw(Setting) },
]

/** Where an entry declared without a group goes (预防准备: the pages most modules add). */
export const DEFAULT_GROUP: MenuGroupKey = 'prepare'

/**
 * groupMenu sorts the entries into MENU_GROUPS (keeping each module's order), drops the entries
 * the user may not open (can(perm) false) and the groups left empty.
 */
export function groupMenu(entries: readonly MenuEntry[], can: (perm: string) => boolean): MenuGroup[] {
  const known = new Set(MENU_GROUPS.map((g) => g.key))
  return MENU_GROUPS.map((g) => ({
    ...g,
    items: entries.filter((e) => {
      const key = e.group && known.has(e.group) ? e.group : DEFAULT_GROUP
      return key === g.key && (!e.perm || can(e.perm))
    }),
  })).filter((g) => g.items.length > 0)
}

/**
 * menuTrail is the breadcrumb of a path: its group (unless home) and its entry, the entry being
 * the longest menu path that is the path or a parent of it ("/monitor-points/1" → 监测点).
 */
export function menuTrail(entries: readonly MenuEntry[], path: string): { group?: string; entry?: MenuEntry } {
  let best: MenuEntry | undefined
  for (const e of entries) {
    const match = e.path === '/' ? path === '/' : path === e.path || path.startsWith(e.path + '/')
    if (match && (!best || e.path.length > best.path.length)) best = e
  }
  if (!best) return {}
  const key = best.group ?? DEFAULT_GROUP
  const group = key === 'home' ? undefined : MENU_GROUPS.find((g) => g.key === key)?.title
  return { group, entry: best }
}

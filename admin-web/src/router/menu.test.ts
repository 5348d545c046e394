import { describe, expect, test } from 'vitest'
import { DEFAULT_GROUP, groupMenu, menuTrail, type MenuEntry } from './menu'

const entries: MenuEntry[] = [
  { path: '/', title: '首页', group: 'home' },
  { path: '/hazards', title: '隐患', perm: 'risk:read', group: 'prepare' },
  // a module in the flat shape of before (预案 and 应急资源 are written so): no group, no icon
  { path: '/plans', title: '应急预案', perm: 'plan:read' },
  { path: '/alerts', title: '预警', perm: 'alert:read', group: 'monitor' },
  { path: '/users', title: '用户管理', perm: 'user:read', group: 'system' },
  { path: '/odd', title: '未知分组', group: 'nowhere' as MenuEntry['group'] },
]

describe('groupMenu', () => {
  test('groups in the fixed order, entries without a group in the default group, only what the user may open, no empty group', () => {
    const perms = new Set(['risk:read', 'plan:read', 'alert:read'])
    const g = groupMenu(entries, (p) => perms.has(p))
    expect(g.map((x) => x.key)).toEqual(['home', 'prepare', 'monitor'])
    expect(DEFAULT_GROUP).toBe('prepare')
    expect(g[1].items.map((x) => x.title)).toEqual(['隐患', '应急预案', '未知分组'])
    expect(g.find((x) => x.key === 'system')).toBeUndefined()
  })
  test('the breadcrumb of a page and of a page below it', () => {
    expect(menuTrail(entries, '/hazards')).toMatchObject({ group: '预防准备', entry: { title: '隐患' } })
    expect(menuTrail(entries, '/alerts/42')).toMatchObject({ group: '监测预警', entry: { title: '预警' } })
    expect(menuTrail(entries, '/')).toMatchObject({ group: undefined, entry: { title: '首页' } })
    expect(menuTrail(entries, '/nope')).toEqual({})
  })
})

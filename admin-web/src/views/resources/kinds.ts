import type { Schemas } from '@/api/client'

export type Resource = Schemas['resource.Resource']
export type ResourceKind = NonNullable<Resource['kind']>

/** A field of a resource as a table column and a form input. */
export interface Field {
  key: string
  label: string
  type?: 'text' | 'number' | 'int' | 'select' | 'tags' | 'textarea'
  options?: string[]
  width?: number
  /** shown as a table column */
  column?: boolean
  required?: boolean
}

/** A tab of a resource page: a fixed filter. */
export interface Tab {
  name: string
  label: string
  filter: Record<string, string>
}

/** A resource page: one kind (or two, for police and fire), its tabs and its own fields. */
export interface KindPage {
  kind: ResourceKind
  title: string
  /** other kinds shown on tabs of the same page */
  tabs?: Tab[]
  fields: Field[]
}

const accidents = ['火灾', '爆炸', '危险化学品泄漏', '中毒和窒息', '洪涝', '溺水', '坍塌', '山体滑坡', '森林火灾', '透水', '交通事故']

const ownerTabs: Tab[] = [
  { name: 'all', label: '全部', filter: {} },
  { name: 'government', label: '政府', filter: { owner: 'government' } },
  { name: 'enterprise', label: '企业', filter: { owner: 'enterprise' } },
]

/** The pages, by route name. Kind-specific fields; the shared ones are in ResourcesView. */
export const kindPages: Record<string, KindPage> = {
  supplies: {
    kind: 'supply', title: '物资装备', tabs: ownerTabs,
    fields: [
      { key: 'code', label: '物资编码（GB/T 38565）', width: 110, column: true },
      { key: 'holder_id', label: '所属储备库或队伍', type: 'select', column: true, width: 180 },
      { key: 'quantity', label: '数量', type: 'number', column: true, width: 90, required: true },
      { key: 'unit', label: '计量单位', column: true, width: 80, required: true },
      { key: 'spec', label: '规格型号' },
    ],
  },
  depots: { kind: 'depot', title: '储备库', tabs: ownerTabs, fields: [{ key: 'area', label: '面积（平方米）', type: 'number', column: true, width: 120 }] },
  teams: {
    kind: 'team', title: '救援队伍',
    tabs: [
      { name: 'government', label: '政府队伍', filter: { owner: 'government' } },
      { name: 'enterprise', label: '企业队伍', filter: { owner: 'enterprise' } },
    ],
    fields: [
      { key: 'subtype', label: '队伍类型', column: true, width: 120 },
      { key: 'members', label: '队员人数', type: 'int', column: true, width: 90 },
      { key: 'accident_types', label: '处置事故类型', type: 'tags', options: accidents, column: true, width: 200 },
      { key: 'equipment', label: '主要装备', type: 'textarea' },
    ],
  },
  experts: {
    kind: 'expert', title: '应急专家',
    fields: [
      { key: 'sex', label: '性别', type: 'select', options: ['男', '女'], column: true, width: 70 },
      { key: 'birth_month', label: '出生年月', column: true, width: 100 },
      { key: 'employer', label: '工作单位', column: true, width: 180 },
      { key: 'title', label: '职称' },
      { key: 'specialty', label: '专业特长', type: 'textarea' },
    ],
  },
  shelters: {
    kind: 'shelter', title: '避难场所',
    fields: [
      { key: 'area', label: '面积（平方米）', type: 'number', column: true, width: 120 },
      { key: 'capacity', label: '可容纳人数', type: 'int', column: true, width: 110 },
      { key: 'occupancy', label: '当前安置人数', type: 'int', column: true, width: 120 },
    ],
  },
  medical: {
    kind: 'medical', title: '医疗机构',
    fields: [
      { key: 'ambulances', label: '救护车', type: 'int', column: true, width: 80 },
      { key: 'beds', label: '床位', type: 'int', column: true, width: 80 },
      { key: 'doctors', label: '医生', type: 'int', column: true, width: 80 },
      { key: 'nurses', label: '护士', type: 'int', column: true, width: 80 },
    ],
  },
  forces: {
    kind: 'police', title: '警力与消防',
    tabs: [
      { name: 'police', label: '警力', filter: { kind: 'police' } },
      { name: 'fire', label: '消防力量', filter: { kind: 'fire' } },
    ],
    fields: [
      { key: 'people', label: '人数', type: 'int', column: true, width: 80 },
      { key: 'vehicles', label: '车辆', type: 'int', column: true, width: 80 },
    ],
  },
  targets: {
    kind: 'target', title: '防护目标',
    tabs: [
      { name: 'protection', label: '防护目标', filter: { category: '防护目标' } },
      { name: 'vulnerable', label: '脆弱目标', filter: { category: '脆弱目标' } },
      { name: 'important', label: '重要目标', filter: { category: '重要目标' } },
      { name: 'unloading', label: '卸载点', filter: { category: '卸载点' } },
    ],
    fields: [{ key: 'subtype', label: '目标类型', column: true, width: 120 }],
  },
}

export const kindNames: Record<string, string> = {
  supply: '物资装备', depot: '储备库', team: '救援队伍', expert: '专家', shelter: '避难场所', medical: '医疗机构',
  police: '警力', fire: '消防力量', target: '目标',
}

/** The page (route path) that lists a kind. */
export function pageOf(kind?: string, category?: string): string {
  switch (kind) {
    case 'supply': return '/resources/supplies'
    case 'depot': return '/resources/depots'
    case 'team': return '/resources/teams'
    case 'expert': return '/resources/experts'
    case 'shelter': return '/resources/shelters'
    case 'medical': return '/resources/medical'
    case 'police': return '/resources/forces?tab=police'
    case 'fire': return '/resources/forces?tab=fire'
    default: return '/resources/targets' + (category ? `?tab=${({ 防护目标: 'protection', 脆弱目标: 'vulnerable', 重要目标: 'important', 卸载点: 'unloading' } as Record<string, string>)[category] ?? ''}` : '')
  }
}

export const accidentTypes = accidents

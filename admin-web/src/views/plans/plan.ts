import { ref } from 'vue'
import { api, must, type Schemas } from '@/api/client'

export type Plan = Schemas['Plan']
export type Dictionary = Schemas['PlanDictionary']

export const statusNames: Record<string, string> = { draft: '草稿', review: '审核中', published: '已发布', retired: '已废止' }
export const statusTypes: Record<string, 'info' | 'warning' | 'success' | 'danger'> = { draft: 'info', review: 'warning', published: 'success', retired: 'danger' }
export const kindNames: Record<string, string> = { comprehensive: '综合应急预案', special: '专项应急预案', onsite: '现场处置方案' }
export const levelNames: Record<string, string> = { city: '市级', district: '区县级', township: '乡镇（街道）级', enterprise: '企业' }
export const responseLevels = [1, 2, 3, 4].map((n) => ({ value: n, name: ['一级', '二级', '三级', '四级'][n - 1] }))

const dict = ref<Dictionary | null>(null)
let loading: Promise<void> | null = null

/** useDictionary loads the plan editor's code lists once. */
export function usePlanDictionary() {
  const load = () => {
    if (!loading) {
      loading = must(api.GET('/api/v1/plans/dictionary')).then((d) => {
        dict.value = d
      })
      loading.catch(() => (loading = null))
    }
    return loading
  }
  return { dict, load }
}

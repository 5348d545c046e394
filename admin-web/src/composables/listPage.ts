import { onMounted, reactive, toValue, type MaybeRefOrGetter } from 'vue'
import { ElMessage } from 'element-plus'
import { download, type Query } from '@/api/files'
import { errText } from '@/views/monitoring/common/format'
import { useServerList, type Page } from './list'
import { useQueryDrawer } from './drawerQuery'
import { useUrlFilters } from '@/views/monitoring/common/urlFilters'

/**
 * A list page is a declaration: its filters, how to fetch a page, what to export and whether a
 * ?id= link opens a drawer; the columns go to <ListPage>. useListPage keeps the state (filters,
 * page, size, sort, rows), builds the API query and does the export; see admin-web/README.md,
 * "A new list page".
 */
export interface Option {
  label: string
  value: string
}

export interface FilterDef {
  /** The query parameter. */
  key: string
  /** Placeholder and accessible name. */
  label: string
  /** text (default), select or date (YYYY-MM-DD). */
  type?: 'text' | 'select' | 'date'
  options?: MaybeRefOrGetter<Option[]>
  filterable?: boolean
  /** The value before any search (default ''). */
  initial?: string
  /** Not shown: only set by links (?open=true from the dashboard). */
  hidden?: boolean
  /** Converts the filter's string to the API's value (default: the string, '' left out). */
  to?: (v: string) => Query[string]
}

export interface ListConfig<T> {
  filters?: FilterDef[]
  /** Keep the filters in the URL query, so other pages deep-link (/alerts?open=true&level=2). */
  url?: boolean
  /** Fetch a page: the query holds the filters (converted) and page, page_size, sort. */
  fetch: (query: Query & { page: number; page_size: number; sort?: string }) => Promise<Page<T>>
  defaultSort?: string
  /** Excel export of the same query (path of the API, file name to save). */
  export?: { path: string; filename: string }
  /** Load when the page is mounted (default true). */
  auto?: boolean
}

/** Converters for FilterDef.to. */
export const asBool = (v: string) => (v === '' ? undefined : v === 'true')
export const asNumber = (v: string) => (v === '' ? undefined : Number(v))
export const onlyTrue = (v: string) => (v === 'true' ? true : undefined)

export function useListPage<T>(cfg: ListConfig<T>) {
  const defs = cfg.filters ?? []
  const defaults = Object.fromEntries(defs.map((f) => [f.key, f.initial ?? ''])) as Record<string, string>

  /** The filters converted for the API: empty ones left out. */
  function query(): Query {
    const q: Query = {}
    for (const f of defs) {
      const v = filters[f.key] ?? ''
      const x = f.to ? f.to(v) : v || undefined
      if (x !== undefined && x !== '') q[f.key] = x
    }
    return q
  }

  const list = useServerList<T>((p) => cfg.fetch({ ...query(), ...p }), cfg.defaultSort ?? '')

  let filters: Record<string, string>
  let apply: () => void
  let reset: () => void
  if (cfg.url) {
    const u = useUrlFilters(defaults, () => list.search())
    filters = u.filters
    apply = u.apply
    reset = u.reset
  } else {
    filters = reactive({ ...defaults })
    apply = () => list.search()
    reset = () => {
      Object.assign(filters, defaults)
      list.search()
    }
  }

  async function exportXlsx() {
    if (!cfg.export) return
    try {
      await download(cfg.export.path, { ...query(), sort: list.state.sort || undefined }, cfg.export.filename)
    } catch (e) {
      ElMessage.error(errText(e, '导出失败'))
    }
  }

  if (cfg.auto !== false) onMounted(() => list.load())

  return {
    ...list,
    defs,
    filters,
    apply,
    reset,
    query,
    exportXlsx,
    hasExport: !!cfg.export,
    options: (f: FilterDef) => toValue(f.options) ?? [],
  }
}

export type ListPageState<T> = ReturnType<typeof useListPage<T>>

/** useRecordDrawer is a list page's record drawer opened by a row or by a ?id= link. */
export const useRecordDrawer = useQueryDrawer

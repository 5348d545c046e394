import { reactive, ref, type Ref } from 'vue'
import { ApiError } from '@/api/errors'

/** A page of a server-side paginated list. */
export interface Page<T> {
  items?: T[]
  total?: number
}

/**
 * useServerList keeps the page, size, sort and rows of a list paginated by the server.
 * fetcher receives page, page_size and sort and returns the page.
 */
export function useServerList<T>(fetcher: (q: { page: number; page_size: number; sort?: string }) => Promise<Page<T>>, defaultSort = '') {
  const rows = ref([]) as Ref<T[]>
  const state = reactive({ page: 1, size: 20, total: 0, sort: defaultSort, loading: false, error: '' })
  async function load() {
    state.loading = true
    state.error = ''
    try {
      const p = await fetcher({ page: state.page, page_size: state.size, sort: state.sort || undefined })
      rows.value = p.items ?? []
      state.total = p.total ?? 0
    } catch (e) {
      rows.value = []
      state.total = 0
      state.error = e instanceof ApiError ? e.message : '加载失败'
    } finally {
      state.loading = false
    }
  }
  /** search goes back to page 1 and loads. */
  function search() {
    state.page = 1
    return load()
  }
  /** onSort maps an el-table sort-change event to the server's sort parameter. */
  function onSort({ prop, order }: { prop: string | null; order: string | null }) {
    state.sort = order && prop ? (order === 'descending' ? '-' : '') + prop : defaultSort
    return search()
  }
  return { rows, state, load, search, onSort }
}

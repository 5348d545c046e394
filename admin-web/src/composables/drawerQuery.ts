import { onMounted, ref, watch, type Ref } from 'vue'
import { useRoute, useRouter } from 'vue-router'

/**
 * useDrawerFromQuery lets links open a list page's drawer: ?id= (from the dashboard, the map,
 * notifications and other pages) calls open with the id once the page is mounted (so a drawer
 * set up with the page sees the change and loads the record) and again when a link changes it
 * while the page is open; closing the drawer (visible false) drops id from the URL, so a reload
 * does not reopen it.
 */
export function useDrawerFromQuery(open: (id: string) => void, visible: Ref<boolean>) {
  const route = useRoute()
  const router = useRouter()
  const fromQuery = () => {
    const id = route.query.id
    if (typeof id === 'string' && id) open(id)
  }
  onMounted(fromQuery)
  watch(() => route.query.id, fromQuery)
  watch(visible, (v) => {
    if (!v && route.query.id) router.replace({ query: { ...route.query, id: undefined } })
  })
}

/**
 * useQueryDrawer is a list page's record drawer: the id it shows (current), whether it is open
 * (drawer), show(id) to open it, and the ?id= links of useDrawerFromQuery.
 */
export function useQueryDrawer() {
  const current = ref<string | null>(null)
  const drawer = ref(false)
  const show = (id: string) => {
    current.value = id
    drawer.value = true
  }
  useDrawerFromQuery(show, drawer)
  return { current, drawer, show }
}

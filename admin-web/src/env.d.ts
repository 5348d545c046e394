/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Minutes without activity before the portal logs out (default 30). */
  readonly VITE_IDLE_MINUTES?: string
}

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

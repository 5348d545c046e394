import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/theme-chalk/el-message.css'
import 'element-plus/theme-chalk/el-message-box.css'
import './styles.css'
import App from './App.vue'
import { router } from './router'
import { installSessionHooks, useSession } from './stores/session'

const app = createApp(App)
app.use(createPinia())
const session = useSession()
installSessionHooks(session, () => {
  if (router.currentRoute.value.name !== 'login') router.push({ name: 'login' })
})
app.use(router)
app.mount('#app')

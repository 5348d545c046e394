// Browser tests of the portal's structure and daily work against the real server with the demo
// city: the menu by phase per role, the to-do inbox, the big screen (through a server restart),
// the fitted map, phone widths, the org tree and Beijing time in a UTC browser.
// node --test tests/workbench.test.mjs (see harness.mjs for the server and Chromium).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { apiLogin, artifacts, axeProblems, horizontalOverflow, launch, startServer, signInAt } from './harness.mjs'

let server
let browser
let base
let admin

before(async () => {
  server = await startServer()
  base = server.url
  browser = await launch()
  admin = await apiLogin(base, 'admin')
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/** tokenOf signs a user in over the API once (a second login would end the first session). */
const tokens = {}
async function tokenOf(user) {
  tokens[user] ??= user === 'admin' ? admin : await apiLogin(base, user)
  return tokens[user]
}

async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

async function until(what, fn, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** signIn opens a fresh context and signs in as username, going straight to path. */
const signIn = (username, path = '/', opts = {}) => signInAt(browser, base, username, path, opts)

async function done(page, { statuses = [], ignore = [] } = {}) {
  const errors = page.errors.filter((e) => !ignore.some((re) => re.test(e)))
  const { httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  assert.deepEqual(httpErrors.filter((s) => !statuses.includes(s)), [], `unexpected HTTP error answers: ${badResponses.join(', ')}`)
}

async function noSeriousAxe(page, what, context) {
  await page.mouse.move(1, 1)
  await page.waitForTimeout(300)
  assert.deepEqual(await axeProblems(page, context), [], `axe-core found serious or critical problems on ${what}`)
}

/** snap saves a screenshot of the page as it is, named with its viewport. */
async function snap(page, name) {
  mkdirSync(artifacts, { recursive: true })
  const v = page.viewportSize()
  await page.screenshot({ path: join(artifacts, `${name}-${v.width}x${v.height}.png`) })
}

/** menuByGroup reads the side menu: group title → item titles (home items under 首页). */
async function menuByGroup(page) {
  return page.evaluate(() => {
    const out = {}
    for (const li of document.querySelectorAll('.el-menu-item[data-menu-group]')) {
      const sub = li.closest('.el-sub-menu')
      const group = sub ? sub.querySelector('.el-sub-menu__title span').textContent.trim() : '首页'
      ;(out[group] ??= []).push(li.textContent.trim())
    }
    return out
  })
}

/** raise makes a device's points raise alerts (thresholds without delay, a normal then a high reading). */
async function raise(deviceCode, points) {
  const dev = (await call(admin, 'GET', `/api/v1/devices?q=${deviceCode}`)).items.find((d) => d.code === deviceCode)
  const all = (await call(admin, 'GET', `/api/v1/monitor-points?device_id=${dev.id}`)).items
  const { secret } = await call(admin, 'POST', `/api/v1/devices/${dev.id}/reset-secret`)
  const ingest = async (readings) => {
    const res = await fetch(base + '/api/v1/ingest/readings', { method: 'POST',
      headers: { Authorization: 'Basic ' + Buffer.from(`${deviceCode}:${secret}`).toString('base64'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ readings }) })
    assert.ok(res.ok, `ingest ${res.status} ${await res.text()}`)
  }
  const chosen = points.map((code) => all.find((p) => p.code === code))
  // values within each point's range: normal at 10 %, levels at 40 % and 60 %, the alarm at 80 %
  const at = (p, f) => Math.round(((p.range_min ?? 0) + f * ((p.range_max ?? 100) - (p.range_min ?? 0))) * 1000) / 1000
  for (const p of chosen) {
    await call(admin, 'PUT', `/api/v1/monitor-points/${p.id}/thresholds`, { thresholds: [{ id: 'high', direction: 'high', hysteresis: 0,
      min_duration_s: 0, levels: [{ level: 1, name: '一级', value: at(p, 0.4) }, { level: 2, name: '二级', value: at(p, 0.6) }] }] })
  }
  await ingest(chosen.map((p) => ({ point: p.code, value: at(p, 0.1) })))
  await new Promise((r) => setTimeout(r, 1100))
  await ingest(chosen.map((p) => ({ point: p.code, value: at(p, 0.8) })))
  const alerts = await until('the alerts', async () => {
    const open = (await call(admin, 'GET', `/api/v1/alerts?open=true&enterprise_id=${dev.enterprise_id}&page_size=200`)).items
    // per point its highest alert (a threshold alarm may come with a data-quality one)
    const mine = chosen.map((p) => open.filter((a) => a.point_id === p.id).sort((a, b) => (b.level ?? 0) - (a.level ?? 0))[0])
    return mine.every(Boolean) && mine
  })
  return { device: dev, points: chosen, alerts, ingest }
}

describe('menu', () => {
  test('OK: the menu is grouped by phase and topic per role, with icons and breadcrumbs; a folder stays closed after a reload', async () => {
    const want = {
      admin: { 预防准备: ['风险点', '巡查清单', '巡查记录', '隐患'], 监测预警: ['监测设备', '监测点', '预警', '预警接收人'],
        应急响应: ['事件管理', '应急指挥一张图', '调度指令', '视频回传'], 恢复重建: ['灾后复盘', '应急评估'],
        统计分析: ['巡查与隐患统计', '预警统计'], 系统管理: ['组织机构', '企业管理', '用户管理', '审计日志'] },
      township01: { 预防准备: ['风险点', '巡查清单', '巡查记录', '隐患'], 监测预警: ['监测设备', '监测点', '预警'], 恢复重建: ['灾后复盘', '应急评估'],
        统计分析: ['巡查与隐患统计', '预警统计'] },
      safety01: { 预防准备: ['风险点', '巡查清单', '巡查记录', '隐患'], 监测预警: ['监测设备', '监测点', '预警'] },
    }
    for (const [user, groups] of Object.entries(want)) {
      const me = await call(await tokenOf(user), 'GET', '/api/v1/auth/me')
      const page = await signIn(user, '/')
      await page.waitForSelector('.el-menu-item[data-menu-group]')
      const menu = await menuByGroup(page)
      assert.deepEqual(menu['首页'].slice(0, 2), ['首页', '一张图'], `${user}: home items`)
      for (const [g, items] of Object.entries(groups)) assert.deepEqual(menu[g]?.filter((t) => items.includes(t)), items, `${user}: ${g} ${JSON.stringify(menu)}`)
      // each item only with its permission; a group left empty is not shown
      const can = (p) => me.permissions.includes(p)
      assert.equal(!!menu['系统管理']?.includes('用户管理'), can('user:read'), `${user}: 用户管理`)
      assert.equal(!!menu['系统管理']?.includes('审计日志'), can('audit:read'), `${user}: 审计日志`)
      assert.equal(!!menu['监测预警']?.includes('预警接收人'), can('alert:config'), `${user}: 预警接收人`)
      // 恢复重建 with the incidents a user may read (incident:read); 专题 stays hidden while empty
      assert.equal(!!menu['恢复重建'], can('incident:read'), `${user}: 恢复重建`)
      assert.equal(menu['专题'], undefined, `${user}: empty group 专题 shown`)
      const titles = Object.keys(menu)
      const order = ['首页', '预防准备', '监测预警', '应急响应', '恢复重建', '专题', '统计分析', '系统管理']
      assert.deepEqual(titles, order.filter((t) => titles.includes(t)), `${user}: group order`)
      assert.ok(await page.locator('.el-sub-menu__title .el-icon svg').count() >= 2, 'group icons')
      assert.ok(await page.locator('.el-menu-item .el-icon svg').count() >= 8, 'item icons')
      await done(page)
    }

    const page = await signIn('township01', '/hazards')
    await page.waitForSelector('[data-test=breadcrumb]')
    assert.equal((await page.textContent('[data-test=breadcrumb]')).replace(/\s+/g, '').replace(/\/$/, ''), '首页/预防准备/隐患')
    await page.goto(base + '/alert-stats')
    await page.waitForSelector('[data-test=breadcrumb] >> text=统计分析')
    // fold 预防准备: its items hide, and stay hidden after a reload
    await page.click('[data-test=menu-group-prepare] .el-sub-menu__title')
    await page.locator('.el-menu-item:has-text("风险点")').waitFor({ state: 'hidden' })
    await page.reload()
    await page.waitForSelector('.el-menu-item:has-text("预警统计")')
    assert.equal(await page.locator('.el-menu-item:has-text("风险点")').isVisible(), false, 'the folder closed by the user stays closed')
    await page.click('[data-test=menu-group-prepare] .el-sub-menu__title')
    await page.locator('.el-menu-item:has-text("风险点")').waitFor()
    await noSeriousAxe(page, 'the grouped menu', '.el-aside')
    await done(page)
  })
})

describe('inbox', () => {
  let raised
  let hazardId
  const hazardTitle = `二号罐区防火堤破损-${randomUUID().slice(0, 6)}`
  const note = '请于 5 日内修复防火堤'

  before(async () => {
    // three alerts at safety01's enterprise, and a hazard assigned to him with a note
    raised = await raise('LGSH-GW01', ['GA-101', 'TI-101', 'PI-101'])
    const grid = await tokenOf('grid01')
    const town = await tokenOf('township01')
    const safety = await call(await tokenOf('safety01'), 'GET', '/api/v1/auth/me')
    hazardId = randomUUID()
    const push = (token, collection, id, op, fields) => call(token, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: `inbox-${op}`,
      mutations: [{ mutation_id: randomUUID(), collection, id, op, base_seq: 0, fields, hlc: `${String(Date.now()).padStart(16, '0')}-00000-inbox` }] })
    await push(grid, 'hazards', hazardId, 'create', { title: hazardTitle, description: '防火堤东侧开裂', enterprise_id: safety.enterprise_id, level: 'general' })
    await new Promise((r) => setTimeout(r, 5))
    await push(town, 'hazards', hazardId, 'update', { status: 'assigned', deadline: '2031-01-31T23:59:59+08:00', rectifier_id: safety.id })
    await push(town, 'hazard_actions', randomUUID(), 'create', { hazard_id: hazardId, kind: 'assign', text: note, assignee: safety.id,
      at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') })
  })

  test('OK: safety01\'s home lists the alerts to acknowledge and the hazard to rectify, each one click from its page', async () => {
    const page = await signIn('safety01', '/')
    const inbox = page.locator('[data-test=inbox]')
    await inbox.waitFor()
    const alertItems = inbox.locator('[data-test=inbox-item][data-kind=待确认预警]')
    for (const a of raised.alerts) await alertItems.filter({ hasText: a.title }).first().waitFor()
    assert.ok(await alertItems.count() >= 3, 'three alerts to acknowledge')
    // the chips count every item loaded (50 a source), the list shows the 30 most urgent
    const open = (await call(await tokenOf('safety01'), 'GET', '/api/v1/alerts?status=new&page_size=200')).total
    await inbox.locator(`.chip:text-is("待确认预警 ${Math.min(open, 50)}")`).waitFor()
    const hz = inbox.locator('[data-test=inbox-item][data-kind=待整改隐患]', { hasText: hazardTitle })
    await hz.waitFor()
    assert.match(await hz.textContent(), /去整改/)
    // no notifications API on this server: no badge and no console error (done checks)
    assert.equal(await page.locator('[data-test=notification-badge]').count(), 0)
    await snap(page, 'inbox-safety01')
    await noSeriousAxe(page, 'the inbox', '[data-test=inbox]')

    // one click: the hazard's drawer, with the rectifier's name and one row per step, the note once
    await hz.locator('a.title').click()
    await page.waitForURL((u) => u.pathname === '/hazards' && u.searchParams.get('id') === hazardId)
    const drawer = page.locator('[data-test=hazard-drawer]')
    await drawer.locator('[data-test=hazard-status]:has-text("已交办")').waitFor()
    assert.equal((await drawer.locator('[data-test=hazard-rectifier]').textContent()).trim(), '吴安全')
    const rows = await drawer.locator('[data-test=hazard-timeline] .el-timeline-item').allTextContents()
    assert.equal(rows.filter((r) => r.includes('交办')).length, 1, `one row for the assignment: ${rows}`)
    const assign = rows.find((r) => r.includes('交办'))
    assert.equal(assign.split(note).length - 1, 1, `the note once: ${assign}`)
    await page.keyboard.press('Escape')

    // one click: an alert's drawer
    await page.goto(base + '/')
    const first = page.locator('[data-test=inbox-item][data-kind=待确认预警]', { hasText: raised.alerts[0].title }).first()
    await first.locator('button').click()
    await page.waitForURL((u) => u.pathname === '/alerts' && !!u.searchParams.get('id'))
    await page.locator('[data-test=alert-drawer] [data-test=alert-status]').waitFor()
    await done(page)
  })

  test('OK: a township administrator\'s inbox has the hazards to assign or accept in his township, not another\'s', async () => {
    const page = await signIn('township02', '/')
    await page.locator('[data-test=inbox-total]').waitFor()
    assert.equal(await page.locator('[data-test=inbox-item]', { hasText: hazardTitle }).count(), 0, 'township02 sees township01\'s hazard')
    await done(page)
  })
})

describe('big screen', () => {
  test('OK: the big screen shows live data at 1920×1080 and recovers by itself from a server restart', async () => {
    const page = await signIn('admin', '/bigscreen', { width: 1920, height: 1080 })
    const d = await call(admin, 'GET', '/api/v1/dashboard')
    await page.waitForFunction((n) => document.querySelector('[data-test=bs-alert-open]')?.textContent.trim() === String(n), d.alerts.open)
    assert.equal((await page.textContent('[data-test=bs-hazard-open]')).trim(), String(d.hazards.open))
    assert.ok(d.alerts.open >= 3, 'the inbox tests raised alerts')
    // the alerts are on the map, the rankings and the trend have data
    await page.waitForFunction(() => document.querySelectorAll('.bs-mk').length > 0)
    await page.locator('[data-test=bs-rank-town-alerts] li').first().waitFor()
    assert.match(await page.textContent('[data-test=bs-rank-town-alerts]'), /临港化工园区街道/)
    await page.locator('[data-test=bs-rank-ent-alerts] li', { hasText: '临港石化储运有限公司' }).waitFor()
    assert.ok(await page.locator('[data-test=bs-alert]').count() > 0)
    assert.ok(await page.locator('canvas').count() >= 1, 'trend chart')
    // the risk points (by colour) and the monitoring devices (online, with their points) are on the map too
    const risks = (await call(admin, 'GET', '/api/v1/risk-points?page_size=500')).total
    const devices = (await call(admin, 'GET', '/api/v1/devices?page_size=500')).items
    assert.ok(risks > 0, 'the demo history has risk points')
    await page.waitForFunction(() => document.querySelectorAll('path.bs-risk').length > 0 && document.querySelectorAll('.bs-dev').length > 0)
    assert.equal(await page.locator('.bs-dev').count(), devices.filter((x) => x.lat && x.lng).length, 'one marker per device')
    assert.equal(await page.locator('.bs-dev.on').count(), devices.filter((x) => x.online && !x.disabled && x.lat && x.lng).length, 'online devices green')
    assert.match(await page.textContent('[data-test=bs-legend-devices]'), /监测设备 在线 \d+\/\d+ · 监测点 \d+/)
    assert.match(await page.textContent('[data-test=bs-legend-risks]'), new RegExp(`风险点 ${await page.locator('path.bs-risk').count()}`))
    // dark and laid out for the wall: nothing scrolls
    assert.equal(await horizontalOverflow(page), 0)
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.bs-viewport')).backgroundColor)
    assert.equal(bg, 'rgb(3, 10, 24)')
    await snap(page, 'bigscreen')
    await noSeriousAxe(page, 'the big screen')

    // the server restarts: the screen says it lost the connection, then carries on by itself
    await page.waitForFunction(() => document.querySelector('[data-test=bigscreen]')?.dataset.live === 'true')
    const restarting = server.restart(6000)
    await page.waitForSelector('[data-test=bigscreen][data-connected=false]', { timeout: 20_000 })
    assert.match(await page.textContent('[data-test=bs-status]'), /正在自动重连/)
    await snap(page, 'bigscreen-reconnecting')
    await restarting
    await page.waitForSelector('[data-test=bigscreen][data-connected=true]', { timeout: 20_000 })
    await page.waitForFunction(() => document.querySelector('[data-test=bigscreen]')?.dataset.live === 'true', null, { timeout: 30_000 })
    // the figures and the map's layers are back, as the server answers them now
    const d2 = await call(admin, 'GET', '/api/v1/dashboard')
    await page.waitForFunction((n) => document.querySelector('[data-test=bs-alert-open]')?.textContent.trim() === String(n), d2.alerts.open)
    assert.equal((await page.textContent('[data-test=bs-hazard-open]')).trim(), String(d2.hazards.open))
    assert.ok(await page.locator('path.bs-risk').count() > 0 && await page.locator('.bs-dev').count() > 0, 'map layers after the restart')
    await snap(page, 'bigscreen-reconnected')
    // and the live socket works again: a new alert shows without reload
    const before = Number((await page.textContent('[data-test=bs-alert-open]')).trim())
    const ljlj = (await call(admin, 'GET', '/api/v1/devices?q=LJLJ-GW01')).items.find((x) => x.code === 'LJLJ-GW01')
    const pt = (await call(admin, 'GET', `/api/v1/monitor-points?device_id=${ljlj.id}`)).items[0]
    await raise('LJLJ-GW01', [pt.code])
    await page.waitForFunction((n) => Number(document.querySelector('[data-test=bs-alert-open]')?.textContent.trim()) > n, before, { timeout: 15_000 })
    // while the server was down the browser logged the refused connections: those, and only those
    await done(page, { statuses: [502, 503], ignore: [/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|WebSocket connection to .* failed/] })
  })
})

describe('map', () => {
  test('OK: the map is fitted to the whole city on first load, the panel above the outlines, labels under the markers, no attribution flag', async () => {
    const page = await signIn('admin', '/map')
    await page.waitForSelector('[data-test=map][data-fitted=true]')
    await page.waitForSelector('[data-test=map-offline]') // no tile URL in this server: the bundled outline
    await page.waitForSelector('.yj-geo-label >> text=临港化工园区街道')
    await page.waitForTimeout(300)
    const fit = await page.evaluate(() => {
      const map = document.querySelector('[data-test=map]').getBoundingClientRect()
      const paths = [...document.querySelectorAll('.leaflet-overlay-pane path')].map((p) => p.getBoundingClientRect())
      const u = paths.reduce((a, r) => ({ l: Math.min(a.l, r.left), t: Math.min(a.t, r.top), r: Math.max(a.r, r.right), b: Math.max(a.b, r.bottom) }),
        { l: Infinity, t: Infinity, r: -Infinity, b: -Infinity })
      return { map: { l: map.left, t: map.top, r: map.right, b: map.bottom }, outline: u, n: paths.length }
    })
    assert.ok(fit.n >= 6, 'district and township outlines drawn')
    for (const [k, cmp] of [['l', (o, m) => o >= m - 1], ['t', (o, m) => o >= m - 1], ['r', (o, m) => o <= m + 1], ['b', (o, m) => o <= m + 1]]) {
      assert.ok(cmp(fit.outline[k], fit.map[k]), `outline ${k} ${fit.outline[k]} outside the map ${fit.map[k]}: part of the city cut off`)
    }
    // the panel is on top: what is under its text is the panel, not an outline
    const onTop = await page.evaluate(() => {
      const panel = document.querySelector('.panel')
      return [...panel.querySelectorAll('h1, legend, .legend li')].every((el) => {
        const r = el.getBoundingClientRect()
        const hit = document.elementFromPoint(r.left + 4, r.top + r.height / 2)
        return hit && panel.contains(hit)
      })
    })
    assert.ok(onTop, 'the right-hand panel reads above the map')
    const z = await page.evaluate(() => ({
      labels: Number(getComputedStyle(document.querySelector('.leaflet-geoLabels-pane')).zIndex),
      markers: Number(getComputedStyle(document.querySelector('.leaflet-marker-pane')).zIndex),
      label: document.querySelector('.yj-geo-label').closest('.leaflet-pane').className,
    }))
    assert.ok(z.labels < z.markers, `town labels (${z.labels}) under the markers and cluster counts (${z.markers})`)
    assert.match(z.label, /leaflet-geoLabels-pane/)
    const attribution = page.locator('.leaflet-control-attribution')
    assert.equal(await attribution.locator('svg, img').count(), 0, 'no flag icon')
    assert.doesNotMatch((await attribution.textContent()) ?? '', /Leaflet/)
    await snap(page, 'map-fitted')
    await done(page)
  })
})

describe('phone width', () => {
  const pages = [
    ['/', '[data-test=inbox-total]'], ['/map', '[data-test=map][data-fitted=true]'], ['/risk-points', 'h1'], ['/checklists', 'h1'],
    ['/patrols', 'h1'], ['/hazards', '[data-test=list-total]'], ['/prevention-stats', 'h1'], ['/devices', 'h1'], ['/monitor-points', 'h1'],
    ['/alerts', '[data-test=list-total]'], ['/alert-receivers', 'h1'], ['/alert-stats', '[data-test=alert-stats-total]'],
    ['/org-units', '[data-test=unit-table] .el-table__row'], ['/enterprises', '[data-test=enterprise-table] .yj-row-card'],
    ['/users', '[data-test=user-table] .yj-row-card'], ['/audit', '[data-test=audit-table] .yj-row-card'], ['/password', 'h1'],
  ]

  test('OK: at 390 px the menu is a drawer and every page reflows without horizontal scroll (screenshots at 390 and 1366)', async () => {
    const page = await signIn('admin', '/', { width: 390, height: 844 })
    await page.waitForSelector('[data-test=menu-toggle]')
    assert.equal(await page.locator('.el-aside').count(), 0, 'no fixed side menu at 390 px')
    await page.click('[data-test=menu-toggle]')
    const drawer = page.locator('[data-test=menu-drawer]')
    await drawer.locator('.el-menu-item[data-menu-group=prepare]:has-text("隐患")').click()
    await page.waitForURL((u) => u.pathname === '/hazards')
    await drawer.waitFor({ state: 'hidden' })
    for (const [path, ready] of pages) {
      await page.setViewportSize({ width: 390, height: 844 })
      await page.goto(base + path)
      await page.waitForSelector(ready)
      await page.waitForTimeout(250)
      const name = 'phone' + (path === '/' ? '-home' : path.replace(/\//g, '-'))
      await snap(page, name)
      assert.equal(await horizontalOverflow(page), 0, `${path} scrolls sideways at 390 px`)
      await page.setViewportSize({ width: 1366, height: 768 })
      await page.waitForTimeout(250)
      await snap(page, name)
      assert.equal(await horizontalOverflow(page), 0, `${path} scrolls sideways at 1366 px`)
    }
    // a list as cards: every column's label with its value, and the actions
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(base + '/enterprises')
    const card = page.locator('[data-test=enterprise-table] .yj-row-card').first()
    await card.waitFor()
    assert.match(await card.textContent(), /企业名称.*统一社会信用代码.*乡镇（街道）/s)
    assert.ok(await card.locator('button:has-text("编辑")').isVisible())
    await noSeriousAxe(page, 'the enterprise cards at 390 px')
    // the big screen scales down to the window
    await page.goto(base + '/bigscreen')
    await page.waitForSelector('[data-test=bs-alert-open]')
    assert.equal(await horizontalOverflow(page), 0, '/bigscreen scrolls sideways at 390 px')
    await done(page)
  })
})

describe('org tree', () => {
  test('OK: 组织机构 is a tree loaded level by level: each 第一网格 under its own township', async () => {
    const page = await signIn('admin', '/org-units')
    const asked = []
    page.on('request', (r) => r.url().includes('/api/v1/org-units') && asked.push(new URL(r.url()).search))
    const table = page.locator('[data-test=unit-table]')
    await table.locator('.el-table__row', { hasText: '临江市' }).waitFor()
    assert.equal(await table.locator('.el-table__row').count(), 1, 'only the city before opening it')
    const expand = async (name) => {
      const row = table.locator('.el-table__row', { hasText: name }).first()
      await row.locator('.el-table__expand-icon').click()
    }
    await expand('临江市')
    const districts = (await call(admin, 'GET', '/api/v1/org-units?level=district')).items
    await table.locator('.el-table__row', { hasText: districts[0].name }).waitFor()
    assert.ok(asked.some((q) => q.includes('parent_id=')), `children read by parent: ${asked}`)
    const towns = (await call(admin, 'GET', '/api/v1/org-units?level=township')).items
    const t1 = towns.find((t) => t.name === '临港化工园区街道')
    const d1 = districts.find((d) => d.id === t1.parent_id)
    await expand(d1.name)
    await table.locator('.el-table__row', { hasText: t1.name }).waitFor()
    await expand(t1.name)
    const grids = (await call(admin, 'GET', `/api/v1/org-units?parent_id=${t1.id}`)).items
    assert.ok(grids.length > 0, 'the township has grids')
    await table.locator('.el-table__row', { hasText: grids[0].name }).waitFor()
    // the grid rows sit one level under their township, right after it
    const levels = await table.locator('.el-table__row').evaluateAll((rows) => rows.map((r) => ({
      text: r.querySelector('td').textContent.trim(), level: Number((/el-table__row--level-(\d)/.exec(r.className) ?? [0, 0])[1]) })))
    const ti = levels.findIndex((r) => r.text === t1.name)
    for (let i = 0; i < grids.length; i++) assert.equal(levels[ti + 1 + i].level, levels[ti].level + 1, `grid row ${JSON.stringify(levels[ti + 1 + i])}`)
    await snap(page, 'org-tree')
    await noSeriousAxe(page, 'the org tree')
    await done(page)
  })
})

describe('Beijing time', () => {
  test('OK: in a UTC browser the audit log, the alert and the readings chart show Beijing time', async () => {
    const bj = (iso) => {
      const d = new Date(new Date(iso).getTime() + 8 * 3600_000)
      return d.toISOString().slice(0, 19).replace('T', ' ')
    }
    const page = await signIn('admin', '/audit', { timezoneId: 'UTC' })
    assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), 'UTC')
    const first = (await call(admin, 'GET', '/api/v1/audit?page_size=1&sort=-at')).items[0]
    const row = page.locator('[data-test=audit-table] .el-table__row').first()
    await row.waitFor()
    // the newest entry may be newer than the one read above: compare with the row's own entry
    const shown = (await row.locator('td').first().textContent()).trim()
    assert.match(shown, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    const entries = (await call(admin, 'GET', '/api/v1/audit?page_size=20&sort=-at')).items
    assert.ok(entries.some((e) => bj(e.at) === shown), `row time ${shown} is Beijing time of an entry (first ${first.at})`)

    // the readings chart of a point that raised an alert: described and drawn in Beijing time
    const dev = (await call(admin, 'GET', '/api/v1/devices?q=LGSH-GW01')).items.find((x) => x.code === 'LGSH-GW01')
    const point = (await call(admin, 'GET', `/api/v1/monitor-points?device_id=${dev.id}`)).items.find((p) => p.code === 'GA-101')
    const from = new Date(Date.now() - 3600_000).toISOString()
    const items = (await call(admin, 'GET', `/api/v1/monitor-points/${point.id}/readings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date().toISOString())}`)).items ?? []
    await page.goto(base + `/monitor-points/${point.id}?range=hour`)
    const chart = page.locator('[data-test=readings-chart]')
    await page.waitForFunction(() => Number(document.querySelector('[data-test=readings-chart]')?.getAttribute('data-points')) >= 2)
    const label = await chart.locator('[role=img]').getAttribute('aria-label')
    // The page asks for its own last hour a moment after this one: when a minute's reading left
    // the window in between, its first point is the next reading.
    if (items.length) assert.ok(items.slice(0, 2).some((i) => label.includes(`北京时间 ${bj(i.at)}`)), `${label} vs ${items[0].at}`)
    else assert.match(label, /北京时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/)
    // the tooltip of the line reads Beijing hours
    const box = await chart.locator('canvas').first().boundingBox()
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4)
    const tip = await page.waitForFunction(() => {
      const t = [...document.querySelectorAll('[data-test=readings-chart] div')].find((d) => /\d{2}:\d{2}/.test(d.textContent) && d.style.position === 'absolute')
      return t?.textContent
    }, null, { timeout: 5000 }).then((h) => h.jsonValue()).catch(() => '')
    if (tip) {
      const hh = new Date(Date.now() + 8 * 3600_000).toISOString().slice(11, 13)
      const prev = new Date(Date.now() + 7 * 3600_000).toISOString().slice(11, 13)
      assert.ok(tip.includes(`${hh}:`) || tip.includes(`${prev}:`), `tooltip ${tip} in Beijing hours (${hh})`)
    }
    await snap(page, 'readings-utc-browser')
    await done(page)
  })
})

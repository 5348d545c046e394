// Browser tests of the risk point, checklist and patrol record pages against the real server
// with the demo city: node --test tests/prevention.test.mjs (see harness.mjs).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { PASSWORD, apiLogin, axeProblems, launch, openPage, shoot, startServer, submitLogin } from './harness.mjs'
import { fill } from './xlsx.mjs'

let server
let browser
let base
let admin
let town1
let town2
let ent1 // an enterprise of township01 that grid01 may patrol
let ent2 // an enterprise of township02

before(async () => {
  server = await startServer()
  base = server.url
  browser = await launch()
  admin = await apiLogin(base, 'admin')
  town1 = await apiLogin(base, 'township01')
  town2 = await apiLogin(base, 'township02')
  const grid = await apiLogin(base, 'grid01')
  ent1 = (await call(grid, 'GET', '/api/v1/enterprises?page_size=1&sort=name')).items[0]
  ent2 = (await call(town2, 'GET', '/api/v1/enterprises?page_size=1&sort=name')).items[0]
  assert.ok(ent1 && ent2 && ent1.id !== ent2.id, 'demo enterprises of both townships')
  assert.ok((await call(town1, 'GET', `/api/v1/enterprises/${ent1.id}`)).id, 'township01 reads grid01\'s enterprise')
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/** call is a JSON API call with a token; it fails the test on an error answer. */
async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

async function signIn(username, path) {
  const page = await openPage(browser)
  page.badResponses = []
  page.on('response', (r) => r.status() >= 400 && page.badResponses.push(`${r.status()} ${new URL(r.url()).pathname}`))
  await page.goto(base + '/login?redirect=' + encodeURIComponent(path))
  await page.fill('#login-username', username)
  await page.fill('#login-password', PASSWORD)
  await submitLogin(page)
  await page.waitForURL((u) => u.pathname === path.split('?')[0])
  await page.waitForSelector('.el-menu-item')
  return page
}

async function done(page, expectedStatuses = []) {
  const { errors, httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  const unexpected = httpErrors.filter((s) => !expectedStatuses.includes(s))
  assert.deepEqual(unexpected, [], `unexpected HTTP error answers logged in the console: ${badResponses.join(', ')}`)
}

async function noSeriousAxe(page, what, context) {
  await page.mouse.move(1, 1)
  await page.waitForTimeout(400)
  assert.deepEqual(await axeProblems(page, context), [], `axe-core found serious or critical problems on ${what}`)
}

async function shootNoScroll(page, name) {
  assert.equal(await shoot(page, name), 0, `${name} scrolls sideways at 1366`)
}

/** riskPoint creates a risk point over the API with two measures and returns it. */
async function riskPoint(token, ent, code, lat = 30.2231, lng = 120.3512) {
  return call(token, 'POST', '/api/v1/risk-points', { enterprise_id: ent.id, code, name: `${code} 储罐区`, level: 'orange',
    location: { lat, lng }, measures: [
      { kind: 'engineering', text: '可燃气体报警器完好', hazard_template: { title: '可燃气体报警器失效', level: 'major' } },
      { kind: 'management', text: '巡检记录齐全' }] })
}

/** pushPatrol records a patrol of the point through the sync API as a phone would, with the label's QR token. */
async function pushPatrol(token, point, { lat = 30.2232, lng = 120.3513, seconds = 180, controlled = [true, false] } = {}) {
  const qr = await call(token, 'GET', `/api/v1/risk-points/${point.id}/qr`)
  const fin = new Date(Date.now() - 60_000)
  const start = new Date(fin.getTime() - seconds * 1000)
  const iso = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z')
  const id = randomUUID()
  const hlc = `${String(Date.now()).padStart(16, '0')}-00000-test-phone`
  const res = await call(token, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'test-phone', mutations: [{
    mutation_id: randomUUID(), collection: 'patrols', id, op: 'create', base_seq: 0, hlc, fields: {
      risk_point_id: point.id, qr_token: qr.token, started_at: iso(start), finished_at: iso(fin), location: { lat, lng },
      items: point.measures.map((m, i) => ({ measure_id: m.id, controlled: controlled[i] ?? true, note: controlled[i] === false ? '报警器无响应' : '', photos: [] })),
    } }] })
  assert.equal(res.results[0].status, 'applied', JSON.stringify(res.results[0]))
  return id
}

describe('prevention', () => {
  let created // the risk point created in the browser

  test('OK: a risk point with two measures is created in the browser and listed', async () => {
    const page = await signIn('township01', '/risk-points')
    await page.waitForSelector('h1:has-text("风险点")')
    await page.click('[data-test=risk-create]')
    await page.click('#rp-ent')
    await page.click(`.el-select-dropdown__item:visible:has-text("${ent1.name}")`)
    await page.fill('#rp-code', 'WEB-001')
    await page.fill('#rp-name', '液氨储罐区')
    await page.click('[data-test=risk-form] label:has-text("红（重大风险）")')
    await page.fill('#rp-acc', '火灾、爆炸')
    await page.fill('#rp-lat', '30.2231')
    await page.fill('#rp-lng', '120.3512')
    await page.click('[data-test=measure-add]')
    await page.click('[data-test=measure-add]')
    const ms = page.locator('[data-test=measure]')
    await ms.nth(0).locator('input[aria-label="第 1 条措施的内容"]').fill('储罐区设置可燃气体报警器')
    await ms.nth(0).locator('.el-checkbox').click()
    await ms.nth(0).locator('input[aria-label="第 1 条措施的隐患标题"]').fill('可燃气体报警器失效')
    await ms.nth(1).locator('input[aria-label="第 2 条措施的内容"]').fill('每班巡检一次')
    await noSeriousAxe(page, 'the risk point form', '.el-dialog')
    await shootNoScroll(page, 'risk-form')
    await page.click('[data-test=risk-save]')
    await page.waitForSelector('text=已保存')
    const row = page.locator('[data-test=risk-table] .el-table__row', { hasText: 'WEB-001' })
    await row.waitFor()
    assert.match(await row.textContent(), /液氨储罐区/)
    assert.match(await row.locator('[data-test=risk-level]').textContent(), /红/)
    const list = await call(town1, 'GET', '/api/v1/risk-points?q=WEB-001')
    created = list.items[0]
    assert.equal(created.measures.length, 2)
    assert.equal(created.measures[0].hazard_template.title, '可燃气体报警器失效')
    assert.equal(created.level, 'red')
    await noSeriousAxe(page, 'the risk point list')
    await shootNoScroll(page, 'risk-points')
    await done(page)
  })

  test('OK: ?id= opens the point with its QR code; the label sheet of the selected points is a PNG', async () => {
    const page = await signIn('township01', `/risk-points?id=${created.id}`)
    const drawer = page.locator('[data-test=risk-drawer]')
    await drawer.locator('[data-test=risk-measures] li').nth(1).waitFor()
    await drawer.locator('[data-test=risk-qr]').waitFor()
    assert.ok(await drawer.locator('[data-test=risk-qr]').evaluate((img) => img.complete && img.naturalWidth > 0), 'QR image loaded')
    await noSeriousAxe(page, 'the risk point drawer', '.el-drawer')
    await shootNoScroll(page, 'risk-drawer')
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'hidden' })
    await page.locator('[data-test=risk-table] .el-table__row', { hasText: 'WEB-001' }).locator('.el-checkbox').click()
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/risk-points/labels.png')),
      page.click('[data-test=risk-labels]'),
    ])
    assert.equal(res.status(), 200)
    assert.equal(res.headers()['content-type'], 'image/png')
    assert.ok(new URL(res.url()).searchParams.get('ids').includes(created.id))
    await page.locator('[data-test=label-sheet] img').waitFor()
    await shootNoScroll(page, 'risk-labels')
    await done(page)
  })

  test('ErrImportRow: a risk point import with a bad row names the row and the column', async () => {
    const template = Buffer.from(await (await fetch(base + '/api/v1/risk-points/template.xlsx', { headers: { Authorization: `Bearer ${town1}` } })).arrayBuffer())
    const file = join(tmpdir(), `risk-points-${process.pid}.xlsx`)
    writeFileSync(file, fill(template, [
      { 企业统一社会信用代码: ent1.credit_code, 风险点编号: 'IMP-001', 名称: '导入测试一', 风险等级: '黄', 管控措施: '管理|每日巡检||' },
      { 企业统一社会信用代码: ent1.credit_code, 风险点编号: 'IMP-002', 名称: '导入测试二', 风险等级: '紫' },
    ]))
    const page = await signIn('township01', '/risk-points')
    await page.click('[data-test=risk-import]')
    await page.setInputFiles('[data-test=import-file]', file)
    await page.click('button:has-text("开始导入")')
    await page.waitForSelector('[data-test=import-errors] .el-table__row')
    const rows = await page.locator('[data-test=import-errors] .el-table__row').allTextContents()
    assert.equal(rows.length, 1, `one bad cell: ${rows}`)
    assert.match(rows[0], /^3/)
    assert.match(rows[0], /风险等级/)
    assert.match(rows[0], /紫/)
    assert.equal((await call(town1, 'GET', '/api/v1/risk-points?q=IMP-')).total, 0, 'all or nothing')
    await noSeriousAxe(page, 'the import dialog', '.el-dialog')
    await done(page, [400])
  })

  test('OK: a patrol pushed by a phone is listed with its items, a far and hasty one with its flags in red', async () => {
    const grid = await apiLogin(base, 'grid01')
    const clean = await pushPatrol(grid, created)
    await pushPatrol(grid, created, { lat: 30.3231, seconds: 2, controlled: [true, true] })
    const page = await signIn('township01', '/patrols')
    const rows = page.locator('[data-test=patrol-table] .el-table__row', { hasText: 'WEB-001' })
    await rows.nth(1).waitFor()
    const flags = page.locator('[data-test=patrol-table] [data-test=patrol-flag]')
    assert.ok(await flags.count() >= 2, 'flags of the far, hasty patrol')
    assert.match(await flags.allTextContents().then((t) => t.join(' ')), /距风险点 \d+ 米/)
    assert.match(await flags.allTextContents().then((t) => t.join(' ')), /用时过短/)
    // the flagged filter narrows the list on the server
    await page.goto(base + `/patrols?flagged=false&risk_point_id=${created.id}`)
    await page.locator('[data-test=patrol-table] .el-table__row').first().waitFor()
    assert.equal(await page.locator('[data-test=patrol-table] .el-table__row').count(), 1)
    assert.equal(await page.locator('[data-test=patrol-table] [data-test=patrol-flag]').count(), 0)
    await noSeriousAxe(page, 'the patrol list')
    await shootNoScroll(page, 'patrols')
    await page.locator('[data-test=patrol-table] .el-table__row').first().click()
    const drawer = page.locator('[data-test=patrol-drawer]')
    await drawer.locator('[data-test=patrol-item]').nth(1).waitFor()
    const items = await drawer.locator('[data-test=patrol-item]').allTextContents()
    assert.match(items[0], /受控/)
    assert.match(items[0], /储罐区设置可燃气体报警器/)
    assert.match(items[1], /未受控/)
    assert.match(items[1], /报警器无响应/)
    assert.ok((await call(town1, 'GET', `/api/v1/patrols/${clean}`)).items.length === 2)
    await noSeriousAxe(page, 'the patrol drawer', '.el-drawer')
    await shootNoScroll(page, 'patrol-drawer')
    await done(page)
  })

  test('OK: the checklist calendar and the overdue list render what the server says', async () => {
    const cl = await call(town1, 'POST', '/api/v1/checklists', { enterprise_id: ent1.id, name: '液氨储罐区每日巡查', frequency: 'daily',
      risk_point_ids: [created.id] })
    const overdue = (await call(town1, 'GET', '/api/v1/checklists/overdue')).items
    const page = await signIn('township01', '/checklists?overdue=true')
    await page.locator('[data-test=overdue-table]').waitFor()
    await page.waitForFunction(() => !document.querySelector('[data-test=overdue-table] .el-loading-mask'))
    await page.waitForTimeout(300)
    const shown = await page.locator('[data-test=overdue-table] .el-table__body-wrapper .el-table__row').count()
    assert.equal(shown, overdue.length, 'one row per overdue period')
    if (overdue.length === 0) await page.locator('[data-test=overdue-table] >> text=没有逾期未巡查的周期').waitFor()
    else {
      const text = await page.locator('[data-test=overdue-table]').textContent()
      for (const o of overdue) assert.ok(text.includes(o.checklist_name), `overdue period of ${o.checklist_name} shown`)
    }
    // a checklist created now has no period that ended before it existed
    assert.ok(!overdue.some((o) => o.checklist_id === cl.id), 'no overdue period for the checklist created now')
    await noSeriousAxe(page, 'the overdue list')
    await shootNoScroll(page, 'checklists-overdue')
    // the list tab, then the calendar: today is done (patrolled above)
    await page.click('.el-tabs__item:has-text("清单")')
    const row = page.locator('[data-test=checklist-table] .el-table__row', { hasText: cl.name })
    await row.waitFor()
    assert.match(await row.textContent(), /每日/)
    assert.match(await row.textContent(), /WEB-001/)
    await row.locator('button:has-text("日历")').click()
    const cal = page.locator('[data-test=calendar-table] .el-table__row')
    await cal.first().waitFor()
    assert.match(await cal.first().textContent(), /已完成/)
    await noSeriousAxe(page, 'the checklist calendar', '.el-drawer')
    await shootNoScroll(page, 'checklist-calendar')
    await done(page)
  })

  test('OK: township01 does not see township02\'s risk points or patrols', async () => {
    const other = await riskPoint(admin, ent2, 'T2-001', 30.25, 120.4)
    await pushPatrol(admin, other)
    const page = await signIn('township01', '/risk-points')
    await page.locator('[data-test=risk-table] .el-table__row', { hasText: 'WEB-001' }).waitFor()
    assert.equal(await page.locator('[data-test=risk-table] .el-table__row', { hasText: 'T2-001' }).count(), 0)
    await page.goto(base + '/patrols')
    await page.locator('[data-test=patrol-table] .el-table__row', { hasText: 'WEB-001' }).first().waitFor()
    assert.equal(await page.locator('[data-test=patrol-table] .el-table__row', { hasText: 'T2-001' }).count(), 0)
    assert.ok((await call(town2, 'GET', '/api/v1/patrols')).items.some((p) => p.risk_point_code === 'T2-001'), 'township02 sees its own')
    assert.ok(!(await call(town1, 'GET', '/api/v1/patrols?page_size=500')).items.some((p) => p.risk_point_code === 'T2-001'))
    await done(page)
  })

  test('OK: /alerts?id= and /devices?id= open the record\'s drawer', async () => {
    const device = (await call(admin, 'GET', '/api/v1/devices?q=LJLJ-GW01')).items.find((d) => d.code === 'LJLJ-GW01')
    const points = (await call(admin, 'GET', `/api/v1/monitor-points?device_id=${device.id}`)).items
    const point = points[0]
    await call(admin, 'PUT', `/api/v1/monitor-points/${point.id}/thresholds`, { thresholds: [
      { id: 'high', direction: 'high', hysteresis: 0, min_duration_s: 0, levels: [{ level: 1, name: '一级', value: 1 }] }] })
    const { secret } = await call(admin, 'POST', `/api/v1/devices/${device.id}/reset-secret`)
    const ingest = (value) => fetch(base + '/api/v1/ingest/readings', { method: 'POST',
      headers: { Authorization: 'Basic ' + Buffer.from(`LJLJ-GW01:${secret}`).toString('base64'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ readings: [{ point: point.code, value }] }) })
    assert.ok((await ingest(0)).ok)
    await new Promise((r) => setTimeout(r, 1100))
    assert.ok((await ingest(1e6)).ok)
    let alert
    for (let i = 0; i < 75 && !alert; i++) {
      alert = (await call(admin, 'GET', `/api/v1/alerts?enterprise_id=${device.enterprise_id}`)).items.find((a) => a.point_id === point.id)
      if (!alert) await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(alert, 'an alert was raised')
    const page = await signIn('admin', `/alerts?id=${alert.id}`)
    await page.locator('[data-test=alert-drawer] [data-test=alert-status]').waitFor()
    await shootNoScroll(page, 'alert-by-id')
    await page.goto(base + `/devices?id=${device.id}`)
    await page.locator('.el-drawer:visible').waitFor()
    assert.match(await page.locator('.el-drawer:visible').textContent(), /LJLJ-GW01|在线/)
    await done(page)
  })
})

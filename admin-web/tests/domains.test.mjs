// Browser tests of the prevention and monitoring pages against the real server with the demo
// city: node --test tests/domains.test.mjs (see harness.mjs for the server and Chromium).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { fill } from './xlsx.mjs'
import { PASSWORD, apiLogin, axeProblems, launch, openPage, shoot, startServer, submitLogin } from './harness.mjs'

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

async function done(page, expectedStatuses = []) {
  const { errors, httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  const unexpected = httpErrors.filter((s) => !expectedStatuses.includes(s))
  assert.deepEqual(unexpected, [], `unexpected HTTP error answers logged in the console: ${badResponses.join(', ')}`)
}

async function noSeriousAxe(page, what, context) {
  await page.mouse.move(1, 1) // contrast is measured at rest, not under the hover colour
  await page.waitForTimeout(400)
  const problems = await axeProblems(page, context)
  assert.deepEqual(problems, [], `axe-core found serious or critical problems on ${what}`)
}

/** call is a JSON API call with a token; it fails the test on an error answer. */
async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

/** ingest posts readings as a device (HTTP Basic with its code and secret). */
async function ingest(code, secret, readings) {
  const res = await fetch(base + '/api/v1/ingest/readings', { method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from(`${code}:${secret}`).toString('base64'), 'Content-Type': 'application/json' },
    body: JSON.stringify({ readings }) })
  const text = await res.text()
  assert.ok(res.ok, `ingest: ${res.status} ${text}`)
  return JSON.parse(text)
}

/** until polls fn until it returns a truthy value (or fails after the timeout). */
async function until(what, fn, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** pushHazard writes a hazard through the sync endpoint as a phone would. */
async function pushHazard(token, id, fields, op = 'create') {
  const hlc = `${String(Date.now()).padStart(16, '0')}-00000-test`
  const res = await call(token, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'test-device', mutations: [
    { mutation_id: randomUUID(), collection: 'hazards', id, op, base_seq: 0, fields, hlc }] })
  assert.equal(res.results[0].status, 'applied', JSON.stringify(res.results[0]))
}

/**
 * signIn opens a fresh browser context and signs in through the login form, going straight to
 * `path` (the login page's redirect), so the test sees only the pages it is about.
 */
async function signIn(username, path = '/alerts') {
  const page = await openPage(browser)
  page.badResponses = []
  page.on('response', (r) => r.status() >= 400 && page.badResponses.push(`${r.status()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`))
  await page.goto(base + '/login?redirect=' + encodeURIComponent(path))
  await page.fill('#login-username', username)
  await page.fill('#login-password', PASSWORD)
  await submitLogin(page)
  await page.waitForURL((u) => u.pathname === path.split('?')[0])
  await page.waitForSelector('.el-menu-item')
  return page
}

const enterpriseByName = async (name) =>
  (await call(admin, 'GET', `/api/v1/enterprises?q=${encodeURIComponent(name)}`)).items.find((e) => e.name === name)

/** A small real JPEG (48×32 gradient), as a phone would upload. */
const jpeg = Buffer.from(
  '/9j/2wCEAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk8BDg4OExETJhUVJk' +
  '81LTVPT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT//AABEIACAAMAMBIgACEQEDEQH/xAGiAAABBQEB' +
  'AQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGB' +
  'kaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrC' +
  'w8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAn' +
  'cAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlq' +
  'c3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2g' +
  'AMAwEAAhEDEQA/AMpUqZUpypUypXpSmcNKYxUqZUp6pUypWMpnpUpjFSplSnqlTKlYSmelSmZSpUypT1SplStJTPj6UxipUypTlSplSsZTPTpT' +
  'GqlSqlPVKmVKwlM9KlM//9k=',
  'base64')

describe('monitoring', () => {
  let alertId
  let pointId

  test('OK: the devices page shows the demo devices with their online state', async () => {
    const page = await signIn('admin')
    await page.goto(base + '/devices')
    await page.waitForSelector('h1:has-text("监测设备")')
    for (const code of ['LGSH-GW01', 'LJLJ-GW01', 'LGYQ-GD01', 'LXSD-ST01']) {
      await page.waitForSelector(`[data-test=device-table] .el-table__row:has-text("${code}")`)
    }
    assert.ok(await page.locator('[data-test=device-online]').count() >= 4)
    // the category filter goes into the URL and narrows the list on the server
    await page.goto(base + '/devices?category=flood')
    await page.waitForSelector('[data-test=device-table] .el-table__row:has-text("LXSD-ST01")')
    assert.equal(await page.locator('[data-test=device-table] .el-table__row:has-text("LGSH-GW01")').count(), 0)
    await done(page)
  })

  test('OK: a reading over a threshold raises an alert that is disposed and closed in the browser, with timeline and delivery records', async () => {
    const devices = (await call(admin, 'GET', '/api/v1/devices?q=LGSH-GW01')).items
    const device = devices.find((d) => d.code === 'LGSH-GW01')
    const points = (await call(admin, 'GET', `/api/v1/monitor-points?device_id=${device.id}`)).items
    const point = points.find((p) => p.code === 'GA-101')
    pointId = point.id
    await call(admin, 'PUT', `/api/v1/monitor-points/${point.id}/thresholds`, { thresholds: [
      { id: 'high', direction: 'high', hysteresis: 2, min_duration_s: 0, levels: [{ level: 1, name: '一级', value: 25 }, { level: 2, name: '二级', value: 50 }] }] })
    const { secret } = await call(admin, 'POST', `/api/v1/devices/${device.id}/reset-secret`)
    await ingest('LGSH-GW01', secret, [{ point: 'GA-101', value: 12 }])
    await new Promise((r) => setTimeout(r, 1100))
    await ingest('LGSH-GW01', secret, [{ point: 'GA-101', value: 62 }])
    const alert = await until('the alert', async () =>
      (await call(admin, 'GET', `/api/v1/alerts?open=true&enterprise_id=${device.enterprise_id}`)).items.find((a) => a.point_id === point.id && a.kind === 'threshold'))
    alertId = alert.id
    assert.equal(alert.level, 2)
    await until('a delivery record', async () => (await call(admin, 'GET', `/api/v1/alerts/${alert.id}/deliveries`)).items.length > 0)

    const page = await signIn('admin')
    // the dashboard deep-links with the filters in the query
    await page.goto(base + '/alerts?open=true&level=2')
    await page.waitForSelector('h1:has-text("预警")')
    assert.equal(await page.inputValue('input[aria-label=标题、内容或企业名称]'), '')
    const row = page.locator('[data-test=alert-table] .el-table__row', { hasText: '临港石化储运有限公司' }).first()
    await row.waitFor()
    await row.click()
    const drawer = page.locator('[data-test=alert-drawer]')
    await drawer.locator('[data-test=alert-status]:has-text("待确认")').waitFor()
    await drawer.locator('text=62 %LEL').first().waitFor()
    await drawer.locator('[data-test=alert-deliveries] .el-table__row').first().waitFor()
    assert.ok(await drawer.locator('[data-test=alert-timeline] .el-timeline-item').count() >= 2, 'timeline with the raise and the notifications')
    await noSeriousAxe(page, 'the alert drawer', '.el-drawer')
    await shoot(page, 'alert-drawer')

    await drawer.locator('button:has-text("开始处置")').click()
    await page.fill('#alert-measures', '关闭罐区进料阀，现场通风并复测')
    await page.click('[data-test=alert-handle-save]')
    await drawer.locator('[data-test=alert-status]:has-text("处置中")').waitFor()
    // closing without a reason is refused before the request; with one it closes
    await drawer.locator('button:has-text("处置完毕并关闭")').click()
    await page.click('[data-test=alert-handle-save]')
    await page.waitForSelector('text=请填写处置原因')
    await page.fill('#alert-reason', '泄漏点已封堵，复测浓度 0 %LEL')
    await page.click('[data-test=alert-handle-save]')
    await drawer.locator('[data-test=alert-status]:has-text("已关闭")').waitFor()
    await drawer.locator('[data-test=alert-timeline] >> text=泄漏点已封堵').first().waitFor({ timeout: 5000 }).catch(() => {})
    assert.equal(await drawer.locator('[data-test=alert-actions]').count(), 0, 'no action left on a closed alert')
    const closed = await call(admin, 'GET', `/api/v1/alerts/${alertId}`)
    assert.equal(closed.status, 'closed')
    assert.equal(closed.disposal_reason, '泄漏点已封堵，复测浓度 0 %LEL')
    await done(page)
  })

  test('OK: an Excel import of points creates a device and shows its secret once', async () => {
    const ent = await enterpriseByName('临港石化储运有限公司')
    const template = Buffer.from(await (await fetch(base + '/api/v1/monitor-points/template.xlsx', { headers: { Authorization: `Bearer ${admin}` } })).arrayBuffer())
    const file = join(tmpdir(), `points-${process.pid}.xlsx`)
    const code = 'IMP-' + randomUUID().slice(0, 8)
    writeFileSync(file, fill(template, [
      { 设备编码: code, 设备名称: '导入网关', 企业统一社会信用代码: ent.credit_code, 设备类别: '危化品', 设备类型: '数据采集网关',
        监测点编码: 'TI-9', 监测点名称: '9号储罐温度', 监测类型: '温度', 单位: '℃', 量程下限: 0, 量程上限: 200 },
    ]))
    const page = await signIn('admin', '/monitor-points')
    await page.click('[data-test=point-import]')
    await page.setInputFiles('[data-test=import-file]', file)
    await page.click('button:has-text("开始导入")')
    const dialog = page.locator('[data-test=import-secrets]')
    await dialog.locator('.el-table__row', { hasText: code }).waitFor()
    const row = await dialog.locator('.el-table__row', { hasText: code }).textContent()
    const secret = row.replace(code, '').trim()
    assert.ok(secret.length >= 40, `secret shown: ${row}`)
    const res = await ingest(code, secret, [{ point: 'TI-9', value: 20 }])
    assert.equal(res.accepted, 1, `the shown secret works: ${JSON.stringify(res)}`)
    await noSeriousAxe(page, 'the secrets dialog', '.el-dialog')
    await done(page)
  })

  test('OK: the readings chart of a point renders its readings with the threshold lines', async () => {
    assert.ok(pointId, 'the alert test ran first')
    const page = await signIn('admin')
    await page.goto(base + `/monitor-points/${pointId}?range=hour`)
    const chart = page.locator('[data-test=readings-chart]')
    await chart.waitFor()
    await page.waitForFunction(() => Number(document.querySelector('[data-test=readings-chart]')?.getAttribute('data-points')) >= 2)
    assert.equal(await chart.getAttribute('data-thresholds'), '2', 'two threshold levels drawn')
    assert.ok(await chart.locator('canvas').count() >= 1, 'ECharts canvas')
    assert.match(await chart.locator('[role=img]').getAttribute('aria-label'), /一级上限 25.*二级上限 50/)
    await page.waitForSelector('[data-test=series-resolution]:has-text("原始读数")')
    assert.equal(await shoot(page, 'readings'), 0, 'horizontal scroll on the readings page at 1366')
    await noSeriousAxe(page, 'the readings page')
    await done(page)
  })
})

describe('prevention', () => {
  test('OK: a hazard reported by a grid worker is assigned, rectified, submitted with a photo and accepted in the browser', async () => {
    const grid = await apiLogin(base, 'grid01')
    const ent = await enterpriseByName('临港石化储运有限公司')
    const id = randomUUID()
    const title = `储罐区消防通道堵塞-${id.slice(0, 6)}`
    await pushHazard(grid, id, { title, description: '东侧消防通道堆放杂物', enterprise_id: ent.id, level: 'general' })

    // the grid worker may report but not move it: no workflow button
    let page = await signIn('grid01')
    await page.goto(base + '/hazards')
    await page.locator('[data-test=hazard-table] .el-table__row', { hasText: title }).click()
    await page.locator('[data-test=hazard-drawer] [data-test=hazard-status]:has-text("已上报")').waitFor()
    assert.equal(await page.locator('[data-test=hazard-actions]').count(), 0)
    await done(page)

    // township administrator assigns it to the enterprise's safety officer
    page = await signIn('township01')
    await page.goto(base + '/hazards?status=reported')
    await page.locator('[data-test=hazard-table] .el-table__row', { hasText: title }).click()
    const drawer = page.locator('[data-test=hazard-drawer]')
    await drawer.locator('[data-test=hazard-actions]').waitFor()
    assert.equal(await drawer.locator('[data-test=hazard-actions] button:has-text("验收通过")').count(), 0)
    await drawer.locator('button:has-text("交办")').click()
    const deadline = new Date(Date.now() + 7 * 86400_000 + 8 * 3600_000).toISOString().slice(0, 10)
    await page.fill('#hz-deadline', deadline)
    await page.keyboard.press('Enter')
    await page.click('#hz-rectifier')
    await page.click('.el-select-dropdown__item:visible:has-text("吴安全")')
    await page.fill('#hz-note', '请 3 日内清理')
    await page.click('[data-test=hazard-step-save]')
    await drawer.locator('[data-test=hazard-status]:has-text("已交办")').waitFor()
    await noSeriousAxe(page, 'the hazard drawer', '.el-drawer')
    await shoot(page, 'hazard-drawer')
    await done(page)

    // the safety officer starts and submits the rectification with a photo
    page = await signIn('safety01')
    await page.goto(base + '/hazards')
    await page.locator('[data-test=hazard-table] .el-table__row', { hasText: title }).click()
    const d2 = page.locator('[data-test=hazard-drawer]')
    await d2.locator('button:has-text("开始整改")').click()
    await page.click('[data-test=hazard-step-save]')
    await d2.locator('[data-test=hazard-status]:has-text("整改中")').waitFor()
    assert.equal(await d2.locator('button:has-text("验收通过")').count(), 0, 'an enterprise may not accept')
    await d2.locator('button:has-text("提交验收")').click()
    // without a photo the portal says what is missing
    await page.click('[data-test=hazard-step-save]')
    await page.waitForSelector('[data-test=hazard-step-error]:has-text("照片")')
    const photo = join(tmpdir(), `hazard-${process.pid}.jpg`)
    writeFileSync(photo, jpeg)
    await page.setInputFiles('[data-test=hazard-photos]', photo)
    await page.fill('#hz-note', '杂物已清理')
    await page.click('[data-test=hazard-step-save]')
    await d2.locator('[data-test=hazard-status]:has-text("待验收")').waitFor()
    // the thumbnail loads through a signed URL
    await d2.locator('[data-test=photo] img').first().waitFor()
    await page.waitForFunction(() => document.querySelector('[data-test=photo] img')?.naturalWidth > 0)
    await done(page)

    // the township administrator accepts it
    page = await signIn('township01')
    await page.goto(base + '/hazards?status=submitted')
    await page.locator('[data-test=hazard-table] .el-table__row', { hasText: title }).click()
    const d3 = page.locator('[data-test=hazard-drawer]')
    await d3.locator('button:has-text("验收通过")').click()
    await page.click('[data-test=hazard-step-save]')
    await d3.locator('[data-test=hazard-status]:has-text("已验收")').waitFor()
    const steps = await d3.locator('[data-test=hazard-timeline] .el-timeline-item strong').allTextContents()
    for (const s of ['上报', '交办', '开始整改', '提交验收', '验收通过']) assert.ok(steps.includes(s), `timeline step ${s}: ${steps}`)
    assert.equal(await d3.locator('[data-test=hazard-actions]').count(), 0, 'no step after acceptance')
    const h = await call(admin, 'GET', `/api/v1/hazards/${id}`)
    assert.equal(h.status, 'accepted')
    assert.equal(h.photos.length, 1)
    await done(page)

    // a link to the hazard opens its drawer; the open-only list no longer has it
    page = await signIn('township01', `/hazards?id=${id}`)
    await page.locator('[data-test=hazard-drawer] [data-test=hazard-status]:has-text("已验收")').waitFor()
    await page.goto(base + '/hazards?open=true')
    await page.locator('[data-test=hazard-table]').waitFor()
    await page.waitForLoadState('networkidle')
    assert.equal(await page.locator('[data-test=hazard-table] .el-table__row', { hasText: title }).count(), 0, 'accepted hazard listed as open')
    await done(page)
  })
})

describe('scope', () => {
  test('OK: a township administrator does not see another township\'s hazards, alerts and devices', async () => {
    // township02 gets a device with an alert and a hazard of its own
    const ent = await enterpriseByName('青山化肥有限公司')
    const created = await call(admin, 'POST', '/api/v1/devices', { enterprise_id: ent.id, code: 'QSHF-GD01', name: '青山化肥可燃气体探测器',
      category: 'hazchem', kind: 'gas_detector', heartbeat_timeout_s: 300 })
    await call(admin, 'POST', '/api/v1/monitor-points', { device_id: created.device.id, code: 'GA-201', name: '合成车间可燃气体',
      kind: 'flammable_gas', unit: '%LEL', thresholds: [{ id: 'high', direction: 'high', hysteresis: 1, min_duration_s: 0, levels: [{ level: 1, name: '一级', value: 20 }] }] })
    await ingest('QSHF-GD01', created.secret, [{ point: 'GA-201', value: 40 }])
    await until('the township02 alert', async () => (await call(admin, 'GET', `/api/v1/alerts?enterprise_id=${ent.id}`)).total > 0)
    const hid = randomUUID()
    await pushHazard(await apiLogin(base, 'safety02'), hid, { title: '青山化肥原料库通风不良', enterprise_id: ent.id })

    const page = await signIn('township01')
    for (const [path, table] of [['/devices', 'device-table'], ['/alerts', 'alert-table'], ['/hazards', 'hazard-table']]) {
      await page.goto(base + path)
      await page.waitForSelector(`[data-test=${table}]`)
      await page.waitForFunction((t) => !document.querySelector(`[data-test=${t}] .el-loading-mask`), table)
      await page.waitForTimeout(300)
      const text = await page.textContent(`[data-test=${table}]`)
      assert.doesNotMatch(text, /青山/, `township01 sees township02 data on ${path}`)
    }
    // a deep link to another township's hazard is refused by the server
    assert.equal((await fetch(`${base}/api/v1/hazards/${hid}`, { headers: { Authorization: `Bearer ${await apiLogin(base, 'township01')}` } })).status, 403)
    await done(page)

    const other = await signIn('township02')
    await other.goto(base + '/devices')
    await other.waitForSelector('[data-test=device-table] .el-table__row:has-text("QSHF-GD01")')
    assert.equal(await other.locator('[data-test=device-table] .el-table__row:has-text("LGSH-GW01")').count(), 0)
    await other.goto(base + '/hazards')
    await other.waitForSelector('[data-test=hazard-table] .el-table__row:has-text("青山化肥原料库通风不良")')
    await other.goto(base + '/alerts')
    await other.waitForSelector('[data-test=alert-table] .el-table__row:has-text("青山化肥有限公司")')
    await done(other)
  })
})

describe('pages', () => {
  test('OK: every prevention and monitoring page renders at 1366×768 without horizontal scroll, accessible, without console errors', async () => {
    const page = await signIn('admin')
    const pages = [
      ['devices', '监测设备', '[data-test=device-table] .el-table__row'],
      ['monitor-points', '监测点', '[data-test=point-table] .el-table__row'],
      ['alerts', '预警', '[data-test=alert-table]'],
      ['alert-receivers', '预警接收人', '[data-test=receiver-table]'],
      ['alert-stats', '预警统计', '[data-test=alert-stats-total]'],
      ['hazards', '隐患', '[data-test=hazard-table]'],
      ['prevention-stats', '统计', '[data-test=patrol-stats-total]'],
    ]
    for (const [path, title, ready] of pages) {
      await page.goto(base + '/' + path)
      await page.waitForSelector(`h1:has-text("${title}")`)
      await page.waitForSelector(ready)
      assert.ok(await page.locator('.el-menu-item', { hasText: title }).count(), `menu item ${title}`)
      assert.equal(await shoot(page, path), 0, `horizontal scroll on /${path} at 1366`)
      await noSeriousAxe(page, '/' + path)
    }
    // forms open without accessibility problems
    await page.goto(base + '/monitor-points')
    await page.click('[data-test=point-create]')
    await page.waitForSelector('[data-test=point-form]')
    await noSeriousAxe(page, 'the point form', '.el-dialog')
    await page.goto(base + '/devices')
    await page.click('[data-test=device-create]')
    await page.waitForSelector('[data-test=device-form]')
    await noSeriousAxe(page, 'the device form', '.el-dialog')
    await page.goto(base + '/alert-receivers')
    await page.click('[data-test=receiver-create]')
    await page.waitForSelector('[data-test=receiver-form]')
    await noSeriousAxe(page, 'the receiver form', '.el-dialog')
    await done(page)
  })
})

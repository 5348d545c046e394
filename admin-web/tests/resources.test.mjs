// Browser tests of the emergency resource pages and the one-map's resource layers and nearest
// query against the real server with the demo city: node --test tests/resources.test.mjs.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { PASSWORD, apiLogin, axeProblems, launch, openPage, shoot, startServer, submitLogin } from './harness.mjs'
import { fill } from './xlsx.mjs'

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

describe('resources', () => {
  test('OK: teams on government and enterprise tabs; ErrImportRow: an import with a bad row names the row and stores nothing', async () => {
    const page = await signIn('admin', '/resources/teams')
    const table = page.locator('[data-test=res-table]')
    await table.locator('.el-table__row', { hasText: '临港园区危化品救援队' }).waitFor()
    assert.equal(await table.locator('.el-table__row', { hasText: '临江氯碱化工企业应急救援队' }).count(), 0, 'the enterprise team is not on the government tab')
    await page.click('[data-test=res-tabs] .el-tabs__item:has-text("企业队伍")')
    await table.locator('.el-table__row', { hasText: '临江氯碱化工企业应急救援队' }).waitFor()
    await page.waitForFunction(() => !document.body.innerText.includes('临港园区危化品救援队'))
    await noSeriousAxe(page, 'the team list')
    await shoot(page, 'resources-teams')

    const template = Buffer.from(await (await fetch(base + '/api/v1/resources/kinds/team/template.xlsx', { headers: { Authorization: `Bearer ${admin}` } })).arrayBuffer())
    const file = join(tmpdir(), `teams-${process.pid}.xlsx`)
    writeFileSync(file, fill(template, [
      { 名称: '浏览器导入救援队甲', 类别: '专业', 所属单位代码: '339901', 队员人数: '12', 处置事故类型: '火灾、爆炸', 纬度: '30.2', 经度: '120.3' },
      { 名称: '浏览器导入救援队乙', 类别: '民间', 所属单位代码: '339901' },
    ]))
    await page.click('[data-test=res-import]')
    await page.setInputFiles('[data-test=import-file]', file)
    await page.click('button:has-text("开始导入")')
    await page.waitForSelector('[data-test=import-errors] .el-table__row')
    const rows = await page.locator('[data-test=import-errors] .el-table__row').allTextContents()
    assert.equal(rows.length, 1, `one bad cell: ${rows}`)
    assert.match(rows[0], /^3/)
    assert.match(rows[0], /类别/)
    assert.match(rows[0], /综合、专业、社会/)
    assert.equal((await call(admin, 'GET', '/api/v1/resources?kind=team&q=' + encodeURIComponent('浏览器导入'))).total, 0, 'all or nothing')
    await noSeriousAxe(page, 'the import dialog', '.el-dialog')

    // Corrected, the file imports and the team is listed.
    writeFileSync(file, fill(template, [
      { 名称: '浏览器导入救援队甲', 类别: '专业', 所属单位代码: '339901', 队员人数: '12', 处置事故类型: '火灾、爆炸', 纬度: '30.2', 经度: '120.3' },
      { 名称: '浏览器导入救援队乙', 类别: '社会', 所属单位代码: '339901' },
    ]))
    await page.setInputFiles('[data-test=import-file]', file)
    await page.click('button:has-text("开始导入")')
    await page.locator('[data-test=import-result]', { hasText: '共导入 2 条' }).waitFor()
    assert.equal((await call(admin, 'GET', '/api/v1/resources?kind=team&q=' + encodeURIComponent('浏览器导入'))).total, 2)
    await done(page, [400])
  })

  test('OK: every resource page lists the demo city at 1366×768 without horizontal scroll, accessible; a shelter is created in the form', async () => {
    const page = await signIn('admin', '/resources/supplies')
    for (const [path, row] of [['supplies', '救生衣'], ['depots', '临江市应急物资储备库'], ['experts', '张明远'], ['shelters', '滨江中学应急避难场所'],
      ['medical', '临江市第一人民医院'], ['forces?tab=fire', '江南消防救援站'], ['forces?tab=police', '滨江派出所'], ['targets?tab=unloading', '临港码头物资卸载点']]) {
      await page.goto(base + '/resources/' + path)
      await page.locator('[data-test=res-table] .el-table__row', { hasText: row }).waitFor()
      assert.equal(await shoot(page, 'resources-' + path.replace(/[?=]/g, '-')), 0, `horizontal scroll on /resources/${path} at 1366`)
      await noSeriousAxe(page, '/resources/' + path)
    }
    await page.goto(base + '/resources/shelters')
    await page.click('[data-test=res-create]')
    const form = page.locator('.el-dialog', { hasText: '新建避难场所' })
    await form.locator('[data-test=res-form-name]').fill('浏览器新建避难所')
    await form.locator('[data-test=res-form-category]').click()
    await page.click('.el-select-dropdown__item:visible:has-text("室外")')
    await page.click('[data-test=res-form-save]')
    await page.locator('[data-test=res-table] .el-table__row', { hasText: '浏览器新建避难所' }).waitFor()
    const got = await call(admin, 'GET', '/api/v1/resources?kind=shelter&q=' + encodeURIComponent('浏览器新建避难所'))
    assert.equal(got.total, 1)
    assert.equal(got.items[0].category, '室外')
    await done(page)
  })

  test('OK: the one-map draws each resource layer, toggles it, and draws the nearest teams around a clicked point', async () => {
    const all = (await call(admin, 'GET', '/api/v1/resources/map')).items
    const teams = all.filter((e) => e.kind === 'team').length
    const shelters = all.filter((e) => e.kind === 'shelter').length
    assert.ok(teams >= 5 && shelters >= 3, `demo teams ${teams}, shelters ${shelters}`)
    const page = await signIn('admin', '/map')
    await page.waitForFunction((n) => document.querySelector('[data-test=res-count-team]')?.textContent === String(n), teams)
    assert.equal(await page.locator('[data-test=res-count-shelter]').textContent(), String(shelters))
    for (const key of ['target-protection', 'target-vulnerable', 'target-important', 'target-unloading', 'medical', 'police', 'fire', 'depot']) {
      assert.ok(Number(await page.locator(`[data-test=res-count-${key}]`).textContent()) > 0, `layer ${key} has markers`)
    }
    const teamMarks = page.locator('.yj-mk-res-team, .yj-cluster-res-team')
    await teamMarks.first().waitFor()
    await page.uncheck('[data-test=res-layer-team]')
    await page.waitForFunction(() => document.querySelectorAll('.yj-mk-res-team, .yj-cluster-res-team').length === 0)
    assert.ok(await page.locator('.yj-mk-res-shelter, .yj-cluster-res-shelter').count() > 0, 'other layers stay')
    await page.check('[data-test=res-layer-team]')
    await teamMarks.first().waitFor()

    // Nearest: pick a point on the map; the answer equals the API's for that point and is drawn.
    await page.click('[data-test=res-nearest-pick]')
    const box = await page.locator('[data-test=map]').boundingBox()
    await page.mouse.click(box.x + box.width * 0.55, box.y + box.height * 0.45)
    await page.locator('[data-test=res-nearest-item]').first().waitFor()
    const where = await page.locator('[data-test=res-nearest-point]').textContent()
    const [, lat, lng] = /纬度 ([\d.]+)，经度 ([\d.]+)/.exec(where)
    const want = await call(admin, 'GET', `/api/v1/resources/nearest?lat=${lat}&lng=${lng}&n=5&kinds=team&status=available`)
    const got = await page.locator('[data-test=res-nearest-item] a').allTextContents()
    assert.deepEqual(got, want.items.map((h) => h.name))
    assert.equal(got.length, 5)
    assert.equal(await page.locator('path.yj-nearest-line').count(), 5, 'a line to each of the five')
    assert.equal(await page.locator('.yj-nearest-mk').count(), 5)
    await noSeriousAxe(page, 'the map with the nearest query', 'aside')
    await shoot(page, 'map-resources-nearest')
    // The first answer links to its page, where the drawer opens.
    await page.locator('[data-test=res-nearest-item] a').first().click()
    await page.waitForURL((u) => u.pathname === '/resources/teams' && u.searchParams.get('id') === want.items[0].id)
    await page.locator('[data-test=res-drawer] .el-drawer__title', { hasText: want.items[0].name }).waitFor()
    await done(page)
  })
})

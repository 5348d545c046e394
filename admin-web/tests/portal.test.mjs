// Browser tests of the portal against the real server with the demo city: node --test.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { apiGet, apiLogin, axeProblems, launch, login, openPage, shoot, startServer, submitLogin } from './harness.mjs'
import { creditCode, fill } from './xlsx.mjs'

let server
let browser
let base

before(async () => {
  server = await startServer()
  base = server.url
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/**
 * done closes the page's context and fails on any console error it saw; HTTP error answers
 * are allowed only with the statuses the test provoked on purpose.
 */
async function done(page, expectedStatuses = []) {
  const { errors, httpErrors } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  const unexpected = httpErrors.filter((s) => !expectedStatuses.includes(s))
  assert.deepEqual(unexpected, [], 'unexpected HTTP error answers logged in the console')
}

async function noSeriousAxe(page, what, context) {
  await page.waitForTimeout(400) // let transitions (dialogs, alerts) finish: contrast is measured as shown
  const problems = await axeProblems(page, context)
  assert.deepEqual(problems, [], `axe-core found serious or critical problems on ${what}`)
}

describe('login', () => {
  test('OK: admin signs in, sees the home page with the unit and the menu', async () => {
    const page = await openPage(browser)
    await page.goto(base + '/login')
    await page.waitForSelector('#login-username')
    await noSeriousAxe(page, 'the login page')
    assert.equal(await shoot(page, 'login'), 0, 'horizontal scroll on the login page at 1366')
    await login(page, base, 'admin')
    await page.waitForSelector('text=您好，')
    await page.waitForFunction(() => document.querySelector('[data-test=home-unit]')?.textContent.includes('临江市'))
    for (const item of ['首页', '组织机构', '企业管理', '用户管理', '审计日志']) {
      assert.ok(await page.locator('.el-menu-item', { hasText: item }).count(), `menu item ${item}`)
    }
    assert.equal(await shoot(page, 'home'), 0, 'horizontal scroll on the home page at 1366')
    await noSeriousAxe(page, 'the home page')
    await done(page)
  })

  test('ErrWrongPassword: the server message, then the remaining attempts', async () => {
    const page = await openPage(browser)
    await login(page, base, 'expert01', 'wrong-password-1')
    await page.waitForSelector('[data-test=login-error]')
    assert.match(await page.textContent('[data-test=login-error]'), /用户名或密码错误/)
    for (let i = 0; i < 2; i++) {
      await page.fill('#login-password', 'wrong-password-1')
      await submitLogin(page)
    }
    await page.waitForSelector('[data-test=login-error] >> text=再输错 3 次账号将被锁定')
    await done(page, [401])
  })

  test('ErrLocked: six wrong passwords lock the account for N minutes', async () => {
    const page = await openPage(browser)
    await page.goto(base + '/login')
    await page.fill('#login-username', 'grid01')
    for (let i = 0; i < 6; i++) {
      await page.fill('#login-password', 'not-the-password')
      await submitLogin(page)
    }
    await page.waitForSelector('[data-test=login-error] >> text=/账号已锁定，请 \\d+ 分钟后再试/')
    // even the right password is refused while locked
    await page.fill('#login-password', 'Test-Demo-2026')
    await submitLogin(page)
    await page.waitForSelector('[data-test=login-error] >> text=/账号已锁定/')
    assert.equal(new URL(page.url()).pathname, '/login')
    await done(page, [401, 423])
  })

  test('ErrSessionReplaced: a newer login elsewhere sends this browser back to the login page with the reason', async () => {
    const first = await openPage(browser)
    await login(first, base, 'district01')
    await first.waitForSelector('text=您好，')
    const second = await openPage(browser)
    await login(second, base, 'district01')
    await second.waitForSelector('text=您好，')
    // The first browser learns of it at its next request: the click, or a background request
    // (live channel, inbox poll) that comes before it and leaves the menu mid-click.
    await first.click('.el-menu-item:has-text("企业管理")', { timeout: 10_000 }).catch(() => {})
    await first.waitForURL(/\/login/)
    await first.waitForSelector('text=您的账号已在另一台设备上登录')
    await done(first, [401])
    await done(second)
  })

  test('OK: menus follow the role: an enterprise safety officer has no user management nor audit', async () => {
    const page = await openPage(browser)
    await login(page, base, 'safety01')
    await page.waitForSelector('text=您好，')
    assert.equal(await page.locator('.el-menu-item', { hasText: '用户管理' }).count(), 0)
    assert.equal(await page.locator('.el-menu-item', { hasText: '审计日志' }).count(), 0)
    await page.goto(base + '/audit')
    await page.waitForSelector('text=无权访问')
    await done(page)
  })
})

describe('pages', () => {
  test('OK: every main page renders at 1366×768 without horizontal scroll, accessible, without console errors', async () => {
    const page = await openPage(browser)
    await login(page, base, 'admin')
    await page.waitForSelector('text=您好，')
    const pages = [
      ['org-units', '组织机构', '[data-test=unit-table] .el-table__row'],
      ['enterprises', '企业管理', '[data-test=enterprise-table] .el-table__row'],
      ['users', '用户管理', '[data-test=user-table] .el-table__row'],
      ['audit', '审计日志', '[data-test=audit-table] .el-table__row'],
      ['password', '修改密码', '[data-test=password-policy]'],
    ]
    for (const [path, title, ready] of pages) {
      await page.goto(base + '/' + path)
      await page.waitForSelector(`h1:has-text("${title}")`)
      await page.waitForSelector(ready)
      assert.equal(await shoot(page, path), 0, `horizontal scroll on /${path} at 1366`)
      await noSeriousAxe(page, '/' + path)
    }
    // the password rules come from the server
    const policy = await (await fetch(base + '/api/v1/auth/password-policy')).json()
    await page.waitForSelector(`[data-test=password-policy] >> text=${policy.description}`)
    await done(page)
  })
})

describe('enterprises', () => {
  test('ErrCreditCode: a wrong unified social credit code shows the server reason on the field', async () => {
    const page = await openPage(browser)
    await login(page, base, 'admin')
    await page.waitForSelector('text=您好，')
    await page.goto(base + '/enterprises')
    await page.click('[data-test=enterprise-create]')
    await page.fill('#ent-name', '临江测试化工有限公司')
    await page.fill('#ent-credit', '91339901MA21000001')
    await page.click('#ent-town')
    await page.click('.el-select-dropdown__item:visible >> nth=0')
    await page.click('[data-test=enterprise-save]')
    const err = page.locator('[data-test=enterprise-form] .el-form-item:has(#ent-credit) .el-form-item__error')
    await err.waitFor()
    assert.match(await err.textContent(), /统一社会信用代码校验位错误：第 18 位应为“.”，实际为“1”/)
    // fixing it saves the enterprise
    await page.fill('#ent-credit', creditCode('91339901MA2100001'))
    await page.click('[data-test=enterprise-save]')
    await page.waitForSelector('text=已保存')
    await page.fill('input[aria-label=企业名称或信用代码]', '临江测试化工')
    await page.click('button:has-text("查询")')
    await page.waitForSelector('[data-test=enterprise-table] >> text=临江测试化工有限公司')
    await done(page, [400])
  })

  test('ErrImportRow: an Excel import with one bad row names the row and the column', async () => {
    const token = await apiLogin(base, 'admin')
    const units = await (await apiGet(base, token, '/api/v1/org-units?level=township')).json()
    const town = units.items[0]
    const template = Buffer.from(await (await apiGet(base, token, '/api/v1/enterprises/template.xlsx')).arrayBuffer())
    const file = join(tmpdir(), `enterprises-${process.pid}.xlsx`)
    writeFileSync(file, fill(template, [
      { 企业名称: '临江导入测试一号有限公司', 统一社会信用代码: creditCode('91339901MA2200001'), '所属乡镇（街道）代码': town.code },
      { 企业名称: '临江导入测试二号有限公司', 统一社会信用代码: '91339901MA22000021', '所属乡镇（街道）代码': town.code },
    ]))

    const page = await openPage(browser)
    await login(page, base, 'admin')
    await page.waitForSelector('text=您好，')
    await page.goto(base + '/enterprises')
    await page.click('button:has-text("Excel 导入")')
    await page.setInputFiles('[data-test=import-file]', file)
    await page.click('button:has-text("开始导入")')
    await page.waitForSelector('[data-test=import-errors] .el-table__row')
    assert.match(await page.textContent('[data-test=import-result]'), /第 3 行|3/)
    const rows = await page.locator('[data-test=import-errors] .el-table__row').allTextContents()
    assert.equal(rows.length, 1, `one bad cell: ${rows}`)
    assert.match(rows[0], /^3/)
    assert.match(rows[0], /统一社会信用代码/)
    assert.match(rows[0], /校验位错误/)
    assert.ok(await page.locator('.el-progress').count(), 'progress bar shown')
    await noSeriousAxe(page, 'the import dialog', '.el-dialog')
    await done(page, [400])
  })

  test('OK: a township administrator does not see another township\'s enterprises', async () => {
    const admin = await apiLogin(base, 'admin')
    const towns = (await (await apiGet(base, admin, '/api/v1/org-units?level=township')).json()).items
    const byName = (n) => towns.find((t) => t.name === n)
    const mine = byName('临港化工园区街道')
    const theirs = byName('青山镇')
    assert.ok(mine && theirs, 'demo townships')
    const others = (await (await apiGet(base, admin, `/api/v1/enterprises?township_id=${theirs.id}`)).json()).items
    assert.ok(others.length > 0, 'the other township has enterprises')

    const page = await openPage(browser)
    await login(page, base, 'township01')
    await page.waitForSelector('text=您好，')
    await page.goto(base + '/enterprises')
    await page.waitForSelector('[data-test=enterprise-table] .el-table__row')
    const towns01 = await page.locator('[data-test=enterprise-table] .el-table__body .el-table__row td:nth-child(4)').allTextContents()
    assert.ok(towns01.length > 0)
    for (const t of towns01) assert.equal(t.trim(), mine.name)
    await page.fill('input[aria-label=企业名称或信用代码]', others[0].name)
    await page.click('button:has-text("查询")')
    await page.waitForSelector('text=共 0 家企业')
    await done(page)
  })
})

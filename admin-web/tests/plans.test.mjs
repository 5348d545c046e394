// Browser test of the plan publish workflow by two people (the district administrator drafts
// and submits, the city administrator publishes; the author cannot), the full-text search with
// highlights, and the knowledge base's MSDS search — against the real server with the demo
// city: node --test tests/plans.test.mjs (see harness.mjs).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { PASSWORD, apiLogin, launch, openPage, shoot, startServer, submitLogin } from './harness.mjs'

let server
let browser
let base
let district
let planId

before(async () => {
  server = await startServer()
  base = server.url
  browser = await launch()
  district = await apiLogin(base, 'district01')
  const admin = await apiLogin(base, 'admin')
  const units = (await call(admin, 'GET', '/api/v1/org-units')).items
  const jiangnan = units.find((u) => u.code === '339901')
  const p = await call(district, 'POST', '/api/v1/plans', { title: '江南区地下管廊燃气泄漏专项应急预案', kind: 'special', level: 'district',
    org_unit_id: jiangnan.id, content: { summary: '适用于江南区综合管廊内燃气泄漏', levels: [] } })
  planId = p.id
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
  await page.goto(base + '/login?redirect=' + encodeURIComponent(path))
  await page.fill('#login-username', username)
  await page.fill('#login-password', PASSWORD)
  await submitLogin(page)
  await page.waitForURL((u) => u.pathname === path.split('?')[0])
  await page.waitForSelector('.el-menu-item')
  return page
}

async function done(page) {
  const { errors } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
}

async function status(page) {
  return (await page.textContent('[data-test=plan-status]')).trim()
}

test('the author drafts and submits; he cannot publish; another publishes; search finds a word inside a section', async () => {
  // The district administrator writes a chapter and a response level, saves, submits.
  let page = await signIn('district01', `/plans/${planId}`)
  await page.waitForSelector('[data-test=plan-status]')
  assert.equal(await status(page), '草稿')
  await page.getByRole('tab', { name: '处置章节' }).click()
  await page.click('[data-test=plan-add-chapter]')
  await page.getByLabel('章节标题').fill('处置措施')
  await page.locator('[data-test=plan-chapter-0]').fill('关闭管廊燃气紧急切断阀，启动强制通风，使用防爆型检测仪监测浓度')
  await page.getByRole('tab', { name: '分级响应' }).click()
  await page.click('[data-test=plan-add-level]')
  await page.getByRole('button', { name: '添加启动条件' }).click()
  await page.click('[data-test=plan-save]')
  await page.getByText('已保存').waitFor()
  await page.click('[data-test=plan-submit]')
  await page.waitForFunction(() => document.querySelector('[data-test=plan-status]')?.textContent?.trim() === '审核中')
  // Two-person rule: the author sees the publish button disabled.
  assert.equal(await page.isDisabled('[data-test=plan-publish]'), true, 'the author may not publish his own version')
  await shoot(page, 'plan-review')
  await done(page)
  // The server refuses him too.
  const res = await fetch(`${base}/api/v1/plans/${planId}/publish`, { method: 'POST', headers: { Authorization: `Bearer ${district}` } })
  assert.equal(res.status, 403)

  // The city administrator publishes it.
  page = await signIn('admin', `/plans/${planId}`)
  await page.waitForSelector('[data-test=plan-publish]')
  assert.equal(await page.isDisabled('[data-test=plan-publish]'), false)
  await page.click('[data-test=plan-publish]')
  await page.locator('.el-message-box input').fill('同意发布')
  await page.getByRole('button', { name: '发布', exact: true }).click()
  await page.waitForFunction(() => document.querySelector('[data-test=plan-status]')?.textContent?.trim() === '已发布')
  await page.getByRole('tab', { name: /版本历史/ }).click()
  const history = await page.textContent('[data-test=plan-versions]')
  assert.match(history, /李管理/, 'the reviewer is in the version history')

  // Search: a word inside the chapter, marked.
  await page.goto(base + '/plan-search')
  await page.fill('[data-test=plan-search-q]', '强制通风')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[data-test=plan-search-results] mark')
  const mark = await page.textContent('[data-test=plan-search-results] mark')
  assert.equal(mark, '强制通风')
  assert.match(await page.textContent('[data-test=plan-search-results]'), /江南区地下管廊燃气泄漏专项应急预案/)
  await shoot(page, 'plan-search')
  await done(page)
})

test('the knowledge base finds the MSDS sheet of chlorine by its CAS number', async () => {
  const page = await signIn('rescue01', '/knowledge')
  await page.fill('[data-test=kb-search]', '7782-50-5')
  await page.keyboard.press('Enter')
  await page.waitForSelector('[data-test=kb-hits] .hit')
  assert.match(await page.textContent('[data-test=kb-hits]'), /液氯/)
  await page.click('[data-test=kb-hits] .hit')
  await page.getByText('泄漏应急处置').waitFor()
  await shoot(page, 'knowledge-msds')
  await done(page)
})

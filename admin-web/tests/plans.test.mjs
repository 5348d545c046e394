// Browser test of the plan publish workflow by two people (the district administrator drafts
// and submits, the city administrator publishes; the author cannot), the full-text search with
// highlights, the knowledge base's MSDS search, and a draft's attachments (upload through the
// media store, list, download, delete; none of it on a published version) — against the real
// server with the demo city: node --test tests/plans.test.mjs (see harness.mjs).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
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

/** pdf writes a small valid PDF whose bytes differ by label, and returns its path. */
function pdf(name, label) {
  const body = `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${label}\ntrailer << /Root 1 0 R >>\n%%EOF\n`
  const path = join(mkdtempSync(join(tmpdir(), 'plan-attachment-')), name)
  writeFileSync(path, body)
  return path
}

test('the attachments of a draft are uploaded, listed, downloaded and deleted; a published version keeps them read-only', async () => {
  const admin = await apiLogin(base, 'admin')
  const units = (await call(admin, 'GET', '/api/v1/org-units')).items
  const p = await call(district, 'POST', '/api/v1/plans', { title: '江南区城市内涝专项应急预案', kind: 'special', level: 'district',
    org_unit_id: units.find((u) => u.code === '339901').id, content: { summary: '适用于江南区城市内涝',
      levels: [{ level: 4, conditions: [{ metric: 'affected', op: '>=', value: 100 }], measures: ['区防汛办启动四级响应'] }] } })
  const map = pdf('江南区易涝点分布图.pdf', 'map')
  const roster = pdf('抢险队伍名单.pdf', 'roster')

  let page = await signIn('district01', `/plans/${p.id}`)
  await page.getByRole('tab', { name: /附件/ }).click()
  await page.setInputFiles('[data-test=plan-attach-file]', [map, roster])
  await page.getByText('已保存').waitFor()
  await page.waitForFunction(() => document.querySelectorAll('[data-test=plan-attachments] tbody tr').length === 2)
  const table = await page.textContent('[data-test=plan-attachments]')
  assert.match(table, /江南区易涝点分布图\.pdf/)
  assert.match(table, /抢险队伍名单\.pdf/)
  let saved = await call(district, 'GET', `/api/v1/plans/${p.id}`)
  assert.deepEqual(saved.content.attachments.map((a) => a.name), ['江南区易涝点分布图.pdf', '抢险队伍名单.pdf'], 'the draft refers to both files')

  // Download gives back the bytes uploaded.
  const row = page.locator('[data-test=plan-attachments] tbody tr', { hasText: '江南区易涝点分布图.pdf' })
  const [dl] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: '下载' }).click()])
  assert.deepEqual(readFileSync(await dl.path()), readFileSync(map), 'the downloaded file is the uploaded one')

  // Delete one (confirmed): gone from the list and from the saved draft.
  await page.locator('[data-test=plan-attachments] tbody tr', { hasText: '抢险队伍名单.pdf' }).getByRole('button', { name: '删除' }).click()
  await page.locator('.el-message-box').getByRole('button', { name: '删除' }).click()
  await page.waitForFunction(() => document.querySelectorAll('[data-test=plan-attachments] tbody tr').length === 1)
  saved = await call(district, 'GET', `/api/v1/plans/${p.id}`)
  assert.deepEqual(saved.content.attachments.map((a) => a.name), ['江南区易涝点分布图.pdf'])
  await shoot(page, 'plan-attachments')
  await done(page)

  // Published by another person: the attachment stays, downloadable, with no upload or delete.
  await call(district, 'POST', `/api/v1/plans/${p.id}/submit`)
  await call(admin, 'POST', `/api/v1/plans/${p.id}/publish`, { comment: '同意' })
  page = await signIn('district01', `/plans/${p.id}`)
  await page.waitForFunction(() => document.querySelector('[data-test=plan-status]')?.textContent?.trim() === '已发布')
  await page.getByRole('tab', { name: /附件/ }).click()
  await page.getByText('已发布或审核中的版本不可更改附件').waitFor()
  assert.equal(await page.locator('[data-test=plan-attach-file]').count(), 0, 'no upload on a published version')
  assert.equal(await page.locator('[data-test=plan-attachments]').getByRole('button', { name: '删除' }).count(), 0, 'no delete on a published version')
  const [dl2] = await Promise.all([page.waitForEvent('download'),
    page.locator('[data-test=plan-attachments] tbody tr').first().getByRole('button', { name: '下载' }).click()])
  assert.deepEqual(readFileSync(await dl2.path()), readFileSync(map))
  await done(page)
  // The server refuses a change of the published version's attachments.
  const res = await fetch(`${base}/api/v1/plans/${p.id}`, { method: 'PATCH', headers: { Authorization: `Bearer ${district}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ content: { ...saved.content, attachments: [] } }) })
  assert.equal(res.status, 409)
})

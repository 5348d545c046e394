// Browser test of the command map (应急指挥一张图) and the incident detail against the real server
// with the demo city: node --test tests/command.test.mjs. An incident is reported through the
// API near the chemical park; the duty officer opens the command map (no id: the most recent
// incident under response is chosen), sees the incident and the nearby teams with distance, picks
// one and sees its route with the time, dispatches it, texts its contact (SMS through a local
// stand-in of the SMS gateway that records what it was asked to send) and proposes starting the
// response; leader01 approves it on his command map; a chat message is sent; a task and a scene
// feedback with GPS and a photo made through the API appear on the duty officer's open map.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { apiLogin, axeProblems, horizontalOverflow, launch, shoot, startServer, signInAt } from './harness.mjs'

let server
let browser
let base
let duty
let leader
let sms // the SMS gateway stand-in
const smsSent = []
let incident

const LAT = 30.2231
const LNG = 120.3512
const TEAM = '临港园区危化品救援队'

before(async () => {
  // SMS gateway stand-in: accepts every well-formed request and records it, answering as the
  // gateway does ({code: "OK", biz_id}).
  sms = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const m = JSON.parse(body)
      smsSent.push({ ...m, signed: Boolean(req.headers['x-sms-signature'] || new URL(req.url, 'http://x').searchParams.get('signature')) })
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ code: 'OK', message: 'OK', biz_id: `biz-${smsSent.length}` }))
    })
  })
  await new Promise((ok) => sms.listen(0, '127.0.0.1', ok))
  Object.assign(process.env, {
    YINGJI_SMS_URL: `http://127.0.0.1:${sms.address().port}/sms/send`, YINGJI_SMS_ACCESS_KEY: 'test-key', YINGJI_SMS_SECRET: 'test-secret',
    YINGJI_SMS_SIGN_NAME: '临江应急', YINGJI_SMS_ALERT_TEMPLATE: 'SMS_ALERT', YINGJI_SMS_CONTACT_TEMPLATE: 'SMS_CONTACT',
  })
  server = await startServer()
  base = server.url
  browser = await launch()
  duty = await apiLogin(base, 'duty01')
  leader = await apiLogin(base, 'leader01')
})

after(async () => {
  await browser?.close()
  await server?.stop()
  sms?.close()
})

async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

/** signIn opens a fresh context and signs in as username, going straight to path. */
const signIn = (username, path = '/', opts = {}) => signInAt(browser, base, username, path, opts)

async function done(page, expectedStatuses = []) {
  const { errors, httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  assert.deepEqual(httpErrors.filter((s) => !expectedStatuses.includes(s)), [], `HTTP error answers logged in the console: ${badResponses.join(', ')}`)
}

/** uploadPhoto makes a small JPEG with ffmpeg and uploads it with tus; returns its SHA-256. */
async function uploadPhoto(token) {
  const dir = mkdtempSync(join(tmpdir(), 'cmd-photo-'))
  const file = join(dir, 'scene.jpg')
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=1', '-frames:v', '1', '-y', file])
  const buf = readFileSync(file)
  rmSync(dir, { recursive: true, force: true })
  const sha = createHash('sha256').update(buf).digest('hex')
  const b64 = (s) => Buffer.from(s).toString('base64')
  const res = await fetch(base + '/api/v1/media/uploads', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(buf.length),
      'Upload-Metadata': `sha256 ${b64(sha)},filename ${b64('scene.jpg')},content_type ${b64('image/jpeg')}`, 'Content-Type': 'application/offset+octet-stream' },
    body: buf,
  })
  assert.ok(res.ok, `upload: ${res.status} ${await res.text()}`)
  assert.equal(Number(res.headers.get('Upload-Offset')), buf.length)
  return sha
}

describe('command map', () => {
  let dutyPage

  test('OK: the duty officer sees the incident and the nearest teams, picks one, sees its route and time, dispatches it and texts its contact', async () => {
    incident = await call(duty, 'POST', '/api/v1/incidents', {
      title: '浏览器测试：液氯储罐泄漏', class: 'accident', sub_type: '危险化学品事故', grade: '一般', source: 'phone',
      address: '临港化工园区', lat: LAT, lng: LNG, dead: 1, injured: 2, missing: 0, trapped: 0, affected: 50, economic_loss: 0,
      reporter_name: '张报告', reporter_phone: '13900000001', description: '储罐区液氯泄漏', exercise: false, materials: [{ name: '液氯', cas: '7782-50-5', amount: 0, unit: '' }],
    })
    const page = await signIn('duty01', '/command')
    dutyPage = page
    // no ?id=: the most recent incident under response (or reported) is opened
    await page.waitForURL((u) => u.searchParams.get('id') === incident.id)
    await page.locator('[data-test=incident-title]', { hasText: '浏览器测试：液氯储罐泄漏' }).waitFor()
    assert.match(await page.locator('[data-test=casualties]').innerText(), /死亡 1 · 受伤 2/)
    await page.locator('path.yj-cmd-incident').waitFor()

    // the nearest teams with distance; the hazmat team a few hundred metres away is listed
    const item = page.locator('[data-test=dispatch-panel] [data-test=nearby-item]', { hasText: TEAM })
    await item.waitFor()
    assert.match(await item.innerText(), /\d+(\.\d)? ?(米|公里)/, 'distance shown')
    // and numbered on the map around the incident
    assert.ok(await page.locator('.yj-cmd-near').count() >= 5, 'the nearest resources are on the map')
    assert.match(await page.locator('[data-test=layer-nearest]').innerText(), /最近资源（[1-9]\d*）/)
    // pick it: its route is drawn on the map with distance and time
    await item.locator('[data-test=nearby-route]').click()
    const summary = page.locator('[data-test=route-summary]')
    await summary.waitFor()
    assert.match(await summary.innerText(), new RegExp(`${TEAM}：.*(米|公里) · 约 \\d+ (分钟|小时)`))
    await page.locator('path.yj-route').waitFor()

    // dispatch it
    await item.locator('[data-test=order-team]').click()
    await page.locator('.el-message--success', { hasText: `已下达调度：${TEAM}` }).waitFor()
    await page.locator('[data-test=incident-order]', { hasText: TEAM }).waitFor()
    const orders = await call(duty, 'GET', `/api/v1/incidents/${incident.id}/dispatch-orders`)
    assert.equal(orders.items.filter((o) => o.resource_name === TEAM).length, 1, 'one order for the team')

    // one-click SMS to its contact: the stand-in receives it and the result is shown
    const item2 = page.locator('[data-test=dispatch-panel] [data-test=nearby-item]', { hasText: TEAM })
    const tel = await item2.locator('[data-test=tel-link]').getAttribute('href')
    assert.match(tel, /^tel:[\d-]+$/)
    await item2.locator('[data-test=contact-sms]').click()
    await page.locator('textarea[data-test=contact-text]:visible').fill('请立即赶赴临港化工园区液氯储罐区')
    await page.locator('[data-test=contact-send]:visible').click()
    const result = item2.locator('[data-test=contact-result]')
    await result.waitFor()
    assert.match(await result.innerText(), new RegExp(`短信已发送至 ${tel.slice(4)}`))
    assert.equal(smsSent.length, 1)
    assert.deepEqual(smsSent[0].phones, [tel.slice(4)])
    assert.equal(smsSent[0].params.text, '请立即赶赴临港化工园区液氯储罐区')
    assert.ok(smsSent[0].signed, 'the request is signed')
  })

  test('OK: the duty officer proposes starting the response; leader01 approves it on the command map and the level shows', async () => {
    const page = dutyPage
    await page.locator('[data-test=incident-level]', { hasText: '未启动响应' }).waitFor()
    await page.click('[data-test=propose-start]')
    const box = page.locator('.el-message-box')
    if (await box.isVisible().catch(() => false)) {
      await box.locator('input').fill('现场研判需启动响应')
      await box.locator('button:has-text("确定"), button:has-text("OK")').first().click()
    }
    await page.locator('.el-message--success', { hasText: '已提交，待领导审批' }).waitFor()
    await page.locator('[data-test=response-steps] [data-test=action-state]', { hasText: '待审批' }).waitFor()
    assert.equal(await page.locator('[data-test=approve]').count(), 0, 'the duty officer cannot approve')

    // the leader opens the command map without an id and lands on the incident awaiting his approval
    const lp = await signIn('leader01', '/command')
    await lp.waitForURL((u) => u.searchParams.get('id') === incident.id)
    await lp.locator('[data-test=my-approvals]').waitFor()
    await lp.click('[data-test=approve]')
    await lp.locator('.el-message--success', { hasText: '已批准' }).waitFor()
    await lp.locator('[data-test=incident-level]', { hasText: /[一二三四]级响应/ }).waitFor()
    await lp.locator('[data-test=incident-status]', { hasText: '响应中' }).waitFor()
    const x = await call(leader, 'GET', `/api/v1/incidents/${incident.id}`)
    assert.equal(x.status, 'responding')
    assert.ok(x.response_level >= 1 && x.response_level <= 4)
    // the leader writes in the incident chat
    await lp.click('.el-tabs__item:has-text("群组")')
    await lp.fill('input[data-test=chat-input]', '指挥部已成立，各组按预案处置')
    await lp.click('[data-test=chat-send]')
    await lp.locator('[data-test=chat-message]', { hasText: '指挥部已成立，各组按预案处置' }).waitFor()
    await done(lp)

    // the duty officer's open map follows without a reload: level, members, the chat
    await page.locator('[data-test=incident-level]', { hasText: `${'一二三四'[x.response_level - 1]}级响应` }).waitFor({ timeout: 15000 })
    await page.locator('[data-test=member]').first().waitFor({ timeout: 15000 })
    await page.click('.el-tabs__item:has-text("群组")')
    await page.locator('[data-test=chat-message]', { hasText: '指挥部已成立，各组按预案处置' }).waitFor({ timeout: 15000 })
  })

  test('OK: a task and a scene feedback with GPS and a photo made through the API appear on the open command map', async () => {
    const page = dutyPage
    const admin = await apiLogin(base, 'admin')
    const users = await call(admin, 'GET', '/api/v1/users?q=rescue01')
    const rescue = users.items.find((u) => u.username === 'rescue01')
    const task = await call(duty, 'POST', `/api/v1/incidents/${incident.id}/tasks`, { title: '关闭液氯储罐进出口阀门', detail: '佩戴正压式空气呼吸器', assignee_id: rescue.id })
    const sha = await uploadPhoto(duty)
    const hlc = `${String(Date.now()).padStart(16, '0')}-00000-test-phone`
    const push = await call(duty, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'test-phone', mutations: [{
      mutation_id: randomUUID(), collection: 'feedback', id: randomUUID(), op: 'create', base_seq: 0, hlc,
      fields: { incident_id: incident.id, task_id: task.id, text: '阀门已关闭，泄漏减小', photos: [sha], location: { lat: LAT + 0.001, lng: LNG + 0.001 } } }] })
    assert.equal(push.results[0].status, 'applied', JSON.stringify(push.results[0]))
    const ck = await call(duty, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'test-phone', mutations: [{
      mutation_id: randomUUID(), collection: 'checkins', id: randomUUID(), op: 'create', base_seq: 0, hlc: hlc.replace(/^\d+/, (t) => String(Number(t) + 1).padStart(16, '0')),
      fields: { incident_id: incident.id, note: '指挥车已到场', location: { lat: LAT - 0.001, lng: LNG - 0.001 } } }] })
    assert.equal(ck.results[0].status, 'applied', JSON.stringify(ck.results[0]))

    await page.click('.el-tabs__item:has-text("任务与反馈")')
    await page.locator('[data-test=task]', { hasText: '关闭液氯储罐进出口阀门' }).waitFor({ timeout: 15000 })
    // headquarters gives the hazmat team a task from the map
    await page.fill('input[data-test=task-title]', '在下风向 500 米设置警戒线')
    await page.click('.task-new .el-select')
    await page.click(`.el-select-dropdown__item:visible:has-text("${TEAM}")`)
    await page.click('[data-test=task-create]')
    await page.locator('[data-test=task]', { hasText: '在下风向 500 米设置警戒线' }).waitFor()
    const mine = (await call(duty, 'GET', `/api/v1/incidents/${incident.id}/tasks`)).items.find((t) => t.title === '在下风向 500 米设置警戒线')
    assert.equal(mine.team_name, TEAM)
    assert.equal(mine.status, 'assigned')
    const fb = page.locator('[data-test=feedback]', { hasText: '阀门已关闭，泄漏减小' })
    await fb.waitFor({ timeout: 15000 })
    assert.match(await fb.innerText(), /任务：关闭液氯储罐进出口阀门/)
    await page.locator('path.yj-cmd-feedback').waitFor({ timeout: 15000 })
    await page.locator('[data-test=checkin]', { hasText: '指挥车已到场' }).waitFor({ timeout: 15000 })
    await page.locator('path.yj-cmd-checkin').waitFor()
    // the photo's thumbnail (a signed URL of the media API) loads once the server made it
    await fb.locator('[data-test=photo] img').waitFor({ timeout: 30000 })
    await page.waitForFunction(() => [...document.querySelectorAll('[data-test=feedback] [data-test=photo] img')].some((img) => img.complete && img.naturalWidth > 0),
      null, { timeout: 15000 })

    // layers: risk points and monitoring points around the incident, toggled
    const risk = page.locator('[data-test=layer-risk]')
    await risk.waitFor()
    const n = Number(/（(\d+)）/.exec(await risk.innerText())[1])
    assert.ok(n > 0, 'risk points around the chemical park')
    assert.equal(await page.locator('path.yj-cmd-risk').count(), n)
    await risk.click()
    assert.equal(await page.locator('path.yj-cmd-risk').count(), 0, 'the layer is hidden')
    await risk.click()
    assert.equal(await page.locator('path.yj-cmd-risk').count(), n)

    await page.setViewportSize({ width: 1366, height: 768 })
    await page.click('.el-tabs__item:has-text("资源调度")')
    await page.locator('[data-test=dispatch-panel] [data-test=nearby-item]', { hasText: TEAM }).locator('[data-test=nearby-route]').click()
    await page.waitForTimeout(500)
    const overflow = await shoot(page, 'command-map')
    assert.equal(overflow, 0, 'no sideways scroll at 1366')
    await page.mouse.move(1, 1)
    assert.deepEqual(await axeProblems(page, '[data-test=command-map]'), [], 'axe-core: serious or critical problems on the command map')
    await done(page)
  })

  test('OK: at 390 px the command map stacks without sideways scroll; the incident detail opens the command map', async () => {
    const page = await signIn('duty01', `/command?id=${incident.id}`, { width: 390, height: 844 })
    await page.locator('[data-test=incident-title]').waitFor()
    await page.locator('[data-test=dispatch-panel] [data-test=nearby-item]').first().waitFor()
    await page.waitForTimeout(300)
    await page.screenshot({ path: join('tests', 'artifacts', 'command-map-390.png'), fullPage: true })
    assert.equal(await horizontalOverflow(page), 0, 'no sideways scroll at 390 px')

    await page.goto(`${base}/incidents?id=${incident.id}`)
    const drawer = page.locator('[data-test=incident-drawer]')
    await drawer.locator('[data-test=incident-facts]').waitFor()
    assert.match(await drawer.innerText(), /死亡 1 · 受伤 2/)
    assert.match(await drawer.locator('[data-test=material]').innerText(), /液氯（CAS 7782-50-5）/)
    await drawer.locator('[data-test=drawer-order]', { hasText: TEAM }).waitFor()
    await drawer.locator('[data-test=drawer-task]', { hasText: '关闭液氯储罐进出口阀门' }).waitFor()
    assert.ok(await drawer.locator('[data-test=drawer-member]').count() > 0, 'the command groups are listed')
    assert.match(await drawer.locator('[data-test=drawer-match]').innerText(), /\S/)
    assert.equal(await horizontalOverflow(page), 0, 'no sideways scroll of the drawer at 390 px')
    await page.screenshot({ path: join('tests', 'artifacts', 'incident-drawer-390.png') })
    // ErrContact: a 浙政钉 notice to a member without an account (or without 浙政钉 configured) is refused, and the person sees why
    const member = drawer.locator('[data-test=drawer-member]').first()
    await member.locator('[data-test=contact-zzd]').click()
    await page.locator('textarea[data-test=contact-text]:visible').fill('请到指挥部集合')
    await page.locator('[data-test=contact-send]:visible').click()
    await member.locator('[data-test=contact-result]').waitFor()
    assert.match(await member.locator('[data-test=contact-result]').innerText(), /^浙政钉未发送：(对方没有登记浙政钉账号|未配置浙政钉（zzd_domain）)$/)
    await drawer.locator('[data-test=open-command]').click()
    await page.waitForURL((u) => u.pathname === '/command' && u.searchParams.get('id') === incident.id)
    await page.locator('[data-test=incident-title]').waitFor()
    await done(page, [400, 409])
    assert.ok(page.badResponses.every((r) => r.endsWith('/api/v1/contact/zzd')), page.badResponses.join(', '))
  })

  test('OK: an incident reported in the portal form with its place picked on the map opens on the command map', async () => {
    const page = await signIn('duty01', '/incidents')
    await page.click('[data-test=incident-new]')
    await page.fill('#inc-title', '浏览器接报：园区管道泄漏')
    const picker = page.locator('[data-test=incident-form] .leaflet-container')
    await picker.waitFor()
    await page.waitForTimeout(300)
    const box = await picker.boundingBox()
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    await page.waitForFunction(() => /^\d+\.\d+$/.test(document.querySelector('input[data-test=incident-lat]')?.value ?? ''))
    await page.click('[data-test=incident-save]')
    await page.waitForURL((u) => u.pathname === '/command' && !!u.searchParams.get('id'))
    await page.locator('[data-test=incident-title]', { hasText: '浏览器接报：园区管道泄漏' }).waitFor()
    await page.locator('path.yj-cmd-incident').waitFor()
    const id = new URL(page.url()).searchParams.get('id')
    const x = await call(duty, 'GET', `/api/v1/incidents/${id}`)
    assert.equal(x.title, '浏览器接报：园区管道泄漏')
    assert.ok(x.lat > 29 && x.lat < 31.5 && x.lng > 119 && x.lng < 121.5, `picked place ${x.lat},${x.lng} lies in the demo city`)
    await done(page)
  })
})

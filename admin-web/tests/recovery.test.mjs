// Browser test of recovery (恢复重建) against the real server with the demo city:
// node --test tests/recovery.test.mjs (see harness.mjs; run `npm run build` first).
// An incident's chain is built through the API the way the portal and the phones make it
// (incident → response proposed and approved by the leader → a team dispatched → a task with
// a position → the rescue member's check-in and feedback with a photo over sync → chat); the
// replay shows it in order beside a map that plays it back, with the integrity badge; an
// assessment is made from it, edited, finalised and downloaded as .docx and PDF; the big screen
// shows the incident.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { apiLogin, axeProblems, artifacts, horizontalOverflow, launch, startServer, signInAt } from './harness.mjs'

let server
let browser
let base
let admin
let rescue
let rescueMe
let work
const title = `临港化工园区储罐区液氯泄漏-${randomUUID().slice(0, 6)}`
const chain = {} // ids of what the chain made

before(async () => {
  server = await startServer()
  base = server.url
  browser = await launch()
  work = mkdtempSync(join(tmpdir(), 'yingji-recovery-'))
  admin = await apiLogin(base, 'admin')
  rescue = await apiLogin(base, 'rescue01')
  rescueMe = await call(rescue, 'GET', '/api/v1/auth/me')
  assert.ok(rescueMe.team_id, 'rescue01 belongs to a demo team')
  await buildChain()
})

after(async () => {
  await browser?.close()
  await server?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** call is a JSON API call with a token; it fails the test on an error answer. */
async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const hlc = () => `${String(Date.now()).padStart(16, '0')}-00000-recovery`

/** push sends one create over sync as a phone does and checks it was applied. */
async function push(token, collection, fields) {
  const id = randomUUID()
  const res = await call(token, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'recovery-phone',
    mutations: [{ mutation_id: randomUUID(), collection, id, op: 'create', base_seq: 0, fields, hlc: hlc() }] })
  assert.equal(res.results[0].status, 'applied', `${collection}: ${JSON.stringify(res.results[0])}`)
  return id
}

/** uploadPhoto makes a JPEG with ffmpeg and uploads it through the tus endpoint (creation-with-upload); returns its SHA-256. */
async function uploadPhoto(token) {
  const file = join(work, 'scene.jpg')
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=1', '-frames:v', '1', file])
  const bytes = readFileSync(file)
  const sha = createHash('sha256').update(bytes).digest('hex')
  const b64 = (s) => Buffer.from(s).toString('base64')
  const res = await fetch(base + '/api/v1/media/uploads', { method: 'POST', body: bytes, headers: { Authorization: `Bearer ${token}`,
    'Tus-Resumable': '1.0.0', 'Upload-Length': String(bytes.length), 'Content-Type': 'application/offset+octet-stream',
    'Upload-Metadata': `sha256 ${b64(sha)},filename ${b64('scene.jpg')},content_type ${b64('image/jpeg')}` } })
  assert.equal(res.status, 201, `upload: ${res.status} ${await res.text()}`)
  if (res.headers.get('Upload-Offset') !== String(bytes.length)) {
    const loc = new URL(res.headers.get('Location'), base).pathname
    const patch = await fetch(base + loc, { method: 'PATCH', body: bytes, headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0',
      'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' } })
    assert.equal(patch.status, 204, `upload patch: ${patch.status}`)
  }
  return sha
}

/** buildChain makes the incident and everything that happens to it, a moment apart. */
async function buildChain() {
  const occurred = new Date(Date.now() - 10 * 60_000).toISOString()
  const inc = await call(admin, 'POST', '/api/v1/incidents', { title, class: 'accident', sub_type: '危险化学品事故', grade: '一般',
    lat: 30.2231, lng: 120.3512, address: '临港化工园区纬三路 8 号', occurred_at: occurred, reporter_name: '沈国强',
    reporter_phone: '13900000000', source: 'phone', injured: 2, economic_loss: 35, exercise: false })
  chain.incident = inc
  // the response: the duty officer (here the city administrator) proposes, the designated leader approves
  const match = await call(admin, 'GET', `/api/v1/incidents/${inc.id}/match`)
  const plan = match.plan_id || match.plans?.[0]?.plan_id
  assert.ok(plan, `a demo plan applies to a chemical accident: ${JSON.stringify(match)}`)
  const act = await call(admin, 'POST', `/api/v1/incidents/${inc.id}/responses`, { kind: 'start', plan_id: plan, level: match.level || 4,
    reason: match.plan_id ? '' : '按预案启动四级响应' })
  const leader = await call(admin, 'GET', `/api/v1/users/${act.approver_id}`)
  await sleep(1100)
  await call(await apiLogin(base, leader.username), 'POST', `/api/v1/responses/${act.id}/approve`, { comment: '同意，立即启动' })
  // headquarters dispatch rescue01's team and give it a task at the tank farm
  await sleep(1100)
  await call(admin, 'POST', `/api/v1/incidents/${inc.id}/dispatch-orders`, { kind: 'team', resource_id: rescueMe.team_id, note: '赶赴储罐区' })
  chain.task = await call(admin, 'POST', `/api/v1/incidents/${inc.id}/tasks`, { title: '关闭储罐区进料阀，设置警戒区',
    assignee_id: rescueMe.id, location: { lat: 30.2236, lng: 120.3505 } })
  // the rescue member checks in and sends feedback with a photo from his phone
  await sleep(1100)
  await push(rescue, 'checkins', { incident_id: inc.id, location: { lat: 30.2239, lng: 120.3499 }, note: '全队 6 人到达' })
  chain.photo = await uploadPhoto(rescue)
  await sleep(1100)
  await push(rescue, 'feedback', { incident_id: inc.id, task_id: chain.task.id, text: '进料阀已关闭，警戒区已设置', photos: [chain.photo],
    location: { lat: 30.2228, lng: 120.3521 } })
  await sleep(1100)
  await call(admin, 'POST', `/api/v1/incidents/${inc.id}/messages`, { kind: 'text', text: '现场风向东南，请下风向人员撤离' })
}

/** signIn opens a fresh context and signs in as username, going straight to path. */
const signIn = (username, path = '/', opts = {}) => signInAt(browser, base, username, path, opts)

async function done(page) {
  const { errors, httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  assert.deepEqual(httpErrors, [], `HTTP error answers logged in the console: ${badResponses.join(', ')}`)
}

/** shootAt saves a screenshot at the width given and checks the page does not scroll sideways. */
async function shootAt(page, name, width, height) {
  await page.setViewportSize({ width, height })
  await page.waitForTimeout(300)
  await page.screenshot({ path: join(artifacts, `${name}-${width}x${height}.png`) })
  assert.equal(await horizontalOverflow(page), 0, `${name} scrolls sideways at ${width}`)
}

describe('recovery', () => {
  test('OK: the 恢复重建 menu lists 灾后复盘 and 应急评估; the replay shows the chain in order, plays it back on the map and passes the integrity check', async () => {
    const api = await call(admin, 'GET', `/api/v1/incidents/${chain.incident.id}/timeline?page_size=500`)
    const kinds = new Set(api.items.map((e) => e.kind))
    for (const k of ['incident.reported', 'response.proposed', 'response.decided', 'task.assigned', 'checkin', 'feedback', 'message']) {
      assert.ok(kinds.has(k), `the timeline has ${k}: ${[...kinds]}`)
    }

    const page = await signIn('admin', `/replay?incident=${chain.incident.id}`)
    await page.locator('.el-sub-menu__title:has-text("恢复重建")').waitFor()
    for (const t of ['灾后复盘', '应急评估']) assert.ok(await page.locator(`.el-menu-item:has-text("${t}")`).count(), `menu item ${t}`)

    // the events, in the server's order, with the photo of the feedback
    const events = page.locator('[data-test=timeline-event]')
    await page.locator('[data-test=timeline-event][data-kind=message]').waitFor()
    const shown = await events.evaluateAll((els) => els.map((e) => ({ kind: e.dataset.kind, text: e.textContent })))
    assert.deepEqual(shown.map((e) => e.kind), api.items.map((e) => e.kind), 'the events in the order of the timeline')
    const times = shown.map((e) => /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.exec(e.text)[0])
    assert.deepEqual([...times].sort(), times, 'sorted by time')
    assert.match(shown.find((e) => e.kind === 'feedback').text, /进料阀已关闭/)
    await page.locator('[data-test=timeline-event][data-kind=feedback] [data-test=photo] img').waitFor()
    assert.equal(await page.textContent('[data-test=timeline-total]'), `共 ${api.total} 条事件`)

    // the integrity badge: nothing was tampered with
    const badge = page.locator('[data-test=verify-badge]')
    await badge.waitFor()
    assert.equal((await badge.textContent()).trim(), '完整性校验通过')
    assert.equal(await page.locator('[data-test=verify-findings]').count(), 0)

    // the kind filter narrows the list to the check-ins
    await page.click('[data-test=kind-filter] .el-checkbox-button:has-text("队伍报到")')
    await page.locator('[data-test=timeline-total]:text-is("共 1 条事件")').waitFor()
    assert.deepEqual(await events.evaluateAll((els) => els.map((e) => e.dataset.kind)), ['checkin'])
    await page.click('[data-test=kind-filter] .el-checkbox-button:has-text("队伍报到")')
    await page.locator(`[data-test=timeline-total]:text-is("共 ${api.total} 条事件")`).waitFor()

    // playback: at the start nobody is on the map; played through, the team and the feedback appear
    await page.locator('[data-test=play]').waitFor()
    assert.equal(await page.locator('.rp-team').count(), 0, 'no team before the replay plays')
    const map = page.locator('[data-test=replay-map]')
    assert.equal(await map.getAttribute('data-feedback'), '0', 'no feedback before the replay plays')
    await page.click('.speed')
    await page.click('.el-select-dropdown__item:visible:has-text("4 小时/秒")')
    await page.click('[data-test=play]')
    await page.locator('.rp-team').first().waitFor()
    await page.locator('[data-test=replay-map][data-feedback="1"]').waitFor()
    assert.equal(await map.getAttribute('data-teams'), '1', 'one person moving (rescue01)')
    await page.locator('[data-test=play]').waitFor() // stopped at the end
    assert.equal((await page.textContent('[data-test=clock]')).trim(), shown.length ? times[times.length - 1] : '—')
    // clicking an event goes back to its time: the feedback is not there yet at the check-in
    await page.click('[data-test=timeline-event][data-kind=checkin] .ev')
    await page.locator('[data-test=replay-map][data-feedback="0"]').waitFor()
    assert.ok(await page.locator('.rp-team').count() >= 1, 'the team is on the map at its check-in')

    await page.mouse.move(1, 1)
    assert.deepEqual(await axeProblems(page, '[data-test=replay]'), [], 'axe-core on the replay')
    await shootAt(page, 'recovery-replay', 1366, 768)
    await shootAt(page, 'recovery-replay', 390, 844)
    await done(page)
  })

  test('OK: an assessment is made from the incident (pre-filled), edited, finalised (read-only after) and downloaded as .docx and PDF', async () => {
    const page = await signIn('admin', '/assessments')
    await page.click('[data-test=assessment-new]')
    await page.click('[data-test=assessment-form] [data-test=incident-picker]')
    await page.keyboard.type(title.slice(-6))
    await page.click(`.el-select-dropdown__item:visible:has-text("${title}")`)
    await page.click('[data-test=assessment-create]')
    await page.waitForURL((u) => /^\/assessments\/[0-9a-f-]+$/.test(u.pathname))
    const id = new URL(page.url()).pathname.split('/').pop()

    // pre-filled from the timeline: one task, one check-in, one feedback, the injured
    const figures = page.locator('[data-test=figures]')
    await figures.waitFor()
    const ftext = (await figures.textContent()).replace(/\s+/g, '')
    assert.match(ftext, /任务共1，/)
    assert.match(ftext, /报到\/反馈\/消息1\/1\/1/)
    assert.match(ftext, /受伤2/)
    assert.notEqual(await page.inputValue('textarea[data-test=c-response]'), '', 'the response section is pre-filled')

    // edit and save the draft; it is kept
    const cause = '储罐区进料阀密封老化导致液氯泄漏'
    await page.fill('textarea[data-test=c-causes]', cause)
    await page.fill('textarea[data-test=c-suggestions]', '每季度检查进料阀密封')
    await page.click('[data-test=assessment-save]')
    await page.locator('.el-message--success').first().waitFor()
    await page.reload()
    await page.locator('textarea[data-test=c-causes]').waitFor()
    assert.equal(await page.inputValue('textarea[data-test=c-causes]'), cause)
    const saved = await call(admin, 'GET', `/api/v1/assessments/${id}`)
    assert.equal(saved.content.causes.text, cause)

    // finalise: read-only after
    await page.click('[data-test=assessment-finalize]')
    await page.click('.el-message-box .el-button--primary')
    await page.locator('[data-test=assessment-status]', { hasText: '已定稿' }).waitFor()
    assert.equal(await page.locator('[data-test=assessment-save]').count(), 0, 'no save button once final')
    assert.equal(await page.locator('textarea[data-test=c-causes]').isDisabled(), true, 'the text is read-only once final')
    assert.equal((await call(admin, 'GET', `/api/v1/assessments/${id}`)).status, 'final')

    // downloads
    const [docx] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=export-docx]')])
    const d = readFileSync(await docx.path())
    assert.equal(d.subarray(0, 2).toString(), 'PK', '.docx is a zip')
    assert.ok(d.includes(Buffer.from('word/document.xml')), '.docx holds word/document.xml')
    assert.match(docx.suggestedFilename(), /\.docx$/)
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=export-pdf]')])
    const p = readFileSync(await pdf.path())
    assert.equal(p.subarray(0, 4).toString(), '%PDF')

    // the list shows it final
    await page.goto(base + '/assessments')
    const row = page.locator('[data-test=assessment-table] .el-table__row', { hasText: title })
    await row.waitFor()
    assert.match(await row.textContent(), /已定稿/)
    await page.mouse.move(1, 1)
    assert.deepEqual(await axeProblems(page, '.el-main'), [], 'axe-core on the assessment list')
    await shootAt(page, 'recovery-assessments', 1366, 768)
    await page.goto(base + `/assessments/${id}`)
    await page.locator('[data-test=figures]').waitFor()
    await shootAt(page, 'recovery-assessment', 1366, 768)
    await shootAt(page, 'recovery-assessment', 390, 844)
    await done(page)
  })

  test('OK: a timeline of 2,000 feedback items stays paged (50 rows in the page) and plays every one onto the map', async () => {
    const inc = await call(admin, 'POST', '/api/v1/incidents', { title: `批量反馈事件-${randomUUID().slice(0, 6)}`, class: 'accident', sub_type: '危险化学品事故',
      grade: '一般', lat: 30.2231, lng: 120.3512, source: 'phone' })
    const N = Number(process.env.RECOVERY_BULK ?? 2000) // 10000 for the measurement in BENCHMARKS.md
    for (let b = 0; b < N / 1000; b++) {
      const ms = Date.now()
      const mutations = Array.from({ length: 1000 }, (_, i) => ({ mutation_id: randomUUID(), collection: 'feedback', id: randomUUID(), op: 'create',
        base_seq: 0, hlc: `${String(ms).padStart(16, '0')}-${String(i).padStart(5, '0')}-bulk`,
        fields: { incident_id: inc.id, text: `巡查反馈 ${b * 1000 + i + 1}`, location: { lat: 30.2 + (i % 40) * 0.001, lng: 120.33 + Math.floor(i / 40) * 0.001 } } }))
      const res = await call(admin, 'POST', '/api/v1/sync/push', { protocol: 1, device_id: 'recovery-bulk', mutations })
      assert.equal(res.results.filter((r) => r.status === 'applied').length, 1000, 'every feedback applied')
      await sleep(1100)
    }
    const page = await signIn('admin', `/replay?incident=${inc.id}`)
    const t0 = Date.now()
    await page.locator(`[data-test=timeline-total]:text-is("共 ${N + 1} 条事件")`).waitFor()
    const loadMs = Date.now() - t0
    assert.equal(await page.locator('[data-test=timeline-event]').count(), 50, 'one page of 50 rows, not 2,001')
    await page.locator('[data-test=verify-badge]', { hasText: '完整性校验通过' }).waitFor()
    // the last page holds the rest (feedback sent in the same millisecond is ordered by its key)
    await page.click('.timeline .el-pager li:last-child')
    await page.waitForFunction((n) => document.querySelectorAll('[data-test=timeline-event]').length === n, (N + 1) % 50 || 50)
    assert.deepEqual([...new Set(await page.locator('[data-test=timeline-event]').evaluateAll((els) => els.map((e) => e.dataset.kind)))], ['feedback'])
    assert.match(await page.locator('[data-test=timeline-event]').last().textContent(), /巡查反馈 \d+/)
    // played through: every feedback on the map
    await page.click('[data-test=play]')
    const t1 = Date.now()
    await page.locator(`[data-test=replay-map][data-feedback="${N}"]`).waitFor({ timeout: 120_000 })
    await page.locator('[data-test=play]').waitFor()
    const playMs = Date.now() - t1
    console.log(`replay of ${N + 1} events: first page shown ${loadMs} ms after the page opened, played onto the map in ${playMs} ms (machine shared: load ${(await import('node:os')).loadavg()[0].toFixed(1)})`)
    await done(page)
  })

  test('OK: the big screen shows the active incidents on the wall map, a drill marked 演练', async () => {
    const drill = `危化品泄漏应急演练-${randomUUID().slice(0, 6)}`
    await call(admin, 'POST', '/api/v1/incidents', { title: drill, class: 'accident', sub_type: '危险化学品事故', grade: '一般',
      lat: 30.2102, lng: 120.3301, source: 'phone', exercise: true })
    const page = await signIn('admin', '/bigscreen', { width: 1920, height: 1080 })
    await page.locator('.bs-inc', { hasText: title }).waitFor()
    assert.equal((await page.locator('.bs-inc', { hasText: drill }).textContent()).trim(), `【演练】${drill}`)
    assert.equal((await page.locator('.bs-inc', { hasText: title }).textContent()).trim(), title)
    await page.screenshot({ path: join(artifacts, 'recovery-bigscreen-1920x1080.png') })
    await done(page)
  })
})

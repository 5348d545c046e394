// Browser test of recordings: Chromium's fake camera publishes by WHIP (H.264 without sound, then
// VP8 with sound), drops its link and comes back; the portal's 录像 page plays the recording
// segment by segment on one seek bar that shows the gap at its place; a click in the gap and
// playing into it both land in the segment after it, which shows its picture:
// node --test tests/recordings.test.mjs.
// Kept apart from video.test.mjs: run in the same file as the live test, the live test's
// position check failed every time (passing alone) — before the WHIP page's data-channel fix.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { apiLogin, artifacts, launchWithCamera, login, startServer } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
let server
let browser
let base
let work

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'yingji-video-'))
  server = await startServer()
  base = server.url
  browser = await launchWithCamera(work)
})

after(async () => {
  await browser?.close()
  await server?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * recordWithDrop publishes from the fake camera with the WHIP page's options, drops the link
 * for about 3 s (the peer connection closes without a DELETE), publishes again to the same
 * stream, ends it and returns the finished recording as the API gives it.
 */
async function recordWithDrop(opts) {
  const grid = await apiLogin(base, 'grid01')
  const pubCtx = await browser.newContext({ permissions: ['camera', 'microphone'] })
  const pub = await pubCtx.newPage()
  const html = readFileSync(join(here, 'whip-publish.html'), 'utf8')
  await pub.route(base + '/__test/whip-publish', (r) => r.fulfill({ contentType: 'text/html; charset=utf-8', body: html }))
  await pub.goto(base + '/__test/whip-publish#' + encodeURIComponent(grid) + opts.map((o) => '&' + o).join(''))
  await pub.waitForFunction(() => /^connected /.test(document.getElementById('state').textContent), null, { timeout: 30_000 })
  const streamId = await pub.evaluate(() => window.whip.streamId)
  const state = async () => (await (await fetch(`${base}/api/v1/video/streams/${streamId}`, { headers: { Authorization: 'Bearer ' + grid } })).json()).state
  await sleep(4000)
  await pub.evaluate(() => window.drop())
  for (let i = 0; i < 100 && (await state()) !== 'interrupted'; i++) await sleep(100)
  assert.equal(await state(), 'interrupted')
  await sleep(3000)
  await pub.evaluate(() => window.republish())
  await pub.waitForFunction(() => /^connected /.test(document.getElementById('state').textContent), null, { timeout: 30_000 })
  await sleep(4000)
  const status = await pub.evaluate(async (t) => (await fetch(window.whip.location, { method: 'DELETE', headers: { Authorization: 'Bearer ' + t } })).status, grid)
  assert.equal(status, 204)
  await pubCtx.close()

  const town = await apiLogin(base, 'township01')
  for (let i = 0; i < 200; i++) {
    const page = await (await fetch(`${base}/api/v1/video/recordings?page_size=100`, { headers: { Authorization: 'Bearer ' + town } })).json()
    const it = page.items.find((x) => x.stream_id === streamId)
    if (it && !it.live) return (await fetch(`${base}/api/v1/video/recordings/${it.id}`, { headers: { Authorization: 'Bearer ' + town } })).json()
    await sleep(100)
  }
  assert.fail('recording not finished')
}

/** The picture the recording player shows: its size and whether it is more than one colour. */
function frame(page) {
  return page.locator('[data-test=recording-video]').evaluate((v) => {
    if (!v.videoWidth) return { w: 0, h: 0, spread: 0, colours: 0, t: v.currentTime }
    const c = document.createElement('canvas')
    c.width = v.videoWidth
    c.height = v.videoHeight
    const g = c.getContext('2d')
    g.drawImage(v, 0, 0)
    const d = g.getImageData(0, 0, c.width, c.height).data
    let min = 255, max = 0
    const colours = new Set()
    for (let i = 0; i < d.length; i += 4 * 97) {
      const y = (d[i] * 299 + d[i + 1] * 587 + d[i + 2] * 114) / 1000
      min = Math.min(min, y)
      max = Math.max(max, y)
      colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4))
    }
    return { w: v.videoWidth, h: v.videoHeight, spread: max - min, colours: colours.size, t: v.currentTime }
  })
}

async function assertPicture(page, what) {
  const f = await frame(page)
  assert.ok(f.w >= 320 && f.h > 0 && f.spread > 100 && f.colours > 20, `${what}: no decoded, varied picture: ${JSON.stringify(f)}`)
}

/** The player's state: the logical time on the bar, the segment playing, the video's own clock. */
function player(page) {
  return page.evaluate(() => {
    const bar = document.querySelector('[data-test=recording-bar]')
    const v = document.querySelector('[data-test=recording-video]')
    return { now: Number(bar?.getAttribute('aria-valuenow')), segment: bar?.getAttribute('data-segment') ?? null, t: v?.currentTime, paused: v?.paused,
      readyState: v?.readyState, error: v?.error?.message ?? null, alert: document.querySelector('[data-test=recording-player] .el-alert')?.textContent ?? null }
  })
}

async function until(page, what, pred, timeout = 15_000) {
  const end = Date.now() + timeout
  let st
  while (Date.now() < end) {
    st = await player(page)
    if (pred(st)) return st
    await sleep(50)
  }
  assert.fail(`${what}: player ${JSON.stringify(st)}`)
}

async function playsWithGap(opts, codec, shot) {
  const rec = await recordWithDrop(opts)
  // Two stretches of media and one gap of about the 3 s away (a segment of the first sound
  // packets before the first video key frame may come first).
  assert.equal(rec.gaps?.length, 1, JSON.stringify(rec))
  const gap = rec.gaps[0]
  console.log(`${codec} recording: ${rec.segments.map((x) => `${x.index}:${x.codecs}@${x.offset_ms}+${x.duration_ms}`).join(' ')}; gap ${gap.offset_ms}+${gap.duration_ms} ms`)
  assert.ok(gap.duration_ms > 2000 && gap.duration_ms < 12000, JSON.stringify(rec.gaps))
  const gapEnd = (gap.offset_ms + gap.duration_ms) / 1000
  const before = rec.segments.filter((s) => s.offset_ms < gap.offset_ms)
  const afterGap = rec.segments.filter((s) => s.offset_ms >= gap.offset_ms + gap.duration_ms - 50)
  assert.ok(before.length >= 1 && afterGap.length >= 1, JSON.stringify(rec.segments))
  assert.ok(rec.segments.every((s) => s.codecs.includes(codec) || s.codecs === 'opus'), JSON.stringify(rec.segments))
  const total = Math.max(...rec.segments.map((s) => (s.offset_ms + s.duration_ms) / 1000), gapEnd)

  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' })
  const page = await ctx.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await login(page, base, 'township01')
  await page.waitForURL((u) => !u.pathname.startsWith('/login'))
  await page.goto(base + '/video/recordings')
  await page.locator('[data-test=recording-play]').first().click() // the newest: this one
  const bar = page.locator('[data-test=recording-bar]')
  await page.locator('[data-test=recording-gap]').first().waitFor({ timeout: 20_000 })
  await until(page, 'the first segment is ready', (s) => s.segment === String(rec.segments[0].index) && s.readyState >= 2)
  // The gap is on the bar at its place and length, not stretched or squeezed (measured in one
  // frame: the drawer slides in).
  const drawn = await page.evaluate(() => {
    const b = document.querySelector('[data-test=recording-bar]').getBoundingClientRect()
    const g = document.querySelector('[data-test=recording-gap]').getBoundingClientRect()
    return { at: (g.left - b.left) / b.width, width: g.width / b.width }
  })
  assert.ok(Math.abs(drawn.at - gap.offset_ms / 1000 / total) < 0.01 && Math.abs(drawn.width - gap.duration_ms / 1000 / total) < 0.01,
    `gap drawn at ${JSON.stringify(drawn)} of the bar, want ${gap.offset_ms / 1000 / total} + ${gap.duration_ms / 1000 / total}`)

  // It plays from the start: the time on the bar and the video's clock advance, the picture
  // is the camera's.
  await page.locator('[data-test=recording-toggle]').click()
  const first = before.find((s) => s.codecs.includes(codec))
  await until(page, 'playing', (s) => s.now > first.offset_ms / 1000 + 1 && s.t > 0.5 && !s.paused)
  await assertPicture(page, 'while playing')

  // A click on the bar in the gap goes to the segment after it, which plays and shows its picture.
  const click = async (t) => {
    const box = await bar.boundingBox()
    await page.mouse.click(box.x + box.width * (t / total), box.y + box.height / 2)
  }
  await click(gap.offset_ms / 1000 + gap.duration_ms / 2000)
  const landed = await until(page, 'a click in the gap', (s) => s.segment === String(afterGap[0].index) && s.now >= gapEnd - 0.05 && s.now < gapEnd + 2)
  const st = await until(page, 'playing after the gap', (s) => s.segment === String(afterGap[0].index) && s.t > landed.t + 0.5 && !s.paused)
  await assertPicture(page, 'after the gap')
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, `${shot}-1366x768.png`) })

  // A click past the gap lands where clicked.
  await click(gapEnd + 1.5)
  await until(page, 'a click past the gap', (s) => Math.abs(s.now - (gapEnd + 1.5)) < 0.5 && s.segment !== null)

  // Played into the gap, the player goes on in the segment after it.
  const last = before[before.length - 1]
  await click((last.offset_ms + last.duration_ms) / 1000 - 0.7)
  await until(page, 'before the gap', (s) => s.segment === String(last.index))
  await until(page, 'played over the gap', (s) => s.segment === String(afterGap[0].index) && s.t > 0.3 && !s.paused)
  await assertPicture(page, 'after playing over the gap')

  const final = await player(page)
  assert.equal(final.alert, null)
  assert.equal(final.error, null)
  assert.deepEqual(errors, [])
  console.log(`${codec}: landed at ${landed.now.toFixed(2)} s (gap ends ${gapEnd.toFixed(2)} s), then ${st.t.toFixed(2)} s into segment ${st.segment}`)
  await ctx.close()
}

test('an H.264 recording with a gap plays in the 录像 player and seeks past the gap', { timeout: 180_000 }, async () => {
  await playsWithGap(['video-only', 'h264'], 'avc1', 'video-recording-gap')
})

test('a VP8 recording with sound and a gap plays in the 录像 player', { timeout: 180_000 }, async () => {
  await playsWithGap([], 'vp8', 'video-recording-vp8-gap')
})

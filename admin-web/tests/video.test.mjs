// Browser test of live video: Chromium's fake camera (a y4m file made by ffmpeg) publishes by
// WHIP from a test page, and the portal's 视频回传 page plays it by WHEP with a decoded, non-uniform
// frame: node --test tests/video.test.mjs.
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

test('a WHIP publish from the fake camera plays in the portal player', { timeout: 120_000 }, async () => {
  const grid = await apiLogin(base, 'grid01')
  const pubCtx = await browser.newContext({ permissions: ['camera', 'microphone'] })
  const pub = await pubCtx.newPage()
  const html = readFileSync(join(here, 'whip-publish.html'), 'utf8')
  await pub.route(base + '/__test/whip-publish', (r) => r.fulfill({ contentType: 'text/html; charset=utf-8', body: html }))
  await pub.goto(base + '/__test/whip-publish#' + encodeURIComponent(grid))
  await pub.waitForFunction(() => /^connected /.test(document.getElementById('state').textContent), null, { timeout: 30_000 })
  const streamId = await pub.evaluate(() => window.whip.streamId)
  assert.match(streamId, /^[0-9a-f-]{36}$/)

  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' })
  const page = await ctx.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  const joinStart = Date.now()
  await login(page, base, 'township01')
  await page.waitForURL((u) => !u.pathname.startsWith('/login'))
  await page.goto(base + '/video')
  await page.getByRole('cell', { name: '周网格' }).first().waitFor({ timeout: 20_000 })
  // A decoded frame: the video has a size and a canvas copy of it is not one colour.
  const video = page.getByTestId('whep-video')
  const navStart = Date.now()
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=whep-video]')
    return v && v.videoWidth > 0 && v.currentTime > 0
  }, null, { timeout: 30_000 })
  const firstFrameMs = Date.now() - navStart
  const stats = await video.evaluate((v) => {
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
    return { w: v.videoWidth, h: v.videoHeight, min, max, colours: colours.size }
  })
  // The camera's 640x360 picture; a loaded sender may still scale it down (never up), keeping 16:9.
  assert.ok(stats.w >= 320 && stats.w <= 640 && stats.w * 9 === stats.h * 16, `frame size: ${JSON.stringify(stats)}`)
  assert.ok(stats.max - stats.min > 100 && stats.colours > 20, `uniform frame: ${JSON.stringify(stats)}`)
  // The position sent over the data channel is on the stream.
  try {
    await page.getByText('位置 29.87310, 120.42120').waitFor({ timeout: 10_000 })
  } catch (e) {
    const dc = await pub.evaluate(() => ({ state: window.whip.dc?.readyState, sent: window.whip.sent, pc: window.whip.pc.connectionState,
      sctp: window.whip.pc.sctp?.state }))
    const log = server.log().split('\n').filter((l) => /position|WARN|ERROR|datachannel|sctp/i.test(l)).slice(-30).join('\n')
    throw new Error(`no position on the stream: publisher data channel ${JSON.stringify(dc)}; server log:\n${log}`, { cause: e })
  }
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'video-player-1366x768.png') })
  console.log(`portal WHEP: first decoded frame ${firstFrameMs} ms after the 视频回传 page opened (login to frame ${Date.now() - joinStart} ms)`)
  assert.deepEqual(errors, [])

  // The one-map shows the live stream at its position; a click opens it on the 视频回传 page.
  await page.goto(base + '/map')
  const marker = page.locator(`[data-stream="${streamId}"]`)
  await marker.waitFor({ timeout: 20_000 })
  await page.screenshot({ path: join(artifacts, 'video-map-layer-1366x768.png') })
  await marker.click()
  await page.waitForURL((u) => u.pathname === '/video' && u.searchParams.get('stream') === streamId)
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=whep-video]')
    return v && v.videoWidth > 0 && v.currentTime > 0
  }, null, { timeout: 30_000 })

  // Viewer join → first decoded frame, 10 joins: the 视频回传 page opened on the stream until its
  // player shows a frame (the app is cached; WHEP offer, ICE, DTLS, kept GOP or PLI, decode).
  const joins = []
  for (let i = 0; i < 10; i++) {
    await page.goto(base + '/login') // leave the page: its player closes its WHEP session
    const t0 = Date.now()
    await page.goto(base + '/video?stream=' + streamId)
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid=whep-video]')
      return v && v.videoWidth > 0 && v.currentTime > 0
    }, null, { timeout: 30_000, polling: 10 })
    joins.push(Date.now() - t0)
  }
  joins.sort((x, y) => x - y)
  const p95 = joins[Math.min(joins.length - 1, Math.ceil(joins.length * 0.95) - 1)]
  console.log(`Chromium viewer join → first frame over ${joins.length} joins: p50 ${joins[Math.floor(joins.length / 2)]} ms, p95 ${p95} ms, all ${joins.join(' ')} ms`)

  // The publisher ends the stream (WHIP DELETE); the list empties.
  const status = await pub.evaluate(async (t) => (await fetch(window.whip.location, { method: 'DELETE', headers: { Authorization: 'Bearer ' + t } })).status, grid)
  assert.equal(status, 204)
  await page.getByText('当前没有直播中的现场视频').waitFor({ timeout: 10_000 })
  await pubCtx.close()
  await ctx.close()
})

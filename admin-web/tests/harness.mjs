// Test harness: the real Go server (built once per run, fresh data directory, demo city) and
// Debian's Chromium driven by playwright-core. No browser is ever downloaded.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
export const webRoot = resolve(here, '..')
export const repoRoot = resolve(webRoot, '..')
export const artifacts = join(here, 'artifacts')
export const PASSWORD = 'Test-Demo-2026'
const require = createRequire(import.meta.url)

/** Chromium launch flags for a machine without network. */
export const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** startServer builds the server (or uses YINGJI_SERVER_BIN) and runs it on port 0 with a fresh data dir. */
export async function startServer() {
  const work = mkdtempSync(join(tmpdir(), 'yingji-web-'))
  let bin = process.env.YINGJI_SERVER_BIN
  if (!bin) {
    bin = join(work, 'yingji')
    execFileSync('go', ['build', '-o', bin, './server'], { cwd: repoRoot, stdio: 'inherit' })
  }
  const data = join(work, 'data')
  mkdirSync(data)
  const env = { ...process.env, YINGJI_HTTP_ADDR: '127.0.0.1:0', YINGJI_DATA_DIR: data, YINGJI_DEMO_PASSWORD: PASSWORD,
    YINGJI_MQTT_LISTEN: 'off' }
  delete env.YINGJI_DATABASE_URL
  delete env.YINGJI_CONFIG
  let proc
  let log = '' // everything the server printed, across restarts (server.log)
  const launch = async () => {
    proc = spawn(bin, [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const from = log.length
    const url = await new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        fail(new Error('server did not start in 60 s:\n' + log))
      }, 60_000)
      const onData = (chunk) => {
        log += chunk
        const m = /https?:\/\/[0-9.]+:\d+/.exec(log.slice(from))
        if (m) {
          clearTimeout(timer)
          ok(m[0])
        }
      }
      proc.stdout.on('data', onData)
      proc.stderr.on('data', onData)
      proc.on('exit', (code) => fail(new Error(`server exited with ${code}:\n${log}`)))
    })
    proc.removeAllListeners('exit')
    return url
  }
  const url = await launch()
  const stopProc = async () => {
    proc.kill('SIGTERM')
    await new Promise((ok) => (proc.exitCode !== null ? ok() : proc.once('exit', ok)))
  }
  return {
    url,
    /** log returns what the server has printed so far (for a failing test's message). */
    log: () => log,
    /**
     * restart stops the server and starts it again on the same address with the same data
     * (as an operator's restart does); pauseMs keeps it down that long in between.
     */
    async restart(pauseMs = 0) {
      await stopProc()
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs))
      env.YINGJI_HTTP_ADDR = new URL(url).host
      const again = await launch()
      if (again !== url) throw new Error(`restarted on ${again}, not ${url}`)
    },
    async stop() {
      proc.kill('SIGTERM')
      await new Promise((ok) => (proc.exitCode !== null ? ok() : proc.once('exit', ok)))
      rmSync(work, { recursive: true, force: true })
    },
  }
}

/** launch starts Debian's Chromium. */
export async function launch() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install -y chromium fonts-noto-cjk`)
  return chromium.launch({ executablePath, args: chromiumFlags, headless: true })
}

/**
 * openPage opens a page in a fresh context (its own storage, so its own device id) and records
 * every console error and uncaught exception in page.errors.
 */
export async function openPage(browser, { width = 1366, height = 768, timezoneId = undefined } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN', acceptDownloads: true, timezoneId })
  const page = await context.newPage()
  page.errors = []
  page.httpErrors = []
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    // Chromium logs every 4xx/5xx answer; the tests that provoke one (a wrong password) list
    // the statuses they expect, any other is a failure like a script error.
    const http = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text())
    if (http) page.httpErrors.push(Number(http[1]))
    else page.errors.push(`console: ${m.text()} (${page.url()})`)
  })
  page.on('pageerror', (e) => page.errors.push(`exception: ${e.message} (${page.url()})`))
  return page
}

/** login signs in through the login form (the caller waits for what should follow). */
export async function login(page, base, username, password = PASSWORD) {
  await page.goto(base + '/login')
  await page.fill('#login-username', username)
  await page.fill('#login-password', password)
  await submitLogin(page)
}

/** submitLogin clicks the login button and waits for the server's answer. */
/**
 * signInAt opens a fresh context and signs in as username, going straight to path; the page
 * collects its 4xx/5xx answers in page.badResponses.
 */
export async function signInAt(browser, base, username, path = '/', opts = {}) {
  const page = await openPage(browser, opts)
  page.badResponses = []
  page.on('response', (r) => r.status() >= 400 && page.badResponses.push(`${r.status()} ${new URL(r.url()).pathname}`))
  await page.goto(base + '/login?redirect=' + encodeURIComponent(path))
  await page.fill('#login-username', username)
  await page.fill('#login-password', PASSWORD)
  await submitLogin(page)
  await page.waitForURL((u) => u.pathname === path.split('?')[0])
  return page
}

export async function submitLogin(page) {
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')),
    page.click('button[type=submit]'),
  ])
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

/** axeProblems runs axe-core in the page and returns its serious and critical violations. */
export async function axeProblems(page, context) {
  await page.addScriptTag({ content: axeSource })
  const res = await page.evaluate(async (sel) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(sel ? document.querySelector(sel) : document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  }, context)
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** horizontalOverflow returns how many pixels the page scrolls sideways (0 when it does not). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const d = document.documentElement
    return Math.max(0, d.scrollWidth - d.clientWidth, document.body.scrollWidth - document.body.clientWidth)
  })
}

/** shoot saves screenshots of the current page at 1920×1080 and 1366×768 and returns the overflow at 1366. */
export async function shoot(page, name) {
  mkdirSync(artifacts, { recursive: true })
  let overflow = 0
  for (const [w, h] of [[1920, 1080], [1366, 768]]) {
    await page.setViewportSize({ width: w, height: h })
    await page.waitForTimeout(150)
    await page.screenshot({ path: join(artifacts, `${name}-${w}x${h}.png`), fullPage: false })
    if (w === 1366) overflow = await horizontalOverflow(page)
  }
  return overflow
}

/** apiLogin signs in over the API (for test setup) and returns the token. */
export async function apiLogin(base, username, password = PASSWORD) {
  const res = await fetch(base + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password, client: 'mobile', device_id: `setup-${username}` }) })
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`)
  return (await res.json()).token
}

/** apiGet calls the API with a token. */
export async function apiGet(base, token, path) {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } })
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return res
}

/**
 * launchWithCamera makes a y4m clip (ffmpeg's testsrc2, 640x360, 30 fps) in dir and starts
 * Chromium with its fake camera playing it (and the fake microphone's beeps), camera prompts
 * answered, autoplay allowed and host addresses not hidden behind mDNS (WHIP to loopback).
 */
export async function launchWithCamera(dir) {
  const y4m = join(dir, 'camera.y4m')
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '2', '-pix_fmt', 'yuv420p', y4m])
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install -y chromium fonts-noto-cjk`)
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...chromiumFlags, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${y4m}`, '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required'],
  })
}

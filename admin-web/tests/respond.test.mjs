// Browser test of two one-step actions of the response against the real server with the demo
// city: node --test tests/respond.test.mjs.
//  - 预警转事件: the duty officer opens an alert's detail, turns it into an incident, lands on
//    the command map with the incident at the alert's enterprise and the alert linked, and the
//    alert then shows its incident.
//  - 一键浙政钉: a work notification to a command-group member goes through the server's real
//    浙政钉 client to a local stand-in of the open platform, which checks what the platform
//    checks (apiKey, the HMAC-SHA256 signature over method, timestamp, nonce, path and sorted
//    parameters, a timestamp within 5 minutes, a fresh nonce, a live access token, the tenant,
//    the receivers, a well-formed msg) and refuses otherwise; the delivery result is shown.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { createHmac, randomUUID } from 'node:crypto'
import { apiLogin, launch, signInAt, startServer } from './harness.mjs'

let server
let browser
let base
let duty
let admin

// The 浙政钉 open-platform stand-in.
const zzd = {
  key: 'yingji-test-app', secret: `secret-${randomUUID()}`, tenant: '196729', srv: null,
  tokens: new Map(), nonces: new Set(), biz: new Map(), sent: [], refusals: [], failNext: null, seq: 0,
}

function zzdServe(req, res) {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    const u = new URL(req.url, 'http://x')
    const answer = (status, v) => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(v))
    }
    const refuse = (status, code, msg) => {
      zzd.refusals.push({ path: u.pathname, code })
      answer(status, { success: false, errorCode: code, errorMsg: msg })
    }
    const h = req.headers
    if (h.apikey !== zzd.key) return refuse(401, 'InvalidApiKey', 'apiKey 无效')
    if (h['x-hmac-auth-version'] !== '1.0' || !h['x-hmac-auth-ip'] || !h['x-hmac-auth-mac']) return refuse(401, 'InvalidParameter', '缺少签名头')
    const ts = h['x-hmac-auth-timestamp'] ?? ''
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/.test(ts) || Math.abs(Date.parse(ts) - Date.now()) > 5 * 60_000) {
      return refuse(401, 'InvalidTimestamp', '时间戳超出允许范围')
    }
    const nonce = h['x-hmac-auth-nonce'] ?? ''
    const params = new URLSearchParams(req.method === 'GET' ? u.search.slice(1) : body)
    const pairs = [...params].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1))
    const lines = [req.method, ts, nonce, u.pathname]
    if (pairs.length) lines.push(pairs.map(([k, v]) => `${k}=${v}`).join('&'))
    const want = createHmac('sha256', zzd.secret).update(lines.join('\n')).digest('base64')
    if (h['x-hmac-auth-signature'] !== want) return refuse(401, 'InvalidSignature', '签名校验失败')
    if (!nonce || zzd.nonces.has(nonce)) return refuse(401, 'NonceUsed', 'nonce 已使用')
    zzd.nonces.add(nonce)

    if (req.method === 'GET' && u.pathname === '/gettoken.json') {
      if (params.get('appkey') !== zzd.key || params.get('appsecret') !== zzd.secret) return refuse(200, 'InvalidAppSecret', 'appkey 或 appsecret 错误')
      const token = randomUUID()
      zzd.tokens.set(token, Date.now() + 7200_000)
      return answer(200, { success: true, content: { success: true, responseCode: '0', data: { accessToken: token, expiresIn: 7200 } } })
    }
    if (req.method === 'POST' && u.pathname === '/message/workNotification') {
      if (!String(h['content-type']).startsWith('application/x-www-form-urlencoded')) return refuse(200, 'InvalidParameter', '需要表单编码')
      if (!(zzd.tokens.get(params.get('access_token')) > Date.now())) return refuse(200, 'InvalidAccessToken', 'access_token 无效或已过期')
      if (params.get('tenantId') !== zzd.tenant) return refuse(200, 'InvalidParameter', 'tenantId 错误')
      const receivers = (params.get('receiverIds') ?? '').split(',').filter(Boolean)
      if (!receivers.length) return refuse(200, 'InvalidParameter', '缺少接收人')
      let msg
      try {
        msg = JSON.parse(params.get('msg') ?? '')
      } catch {
        return refuse(200, 'InvalidParameter', 'msg 不是合法的 JSON')
      }
      const text = msg.msgtype === 'markdown' ? msg.markdown?.text : msg.msgtype === 'text' ? msg.text?.content : ''
      if (!text) return refuse(200, 'InvalidParameter', 'msg 内容不完整或类型不支持')
      if (zzd.failNext) {
        const f = zzd.failNext
        zzd.failNext = null
        return answer(200, { success: false, errorCode: f.code, errorMsg: f.message })
      }
      const bizMsgId = params.get('bizMsgId') ?? ''
      let id = zzd.biz.get(bizMsgId)
      if (!id) {
        id = `zzd-msg-${++zzd.seq}`
        zzd.biz.set(bizMsgId, id)
        zzd.sent.push({ id, bizMsgId, receivers, msgtype: msg.msgtype, title: msg.markdown?.title ?? '', text })
      }
      return answer(200, { success: true, content: { success: true, responseCode: '0', data: { msgId: id } } })
    }
    return refuse(404, 'NotFound', '接口不存在')
  })
}

before(async () => {
  zzd.srv = createServer(zzdServe)
  await new Promise((ok) => zzd.srv.listen(0, '127.0.0.1', ok))
  Object.assign(process.env, {
    YINGJI_ZZD_DOMAIN: `http://127.0.0.1:${zzd.srv.address().port}`, YINGJI_ZZD_APP_KEY: zzd.key,
    YINGJI_ZZD_APP_SECRET: zzd.secret, YINGJI_ZZD_TENANT_ID: zzd.tenant,
  })
  server = await startServer()
  base = server.url
  browser = await launch()
  duty = await apiLogin(base, 'duty01')
  admin = await apiLogin(base, 'admin')
})

after(async () => {
  await browser?.close()
  await server?.stop()
  zzd.srv?.close()
})

async function call(token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const signIn = (username, path = '/', opts = {}) => signInAt(browser, base, username, path, opts)

async function done(page) {
  const { errors, httpErrors, badResponses = [] } = page
  await page.context().close()
  assert.deepEqual(errors, [], 'console errors')
  assert.deepEqual(httpErrors, [], `HTTP error answers logged in the console: ${badResponses.join(', ')}`)
}

describe('response', () => {
  test('OK: an alert becomes an incident in one step from its detail; the command map shows it at the alert\'s enterprise with the alert linked, and the alert shows its incident', async () => {
    // an alert of an enterprise that has a place, not yet an incident (the open ones first)
    const alerts = (await call(duty, 'GET', '/api/v1/alerts?page_size=200')).items
    alerts.sort((a, b) => Number(['closed', 'false_alarm'].includes(a.status)) - Number(['closed', 'false_alarm'].includes(b.status)))
    let alert
    let ent
    for (const a of alerts) {
      if (a.incident_id || !a.enterprise_id) continue
      const e = await call(duty, 'GET', `/api/v1/enterprises/${a.enterprise_id}`)
      if (e.lat != null && e.lng != null && e.address) {
        alert = a
        ent = e
        break
      }
    }
    assert.ok(alert, 'the demo has an alert of a located enterprise that is not an incident yet')

    const page = await signIn('duty01', `/alerts?id=${alert.id}`)
    const drawer = page.locator('[data-test=alert-drawer]')
    await drawer.locator('[data-test=alert-status]').waitFor()
    assert.equal(await drawer.locator('[data-test=alert-incident]').count(), 0, 'no incident yet')
    await drawer.locator('[data-test=alert-to-incident]').click()
    const form = page.locator('[data-test=alert-incident-form]')
    await form.waitFor()
    assert.equal(await page.inputValue('#conv-title'), alert.title, 'the title is the alert\'s')
    await page.fill('#conv-subtype', '危险化学品事故')
    await page.click('[data-test=alert-incident-save]')
    await page.locator('.el-message--success', { hasText: '已转为事件' }).waitFor()

    // the command map on the new incident: its title, the alert's enterprise address, the marker, the alert linked
    await page.waitForURL((u) => u.pathname === '/command' && !!u.searchParams.get('id'))
    const id = new URL(page.url()).searchParams.get('id')
    await page.locator('[data-test=incident-title]', { hasText: alert.title }).waitFor()
    await page.locator('.meta', { hasText: ent.address }).first().waitFor()
    await page.locator('.meta', { hasText: '预警转事件' }).first().waitFor()
    await page.locator('path.yj-cmd-incident').waitFor()
    const x = await call(duty, 'GET', `/api/v1/incidents/${id}`)
    assert.equal(x.alert_id, alert.id)
    assert.equal(x.source, 'alert')
    assert.equal(x.sub_type, '危险化学品事故')
    assert.equal(x.enterprise_id, alert.enterprise_id)
    assert.ok(Math.abs(x.lat - ent.lat) < 1e-9 && Math.abs(x.lng - ent.lng) < 1e-9, `incident at ${x.lat},${x.lng}, enterprise at ${ent.lat},${ent.lng}`)

    // back to the alert by its link: it names its incident and is not offered again
    await page.click('[data-test=incident-alert]')
    await page.waitForURL((u) => u.pathname === '/alerts' && u.searchParams.get('id') === alert.id)
    // the link reads 已转为事件 until the incident's code and title have loaded
    const link = drawer.locator('[data-test=alert-incident]', { hasText: x.code })
    await link.waitFor()
    assert.equal((await link.innerText()).trim(), `${x.code} ${x.title}`)
    await drawer.locator('[data-test=alert-timeline]', { hasText: `已转为事件 ${x.code}` }).waitFor()
    assert.equal(await drawer.locator('[data-test=alert-to-incident]').count(), 0, 'converted once only')
    await done(page)
  })

  test('OK: a one-click 浙政钉 work notification to a command-group member reaches the platform signed, and the user sees it delivered; a platform refusal is shown with its reason', async () => {
    // the incident under response in the demo, and one of its command-group members with a 浙政钉 account
    const active = (await call(duty, 'GET', '/api/v1/incidents?status=responding&page_size=10')).items[0]
    assert.ok(active, 'the demo has an incident under response')
    const members = (await call(duty, 'GET', `/api/v1/incidents/${active.id}/members`)).items
    const member = members.find((m) => m.user_id && m.name)
    assert.ok(member, 'the incident has command-group members')
    const ents = (await call(admin, 'GET', '/api/v1/enterprises?page_size=1')).items
    const account = `zzd-${member.user_id.slice(0, 8)}`
    await call(admin, 'POST', '/api/v1/alert-receivers', { tier: 'enterprise', enterprise_id: ents[0].id, user_id: member.user_id,
      name: member.name, zzd_account_id: account, channels: ['zzd'], enabled: true })

    const page = await signIn('duty01', `/command?id=${active.id}`)
    const row = page.locator('[data-test=member]', { hasText: member.name }).first()
    await row.waitFor()
    await row.locator('[data-test=contact-zzd]').click()
    await page.locator('textarea[data-test=contact-text]:visible').fill('请于 15 时到市应急指挥中心参加防台会商')
    await page.locator('[data-test=contact-send]:visible').click()
    const result = row.locator('[data-test=contact-result]')
    await result.waitFor()
    assert.equal((await result.innerText()).trim(), `浙政钉已发送至 ${account}`)
    assert.equal(zzd.sent.length, 1, `delivered: ${JSON.stringify(zzd.sent)}; refused: ${JSON.stringify(zzd.refusals)}`)
    const sent = zzd.sent[0]
    assert.deepEqual(sent.receivers, [account])
    assert.equal(sent.msgtype, 'markdown')
    assert.equal(sent.title, '应急指挥通知')
    assert.match(sent.text, /请于 15 时到市应急指挥中心参加防台会商/)
    assert.deepEqual(zzd.refusals, [], 'the platform refused nothing: signed, fresh, with a live token')
    // the delivery record holds the platform's message id under the record's own id (bizMsgId)
    const recorded = (await call(duty, 'GET', `/api/v1/contact/messages?incident_id=${active.id}`))
    const rec = recorded.find((m) => m.channel === 'zzd')
    assert.equal(rec.id, sent.bizMsgId)
    assert.equal(rec.provider_id, sent.id)
    assert.equal(rec.status, 'sent')

    // the platform refuses the next one: the user sees the platform's reason
    zzd.failNext = { code: '240111', message: '接收人不在本租户' }
    await row.locator('[data-test=contact-zzd]').click()
    await page.locator('textarea[data-test=contact-text]:visible').fill('第二条通知')
    await page.locator('[data-test=contact-send]:visible').click()
    await row.locator('[data-test=contact-result]', { hasText: '浙政钉发送失败：接收人不在本租户' }).waitFor()
    assert.equal(zzd.sent.length, 1, 'the refused one was not delivered')
    await done(page)
  })
})

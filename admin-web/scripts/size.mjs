// Reports the budgets of BENCHMARKS.md for dist/: the JavaScript the login route loads
// (gzipped), the largest chunk, and the total size. Exits 1 when one is over.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const dist = new URL('../dist/', import.meta.url).pathname
const budget = { loginGzip: 300 * 1024, chunk: 500 * 1024, dist: 5 * 1024 * 1024 }

const files = []
const walk = (d) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.push(join(d, f))))
walk(dist)
const total = files.reduce((s, f) => s + statSync(f).size, 0)
const js = files.filter((f) => f.endsWith('.js'))
const largest = js.map((f) => ({ f, size: statSync(f).size })).sort((a, b) => b.size - a.size)[0]

// The login route: the entry script, its static imports, and the login view's chunk with its imports.
const index = readFileSync(join(dist, 'index.html'), 'utf8')
const entry = /<script type="module"[^>]*src="\/([^"]+)"/.exec(index)[1]
const seen = new Set()
const follow = (rel) => {
  if (seen.has(rel)) return
  seen.add(rel)
  const src = readFileSync(join(dist, rel), 'utf8')
  for (const m of src.matchAll(/(?:from|import)\s*["']\.\/([^"']+\.js)["']/g)) follow('assets/' + m[1])
}
follow(entry)
const loginChunk = js.map((f) => f.slice(dist.length)).find((f) => /assets\/LoginView-[^/]+\.js$/.test(f))
if (loginChunk) follow(loginChunk)
const loginGzip = [...seen].reduce((s, f) => s + gzipSync(readFileSync(join(dist, f)), { level: 9 }).length, 0)

const kb = (n) => (n / 1024).toFixed(1) + ' KB'
const rows = [
  ['login route JS (gzip)', loginGzip, budget.loginGzip, `${seen.size} files`],
  ['largest chunk', largest.size, budget.chunk, largest.f.slice(dist.length)],
  ['dist total', total, budget.dist, `${files.length} files`],
]
let over = false
for (const [name, v, max, note] of rows) {
  const ok = v <= max
  over ||= !ok
  console.log(`${ok ? 'ok  ' : 'OVER'} ${name.padEnd(22)} ${kb(v).padStart(10)} / ${kb(max)}  ${note}`)
}
process.exit(over ? 1 : 0)

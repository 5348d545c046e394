// Refreshes openapi.json from the server in this repository: starts it on port 0 with a
// fresh data directory, fetches /api/v1/openapi.json, stops it. `npm run api` then
// regenerates src/api/schema.d.ts. The Go test server/web TestOpenAPIDocument fails while
// the committed copy differs from the server's document.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, webRoot } from '../tests/harness.mjs'

const server = await startServer()
try {
  const res = await fetch(server.url + '/api/v1/openapi.json')
  if (!res.ok) throw new Error(`GET /api/v1/openapi.json: ${res.status}`)
  const doc = await res.json()
  writeFileSync(join(webRoot, 'openapi.json'), JSON.stringify(doc, null, 2) + '\n')
  console.log(`openapi.json: ${Object.keys(doc.paths).length} paths`)
} finally {
  await server.stop()
}

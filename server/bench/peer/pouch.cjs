// The peer of `go run ./server/bench -mode e2e`: PouchDB (pouchdb-node, LevelDB on disk) as the
// phone's replica, replicating with a pouchdb-server the bench started. Never a requirement of
// the tests: the packages live in a cache folder outside the repository (YINGJI_POUCH_DIR, see
// BENCHMARKS.md), installed with
//
//	npm install --prefix "$YINGJI_POUCH_DIR" pouchdb-server@4.2.0 pouchdb-node@9.0.0
//
// Commands (each prints one JSON line):
//
//	node pouch.cjs seed    <server> <db> <n>   n hazard documents into the server, 1,000 per _bulk_docs
//	node pouch.cjs drain   <server> <db> <n>   n documents queued in a fresh local database, then the
//	                                           time of replicate.to(server) until complete
//	node pouch.cjs initial <server> <db> <n>   the time of replicate.from(server) into a fresh local
//	                                           database, checked to hold n documents
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { createRequire } = require('module');

const dir = process.env.YINGJI_POUCH_DIR || path.join(os.homedir(), '.cache', 'yingji', 'pouchdb');
const PouchDB = createRequire(path.join(dir, 'package.json'))('pouchdb-node');

function doc(i) {
  // The same fields as the Yingji hazards of the bench.
  return {
    _id: `hz-${String(i).padStart(7, '0')}`,
    title: `压测隐患 ${i}`,
    description: '压测数据：消防器材检查记录缺失',
    enterprise_id: '00000000-0000-0000-0000-000000000000',
    level: 'general',
    photos: [],
  };
}

async function bulk(db, n) {
  for (let done = 0; done < n; ) {
    const docs = [];
    for (let i = 0; i < 1000 && done + i < n; i++) docs.push(doc(done + i));
    const res = await db.bulkDocs(docs);
    for (const r of res) if (r.error) throw new Error(`bulkDocs: ${JSON.stringify(r)}`);
    done += docs.length;
  }
}

function freshLocal() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'yingji-pouch-'));
  return { db: new PouchDB(path.join(d, 'replica')), dir: d };
}

async function main() {
  const [cmd, server, name, nArg] = process.argv.slice(2);
  const n = Number(nArg);
  const remote = new PouchDB(`${server.replace(/\/$/, '')}/${name}`);
  const t0 = process.hrtime.bigint();
  const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
  if (cmd === 'seed') {
    await bulk(remote, n);
    const info = await remote.info();
    console.log(JSON.stringify({ seconds: secs(), docs: info.doc_count }));
    return;
  }
  const local = freshLocal();
  try {
    if (cmd === 'drain') {
      await bulk(local.db, n);
      const start = process.hrtime.bigint();
      const r = await local.db.replicate.to(remote);
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      const info = await remote.info();
      if (r.docs_written !== n || info.doc_count !== n) throw new Error(`drain: wrote ${r.docs_written}, server holds ${info.doc_count}, want ${n}`);
      console.log(JSON.stringify({ seconds: s, docs: r.docs_written }));
    } else if (cmd === 'initial') {
      const start = process.hrtime.bigint();
      const r = await local.db.replicate.from(remote);
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      const info = await local.db.info();
      if (info.doc_count !== n) throw new Error(`initial: local holds ${info.doc_count}, want ${n} (${JSON.stringify(r)})`);
      console.log(JSON.stringify({ seconds: s, docs: info.doc_count }));
    } else {
      throw new Error(`unknown command ${cmd}`);
    }
  } finally {
    await local.db.close();
    fs.rmSync(local.dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});

// The PouchDB side of the sync benchmark: N contact documents of the same shape as ours are
// loaded into pouchdb-server (in memory, on 127.0.0.1), then replicated into an empty in-memory
// pouchdb-node database; only the replication is timed. Prints `replicated_seconds S`.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const fs = require('fs');
const os = require('os');
const path = require('path');
const PouchDB = require('pouchdb-node').plugin(require('pouchdb-adapter-memory'));

const n = parseInt(process.argv[2] || '100000', 10);
const native = ['สมชาย ใจดี', 'Nguyễn Văn An', 'សុខ វណ្ណា', 'အောင်ကျော်', 'ສົມພອນ ພົມມະວົງ'];
const countries = ['TH', 'VN', 'KH', 'MM', 'LA'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitUp(url) {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('pouchdb-server did not start');
}

async function main() {
  const port = await freePort();
  const bin = path.join(__dirname, 'node_modules', 'pouchdb-server', 'bin', 'pouchdb-server');
  const server = spawn(process.execPath, [bin, '--in-memory', '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // It writes config.json and log.txt where it runs.
    cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'pouchdb-server-')),
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUp(base + '/');
    const remote = new PouchDB(base + '/bench');
    for (let start = 0; start < n; start += 1000) {
      const docs = [];
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        const k = i % native.length;
        docs.push({
          _id: `contact-${String(i).padStart(7, '0')}`,
          name: `Delegate Number ${i} of the Mekong Cooperation Desk`,
          native_name: native[k],
          title: 'Director, Mekong-Lancang and ACMECS Cooperation Division',
          country: countries[k],
          email: `delegate.${i}@mfa.example.org`,
          phone: `+66 2 643 ${String(i % 10000).padStart(4, '0')}`,
          notes: 'Focal point for the Master Plan review; prefers briefings in English.',
          classification: 'internal',
        });
      }
      await remote.bulkDocs(docs);
    }
    const local = new PouchDB('local', { adapter: 'memory' });
    const t = process.hrtime.bigint();
    await local.replicate.from(remote, { batch_size: 500 });
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const info = await local.info();
    if (info.doc_count !== n) throw new Error(`replicated ${info.doc_count} of ${n}`);
    console.log(`replicated_seconds ${secs.toFixed(3)}`);
  } finally {
    server.kill('SIGKILL');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// The baseline for `npm run bench`: the same two routes as presenter-serve
// (POST /api/presentations, GET /api/presentations/:id) on plain node:http and SQLite (WAL,
// synchronous=NORMAL) through the driver serve uses (better-sqlite3, or node:sqlite with
// --sqlite-driver: store/sqlite-driver.ts), one process, no framework, no validation, no logging.
// With --same-response, a GET answers what serve answers for a talk whose feedback is done with the
// noop provider: the same headers and the same body bytes (status done, the noop feedback spliced
// in as stored JSON text, as serve's fast path does), still one read of one table: the ceiling for
// serving that response rather than a shorter one.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { noopFeedback } from '../dist/feedback/noop.js';
import { openSqlite } from '../dist/store/sqlite-driver.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, db: { type: 'string' }, 'same-response': { type: 'boolean' } } });
const db = openSqlite(values.db, { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS presentations (id TEXT PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL,
    language TEXT NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, presentation_id TEXT NOT NULL, version INTEGER NOT NULL,
    status TEXT NOT NULL, run_at INTEGER NOT NULL, created_at INTEGER NOT NULL, UNIQUE (presentation_id, version));
`);
const insertP = db.prepare(`INSERT INTO presentations (id, title, content, language, created_at, status) VALUES (?, ?, ?, ?, ?, 'pending')`);
const insertJ = db.prepare(`INSERT INTO jobs (id, presentation_id, version, status, run_at, created_at) VALUES (?, ?, 1, 'queued', ?, ?)`);
const get = db.prepare('SELECT id, title, language, created_at, status, attempts FROM presentations WHERE id = ?');
const create = db.transaction((title, content, language) => {
  const id = randomUUID();
  const now = Date.now();
  insertP.run(id, title, content, language, now);
  insertJ.run(randomUUID(), id, now, now);
  return id;
});

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const PREFIX = '/api/presentations';
const SAME_RESPONSE = values['same-response'] === true;
// what the noop provider's feedback is stored as
const NOOP_FEEDBACK = JSON.stringify(noopFeedback('en'));
createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith(`${PREFIX}/`)) {
    const row = get.get(req.url.slice(PREFIX.length + 1));
    if (!row) return send(res, 404, { error: { code: 'NOT_FOUND', message: 'no such presentation' } });
    if (SAME_RESPONSE) {
      const head = JSON.stringify({ id: row.id, title: row.title, language: row.language, createdAt: new Date(row.created_at).toISOString(), status: 'done', attempts: 1 });
      const text = `${head.slice(0, -1)},"feedback":${NOOP_FEEDBACK}}`;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      return res.end(text);
    }
    return send(res, 200, { id: row.id, title: row.title, language: row.language, createdAt: new Date(row.created_at).toISOString(), status: row.status, attempts: row.attempts, feedback: null });
  }
  if (req.method === 'POST' && req.url === PREFIX) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { error: { code: 'BAD_JSON', message: 'invalid JSON' } });
      }
      if (typeof body?.title !== 'string' || typeof body.content !== 'string' || !body.title || !body.content) {
        return send(res, 400, { error: { code: 'VALIDATION', message: 'title and content are required' } });
      }
      const id = create(body.title, body.content, body.language ?? 'auto');
      const url = `${PREFIX}/${id}`;
      send(res, 201, { id, status: 'pending', url }, { location: url });
    });
    return;
  }
  if (req.url === '/healthz') return send(res, 200, { status: 'ok' });
  send(res, 404, { error: { code: 'NOT_FOUND', message: 'no route' } });
}).listen(Number(values.port), '127.0.0.1');

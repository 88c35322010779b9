// The polled read answered in front of Fastify (src/http/fast-get.ts) must be indistinguishable
// from Fastify's own answer: same status, headers and bytes. `?` after the id sends the same
// request through Fastify (the fast path takes no query string), so each pair is compared on one
// server; presenter_http_fast_path_total shows which requests the fast path answered.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { startServer } from './helpers/cli.js';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { api, waitForStatus } from './helpers/http.js';

/** A raw request: status, headers without `date`, body bytes (a Buffer: compared as bytes). */
function raw(server, method, path, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode, headers: rest, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function fastCount(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('presenter_http_fast_path_total '));
  return Number(line?.split(' ')[1] ?? NaN);
}

test('GET /api/presentations/:id answered in front of Fastify is byte-identical to Fastify\'s answer, and only found ids take that path', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const ids = {};
  for (const [name, title] of [['done', 'Plain'], ['markup', '</script><b>"quoted" \\ and ünïcode ☃</b>'], ['pending', 'Pending']]) {
    const r = await api(server, '/api/presentations', { method: 'POST', json: { title, content: `# ${title}\n\nSome words here.` } });
    assert.equal(r.status, 201);
    ids[name] = r.data.id;
  }
  await waitForStatus(server, ids.done);
  await waitForStatus(server, ids.markup);
  // a failed talk (with its public error) and a pending one, made in the database directly
  const db = new Database(join(server.dataDir, 'presenter.db'), { timeout: 5000 });
  t.after(() => db.close());
  db.prepare("UPDATE jobs SET status = 'failed', public_error = 'The model said \"no\".' WHERE presentation_id = ?").run(ids.done);
  db.prepare("UPDATE jobs SET status = 'queued', run_at = ? WHERE presentation_id = ?").run(Date.now() + 3_600_000, ids.pending);
  db.prepare('DELETE FROM feedback WHERE presentation_id = ?').run(ids.pending);
  // feedback beyond Latin-1, as the local analyser's dashes (the fast path sends its stored bytes)
  db.prepare('UPDATE feedback SET body = ? WHERE presentation_id = ?').run(JSON.stringify({ provider: 'local', summary: 'about 5–10 min — ☃ 🎤 \u2028 "q" \\ é' }), ids.markup);

  let before = await fastCount(server);
  assert.ok(Number.isInteger(before), 'the counter is exported');
  for (const [name, id] of Object.entries(ids)) {
    const fast = await raw(server, 'GET', `/api/presentations/${id}`);
    const framework = await raw(server, 'GET', `/api/presentations/${id}?`);
    assert.equal(fast.status, 200, name);
    assert.deepEqual(fast, framework, `${name}: the same status, headers and body`);
    assert.equal(fast.headers['content-length'], String(fast.body.length), `${name}: the length in bytes`);
    // both may send the store's bytes (SQLite): they are what JSON.stringify writes of that object
    const text = fast.body.toString('utf8');
    assert.equal(JSON.stringify(JSON.parse(text)), text, `${name}: JSON.stringify's bytes`);
  }
  assert.equal(await fastCount(server), before + 3, 'the three found ids were answered by the fast path, the ? variants by Fastify');
  assert.match((await raw(server, 'GET', `/api/presentations/${ids.markup}`)).body.toString('utf8'), /"summary":"about 5–10 min — ☃ 🎤/, 'the stored feedback bytes, not a replacement');
  before += 1;
  // a title stored as bytes that are not UTF-8 (a lone surrogate as better-sqlite3 wrote it before
  // talks were stored well-formed): the route answers, reading them as U+FFFD, as it always did
  db.prepare("UPDATE presentations SET title = CAST(X'4c6f6e6520eda0802074697460' AS TEXT) WHERE id = ?").run(ids.pending);
  const legacy = await raw(server, 'GET', `/api/presentations/${ids.pending}`);
  assert.equal(legacy.status, 200);
  assert.ok(isUtf8(legacy.body), `UTF-8 on the wire: ${legacy.body.toString('hex').slice(0, 200)}`);
  assert.match(legacy.body.toString('utf8'), /"title":"Lone \ufffd+ tit`"/);
  assert.deepEqual(legacy, await raw(server, 'GET', `/api/presentations/${ids.pending}?`));
  assert.equal(await fastCount(server), before + 3, 'the fast path left it to the route');
  // a title another tool wrote as a BLOB: SQLite's json_object refuses it (the fast body's SQL
  // throws), and the route answers from the view as it always did, not a 500
  db.prepare("UPDATE presentations SET title = X'426c6f62' WHERE id = ?").run(ids.pending);
  const blob = await raw(server, 'GET', `/api/presentations/${ids.pending}`);
  assert.equal(blob.status, 200, blob.body.toString('utf8'));
  assert.deepEqual(blob, await raw(server, 'GET', `/api/presentations/${ids.pending}?`));
  assert.equal(await fastCount(server), before + 3, 'the fast path left it to the route');

  // what must go to Fastify: its answers, and the fast path's counter does not move
  const unknown = '00000000-0000-4000-8000-000000000000';
  const others = [
    ['GET', `/api/presentations/${unknown}`, {}],
    ['GET', `/api/presentations/${ids.done.toUpperCase()}`, {}],
    ['GET', `/api/presentations/${ids.done.slice(0, -1)}x`, {}],
    ['GET', `/api/presentations/${ids.done}/`, {}],
    ['GET', `/api/presentations/%2e%2e/${ids.done.slice(3)}`, {}],
    ['HEAD', `/api/presentations/${ids.done}`, {}],
    ['DELETE', `/api/presentations/${ids.done}`, {}],
    ['GET', `/api/presentations/${ids.done}`, { headers: { 'content-type': 'application/json', 'content-length': '2' }, body: '{}' }],
    ['GET', `/api/presentations/${ids.done}`, { headers: { 'transfer-encoding': 'chunked' }, body: 'x' }],
  ];
  const seen = [];
  for (const [method, path, options] of others) {
    const r = await raw(server, method, path, options);
    seen.push(`${method} ${path.slice(19)} ${r.status}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    if (method !== 'HEAD' && r.status !== 200) assert.match(r.body.toString('utf8'), /^\{"error":\{"code":"[A-Z_]+"/);
  }
  assert.equal(await fastCount(server), before + 3, `none of these took the fast path: ${seen.join('; ')}`);
  assert.equal((await raw(server, 'GET', `/api/presentations/${unknown}`)).status, 404);

  // the per-route request metrics still count the fast answers
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const count = metrics.split('\n').find((l) => l.startsWith('presenter_http_requests_total{') && l.includes('route="/api/presentations/:id"') && l.includes('status="200"') && l.includes('method="GET"'));
  assert.ok(Number(count?.split(' ').pop()) >= 6, count);
});

test('with the access log on, every read goes through Fastify, which writes its line', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe', '--access-log', 'access.log'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Logged', content: 'Some words.' } });
  await waitForStatus(server, created.data.id);
  const before = await fastCount(server);
  for (let i = 0; i < 5; i++) {
    const r = await raw(server, 'GET', `/api/presentations/${created.data.id}`);
    assert.equal(r.status, 200);
    const text = r.body.toString('utf8');
    assert.equal(JSON.stringify(JSON.parse(text)), text);
    assert.equal(JSON.parse(text).feedback.provider, 'noop');
  }
  assert.equal(await fastCount(server), before, 'the fast path is off when a line is written per request');
});

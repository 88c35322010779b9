// The API's request validators are compiled by `npm run build` (scripts/compile-validators.js), not
// by Ajv at each worker start (src/http/validators.ts). What must hold: the precompiled ones answer
// every request exactly as Fastify's own compiler does, the worker uses them for every schema, and
// a stale or missing build falls back to compiling (slower to start, never different).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../dist/http/app.js';
import { createMetrics } from '../dist/http/metrics.js';
import { RequestCounts } from '../dist/http/request-counts.js';
import { VALIDATORS_DIR, precompiledValidators } from '../dist/http/validators.js';

const ID = '0195f0a0-0000-7000-8000-000000000000';
// The store is never reached by a request a validator refuses; one that gets through is answered 503.
// No synchronous read (presentationBody, SQLite's): the route reads the view, as on PostgreSQL.
const store = new Proxy({}, { get: (_target, name) => (name === 'then' || name === 'presentationBody' ? undefined : () => Promise.reject(Object.assign(new Error('no store in this test'), { code: 'UNAVAILABLE' }))) });

async function app(t, validators) {
  const instance = await buildApp({
    store,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(store),
    bodyLimit: 1 << 20,
    jobAttempts: 1,
    adminToken: undefined,
    rateLimit: 0,
    rateHit: async () => ({ current: 1, ttl: 60_000 }),
    maxQueue: 0,
    trustProxy: [],
    onEnqueue() {},
    jobsAlive: () => true,
    metricsText: async () => '',
    counts: new RequestCounts(),
    validators,
  });
  await instance.ready();
  t.after(() => instance.close());
  return instance;
}

const json = (payload, extra = {}) => ({ method: 'POST', url: '/api/presentations', headers: { 'content-type': 'application/json', ...extra }, payload: JSON.stringify(payload) });
const astral = '\u{1F600}'; // one character, two UTF-16 code units: Ajv counts characters (ucs2length)
// what an attacker or a careless client sends; each must be answered the same by both compilers
const REQUESTS = [
  json({ title: 'T', content: 'c' }),
  json({}),
  json(null),
  json([]),
  json('a string'),
  json({ title: 1, content: 'c' }),
  json({ title: '', content: 'c' }),
  json({ title: 'T' }),
  json({ content: 'c' }),
  json({ title: 'T', content: '' }),
  json({ title: 'x'.repeat(200), content: 'c' }),
  json({ title: 'x'.repeat(201), content: 'c' }),
  json({ title: astral.repeat(200), content: 'c' }),
  json({ title: astral.repeat(201), content: 'c' }),
  json({ title: 'T', content: 'c', extra: 1 }),
  json({ title: 'T', content: 'c', __proto__: { polluted: true } }),
  { ...json({ title: 'T', content: 'c' }), payload: '{"title":"T","content":"c","__proto__":{"x":1}}' },
  { ...json({ title: 'T', content: 'c' }), payload: '{"title":"T","content":"c","constructor":{"prototype":{"x":1}}}' },
  json({ title: 'T', content: 'c', language: 'fr' }),
  json({ title: 'T', content: 'c', language: 'de' }),
  json({ title: 'T', content: 'c', language: null }),
  json({ title: 'T', content: 'c', targetMinutes: 0 }),
  json({ title: 'T', content: 'c', targetMinutes: -1 }),
  json({ title: 'T', content: 'c', targetMinutes: 600 }),
  json({ title: 'T', content: 'c', targetMinutes: 600.0001 }),
  json({ title: 'T', content: 'c', targetMinutes: '20' }),
  json({ title: 'T', content: 'c', targetMinutes: 1e308 }),
  json({ title: 'T', content: 'c' }, { 'idempotency-key': '' }),
  json({ title: 'T', content: 'c' }, { 'idempotency-key': 'k'.repeat(255) }),
  json({ title: 'T', content: 'c' }, { 'idempotency-key': 'k'.repeat(256) }),
  json({ title: 'T', content: 'c' }, { 'Idempotency-Key': '' }),
  { method: 'POST', url: '/api/presentations?title=T', headers: { 'content-type': 'text/markdown' }, payload: '# Talk\n\ntext' },
  { method: 'POST', url: '/api/presentations?title=T&unknown=1', headers: { 'content-type': 'text/markdown' }, payload: '# Talk' },
  { method: 'POST', url: '/api/presentations?targetMinutes=abc', headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'POST', url: '/api/presentations?targetMinutes=1.5&language=en', headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'POST', url: '/api/presentations?language=xx', headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'POST', url: `/api/presentations?title=${'t'.repeat(201)}`, headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'POST', url: '/api/presentations?title=', headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'POST', url: '/api/presentations?title=a&title=b', headers: { 'content-type': 'text/plain' }, payload: 'text' },
  { method: 'GET', url: '/api/presentations?limit=abc' },
  { method: 'GET', url: '/api/presentations?limit=1000' },
  { method: 'GET', url: '/api/presentations?limit=10&cursor=' + 'c'.repeat(201) },
  { method: 'GET', url: '/api/presentations?other=1' },
  { method: 'GET', url: '/api/presentations?limit=1&limit=2' },
  { method: 'HEAD', url: '/api/presentations?limit=abc' },
  { method: 'GET', url: `/api/presentations/${ID}` },
];

const answer = (r) => ({ status: r.statusCode, type: r.headers['content-type'], body: r.body });

test('the precompiled validators answer every request as Fastify compiling at start does', async (t) => {
  const stats = { precompiled: 0, compiled: 0 };
  const built = await app(t, precompiledValidators(stats));
  // null: no compiler of ours at all, Fastify as it comes (its own lower-casing of header names too)
  const compiling = await app(t, null);
  const index = JSON.parse(readFileSync(new URL('index.json', VALIDATORS_DIR), 'utf8'));
  assert.ok(index.length >= 7, `the build wrote ${index.length} validators`);
  // every schema of the app came from the build
  assert.deepEqual(stats, { precompiled: index.length, compiled: 0 });
  let refused = 0;
  for (const request of REQUESTS) {
    const [a, b] = [answer(await built.inject(request)), answer(await compiling.inject(request))];
    assert.deepEqual(a, b, `${request.method} ${request.url} ${request.payload ?? ''}`.slice(0, 300));
    if (a.status === 400) refused++;
  }
  // the list exercises the validators: most of it is refused, with the API's error shape
  assert.ok(refused >= 25, `only ${refused} requests refused`);
  const long = answer(await built.inject(json({ title: astral.repeat(201), content: 'c' })));
  assert.deepEqual(JSON.parse(long.body), { error: { code: 'VALIDATION', message: 'title: must NOT have more than 200 characters' } });
  const ok = answer(await built.inject(json({ title: astral.repeat(200), content: 'c' })));
  assert.notEqual(ok.status, 400, '200 astral characters are 200 characters, not 400');
});

test('a build that does not match (a schema edited since, or no build at all) is compiled at start instead', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-validators-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // the build's files where they are (their require() of Ajv's runtime resolves from there)
  const index = JSON.parse(readFileSync(new URL('index.json', VALIDATORS_DIR), 'utf8')).map((entry) => ({ ...entry, file: new URL(entry.file, VALIDATORS_DIR).href }));
  const body = index.find((entry) => entry.key === 'POST /api/presentations body application/json');
  assert.ok(body, 'the build has the create body validator');
  // as if createBody had changed after the build: its file now accepts anything
  body.hash = '0'.repeat(64);
  body.file = 'accepts-anything.cjs';
  writeFileSync(join(dir, body.file), 'module.exports = () => true;\n');
  // and one whose file is gone (a build running while the server starts)
  const list = index.find((entry) => entry.key === 'GET /api/presentations querystring');
  assert.ok(list, 'the build has the list query validator');
  list.file = 'gone.cjs';
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  const stats = { precompiled: 0, compiled: 0 };
  const compiled = [];
  const stale = await app(t, precompiledValidators(stats, pathToFileURL(`${dir}/`), (key) => compiled.push(key)));
  assert.deepEqual(stats, { precompiled: index.length - 2, compiled: 2 });
  assert.deepEqual(compiled.sort(), ['GET /api/presentations querystring', 'POST /api/presentations body application/json']);
  assert.equal((await stale.inject({ method: 'GET', url: '/api/presentations?limit=abc' })).statusCode, 400);
  const refused = await stale.inject(json({ title: 'T' }));
  assert.equal(refused.statusCode, 400);
  assert.deepEqual(JSON.parse(refused.body), { error: { code: 'VALIDATION', message: 'content: is required' } });

  const none = { precompiled: 0, compiled: 0 };
  const unbuilt = await app(t, precompiledValidators(none, pathToFileURL(join(dir, 'missing/'))));
  assert.deepEqual(none, { precompiled: 0, compiled: index.length });
  assert.equal((await unbuilt.inject(json({ title: 'T', content: 'c', extra: 1 }))).statusCode, 400);
});

test('a headers schema with an upper-case name is refused, not silently never matched', () => {
  // Fastify lower-cases header names in a schema only for its own compiler; Node's are lower case
  const compile = precompiledValidators()({}, { customOptions: {} });
  const request = { schema: { type: 'object', properties: { 'Idempotency-Key': { type: 'string', maxLength: 255 } } }, method: 'POST', url: '/x', httpPart: 'headers' };
  assert.throws(() => compile(request), /the headers schema of POST \/x headers names `Idempotency-Key`: write header names in lower case/);
  const required = { schema: { type: 'object', required: ['X-Token'] }, method: 'POST', url: '/x', httpPart: 'headers' };
  assert.throws(() => compile(required), /names `X-Token`/);
  // lower case, and any name in a body, are fine
  assert.equal(typeof compile({ ...request, schema: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } } }), 'function');
  assert.equal(typeof compile({ ...request, httpPart: 'body' }), 'function');
});

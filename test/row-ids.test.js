import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { join } from 'node:path';
import { newLeaseToken, newRowId, ROW_ID } from '../dist/store/ids.js';
import { openSqlite } from '../dist/store/sqlite-driver.js';
import { startServer } from './helpers/cli.js';
import { api } from './helpers/http.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
/** The 74 random bits as a BigInt: the version nibble and the variant bits taken out. */
const randomBits = (id) => {
  const b = Buffer.from(id.replaceAll('-', ''), 'hex');
  let bits = (BigInt(b[6] & 0x0f) << 8n) | BigInt(b[7]);
  bits = (bits << 6n) | BigInt(b[8] & 0x3f);
  for (const x of b.subarray(9)) bits = (bits << 8n) | BigInt(x);
  return bits;
};

test('row ids are UUID version 7: the given millisecond in the first 48 bits, then random bits', () => {
  for (const now of [0, 1, 0xffff_ffff, 0x1_0000_0000, Date.UTC(2026, 10, 29, 20), 2 ** 48 - 1]) {
    const id = newRowId(now);
    assert.match(id, V7, `${now}`);
    assert.equal(timeOf(id), now, `${now}: ${id}`);
  }
  const id = newRowId();
  assert.ok(Math.abs(timeOf(id) - Date.now()) < 1000, id);
});

test('row ids sort by their creation time, so a batch of inserts lands on one index page', () => {
  const start = Date.UTC(2026, 10, 29);
  // times out of order, some repeated, across byte boundaries of the 48-bit field
  const times = [];
  for (let i = 0; i < 2000; i++) times.push(start + ((i * 7919) % 1500) * 173 + (i % 3 === 0 ? 0xff : 0));
  const ids = times.map((t) => newRowId(t));
  const byId = ids.map((id, i) => [id, times[i]]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < byId.length; i++) assert.ok(byId[i - 1][1] <= byId[i][1], `${byId[i - 1][0]} (${byId[i - 1][1]}) sorts before ${byId[i][0]} (${byId[i][1]})`);
});

test('row ids made in the same millisecond differ in their random bits, across refills of the random pool', () => {
  const now = Date.UTC(2026, 10, 29);
  const seen = new Set();
  const bitCounts = new Array(74).fill(0);
  const n = 20_000; // ~78 refills of the 256-id pool
  for (let i = 0; i < n; i++) {
    const id = newRowId(now);
    assert.match(id, V7);
    seen.add(id);
    const bits = randomBits(id);
    for (let b = 0; b < 74; b++) if ((bits >> BigInt(b)) & 1n) bitCounts[b] += 1;
  }
  assert.equal(seen.size, n, 'every id is new');
  // each of the 74 random bits is set in about half of the ids (a bit stuck at 0 or 1, or taken
  // twice from the same pool byte, would be far outside: the bound is 10 sigma, ±707 here)
  for (const [b, count] of bitCounts.entries()) assert.ok(Math.abs(count - n / 2) < 710, `random bit ${b} set in ${count} of ${n}`);
});

test('lease tokens are 96 random bits, none repeated, drawn from the same pool as row ids without sharing a byte', () => {
  const tokens = new Set();
  const ids = new Set();
  const bitCounts = new Array(96).fill(0);
  const n = 10_000; // row ids and tokens interleaved: ~90 refills of the pool, at uneven offsets
  for (let i = 0; i < n; i++) {
    const token = newLeaseToken();
    assert.match(token, /^[A-Za-z0-9_-]{16}$/);
    tokens.add(token);
    const bytes = Buffer.from(token, 'base64url');
    for (let b = 0; b < 96; b++) if ((bytes[b >> 3] >> (b & 7)) & 1) bitCounts[b] += 1;
    if (i % 3 === 0) ids.add(randomBits(newRowId(0)));
  }
  assert.equal(tokens.size, n, 'every token is new');
  assert.equal(ids.size, Math.ceil(n / 3), 'every id is new');
  // a byte handed out twice (to a token and to an id, or to two tokens) would repeat a token or
  // skew these counts; the bound is 10 sigma (±500 here)
  for (const [b, count] of bitCounts.entries()) assert.ok(Math.abs(count - n / 2) < 500, `token bit ${b} set in ${count} of ${n}`);
});

test('the API finds talks by the ids of both versions the stores have made, and refuses other versions before the store', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const db = openSqlite(join(server.dataDir, 'presenter.db'), { timeout: 5000 });
  t.after(() => db.close());
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'New id', content: '# New id\n\nHello.', language: 'en' } });
  assert.equal(created.status, 201);
  assert.match(created.data.id, V7);
  const view = await api(server, `/api/presentations/${created.data.id}`);
  assert.equal(view.status, 200);
  assert.ok(Math.abs(timeOf(created.data.id) - Date.parse(view.data.createdAt)) <= 1, `${created.data.id} carries createdAt ${view.data.createdAt}`);

  // a talk stored by a version that made random (v4) ids: copy the new row under a v4 id
  const old = randomUUID();
  db.pragma('foreign_keys = ON');
  db.prepare(`INSERT INTO presentations (id, title, content, language, target_minutes, created_at, current_version)
    SELECT ?, 'Old id', content, language, target_minutes, created_at, 1 FROM presentations WHERE id = ?`).run(old, created.data.id);
  db.prepare(`INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at) VALUES (?, ?, 1, 'done', 3, 0, 0)`).run(randomUUID(), old);
  const res = await api(server, `/api/presentations/${old}`);
  assert.equal(res.status, 200);
  assert.equal(res.data.title, 'Old id');
  assert.equal((await api(server, `/api/presentations/${old}/feedback`, { method: 'POST' })).status, 202);

  // the same digits as a real id, with another version nibble: not an id any store made
  for (const version of ['1', '5', '8', 'f']) {
    const other = `${created.data.id.slice(0, 14)}${version}${created.data.id.slice(15)}`;
    const res = await api(server, `/api/presentations/${other}`);
    assert.equal(res.status, 404, other);
    assert.equal(res.data.error.code, 'NOT_FOUND');
  }
  assert.ok(ROW_ID.test(old) && ROW_ID.test(created.data.id));
});

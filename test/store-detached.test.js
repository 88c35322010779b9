// Item 7 of #10: the data dir deleted (or the database replaced) while serving.
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { StoreError } from '../dist/store/types.js';
import { makeDataDir, sleep, startServer } from './helpers/cli.js';
import { api, waitUntil } from './helpers/http.js';

const talk = (i) => ({ title: `Talk ${i}`, content: `# Talk ${i}\n\nSome words.` });
/** Collects the JSON lines the server prints on its console from now on (its log file goes with the data dir). */
function watchConsole(server) {
  let text = '';
  server.child.all.on('data', (chunk) => (text += chunk));
  return () =>
    text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
}

test('data dir deleted while serving: POSTs answer 503 STORE_UNAVAILABLE (never 201), /readyz says why, one log line', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const consoleLines = watchConsole(server);
  const first = await api(server, '/api/presentations', { method: 'POST', json: talk(0) });
  assert.equal(first.status, 201);
  rmSync(server.dataDir, { recursive: true, force: true });

  const answers = [];
  for (let i = 1; i <= 8; i++) answers.push(await api(server, '/api/presentations', { method: 'POST', json: talk(i) }));
  // requestFeedback is a write too
  answers.push(await api(server, `/api/presentations/${first.data.id}/feedback`, { method: 'POST' }));
  for (const res of answers) {
    assert.equal(res.status, 503, JSON.stringify(res.data));
    assert.equal(res.data.error.code, 'STORE_UNAVAILABLE');
    assert.match(res.headers.get('retry-after'), /^[1-9]\d*$/);
  }
  const ready = await api(server, '/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.data.store, 'unavailable');
  assert.equal(ready.data.storeCode, 'STORE_UNAVAILABLE');
  assert.match(ready.data.reason, /presenter\.db is gone \(the data dir was deleted or moved while serving\)/);

  // the claim loop and /readyz polls hit the same state: still one line about it
  await sleep(1500);
  await api(server, '/readyz');
  const lines = await waitUntil('the store.unusable line on the console', () => {
    const found = consoleLines().filter((l) => l.event === 'store.unusable');
    return found.length > 0 && found;
  }, 5000);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0].level, 50);
  assert.match(lines[0].msg, /^Writes refused \(503 STORE_UNAVAILABLE\) until restart: the database file .*presenter\.db is gone/);
  // a 503 of this kind is not a server bug: no per-request error lines, and the claim loop's
  // failed retries are debug lines: one warning or error line in all
  assert.deepEqual(consoleLines().filter((l) => l.level >= 40).map((l) => l.event), ['store.unusable']);
});

test('POSTs racing the deletion: none that starts after the data dir is gone gets a 201', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  let removedAt = Infinity;
  let stop = false;
  const results = [];
  const loops = Array.from({ length: 4 }, async (_, loop) => {
    for (let i = 0; !stop; i++) {
      const startedAt = performance.now();
      const res = await api(server, '/api/presentations', { method: 'POST', json: talk(`${loop}-${i}`) });
      results.push({ startedAt, status: res.status, code: res.data?.error?.code });
    }
  });
  await sleep(300);
  rmSync(server.dataDir, { recursive: true, force: true });
  removedAt = performance.now();
  await sleep(500);
  stop = true;
  await Promise.all(loops);
  const before = results.filter((r) => r.startedAt < removedAt);
  const after = results.filter((r) => r.startedAt > removedAt);
  t.diagnostic(`${before.length} POSTs before the deletion, ${after.length} after`);
  assert.ok(before.some((r) => r.status === 201) && after.length > 10);
  assert.deepEqual([...new Set(after.map((r) => `${r.status} ${r.code}`))], ['503 STORE_UNAVAILABLE']);
});

test('the database file replaced by a copy: the store refuses writes and reports why; reads go on', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.db');
  migrateDatabase(file);
  const events = [];
  const store = new SqliteStore(file, { onEvent: (e) => events.push(e) });
  t.after(() => store.close());
  const { id } = await store.createPresentation({ title: 'T', content: 'c', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3);
  assert.deepEqual(await store.health(), { ok: true });
  // a restore from backup while serving: same path, another file
  copyFileSync(file, `${file}.copy`);
  renameSync(`${file}.copy`, file);
  for (const write of [
    () => store.createPresentation({ title: 'U', content: 'c', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3),
    () => store.requestFeedback(id, 3),
    () => store.claimJobs(1, process.pid, 1000),
  ]) {
    await assert.rejects(write, (e) => e instanceof StoreError && e.code === 'STORE_UNAVAILABLE' && /was replaced by another file/.test(e.message));
  }
  assert.equal((await store.getPresentation(id)).title, 'T', 'reads go on');
  const health = await store.health();
  assert.equal(health.ok, false);
  assert.match(health.reason, /was replaced by another file while serving/);
  assert.equal(events.length, 1, 'told once');
  assert.equal(events[0].type, 'unusable');
});

// Item 8 of #10: a full disk. Writes answer 503 STORAGE_FULL with Retry-After, reads go on, the
// claim loop backs off, and everything works again once space is freed. A real full file
// system: a 2 MB tmpfs (needs root, or CAP_SYS_ADMIN).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sleep, startServer } from './helpers/cli.js';
import { completion, feedbackJson, startFakeOpenAI } from './helpers/fake-openai.js';
import { api, waitForStatus, waitUntil } from './helpers/http.js';
import { fill, tmpfsFor, tmpfsSkip } from './helpers/full-disk.js';
import { nodeFor } from './helpers/node-bins.js';
import { openSqliteRaw, sqliteDriverSkip } from './helpers/stores.js';

const probe = { skip: tmpfsSkip() };

const talk = (i, words = 10) => ({ title: `Talk ${i}`, content: `# Talk ${i}\n\n${'word '.repeat(words)}` });

// Once per SQLite driver: node:sqlite must report SQLITE_FULL as better-sqlite3 does (a Node with
// node:sqlite serves that half: this one, or a cached Node 24/22 where this is Node 20).
const DRIVERS = [
  { driver: 'better-sqlite3', runner: { node: process.execPath, skip: await sqliteDriverSkip('better-sqlite3') } },
  { driver: 'node:sqlite', runner: nodeFor('node:sqlite') },
];

for (const { driver, runner } of DRIVERS) test(`disk full (${driver}): POST 503 STORAGE_FULL with Retry-After, GET 200, claims back off; space freed: 201 and jobs run`, { skip: probe.skip || runner.skip, timeout: 90_000 }, async (t) => {
  const dir = tmpfsFor(t);
  // The first model call fails with Retry-After: 2, so that job is due again while the disk is
  // full and the claim loop meets SQLITE_FULL; every other call answers.
  const model = await startFakeOpenAI(t, async (call) =>
    call.n === 1 ? { status: 500, headers: { 'retry-after': '2' }, body: { error: { message: 'try later' } } } : { body: completion(JSON.stringify(feedbackJson())) },
  );
  const server = await startServer(t, {
    node: runner.node,
    dataDir: dir,
    args: ['--profile', 'safe', '--threads', '2'],
    // the claim loop's retries of a known store state are debug lines
    env: { PRESENTER_SQLITE_DRIVER: driver, PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.url, PRESENTER_AI_MODEL: 'fake', PRESENTER_LOG_LEVEL: 'debug' },
  });
  let console = '';
  server.child.all.on('data', (chunk) => (console += chunk));
  const consoleLines = () => console.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const before = await api(server, '/api/presentations', { method: 'POST', json: talk(0) });
  assert.equal(before.status, 201);
  await waitUntil('the first attempt to fail', () => consoleLines().some((l) => l.event === 'feedback.failed'), 10_000);

  // The log is emptied to 0 bytes, then a reader holds a snapshot for the whole full-disk phase
  // (a backup, a report), so every write must grow the log. Without that, the worker's
  // checkpoint thread (store/wal-checkpointer.ts) lets small writes such as a claim reuse the
  // space the log already has, and only bigger ones meet the full disk.
  const reader = await openSqliteRaw(join(dir, 'presenter.db'), 'better-sqlite3');
  await waitUntil('the log emptied', () => reader.pragma('wal_checkpoint(TRUNCATE)')[0].busy === 0, 10_000, 20);
  reader.exec('BEGIN');
  reader.prepare('SELECT COUNT(*) AS n FROM jobs').get();
  let readerOpen = true;
  const release = () => {
    if (!readerOpen) return;
    readerOpen = false;
    reader.exec('COMMIT');
    reader.close();
  };
  t.after(release);
  const filler = fill(dir);
  const refused = [];
  for (let i = 0; i < 10; i++) refused.push(await api(server, '/api/presentations', { method: 'POST', json: talk(100 + i, 2000) }));
  for (const res of refused) {
    assert.equal(res.status, 503, JSON.stringify(res.data));
    assert.equal(res.data.error.code, 'STORAGE_FULL');
    assert.match(res.headers.get('retry-after'), /^[1-9]\d*$/);
  }
  const read = await api(server, `/api/presentations/${before.data.id}`);
  assert.equal(read.status, 200, 'reads go on');
  assert.equal(read.data.title, 'Talk 0');

  // a few seconds of a full disk while jobs are due: the claim loop backs off
  await sleep(4000);
  const lines = consoleLines();
  const claimErrors = lines.filter((l) => l.event === 'job.claim_failed');
  const counts = {};
  for (const l of lines) counts[l.event] = (counts[l.event] ?? 0) + 1;
  t.diagnostic(JSON.stringify(counts));
  t.diagnostic(`claim-loop error lines in ~4 s of a full disk: ${claimErrors.length}; store.full lines: ${lines.filter((l) => l.event === 'store.full').length}`);
  assert.ok(claimErrors.length >= 1, 'the retry came due while the disk was full: its claim failed');
  assert.ok(claimErrors.length <= 8, `${claimErrors.length} claim errors: not backing off`);
  assert.deepEqual(claimErrors.slice(0, 3).map((l) => l.retryInMs), [100, 200, 400].slice(0, Math.min(3, claimErrors.length)));
  assert.equal(lines.filter((l) => l.event === 'http.error').length, 0, 'no 500s');
  assert.deepEqual(lines.filter((l) => l.level >= 40 && l.event !== 'feedback.failed').map((l) => l.event), ['store.full'], 'one warning or error line about it');
  // still ready while claims fail for lack of space: out of rotation, the reads would stop too
  assert.equal((await api(server, '/readyz')).status, 200);
  assert.equal((await api(server, `/api/presentations/${before.data.id}`)).status, 200);

  rmSync(filler);
  release();
  const after = await api(server, '/api/presentations', { method: 'POST', json: talk(200) });
  assert.equal(after.status, 201, JSON.stringify(after.data));
  for (const id of [before.data.id, after.data.id]) {
    const view = await waitForStatus(server, id, ['done', 'failed'], 40_000);
    assert.equal(view.status, 'done', `${id}: ${JSON.stringify(view)}`);
  }
  assert.equal((await api(server, '/readyz')).status, 200);
  assert.equal(lines.filter((l) => l.event === 'store.full').length, 1, 'the log says it once');
});

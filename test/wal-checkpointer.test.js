// store/wal-checkpointer.ts: with checkpointThread, the store's connection never checkpoints inside
// a commit (wal_autocheckpoint = 0 once the thread is up); the thread copies the log into the
// database file while the store serves; a dead thread gives the store its own checkpoints back and
// says so; close leaves no log behind and nothing lost. On a real SQLite file, each driver.
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { bigTalk } from '../bench/lib/talk.js';
import { makeDataDir, sleep } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';
import { openSqliteRaw, sqliteDriverSkip } from './helpers/stores.js';
import { fill, tmpfsFor, tmpfsSkip } from './helpers/full-disk.js';

const noTmpfs = tmpfsSkip();

const talk = (i, content = `# Talk ${i}\n\nwords`) => ({ title: `Talk ${i}`, content, language: 'en', targetMinutes: undefined, idempotencyKey: undefined });

/** A store on `file` with its checkpoint thread up; `events` collects what the thread tells. */
async function openThreaded(t, file, driver) {
  migrateDatabase(file, driver);
  const events = [];
  const store = new SqliteStore(file, { driver, checkpointThread: true, onCheckpointer: (e) => events.push(e) });
  const handle = { store, events, closed: false };
  t.after(() => (handle.closed ? undefined : store.close()));
  await waitUntil('the thread is up', () => store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 10_000, 10);
  return handle;
}

for (const driver of ['better-sqlite3', 'node:sqlite']) {
  const skip = await sqliteDriverSkip(driver);

  test(`${driver}: the thread checkpoints while the store writes; the store's own connection never does; close leaves no log`, { skip, timeout: 60_000 }, async (t) => {
    const file = join(makeDataDir(t), 'presenter.db');
    const handle = await openThreaded(t, file, driver);
    const { store, events } = handle;
    // 24 talks of 1 MiB: without any checkpoint the file would stay at its empty size and the log
    // would hold ~24 MiB
    const content = bigTalk(0);
    const ids = [];
    for (let i = 0; i < 24; i++) {
      ids.push((await store.createPresentation(talk(i, content), 3)).id);
      if (i % 6 === 5) await sleep(250); // a few rounds of the thread
    }
    await waitUntil('the data is in the database file', () => statSync(file).size > 20 * 1024 * 1024, 10_000, 50);
    assert.ok(store.checkpointsInThread > 0, 'checkpoints ran in the thread');
    assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the serving connection does not checkpoint');
    assert.deepEqual(events, []);
    await store.close();
    handle.closed = true;
    assert.equal(existsSync(`${file}-wal`), false, 'the last close checkpointed and removed the log');
    const db = await openSqliteRaw(file, driver);
    try {
      assert.equal(db.prepare('SELECT COUNT(*) AS n FROM presentations WHERE length(content) = ?').get(content.length).n, 24);
      assert.equal(db.pragma('quick_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  });

  test(`${driver}: a checkpoint thread that dies: the store checkpoints inside commits again, says so once, and loses nothing`, { skip, timeout: 60_000 }, async (t) => {
    const { store, events } = await openThreaded(t, join(makeDataDir(t), 'presenter.db'), driver);
    const before = (await store.createPresentation(talk(0), 3)).id;
    // the worst moment: the thread is killed while the store is writing
    const writing = Promise.all(Array.from({ length: 50 }, (_, i) => store.createPresentation(talk(i + 1), 3)));
    await store.checkpointer.worker.terminate();
    const ids = (await writing).map((r) => r.id);
    await waitUntil('the failure is told', () => events.length > 0, 5000, 10);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0].type, 'failed');
    assert.match(events[0].reason, /checkpoint thread exited/);
    assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'SQLite\'s own checkpoints are back');
    const more = (await store.createPresentation(talk(99), 3)).id;
    for (const id of [before, ...ids, more]) assert.equal((await store.getPresentation(id)).status, 'pending');
  });
}

for (const driver of ['better-sqlite3', 'node:sqlite']) {
  const skip = noTmpfs || (await sqliteDriverSkip(driver));

  // The disk fills between a write and its checkpoint: the log has room (it reuses the space of
  // the frames already checkpointed) but the database file cannot grow to take the new pages.
  test(`${driver}: a checkpoint on a full disk fails once with SQLITE_FULL, writes and reads go on, and the next one after space is freed copies everything`, { skip, timeout: 60_000 }, async (t) => {
    const dir = tmpfsFor(t);
    const file = join(dir, 'presenter.db');
    const handle = await openThreaded(t, file, driver);
    const { store, events } = handle;
    // ~400 KB through the log and into the file, in two group commits (one transaction per talk
    // would write the same index pages again and again: more log than the 2 MB disk): the log
    // keeps that size for the frames to come
    const content = `# Talk\n\n${'word '.repeat(800)}`;
    const create = async (from, n) => (await Promise.all(Array.from({ length: n }, (_, k) => store.createPresentation(talk(from + k, content), 3)))).map((r) => r.id);
    const ids = await create(0, 100);
    const rounds = store.checkpointsInThread;
    await waitUntil('a checkpoint after the writes', () => store.checkpointsInThread > rounds, 5000, 10);
    assert.ok(statSync(`${file}-wal`).size > 300 * 1024, `the log has room: ${statSync(`${file}-wal`).size} bytes`);
    const filler = fill(dir);
    // ~100 KB of new pages: into the log's old frames, beyond the end of the database file
    ids.push(...(await create(100, 25)));
    await waitUntil('the failed checkpoint is told', () => events.length > 0, 5000, 10);
    // the store's own writes still succeed (into the log's old frames): only the checkpoint found
    // the disk full, so it is not a known state (the worker says it at warn)
    assert.deepEqual(events.map((e) => [e.type, e.code, e.known]), [['error', 'SQLITE_FULL', false]], JSON.stringify(events));
    assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the thread goes on: the serving connection still does not checkpoint');
    // more writes on the full disk: the same failure is not told again
    ids.push(...(await create(125, 5)));
    await sleep(300);
    assert.equal(events.length, 1, 'told once per kind, not per round');
    assert.equal((await store.getPresentation(ids[110])).title, 'Talk 110', 'reads go on');
    rmSync(filler);
    const failedRounds = store.checkpointsInThread;
    ids.push((await store.createPresentation(talk(130, content), 3)).id);
    await waitUntil('a checkpoint succeeds once space is freed', () => store.checkpointsInThread > failedRounds, 5000, 10);
    await store.close();
    handle.closed = true;
    assert.equal(existsSync(`${file}-wal`), false, 'the last close emptied and removed the log');
    const db = await openSqliteRaw(file, driver);
    try {
      assert.equal(db.prepare('SELECT COUNT(*) AS n FROM presentations').get().n, 131);
      assert.equal(db.pragma('quick_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  });
}

test('without checkpointThread the store keeps SQLite\'s automatic checkpoints (CLI tools, tests, the supervisor\'s migration)', async (t) => {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const store = new SqliteStore(file);
  t.after(() => store.close());
  assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
  assert.equal(store.checkpointsInThread, 0);
});

test('a checkpoint that is the first to meet a deleted data dir: the store says unusable first, the checkpoint error is known', async (t) => {
  const dir = makeDataDir(t);
  migrateDatabase(join(dir, 'presenter.db'));
  const order = [];
  const store = new SqliteStore(join(dir, 'presenter.db'), {
    checkpointThread: true,
    onCheckpointer: (e) => order.push(`checkpoint ${e.type} known=${e.known}`),
    onEvent: (e) => order.push(`store ${e.type}`),
  });
  t.after(() => store.close());
  await waitUntil('the thread is up', () => store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 10_000, 10);
  await store.createPresentation(talk(0), 3);
  rmSync(dir, { recursive: true, force: true });
  // no write has seen the deletion yet (CI: the worker warned of the checkpoint before store.unusable)
  store.checkpointer.worker.emit('message', { type: 'checkpoint_error', code: 'SQLITE_READONLY_DBMOVED', reason: 'checkpoint failed' });
  assert.deepEqual(order.filter((line) => !line.startsWith('store ') || line === 'store unusable'), ['store unusable', 'checkpoint error known=true']);
});

test('a checkpoint error while the store is unusable (its data dir deleted) is a known state; before that it is not', async (t) => {
  const dir = makeDataDir(t);
  const { store, events } = await openThreaded(t, join(dir, 'presenter.db'), undefined);
  // what the thread posts when a checkpoint fails (a deleted file fails with one code or another
  // depending on timing and driver: the code does not matter here)
  const fail = (code) => store.checkpointer.worker.emit('message', { type: 'checkpoint_error', code, reason: `checkpoint failed: ${code}` });
  fail('SQLITE_IOERR');
  await store.createPresentation(talk(0), 3);
  rmSync(dir, { recursive: true, force: true });
  await assert.rejects(store.createPresentation(talk(1), 3), (error) => error.code === 'STORE_UNAVAILABLE');
  fail('SQLITE_READONLY_DBMOVED');
  assert.deepEqual(events.map((e) => [e.type, e.code, e.known]), [['error', 'SQLITE_IOERR', false], ['error', 'SQLITE_READONLY_DBMOVED', true]]);
});

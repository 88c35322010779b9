// Item 11 of #10: a database with damaged pages stops `serve` at start (exit 2) and fails `doctor`.
import assert from 'node:assert/strict';
import { openSync, closeSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkDatabase } from '../dist/doctor/check-database.js';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { freePort, makeDataDir, runCli } from './helpers/cli.js';
import { settings } from './helpers/doctor.js';
import { sqliteDriverSkip } from './helpers/stores.js';

/** A real database of ~300 talks (many pages), closed (checkpointed), then 3 pages in its middle overwritten. */
async function damagedDatabase(t) {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.db');
  migrateDatabase(file);
  const store = new SqliteStore(file);
  for (let i = 0; i < 300; i++) {
    await store.createPresentation({ title: `Talk ${i}`, content: `# Talk ${i}\n\n${'words and more words '.repeat(100)}`, language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3);
  }
  await store.close();
  const size = statSync(file).size;
  assert.ok(size > 40 * 4096, `the database has many pages (${size} bytes)`);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
  closeSync(fd);
  return { dir, file };
}

test('serve on a database with damaged pages: exit 2, naming the file and the fix, before any worker starts', { timeout: 30_000 }, async (t) => {
  const { dir, file } = await damagedDatabase(t);
  const r = await runCli(['serve', '--data-dir', dir, '--host', '127.0.0.1', '--port', String(await freePort())], { timeout: 15_000 });
  assert.equal(r.exitCode, 2, `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^error: The database ${file.replaceAll('.', '\\.')} cannot be used: the database file .* is damaged \\(quick_check: .+\\)\\.$`, 'm'));
  assert.match(r.stderr, /fix: Stop the server and restore .*presenter\.db from a backup, or salvage what is readable with `sqlite3 .*presenter\.db "\.recover" \| sqlite3 recovered\.db`/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('doctor on a database with damaged pages: a failed line with the fix, exit 1; the file is not changed', { timeout: 30_000 }, async (t) => {
  const { dir, file } = await damagedDatabase(t);
  const before = statSync(file);
  const r = await runCli(['doctor', '--data-dir', dir, '--host', '127.0.0.1', '--port', String(await freePort())]);
  assert.equal(r.exitCode, 1, r.stdout);
  assert.match(r.stdout, /^✗ Database integrity \(quick_check\): .*presenter\.db is damaged: .+\.$/m);
  assert.match(r.stdout, /^ {4}fix: Stop the server and restore .*"\.recover"/m);
  const after = statSync(file);
  assert.equal(after.mtimeMs, before.mtimeMs, 'read-only: the database is not written');
});

test('the doctor check: a healthy database passes, a missing one passes (serve creates it), garbage fails', async (t) => {
  const dir = makeDataDir(t);
  const env = { settings: settings({ dataDir: dir }) };
  assert.equal((await checkDatabase(env)).status, 'pass');
  assert.match((await checkDatabase(env)).detail, /^No database at .* yet: serve creates it\.$/);
  migrateDatabase(join(dir, 'presenter.db'));
  const healthy = await checkDatabase(env);
  assert.equal(healthy.status, 'pass', healthy.detail);
  assert.match(healthy.detail, /passed quick_check \(read-only\)/);

  const other = makeDataDir(t);
  const fd = openSync(join(other, 'presenter.db'), 'w');
  writeSync(fd, randomBytes(8192));
  closeSync(fd);
  const garbage = await checkDatabase({ settings: settings({ dataDir: other }) });
  assert.equal(garbage.status, 'fail', garbage.detail);
  assert.match(garbage.detail, /is damaged: SQLITE_NOTADB/);
});

test('a quick_check that runs past its budget is a warning naming the command, not a hang', async (t) => {
  const dir = makeDataDir(t);
  migrateDatabase(join(dir, 'presenter.db'));
  const r = await checkDatabase({ settings: settings({ dataDir: dir }) }, async () => ({ timedOut: true, stdout: '', stderr: '' }));
  assert.equal(r.status, 'warn');
  assert.match(r.fix, /PRAGMA quick_check/);
});

for (const driver of ['better-sqlite3', 'node:sqlite']) {
  test(`SQLITE_CORRUPT at run time flips health (for /readyz) and refuses writes as STORE_CORRUPT (${driver})`, { skip: await sqliteDriverSkip(driver) }, async (t) => {
    const { file } = await damagedDatabase(t);
    const events = [];
    const store = new SqliteStore(file, { driver, onEvent: (e) => events.push(e) }); // the schema pages are intact: it opens
    t.after(() => store.close());
    assert.deepEqual(await store.health(), { ok: true });
    let caught;
    try {
      for (let cursor, page = 0; page < 10; page++) {
        const r = await store.listPresentations(100, cursor);
        for (const item of r.items) await store.getPresentation(item.id);
        cursor = r.nextCursor;
        if (!cursor) break;
      }
    } catch (error) {
      caught = error;
    }
    assert.ok(caught, 'reading every talk meets the damaged pages');
    assert.equal(caught.name, 'StoreError');
    assert.equal(caught.code, 'STORE_CORRUPT');
    const health = await store.health();
    assert.equal(health.ok, false);
    assert.equal(health.code, 'STORE_CORRUPT');
    assert.match(health.reason, /presenter\.db is damaged \(SQLITE_CORRUPT.*\.recover/);
    await assert.rejects(() => store.createPresentation({ title: 'U', content: 'c', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3), { name: 'StoreError', code: 'STORE_CORRUPT' });
    assert.deepEqual(events.map((e) => e.type), ['unusable']);
  });
}

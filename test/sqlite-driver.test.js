// The SQLite driver adapter (src/store/sqlite-driver.ts): the same behaviour through
// better-sqlite3 and node:sqlite (transactions, pragmas, error names, busy, locks), each half
// where this Node can load that driver; and one database file written by one driver and read
// and written by the other, in two processes (a cached Node 24/22 runs node:sqlite on Node 20).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { sqliteErrorCode } from '../dist/store/sqlite-codes.js';
import { openSqlite } from '../dist/store/sqlite-driver.js';
import { translateSqliteError } from '../dist/store/sqlite-errors.js';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { acquireDataDirLock, isDataDirLocked } from '../dist/supervisor/lock.js';
import { makeDataDir } from './helpers/cli.js';
import { nodeFor } from './helpers/node-bins.js';
import { sqliteDriverSkip } from './helpers/stores.js';

const OP = fileURLToPath(new URL('./fixtures/sqlite-driver-op.js', import.meta.url));
const codeOf = (fn) => {
  try {
    fn();
  } catch (error) {
    return sqliteErrorCode(error);
  }
  return 'no error';
};

for (const driver of ['better-sqlite3', 'node:sqlite']) {
  describe(`sqlite driver: ${driver}`, { skip: await sqliteDriverSkip(driver) }, () => {
    const open = (t, file = join(makeDataDir(t), 'x.db'), options = {}) => {
      const db = openSqlite(file, { driver, ...options });
      t.after(() => db.close());
      return db;
    };

    test('transactions commit, roll back on a throw, nest as savepoints, and refuse a promise', (t) => {
      const db = open(t);
      db.exec('CREATE TABLE t (v INTEGER)');
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      const count = () => db.prepare('SELECT COUNT(*) AS n FROM t').get().n;
      assert.equal(db.transaction((v) => insert.run(v).changes).immediate(1), 1);
      assert.throws(() => db.transaction(() => { insert.run(2); throw new Error('boom'); }).immediate(), /boom/);
      assert.equal(count(), 1, 'the failed transaction left nothing');
      const inner = db.transaction(() => { insert.run(3); throw new Error('inner'); });
      db.transaction(() => {
        insert.run(4);
        assert.throws(() => inner(), /inner/);
      }).immediate();
      assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY v').all().map((r) => r.v), [1, 4], 'the inner savepoint rolled back, the outer committed');
      assert.throws(() => db.transaction(async () => insert.run(5))(), /cannot return a promise/);
      assert.equal(count(), 2, 'a promise-returning function is rolled back');
      db.exec('BEGIN; COMMIT;'); // no transaction left open
    });

    test('pragmas answer rows, or the value with simple; named parameters with @name and bare keys', (t) => {
      const db = open(t);
      assert.equal(db.pragma('journal_mode = WAL', { simple: true }), 'wal');
      assert.deepEqual(db.pragma('quick_check(5)').map((r) => r.quick_check), ['ok']);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the default busy timeout is better-sqlite3\'s 5 s');
      db.exec('CREATE TABLE t (a TEXT, b INTEGER)');
      db.prepare('INSERT INTO t VALUES (@a, @b)').run({ a: 'x', b: 2 });
      assert.deepEqual({ ...db.prepare('SELECT a, b FROM t WHERE b = @b').get({ b: 2 }) }, { a: 'x', b: 2 });
      assert.equal(db.prepare('SELECT a FROM t WHERE b = 99').get(), undefined);
      assert.equal(db.open, true);
      db.close();
      assert.equal(db.open, false);
    });

    test('errors carry better-sqlite3\'s SQLITE_* names and map to the same store errors', (t) => {
      const dir = makeDataDir(t);
      const db = open(t, join(dir, 'a.db'));
      db.exec('CREATE TABLE t (k TEXT UNIQUE)');
      db.prepare('INSERT INTO t VALUES (?)').run('a');
      assert.equal(codeOf(() => db.prepare('INSERT INTO t VALUES (?)').run('a')), 'SQLITE_CONSTRAINT_UNIQUE');
      assert.equal(codeOf(() => openSqlite(join(dir, 'missing.db'), { driver, fileMustExist: true, readonly: true })), 'SQLITE_CANTOPEN');
      const ro = open(t, join(dir, 'a.db'), { readonly: true });
      assert.match(codeOf(() => ro.prepare('INSERT INTO t VALUES (?)').run('b')), /^SQLITE_READONLY/);
      // a file that is not a database: STORE_CORRUPT, sticky, whichever driver read it
      writeFileSync(join(dir, 'junk.db'), Buffer.alloc(8192, 7));
      let error;
      try {
        const junk = open(t, join(dir, 'junk.db'));
        junk.prepare('SELECT * FROM sqlite_master').all();
      } catch (e) {
        error = e;
      }
      assert.equal(sqliteErrorCode(error), 'SQLITE_NOTADB');
      const translated = translateSqliteError(error, 'junk.db');
      assert.equal(translated.error.code, 'STORE_CORRUPT');
      assert.equal(translated.sticky, true);
    });

    test('SQLITE_BUSY under contention: a writer held off past the busy timeout gets STORE_UNAVAILABLE with Retry-After, and the store works once the lock is gone', async (t) => {
      const file = join(makeDataDir(t), 'presenter.db');
      migrateDatabase(file, driver);
      const holder = open(t, file);
      const store = new SqliteStore(file, { driver });
      t.after(() => store.close());
      const talk = { title: 'T', content: 'c', language: 'en', targetMinutes: undefined, idempotencyKey: undefined };
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      await assert.rejects(store.createPresentation(talk, 5), (error) => {
        assert.equal(error.code, 'STORE_UNAVAILABLE');
        assert.equal(error.retryAfterSeconds, 5);
        assert.match(error.message, /stayed locked by another process \(SQLITE_BUSY/);
        return true;
      });
      assert.ok(Date.now() - started >= 4000, 'it waited for the busy timeout first');
      assert.equal((await store.health()).ok, true, 'busy is not sticky');
      holder.exec('COMMIT');
      assert.equal((await store.createPresentation(talk, 5)).status, 'pending');
    });

    test('the data dir lock: one holder, a second is refused, the probe sees it, released on close', (t) => {
      const dir = makeDataDir(t);
      const lock = acquireDataDirLock(dir, 100, driver);
      assert.ok(lock);
      assert.equal(acquireDataDirLock(dir, 100, driver), undefined);
      assert.equal(isDataDirLocked(dir), true);
      lock.release();
      assert.equal(isDataDirLocked(dir), false);
      const again = acquireDataDirLock(dir, 100, driver);
      assert.ok(again);
      again.release();
    });
  });
}

/** Runs one operation of the fixture with `driver` in its Node; returns its JSON answer. */
async function op(runner, driver, name, file) {
  const r = await execa(runner.node, [OP, name, file], { env: { PRESENTER_SQLITE_DRIVER: driver, NODE_OPTIONS: '' }, reject: false });
  assert.equal(r.exitCode, 0, `${driver} ${name} (${runner.version}) failed:\n${r.stderr}`);
  assert.equal(r.stderr, '', 'no warning, no noise');
  return JSON.parse(r.stdout);
}

const better = nodeFor('better-sqlite3');
const builtin = nodeFor('node:sqlite');
const crossSkip = better.skip || builtin.skip;

for (const [first, second] of [['better-sqlite3', 'node:sqlite'], ['node:sqlite', 'better-sqlite3']]) {
  test(`a database created by ${first} is read and written by ${second}, and back: same schema, same data`, { skip: crossSkip, timeout: 60_000 }, async (t) => {
    const runner = { 'better-sqlite3': better, 'node:sqlite': builtin };
    const file = join(makeDataDir(t), 'presenter.db');
    const created = await op(runner[first], first, 'create', file);
    assert.equal(created.driver, first);
    const read = await op(runner[second], second, 'read', file);
    assert.equal(read.driver, second);
    assert.deepEqual(read.talks, created.talks, `${second} reads what ${first} wrote`);
    assert.equal(read.schemaVersion, created.schemaVersion);
    const added = await op(runner[second], second, 'add', file);
    const back = await op(runner[first], first, 'read', file);
    assert.deepEqual(back.talks, added.talks, `${first} reads what ${second} added`);
    assert.equal(back.talks.length, 3);
    assert.deepEqual(back.talks.map((v) => v.status).sort(), ['done', 'done', 'pending']);
    assert.deepEqual(back.quickCheck, ['ok']);
  });
}

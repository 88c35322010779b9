import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { checkSqliteFeatures } from '../dist/doctor/check-sqlite-features.js';
import { makeDataDir } from './helpers/cli.js';
import { doctorEnv, outcome, settings } from './helpers/doctor.js';

const steps = (failAt, error) =>
  ['open', 'wal', 'write', 'returning', 'upsert', 'json', 'second-connection'].map((name, i, all) =>
    all.indexOf(failAt) === -1 || i < all.indexOf(failAt) ? { name, ok: true } : i === all.indexOf(failAt) ? { name, ok: false, error } : { name, ok: false, error: 'not tried: an earlier step failed' },
  );
const withSteps = (s) => async () => outcome([{ stage: 'loaded', version: '12.11.1', sqlite: '3.53.2' }, { stage: 'features', steps: s }]);

test('really creates a WAL db in the data dir, writes, reads it back, and removes it', async (t) => {
  const dir = makeDataDir(t);
  const r = await checkSqliteFeatures(doctorEnv({ settings: settings({ dataDir: dir }) }));
  assert.equal(r.status, 'pass', r.detail);
  assert.match(r.detail, /Created a WAL database in .*read from a second connection \(SQLite 3\.\d+\.\d+ through (better-sqlite3|node:sqlite)\); removed it again\./);
  assert.deepEqual(readdirSync(dir), []);
});

test('journal_mode wal but the first write fails → local disk fix', async () => {
  const r = await checkSqliteFeatures(doctorEnv({ settings: settings({ dataDir: '/mnt/c/data' }), probeSqlite: withSteps(steps('write', 'SQLITE_IOERR_SHMOPEN: disk I/O error')) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /journal_mode answered wal, but the first write in WAL mode failed in \/mnt\/c\/data: SQLITE_IOERR_SHMOPEN/);
  assert.match(r.fix, /Put PRESENTER_DATA_DIR .* on a local disk/);
});

test('WAL refused → local disk fix', async () => {
  const r = await checkSqliteFeatures(doctorEnv({ probeSqlite: withSteps(steps('wal', 'journal_mode answered `delete`, not `wal`')) }));
  assert.match(r.detail, /WAL is not available/);
  assert.match(r.fix, /local disk/);
});

test('a missing SQL feature names it', async () => {
  const r = await checkSqliteFeatures(doctorEnv({ probeSqlite: withSteps(steps('returning', 'near "RETURNING": syntax error')) }));
  assert.match(r.detail, /INSERT … RETURNING \(SQLite 3\.35\+\) failed with SQLite 3\.53\.2/);
});

test('no feature check when better-sqlite3 did not load', async () => {
  const r = await checkSqliteFeatures(doctorEnv({ probeSqlite: async () => outcome([], { exitCode: undefined, signal: 'SIGSEGV' }) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Not checked: better-sqlite3 did not load/);
});

test('a data dir where no database can be created', async () => {
  const r = await checkSqliteFeatures(doctorEnv({ probeSqlite: withSteps(steps('open', 'SQLITE_CANTOPEN: unable to open database file')) }));
  assert.match(r.detail, /Cannot create a database in .*SQLITE_CANTOPEN/);
});

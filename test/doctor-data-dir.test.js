import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkDataDir } from '../dist/doctor/check-data-dir.js';
import { realFs } from '../dist/doctor/env.js';
import { makeDataDir } from './helpers/cli.js';
import { doctorEnv, settings } from './helpers/doctor.js';

const MB = 1024 ** 2;
const errno = (code) => Object.assign(new Error(code), { code });
const withFs = (dataDir, fs) => doctorEnv({ settings: settings({ dataDir }), fs: { ...realFs, ...fs } });

test('an existing writable dir with space passes', async (t) => {
  const dir = makeDataDir(t);
  const r = await checkDataDir(withFs(dir, {}));
  assert.equal(r.status, 'pass', r.detail);
  assert.match(r.detail, /is writable; [\d.]+ (GB|MB) free\.$/);
});

test('a missing dir is created, and doctor says so', async (t) => {
  const dir = join(makeDataDir(t), 'nested', 'data');
  const r = await checkDataDir(withFs(dir, {}));
  assert.equal(r.status, 'pass', r.detail);
  assert.match(r.detail, /\(created it: it did not exist\)/);
  assert.ok(existsSync(dir));
});

test('a data dir under a file cannot be created (root ignores permission bits, a file does not)', async (t) => {
  const file = join(makeDataDir(t), 'not-a-dir');
  writeFileSync(file, 'x');
  const r = await checkDataDir(withFs(join(file, 'data'), {}));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Cannot create .*not-a-dir\/data: ENOTDIR \(a file is in the way\)/);
  assert.match(r.fix, /--data-dir or PRESENTER_DATA_DIR/);
});

test('a read-only data dir (EROFS from the fs helper) fails with the fix', async (t) => {
  const dir = makeDataDir(t);
  const r = await checkDataDir(withFs(dir, { writeTest: async () => { throw errno('EROFS'); } }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /is not writable: the file system is read-only/);
  assert.match(r.fix, /write access/);
});

test('permission denied (EACCES, as a non-root user gets for chmod 0555)', async (t) => {
  const r = await checkDataDir(withFs(makeDataDir(t), { writeTest: async () => { throw errno('EACCES'); } }));
  assert.match(r.detail, /not writable: permission denied/);
});

test('free space: < 1 GB warns, < 100 MB fails', async (t) => {
  const dir = makeDataDir(t);
  const low = await checkDataDir(withFs(dir, { statfs: async () => ({ freeBytes: 500 * MB, type: 0xef53 }) }));
  assert.equal(low.status, 'warn');
  assert.match(low.detail, /500 MB free: less than 1\.0 GB/);
  const none = await checkDataDir(withFs(dir, { statfs: async () => ({ freeBytes: 50 * MB, type: 0xef53 }) }));
  assert.equal(none.status, 'fail');
  assert.match(none.detail, /50 MB free: less than 100 MB/);
  assert.match(none.fix, /Free disk space/);
});

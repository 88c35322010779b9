// A data dir that cannot exist (/proc, /sys, a FIFO) and a check that never finishes: doctor
// reports each as a failed line and exits; serve refuses at once with exit 2. The spawn timeout
// (30 s) is only there to turn a hang into a failure, not to measure anything.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, freePort, makeDataDir, runCli } from './helpers/cli.js';
import { notLinux, notPosix } from './helpers/skip.js';

const SUMMARY = /^(\d+) passed, (\d+) warnings, (\d+) failed$/m;
const HANG_FIXTURE = join(ROOT, 'test/fixtures/hung-mkdir.mjs');

async function doctor(dataDir, env = {}) {
  const r = await runCli(['doctor', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(await freePort())], { env });
  assert.equal(r.timedOut, false, `doctor hung on ${dataDir}:\n${r.stdout}`);
  return r;
}

test('doctor --data-dir /proc/x: exit 1, the data dir and file system lines fail and say why', { skip: notLinux }, async () => {
  const r = await doctor('/proc/x');
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^✗ Data dir writable, free space: Cannot create \/proc\/x: ENOENT \(\/proc does not accept new directories: a virtual file system such as \/proc or \/sys\)\.$/m);
  assert.match(r.stdout, /^✗ Data dir file system: \/proc\/x is on proc .*a virtual file system of the kernel/m);
  assert.match(r.stdout, /^✗ SQLite features .*: Cannot create a database in \/proc\/x/m);
  assert.ok(Number(SUMMARY.exec(r.stdout)?.[3]) >= 3, r.stdout);
});

test('doctor --data-dir /proc/x/y/z and /sys/x: exit 1 with a failed data dir line, no hang', { skip: notLinux }, async () => {
  for (const dir of ['/proc/x/y/z', '/sys/x']) {
    const r = await doctor(dir);
    assert.equal(r.exitCode, 1, `${dir}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^✗ Data dir writable, free space: Cannot create ${dir}: E[A-Z]+`, 'm'));
  }
});

test('doctor with a FIFO as the data dir (or under it): exit 1, a file is in the way', { skip: notPosix }, async (t) => {
  const fifo = join(makeDataDir(t), 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [dir, code] of [[fifo, 'EEXIST'], [join(fifo, 'data'), 'ENOTDIR']]) {
    const r = await doctor(dir);
    assert.equal(r.exitCode, 1, `${dir}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^✗ Data dir writable, free space: Cannot create ${dir}: ${code} \\(a file is in the way\\)\\.$`, 'm'));
    assert.match(r.stdout, /^✗ SQLite features .*: Not checked: no database could be created in /m);
  }
});

// The preload makes mkdir hang and leaves an interval running: the state the old doctor was in
// under /proc (its recursive mkdir spun forever in a pool thread), whatever the Node version.
test('a check that never finishes fails by name, and doctor exits despite the handle left open', async (t) => {
  const dir = join(makeDataDir(t), 'new');
  const r = await doctor(dir, { NODE_OPTIONS: `--import ${HANG_FIXTURE}` });
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^✗ Data dir writable, free space: The data-dir check could not finish within 2\.8 s and was abandoned\.$/m);
  assert.match(r.stdout, /^ {4}fix: Something it waits for is blocked/m);
  assert.match(r.stdout, /^✗ SQLite features .*: The sqlite-features check could not finish/m);
  assert.match(r.stdout, /^✓ Port free/m);
  assert.match(r.stdout, SUMMARY);
  const json = await runCli(['doctor', '--json', '--data-dir', dir, '--port', '0'], { env: { NODE_OPTIONS: `--import ${HANG_FIXTURE}` } });
  assert.equal(json.exitCode, 1);
  const dataDir = JSON.parse(json.stdout).checks.find((c) => c.id === 'data-dir');
  assert.equal(dataDir.status, 'fail');
  assert.match(dataDir.detail, /could not finish/);
});

test('serve --data-dir /proc/x: exit 2 naming the data dir and the fix', { skip: notLinux }, async () => {
  const r = await runCli(['serve', '--data-dir', '/proc/x', '--host', '127.0.0.1', '--port', String(await freePort())]);
  assert.equal(r.timedOut, false, 'serve hung');
  assert.equal(r.exitCode, 2, r.stdout + r.stderr);
  assert.equal(r.stderr, 'error: The data dir /proc/x cannot be created: /proc does not accept new directories (a virtual file system such as /proc or /sys).\n  fix: Choose a writable directory on a local disk with --data-dir or PRESENTER_DATA_DIR (e.g. --data-dir ./data), or fix its owner and permissions.');
  assert.equal(r.stdout, '');
});

test('serve with /sys/x or a FIFO as the data dir: exit 2 naming it', { skip: notLinux }, async (t) => {
  const fifo = join(makeDataDir(t), 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [dir, why] of [['/sys/x', /EPERM|EACCES|does not accept/], [fifo, /a file is in the way \(EEXIST\)/]]) {
    const r = await runCli(['serve', '--data-dir', dir, '--host', '127.0.0.1', '--port', String(await freePort())]);
    assert.equal(r.exitCode, 2, `${dir}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.startsWith(`error: The data dir ${dir} cannot be created: `), r.stderr);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /\n {2}fix: Choose a writable directory/);
  }
});

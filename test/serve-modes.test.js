// Talks and ids are private: whatever the umask, the data dir is 0700 and the database, its WAL
// files, the logs (rotated too), the pid file, the lock and the control socket are 0600; another
// local user can neither read them nor stop the server.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, cleanEnv, freePort, makeDataDir, ROOT, runCli, sleep } from './helpers/cli.js';
import { api } from './helpers/http.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

const mode = (path) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

// serve forks its workers from process.execPath: the user must be able to run it and to spawn it
// again (a Node under /root/.cache, as the matrix installs it, runs but cannot fork as nobody).
async function canRunAs(uid) {
  const forks = `require('node:child_process').execFileSync(process.execPath, ['-e', ''])`;
  const r = await execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', forks], { reject: false, cwd: ROOT });
  return r.exitCode === 0;
}

/** `serve` started through a shell with the given umask (and user); resolves once it answers. */
async function serveWith(t, { umask, dataDir, user, env = {} }) {
  const port = await freePort();
  const prefix = user === undefined ? [] : ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--clear-groups'];
  const child = execa('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', ...prefix, process.execPath, BIN, 'serve', '--profile', 'safe', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: cleanEnv(env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await child;
    }
  });
  const server = { child, port, dataDir, url: `http://127.0.0.1:${port}` };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${server.url}/readyz`)).status === 200) return server;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  return server;
}

for (const umask of ['000', '022']) {
  test(`with umask ${umask}: data dir 0700; database, WAL, logs (rotated too), pid file, lock and socket 0600`, async (t) => {
    const parent = makeDataDir(t);
    chmodSync(parent, 0o755);
    const dataDir = join(parent, 'data');
    // a log left world-readable by an earlier version is closed too
    mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o777 });
    writeFileSync(join(dataDir, 'logs', 'presenter.log.9'), '{}\n', { mode: 0o666 });
    chmodSync(join(dataDir, 'logs', 'presenter.log.9'), 0o666);
    // debug: the request lines go to the main log too, enough to rotate it; the access log as well
    const server = await serveWith(t, { umask, dataDir, env: { PRESENTER_LOG_MAX_BYTES: '4096', PRESENTER_LOG_FILES: '12', PRESENTER_LOG_LEVEL: 'debug', PRESENTER_ACCESS_LOG: join(dataDir, 'access.log') } });
    assert.equal(server.child.exitCode, null, 'serve exited');
    const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Private talk', content: '# Secret\n\nOnly mine.' } });
    assert.equal(created.status, 201);
    for (let i = 0; i < 40; i++) await api(server, `/healthz?i=${i}`); // enough lines to rotate
    await sleep(300);
    const files = {
      [dataDir]: '0700',
      [join(dataDir, 'logs')]: '0700',
      [join(dataDir, 'presenter.db')]: '0600',
      [join(dataDir, 'presenter.db-wal')]: '0600',
      [join(dataDir, 'presenter.db-shm')]: '0600',
      [join(dataDir, 'presenter.pid')]: '0600',
      [join(dataDir, 'presenter.lock')]: '0600',
      [join(dataDir, 'presenter.sock')]: '0600',
      [join(dataDir, 'access.log')]: '0600',
    };
    const logs = readdirSync(join(dataDir, 'logs'));
    assert.ok(logs.includes('presenter.log.1'), `no rotation happened: ${logs.join(', ')}`);
    for (const name of logs) files[join(dataDir, 'logs', name)] = '0600';
    const seen = Object.fromEntries(Object.keys(files).map((path) => [path, mode(path)]));
    assert.deepEqual(seen, files);
    const stop = await runCli(['stop', '--data-dir', dataDir]);
    assert.equal(stop.exitCode, 0, stop.stderr);
  });
}

test('another local user cannot use the control socket, even with umask 000', { skip: !asRoot && 'needs root to run a command as nobody' }, async (t) => {
  if (!(await canRunAs(NOBODY))) return t.skip(`nobody cannot run and fork ${process.execPath} here (setpriv, or a private directory on its path)`);
  const parent = makeDataDir(t);
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'data');
  const server = await serveWith(t, { umask: '000', dataDir });
  assert.equal(server.child.exitCode, null);
  const socket = join(dataDir, 'presenter.sock');
  const connect = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(1); })`;
  const asNobody = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', connect], { reject: false });
  assert.equal(asNobody.stdout.trim(), 'EACCES', asNobody.stderr);
  const stop = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, BIN, 'stop', '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
  assert.notEqual(stop.exitCode, 0);
  await sleep(500);
  assert.equal(server.child.exitCode, null, 'nobody stopped the server');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const own = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(own.exitCode, 0, own.stderr);
});

// A data dir path too long for a Unix socket puts the socket in <tmp>/presenter-serve-<uid>/.
// Another user can create that name first in a shared /tmp: serve must refuse it clearly.
test('a squatted socket directory in the temp dir: exit 2 with a clear message, never a stack trace', { skip: !asRoot && 'needs root to act as two users' }, async (t) => {
  if (!(await canRunAs(NOBODY))) return t.skip(`nobody cannot run and fork ${process.execPath} here (setpriv, or a private directory on its path)`);
  const tmp = makeDataDir(t);
  chmodSync(tmp, 0o1777); // like /tmp
  const parent = makeDataDir(t);
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'd'.repeat(100));
  mkdirSync(dataDir, { mode: 0o700 });
  chownSync(dataDir, NOBODY, NOBODY);
  // root squats both the old fallback name and the private directory's name before nobody starts
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  writeFileSync(join(tmp, `presenter-serve-${hash}.sock`), '');
  mkdirSync(join(tmp, `presenter-serve-${NOBODY}`), { mode: 0o777 });
  chmodSync(join(tmp, `presenter-serve-${NOBODY}`), 0o777);
  const server = await serveWith(t, { umask: '022', dataDir, user: NOBODY, env: { TMPDIR: tmp } });
  const result = await server.child;
  assert.equal(result.exitCode, 2, result.all);
  assert.match(result.stderr, new RegExp(`^error: The control socket directory ${tmp}/presenter-serve-${NOBODY} belongs to uid 0, not to you \\(uid ${NOBODY}\\)`));
  assert.match(result.stderr, /\n {2}fix: Remove .* set TMPDIR to a directory of your own, or use a shorter --data-dir/);
  assert.doesNotMatch(result.stderr, /\n\s+at /);

  // with the squatter gone, the same long path works: the socket is in a private directory
  const clean = makeDataDir(t);
  chmodSync(clean, 0o1777);
  const ok = await serveWith(t, { umask: '000', dataDir, user: NOBODY, env: { TMPDIR: clean } });
  assert.equal(ok.child.exitCode, null);
  const dir = join(clean, `presenter-serve-${NOBODY}`);
  assert.equal(mode(dir), '0700');
  assert.equal(statSync(dir).uid, NOBODY);
  assert.equal(mode(join(dir, `${hash}.sock`)), '0600');
  const stop = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, BIN, 'stop', '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv({ TMPDIR: clean }), extendEnv: false, reject: false });
  assert.equal(stop.exitCode, 0, stop.stderr);
});

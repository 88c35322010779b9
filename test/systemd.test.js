// systemd: the unit `systemd-unit` prints is accepted by systemd-analyze verify, and the
// supervisor speaks the notify protocol to a real unix datagram socket (python3 plays systemd's
// side: it binds NOTIFY_SOCKET and prints each datagram with its own CLOCK_MONOTONIC time).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, makeDataDir, runCli, sleep, startServer } from './helpers/cli.js';
import { notLinux } from './helpers/skip.js';

const missingAnalyze = notLinux || (spawnSync('systemd-analyze', ['--version']).error ? 'systemd-analyze is not installed (Debian: apt-get install systemd)' : false);
const missingNotify =
  notLinux ||
  (spawnSync('systemd-notify', ['--version']).error ? 'systemd-notify is not installed (Debian: apt-get install systemd)' : false) ||
  (spawnSync('python3', ['--version']).error ? 'python3 is not installed: it plays systemd\'s side of NOTIFY_SOCKET' : false);
// CI (.ci/run) installs systemd and python3 and sets PRESENTER_SYSTEMD_REQUIRED=1: there a missing
// tool fails these tests instead of skipping them
const required = (reason) => {
  if (reason && process.env.PRESENTER_SYSTEMD_REQUIRED === '1' && !notLinux) {
    test(`PRESENTER_SYSTEMD_REQUIRED=1, but ${reason}`, () => assert.fail(reason));
    return false;
  }
  return reason;
};
const noAnalyze = required(missingAnalyze);
const noNotify = required(missingNotify);

async function verify(t, unit) {
  const dir = makeDataDir(t, 'presenter-unit-');
  const file = join(dir, 'presenter-serve.service');
  writeFileSync(file, unit);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  const ours = r.stderr.split('\n').filter((line) => line.includes('presenter-serve.service'));
  assert.deepEqual(ours, [], `systemd-analyze verify complained:\n${r.stderr}\n--- unit ---\n${unit}`);
  assert.equal(r.status, 0, r.stderr);
}

const directive = (unit, key) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

test('systemd-unit prints a unit systemd-analyze verify accepts, with the real node and bin', { skip: noAnalyze }, async (t) => {
  const dataDir = makeDataDir(t, 'presenter-data-');
  const envDir = makeDataDir(t, 'presenter-env-');
  const envFile = join(envDir, 'env');
  writeFileSync(envFile, 'PRESENTER_AI_API_KEY=sk-from-the-file\n');
  chmodSync(envFile, 0o644);
  // secrets in the caller's environment must never reach the unit
  const env = { PRESENTER_DATABASE_URL: 'postgres://app:s3cret-pw@db.example/presenter', PRESENTER_AI_API_KEY: 'sk-live-secret' };
  const r = await runCli(['systemd-unit', '--user', 'presenter', '--group', 'presenter', '--data-dir', dataDir, '--env-file', envFile, '--graceful-timeout', '50', '--profile', 'advanced', '--port', '8080'], { env });
  assert.equal(r.exitCode, 0, r.stderr);
  const unit = r.stdout;
  await verify(t, unit);
  assert.deepEqual(directive(unit, 'Type'), ['notify']);
  assert.deepEqual(directive(unit, 'NotifyAccess'), ['all']);
  assert.deepEqual(directive(unit, 'ExecStart'), [`${process.execPath} ${BIN} serve --data-dir ${dataDir} --profile advanced --port 8080 --graceful-timeout 50`]);
  assert.deepEqual(directive(unit, 'ExecReload'), [`${process.execPath} ${BIN} reload --data-dir ${dataDir}`]);
  assert.deepEqual(directive(unit, 'TimeoutStopSec'), ['65']);
  for (const [key, value] of Object.entries({ KillMode: 'mixed', Restart: 'on-failure', NoNewPrivileges: 'yes', ProtectSystem: 'strict', PrivateTmp: 'yes', LimitNOFILE: '65536', User: 'presenter', Group: 'presenter', EnvironmentFile: envFile, ReadWritePaths: dataDir, WatchdogSec: '30', RestartPreventExitStatus: '2' })) {
    assert.deepEqual(directive(unit, key), [value], key);
  }
  assert.equal(directive(unit, 'RestartSec').length, 1);
  assert.doesNotMatch(unit, /s3cret|sk-live|sk-from/);
  // the env file is readable by others: said, on stderr (stdout is the unit)
  assert.match(r.stderr, /chmod 600/);
});

test('systemd-unit defaults: /var/lib data dir created by systemd, root warned about, no capabilities', { skip: noAnalyze }, async (t) => {
  const r = await runCli(['systemd-unit']);
  assert.equal(r.exitCode, 0, r.stderr);
  await verify(t, r.stdout);
  assert.deepEqual(directive(r.stdout, 'StateDirectory'), ['presenter-serve']);
  assert.deepEqual(directive(r.stdout, 'ReadWritePaths'), ['/var/lib/presenter-serve']);
  assert.deepEqual(directive(r.stdout, 'User'), []);
  assert.deepEqual(directive(r.stdout, 'CapabilityBoundingSet'), ['']);
  assert.deepEqual(directive(r.stdout, 'TimeoutStopSec'), ['45']);
  assert.match(r.stderr, /run as root/);
});

test('systemd-unit: a data dir under /home keeps ProtectHome read-only, a low port gets its one capability', { skip: noAnalyze }, async (t) => {
  const r = await runCli(['systemd-unit', '--user', 'presenter', '--data-dir', '/home/presenter/data', '--port', '80', '--watchdog', '0', '--environment-file', '/etc/presenter-serve/missing-env']);
  assert.equal(r.exitCode, 0, r.stderr);
  await verify(t, r.stdout);
  assert.deepEqual(directive(r.stdout, 'ProtectHome'), ['read-only']);
  assert.deepEqual(directive(r.stdout, 'ReadWritePaths'), ['/home/presenter/data']);
  assert.deepEqual(directive(r.stdout, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(directive(r.stdout, 'WatchdogSec'), []);
  assert.deepEqual(directive(r.stdout, 'EnvironmentFile'), ['/etc/presenter-serve/missing-env']);
  assert.match(r.stderr, /does not exist yet/);
});

test('systemd-unit refuses bad flags with exit 2 and a message, never a stack', async (t) => {
  const longDir = `/var/lib/${'x'.repeat(100)}`;
  const badProfile = join(makeDataDir(t), 'bad.json');
  writeFileSync(badProfile, '{"workers": 0}');
  const cases = [
    [['--user', 'bad user'], /Expected --user to be a name/],
    [['--user', '-rf'], /Expected --user/],
    [['--group', 'a:b'], /Expected --group/],
    [['--data-dir', 'data'], /Expected --data-dir to be an absolute path.*\n.*realpath/],
    [['--data-dir', '/srv/my data'], /space, quote/],
    [['--data-dir', longDir], /too long for its control socket/],
    [['--data-dir', '/'], /cannot be \//],
    [['--working-directory', 'here'], /--working-directory to be an absolute path/],
    [['--environment-file', 'env'], /--environment-file to be an absolute path/],
    [['--profile', 'custom.json'], /--profile to be an absolute path/],
    [['--profile', badProfile], /workers/],
    [['--port', '70000'], /--port to be a whole number from 1 to 65535/],
    [['--graceful-timeout', '-1'], /--graceful-timeout/],
    [['--watchdog', 'soon'], /--watchdog/],
    [['--frobnicate'], /unknown option/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['systemd-unit', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: exit ${r.exitCode}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')} printed a stack`);
    assert.equal(r.stdout, '', `${args.join(' ')} printed a unit anyway`);
  }
});

/** A datagram socket at `address` (a path, or @name: abstract); each message as {usec, fields}. */
async function notifySocket(t, address) {
  const script = [
    'import json, socket, sys, time',
    'a = sys.argv[1]',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    "s.bind('\\0' + a[1:] if a.startswith('@') else a)",
    "print('listening', flush=True)",
    'while True:',
    '    data = s.recv(65536)',
    '    print(json.dumps([time.monotonic_ns() // 1000, data.decode()]), flush=True)',
  ].join('\n');
  const py = spawn('python3', ['-c', script, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => py.kill('SIGKILL'));
  const messages = [];
  const lines = createInterface({ input: py.stdout });
  await new Promise((resolve, reject) => {
    py.once('error', reject);
    lines.on('line', (line) => {
      if (line === 'listening') return resolve();
      const [usec, text] = JSON.parse(line);
      if (text === 'BARRIER=1') return; // systemd-notify's "has systemd read it?" handshake
      messages.push({ usec, fields: Object.fromEntries(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) });
    });
  });
  return messages;
}

async function until(what, predicate, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const kind = (m) => ['READY', 'RELOADING', 'STOPPING', 'WATCHDOG'].find((k) => k in m.fields) ?? 'STATUS';
const lifecycle = (messages) => messages.map(kind).filter((k) => k !== 'WATCHDOG' && k !== 'STATUS');

test('notify: READY once every worker is ready, RELOADING then READY around a reload, STOPPING at stop, watchdog pings', { skip: noNotify }, async (t) => {
  const dir = makeDataDir(t, 'presenter-notify-');
  const socket = join(dir, 'notify.sock');
  const messages = await notifySocket(t, socket);
  const server = await startServer(t, { args: ['--workers', '2'], env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' } });
  const ready = await until('READY=1', () => messages.find((m) => kind(m) === 'READY'));
  assert.equal(ready.fields.MAINPID, String(server.child.pid));
  assert.equal(ready.fields.STATUS, '2 worker(s) ready, 0 restarting');
  const status = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
  assert.deepEqual(status.workers.map((w) => w.state), ['ready', 'ready']);

  // a worker that crashes: STATUS= follows it down and back up, READY=1 is not said again
  process.kill(status.workers[0].pid, 'SIGKILL');
  const down = await until('STATUS= with a worker restarting', () => messages.find((m) => m.fields.STATUS === '1 worker(s) ready, 1 restarting'));
  await until('STATUS= with both workers back', () => messages.find((m) => m.usec > down.usec && m.fields.STATUS === '2 worker(s) ready, 0 restarting'));

  const reload = await runCli(['reload', '--data-dir', server.dataDir]);
  assert.equal(reload.exitCode, 0, reload.stderr);
  await until('READY=1 after the reload', () => lifecycle(messages).length >= 3);
  const reloading = messages.find((m) => kind(m) === 'RELOADING');
  // MONOTONIC_USEC is CLOCK_MONOTONIC, the clock python read when the datagram arrived
  const lag = reloading.usec - Number(reloading.fields.MONOTONIC_USEC);
  assert.ok(lag >= 0 && lag < 5_000_000, `MONOTONIC_USEC ${reloading.fields.MONOTONIC_USEC} vs receipt ${reloading.usec}`);

  server.child.kill('SIGTERM');
  const result = await server.child;
  assert.equal(result.exitCode, 0, result.all);
  await until('STOPPING=1', () => lifecycle(messages).includes('STOPPING'), 5000);
  assert.deepEqual(lifecycle(messages), ['READY', 'RELOADING', 'READY', 'STOPPING']);
  assert.match(messages.findLast((m) => kind(m) === 'STOPPING').fields.STATUS, /SIGTERM/);
  const pings = messages.filter((m) => kind(m) === 'WATCHDOG').length;
  assert.ok(pings >= 3, `${pings} WATCHDOG=1 pings (every 200 ms expected)`);
  assert.doesNotMatch(result.all, /notify_failed/);
});

test('notify: an abstract socket works; no watchdog pings when WATCHDOG_PID names another process; SIGTERM during a reload', { skip: noNotify }, async (t) => {
  const socket = `@presenter-test-${randomBytes(6).toString('hex')}`;
  const messages = await notifySocket(t, socket);
  // --graceful-timeout 5: a replacement still starting at SIGTERM is not asked to stop once it is
  // ready, only killed at the graceful timeout (a supervisor matter, not the notify protocol's)
  const server = await startServer(t, { args: ['--workers', '2', '--graceful-timeout', '5'], env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' } });
  await until('READY=1', () => messages.find((m) => kind(m) === 'READY'));
  const reload = runCli(['reload', '--data-dir', server.dataDir]);
  await until('RELOADING=1', () => messages.find((m) => kind(m) === 'RELOADING'));
  server.child.kill('SIGTERM');
  await reload;
  const result = await server.child;
  assert.equal(result.exitCode, 0, result.all);
  await until('STOPPING=1', () => lifecycle(messages).includes('STOPPING'), 5000);
  // stopping in the middle of a reload: never READY again after STOPPING
  assert.deepEqual(lifecycle(messages), ['READY', 'RELOADING', 'STOPPING']);
  assert.equal(messages.filter((m) => kind(m) === 'WATCHDOG').length, 0);
});

test('notify: a NOTIFY_SOCKET that leads nowhere costs one warn line; the server serves and stops cleanly', { skip: noNotify }, async (t) => {
  const dir = makeDataDir(t, 'presenter-nowhere-');
  mkdirSync(join(dir, 'empty'));
  const server = await startServer(t, { env: { NOTIFY_SOCKET: join(dir, 'empty/nobody-listens.sock'), WATCHDOG_USEC: '200000' } });
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  await sleep(1000); // a few failed watchdog pings
  server.child.kill('SIGTERM');
  const result = await server.child;
  assert.equal(result.exitCode, 0, result.all);
  const warnings = result.all.split('\n').filter((l) => l.includes('supervisor.notify_failed'));
  assert.equal(warnings.length, 1, result.all);
  assert.equal(JSON.parse(warnings[0]).level, 40);
  assert.match(warnings[0], /nobody-listens\.sock/);
});

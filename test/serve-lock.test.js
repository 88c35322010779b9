// One server per data dir, held by an OS-level lock (an exclusive SQLite lock on
// <data-dir>/presenter.lock) for the supervisor's whole life, released by the kernel on kill -9.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, cleanEnv, freePort, makeDataDir, ROOT, runCli, sleep, startServer } from './helpers/cli.js';
import { alive } from './helpers/proc.js';

function serve(dataDir, port, prefix = []) {
  return execa(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), BIN, 'serve', '--profile', 'safe', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
    forceKillAfterDelay: false,
  });
}

async function ready(port, child, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return true;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  return false;
}

test('two serve started at once on one data dir: exactly one runs, the other exits 2 naming its pid (10 tries)', { timeout: 240_000 }, async (t) => {
  for (let i = 0; i < 10; i++) {
    const dataDir = makeDataDir(t);
    const ports = [await freePort(), await freePort()];
    const both = ports.map((port) => serve(dataDir, port));
    // the loser exits by itself; the winner serves
    const first = await Promise.race([...both.map((child, index) => child.then(() => index)), sleep(15_000).then(() => -1)]);
    if (first === -1) {
      const pids = await Promise.all(both.map(async (child) => ((await ready(ports[both.indexOf(child)], child, 1000)) ? child.pid : undefined)));
      for (const child of both) child.kill('SIGTERM');
      await Promise.all(both);
      assert.fail(`try ${i}: both serve are still running after 15 s (serving: ${pids.filter(Boolean).join(', ')})`);
    }
    const loser = both[first];
    const winner = both[1 - first];
    const lost = await loser;
    assert.ok(await ready(ports[1 - first], winner), `try ${i}: the winner is not serving:\n${lost.all}`);
    assert.equal(lost.exitCode, 2, `try ${i}: ${lost.all}`);
    assert.match(lost.stderr, new RegExp(`^error: presenter-serve is already running on .* \\(pid ${winner.pid}\\)\\.\\n {2}fix: `), `try ${i}`);
    // the loser touched nothing of the winner's
    assert.equal(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim(), String(winner.pid));
    assert.ok(existsSync(join(dataDir, 'presenter.sock')), `try ${i}: the winner's socket was removed`);
    const status = await runCli(['status', '--json', '--data-dir', dataDir]);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pid, winner.pid);
    winner.kill('SIGTERM');
    assert.equal((await winner).exitCode, 0);
  }
  t.diagnostic(`10 of 10 tries: one server ran, the other exited 2 naming it`);
});

test('after kill -9 of the supervisor and its workers the next serve starts and replaces the stale socket', async (t) => {
  const dataDir = makeDataDir(t);
  const server = await startServer(t, { dataDir, args: ['--profile', 'advanced'] });
  const workers = JSON.parse((await runCli(['status', '--json', '--data-dir', dataDir])).stdout).workers.map((w) => w.pid);
  process.kill(server.child.pid, 'SIGKILL');
  for (const pid of workers) process.kill(pid, 'SIGKILL');
  await server.child;
  const socket = join(dataDir, 'presenter.sock');
  assert.ok(existsSync(socket), 'kill -9 leaves the socket behind');
  assert.equal(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim(), String(server.child.pid));
  const stale = await runCli(['status', '--data-dir', dataDir]);
  assert.equal(stale.exitCode, 3);
  assert.match(stale.stderr, new RegExp(`is stale: pid ${server.child.pid} is not running`));

  const next = await startServer(t, { dataDir });
  const status = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(status.exitCode, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).pid, next.child.pid);
  const stop = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  const result = await next.child;
  assert.match(result.all, new RegExp(`Replaced a stale pid file \\(pid ${server.child.pid} is not running\\)`));
  assert.equal(existsSync(socket), false);
  assert.equal(existsSync(join(dataDir, 'presenter.pid')), false);
  for (const pid of workers) assert.equal(alive(pid), false);
});

// In a container the server is often pid 1, and so was the one before the restart: a pid file
// that names our own pid must not read as "already running".
test('a pid file naming our own pid (a container restart) is not "already running"', async (t) => {
  const probe = await execa('unshare', ['--pid', '--fork', 'true'], { reject: false });
  if (probe.exitCode !== 0) return t.skip(`no pid namespaces here (unshare: ${probe.stderr.trim() || probe.exitCode})`);
  const dataDir = makeDataDir(t);
  writeFileSync(join(dataDir, 'presenter.pid'), '1\n'); // the previous container's server
  const port = await freePort();
  const child = serve(dataDir, port, ['unshare', '--pid', '--fork']); // node is pid 1 in its namespace
  t.after(() => child.kill('SIGKILL'));
  assert.ok(await ready(port, child), `serve did not start:\n${(child.exitCode !== null && (await child).all) || ''}`);
  assert.equal(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim(), '1');
  const stop = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  const result = await child;
  assert.doesNotMatch(result.all, /already running/);
});

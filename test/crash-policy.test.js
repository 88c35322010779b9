// Crash policy (#11 item 3): workers that crash after they were ready are restarted with their
// slot's own backoff and never stop the service, however often; only workers that keep dying
// before they are ready stop it (test/serve.test.js: the crash loop).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { bootFailureVerdict, BootFailures, RestartBackoff } from '../dist/supervisor/backoff.js';
import { runCli, startServer } from './helpers/cli.js';
import { BROKEN_ENTRY, installCopy } from './helpers/install-copy.js';
import { api, logLines, waitUntil } from './helpers/http.js';
import { alive } from './helpers/proc.js';
import { notPosix } from './helpers/skip.js';

test('backoff: per slot, doubling to 15 s, back to 100 ms after 30 s of health; boot failures: 10 within 60 s, reset by a ready worker', () => {
  const slot = new RestartBackoff();
  const delays = [];
  for (let i = 0; i < 10; i++) delays.push(slot.next(i * 1000, i * 1000 - 500));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
  assert.equal(slot.next(100_000, 60_000), 100, 'healthy for 40 s: from the start again');
  assert.equal(new RestartBackoff().next(0, undefined), 100, 'another slot has its own delays');

  const boot = new BootFailures();
  for (let i = 0; i < 9; i++) assert.equal(boot.failed(i * 1000), false);
  boot.booted();
  for (let i = 0; i < 9; i++) assert.equal(boot.failed(10_000 + i * 1000), false, 'counted again from a worker that became ready');
  assert.equal(boot.failed(19_000), true, 'the 10th within 60 s');
  const slow = new BootFailures();
  for (let i = 0; i < 20; i++) assert.equal(slow.failed(i * 7000), false, 'one every 7 s is never 10 within 60 s');
});

test('boot failures: at start-up 10 within 60 s stop; once running, only a slot failing 10 times in a row with nothing serving stops, and one with others serving is said every 10th time', () => {
  const v = (starting, bootLoop, serving, slotFailures) => bootFailureVerdict({ starting, bootLoop, serving, slotFailures });
  assert.equal(v(true, true, 1, 10), 'stop', 'start-up: the window decides, whatever serves');
  assert.equal(v(true, false, 0, 25), 'retry');
  for (let n = 1; n < 10; n++) {
    assert.equal(v(false, true, 0, n), 'retry', `running, nothing serving, ${n} in a row: not yet`);
    assert.equal(v(false, true, 2, n), 'retry');
  }
  assert.equal(v(false, false, 0, 10), 'stop', 'nothing serves and the slot failed 10 times in a row, whatever the window says');
  assert.equal(v(false, false, 0, 37), 'stop', 'the serving worker left after the slot was already failing');
  const said = [];
  for (let n = 1; n <= 40; n++) if (v(false, true, 1, n) === 'failing') said.push(n);
  assert.deepEqual(said, [10, 20, 30, 40], 'others serve: said at error every 10th failure, never a stop');
});

async function workers(server) {
  const r = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  return JSON.parse(r.stdout).workers;
}

test('a ready worker killed 10 times in a row: restarted each time with its slot backoff, the other worker and the service untouched', { skip: notPosix, timeout: 150_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  const [first, other] = (await workers(server)).sort((a, b) => a.slot - b.slot);
  let victim = first.pid;
  for (let kill = 1; kill <= 10; kill++) {
    process.kill(victim, 'SIGKILL');
    // the replacement must be ready before the next kill: crashes after ready, as a bug on the first request would be
    victim = await waitUntil(`the replacement #${kill} ready`, async () => (await workers(server)).find((w) => w.slot === first.slot && w.state === 'ready' && w.pid !== victim)?.pid, 40_000, 100);
    assert.equal((await api(server, '/healthz')).status, 200);
  }
  const now = await workers(server);
  assert.ok(now.some((w) => w.slot === other.slot && w.pid === other.pid && w.state === 'ready' && w.restarts === 0), 'the other worker was never touched');
  const lines = logLines(server);
  const restarts = lines.filter((l) => l.event === 'worker.restarting');
  assert.deepEqual(restarts.map((l) => l.slot), Array(10).fill(first.slot));
  assert.deepEqual(restarts.map((l) => l.delayMs), [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
  assert.ok(restarts.every((l) => l.wasReady === true));
  assert.equal(lines.filter((l) => l.event === 'worker.crash_loop').length, 0);
  assert.ok(alive(server.child.pid), 'the service runs on');
});

test('once serving, a slot whose new workers cannot boot retries and says so at error; the other worker serves on, and the slot comes back once it can boot', { skip: notPosix, timeout: 180_000 }, async (t) => {
  const install = installCopy(t);
  const server = await startServer(t, { args: ['--profile', 'advanced'], bin: install.bin });
  const [victim, other] = (await workers(server)).sort((a, b) => a.slot - b.slot);
  const entry = install.workerEntry;
  const good = readFileSync(entry);
  writeFileSync(entry, BROKEN_ENTRY);
  process.kill(victim.pid, 'SIGKILL');
  // a request in flight on the killed worker may be cut; from its death on, every one is answered
  await waitUntil('the killed worker gone', () => !alive(victim.pid), 10_000, 20);
  // /healthz every 100 ms from here on: the other worker answers every one
  let probing = true;
  const probes = { ok: 0, failed: [] };
  const prober = (async () => {
    while (probing) {
      try {
        const r = await api(server, '/healthz');
        if (r.status === 200) probes.ok++;
        else probes.failed.push(r.status);
      } catch (error) {
        probes.failed.push(error.cause?.code ?? error.message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    // 10 boot failures of one slot: the restart delays 100 ms … 15 s add up to ~45 s
    const failing = await waitUntil('worker.boot_failing', () => logLines(server).find((l) => l.event === 'worker.boot_failing'), 120_000, 500);
    assert.equal(failing.level, 50);
    assert.equal(failing.slot, victim.slot);
    assert.equal(failing.serving, 1);
    assert.equal(failing.failures, 10);
    assert.match(failing.lastError, /broken upgrade: this worker cannot boot/);
    assert.ok(alive(server.child.pid), 'the supervisor runs on');
    assert.equal(logLines(server).filter((l) => l.event === 'worker.crash_loop').length, 0);
    const during = await workers(server);
    assert.ok(during.some((w) => w.slot === other.slot && w.pid === other.pid && w.state === 'ready'), 'the other worker serves on, untouched');
    // the install is repaired: the slot's next restart boots (its delay is capped at 15 s)
    writeFileSync(entry, good);
    await waitUntil('the slot ready again', async () => (await workers(server)).find((w) => w.slot === victim.slot && w.state === 'ready'), 40_000, 200);
    const recovered = await waitUntil('worker.boot_recovered', () => logLines(server).find((l) => l.event === 'worker.boot_recovered'), 5000, 50);
    assert.equal(recovered.slot, victim.slot);
    assert.ok(recovered.failures >= 10, `${recovered.failures} failures in a row before it came back`);
  } finally {
    probing = false;
    await prober;
  }
  assert.deepEqual(probes.failed, [], 'every health check answered');
  assert.ok(probes.ok > 100, `${probes.ok} health checks answered`);
  const now = await workers(server);
  assert.ok(now.some((w) => w.slot === other.slot && w.pid === other.pid), 'the other worker kept its pid throughout');
});

test('once running, with no worker left serving, a slot whose new workers keep dying before they are ready stops the service: exit 1 and the worker\'s error, for the service manager to see', { skip: notPosix, timeout: 180_000 }, async (t) => {
  const install = installCopy(t);
  const server = await startServer(t, { args: ['--profile', 'advanced'], bin: install.bin });
  const all = await workers(server);
  writeFileSync(install.workerEntry, BROKEN_ENTRY);
  // both workers die; every replacement from the broken install dies before it is ready
  for (const w of all) process.kill(w.pid, 'SIGKILL');
  const started = Date.now();
  const result = await Promise.race([server.child, new Promise((r) => setTimeout(() => r(undefined), 150_000))]);
  assert.ok(result, 'the supervisor stopped');
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`stopped ${seconds.toFixed(1)} s after the last worker died`);
  assert.equal(result.exitCode, 1, result.all);
  assert.match(result.all, /error: crash loop: no worker serves and slot \d+'s workers crashed \d+ times in a row before they were ready/);
  assert.match(result.all, /broken upgrade: this worker cannot boot/);
  const loop = logLines(server).find((l) => l.event === 'worker.crash_loop');
  assert.ok(loop, 'worker.crash_loop logged');
  assert.equal(loop.level, 50);
});

test('a slot removed by scale while its workers cannot boot, and used again by a later scale up, starts afresh: no boot failures, restarts or last exit carried over', { skip: notPosix, timeout: 180_000 }, async (t) => {
  const install = installCopy(t);
  const server = await startServer(t, { args: ['--profile', 'advanced'], bin: install.bin });
  const [victim, other] = (await workers(server)).sort((a, b) => a.slot - b.slot);
  const good = readFileSync(install.workerEntry);
  writeFileSync(install.workerEntry, BROKEN_ENTRY);
  process.kill(victim.pid, 'SIGKILL');
  const failing = await waitUntil('worker.boot_failing', () => logLines(server).find((l) => l.event === 'worker.boot_failing'), 120_000, 500);
  assert.equal(failing.slot, victim.slot);
  assert.equal(failing.failures, 10);
  // scale down removes the slot that serves nobody, not the one that serves
  const down = await runCli(['scale', '1', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(down.exitCode, 0, down.all);
  const one = await workers(server);
  assert.deepEqual(one.map((w) => [w.slot, w.pid, w.state]), [[other.slot, other.pid, 'ready']]);
  writeFileSync(install.workerEntry, good);
  const up = await runCli(['scale', '2', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(up.exitCode, 0, up.all);
  const two = (await workers(server)).sort((a, b) => a.slot - b.slot);
  const again = two.find((w) => w.slot === victim.slot);
  assert.ok(again, `slot ${victim.slot} used again: ${JSON.stringify(two)}`);
  assert.equal(again.state, 'ready');
  assert.equal(again.restarts, 0, 'the removed slot\'s restarts are not the new worker\'s');
  assert.equal(again.lastExit, null, 'nor is its last exit');
  // its first worker was ready at once: not a recovery from the removed slot's 10+ boot failures
  assert.deepEqual(logLines(server).filter((l) => l.event === 'worker.boot_recovered'), []);
  // its restart count and backoff start afresh too: killed, it is restarted after 100 ms, its first restart
  writeFileSync(install.workerEntry, BROKEN_ENTRY);
  process.kill(again.pid, 'SIGKILL');
  const firstRestart = await waitUntil('the reused slot restarting', () => logLines(server).find((l) => l.event === 'worker.restarting' && l.slot === victim.slot && l.wasReady === true && l.restarts === 1), 10_000, 50);
  assert.equal(firstRestart.delayMs, 100, 'its backoff starts at 100 ms, not at the removed slot\'s 15 s');
  const boot = await waitUntil('its first boot failure', () => logLines(server).find((l) => l.event === 'worker.restarting' && l.slot === victim.slot && l.restarts === 2), 10_000, 50);
  assert.equal(boot.wasReady, false);
  assert.equal(boot.delayMs, 200);
  assert.ok(alive(server.child.pid));
});

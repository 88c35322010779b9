// Workers whose supervisor is SIGKILLed stop by themselves within the graceful timeout (plus a
// margin), idle or under load. Under load they used to hang for ever: a log flush to the dead
// supervisor's pipe retried EPIPE every 100 ms (sonic-boom 4's flushSync), reached through the
// uncaught EPIPE of an IPC send and through Node's cluster exiting on the disconnect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, sleep, startServer } from './helpers/cli.js';
import { notPosix } from './helpers/skip.js';

const GRACE_S = 5;
const BOUND_MS = 15_000; // graceful timeout 5 s + the worker's 2 s watchdog margin + slack for 2 busy cores
const TALK = `# Orphans\n\n${'Every sentence here is logged, stored and measured by the job runner. '.repeat(20)}`;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function workerPids(t, server) {
  const status = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(status.exitCode, 0, status.stderr);
  const pids = JSON.parse(status.stdout).workers.map((w) => w.pid);
  assert.equal(pids.length, 2, status.stdout);
  // a failing run must not leave orphans behind on the test machine
  t.after(() => pids.filter(alive).forEach((pid) => process.kill(pid, 'SIGKILL')));
  return pids;
}

// Kills the supervisor only and returns how long its workers took to disappear (or the bound).
async function killSupervisor(server, pids) {
  process.kill(server.child.pid, 'SIGKILL');
  await server.child;
  const started = Date.now();
  while (Date.now() - started < BOUND_MS && pids.some(alive)) await sleep(100);
  return { ms: Date.now() - started, left: pids.filter(alive) };
}

test('idle workers exit when the supervisor is SIGKILLed', { skip: notPosix }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--graceful-timeout', String(GRACE_S)] });
  const pids = await workerPids(t, server);
  const { ms, left } = await killSupervisor(server, pids);
  assert.deepEqual(left, [], `workers ${left.join(', ')} still alive ${ms} ms after their supervisor was killed`);
  t.diagnostic(`both workers gone ${ms} ms after the supervisor's SIGKILL`);
});

test('workers under logging load (requests in flight, jobs running) exit when the supervisor is SIGKILLed', { skip: notPosix }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--graceful-timeout', String(GRACE_S)] });
  const pids = await workerPids(t, server);
  let loading = true;
  let served = 0;
  // Each request logs a line or two and each POST queues a job: the pipe to the supervisor is busy.
  const clients = Array.from({ length: 12 }, async () => {
    while (loading) {
      try {
        const res = await fetch(`${server.url}/api/presentations`, { method: 'POST', body: TALK, headers: { 'content-type': 'text/markdown' } });
        await res.arrayBuffer();
        if (res.status === 201) served++;
      } catch {
        await sleep(20); // refused once the workers stop
      }
    }
  });
  while (served < 300) await sleep(50);
  const { ms, left } = await killSupervisor(server, pids);
  loading = false;
  await Promise.all(clients);
  assert.deepEqual(left, [], `workers ${left.join(', ')} still alive ${ms} ms after their supervisor was killed`);
  t.diagnostic(`${served} talks created; both workers gone ${ms} ms after the supervisor's SIGKILL`);
});

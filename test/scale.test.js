// Live scaling (#11 item 5): `presenter-serve scale N` and SIGTTIN/SIGTTOU add or remove workers
// while keep-alive clients keep sending: no failed request, status lists exactly the live workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from 'undici';
import { runCli, startServer } from './helpers/cli.js';
import { logLines, waitUntil } from './helpers/http.js';
import { alive } from './helpers/proc.js';
import { notPosix } from './helpers/skip.js';

function keepSending(t, server, clients = 4) {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: clients });
  const failures = [];
  let ok = 0;
  let stopped = false;
  const loops = Promise.all(Array.from({ length: clients }, async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${server.url}/api/presentations`, { dispatcher, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'T', content: '# T\n\nwords' }) });
        if (res.status === 201) ok++;
        else failures.push(`${res.status} ${await res.text()}`);
        await res.arrayBuffer().catch(() => {});
      } catch (error) {
        failures.push(`${error.message} ${error.cause?.code ?? ''}`);
        await new Promise((r) => setTimeout(r, 100)); // a failing server must not become a busy loop
      }
    }
  }));
  t.after(() => {
    stopped = true; // also when an assertion ends the test early
  });
  return async () => {
    stopped = true;
    await loops;
    await dispatcher.close();
    return { ok, failures };
  };
}

async function status(server) {
  return JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
}

test('scale 2 → 4 → 1 and TTIN/TTOU under load: no failed request, the workers status lists are the live ones', { skip: notPosix, timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const stop = keepSending(t, server);
  const up = await runCli(['scale', '4', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(up.exitCode, 0, up.stderr);
  assert.match(up.stdout, /^scaled from 2 to 4 worker\(s\); pids \d+, \d+, \d+, \d+$/m);
  let s = await status(server);
  assert.equal(s.workers.filter((w) => w.state === 'ready').length, 4);

  const down = await runCli(['scale', '1', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(down.exitCode, 0, down.stderr);
  const one = await waitUntil('one worker left, the others gone', async () => {
    const now = await status(server);
    return now.workers.length === 1 && now.workers[0].state === 'ready' ? now : undefined;
  }, 60_000, 200);
  const removed = s.workers.map((w) => w.pid).filter((pid) => pid !== one.workers[0].pid);
  await waitUntil('the removed workers exited', () => removed.every((pid) => !alive(pid)), 30_000);

  process.kill(server.child.pid, 'SIGTTIN');
  s = await waitUntil('TTIN: two workers ready', async () => {
    const now = await status(server);
    return now.workers.filter((w) => w.state === 'ready').length === 2 ? now : undefined;
  }, 30_000, 200);
  process.kill(server.child.pid, 'SIGTTOU');
  await waitUntil('TTOU: one worker', async () => (await status(server)).workers.length === 1, 60_000, 200);
  process.kill(server.child.pid, 'SIGTTOU'); // never below one: refused, logged
  await waitUntil('the refusal logged', () => logLines(server).some((l) => l.event === 'supervisor.scale_refused'), 10_000);

  const { ok, failures } = await stop();
  t.diagnostic(`${ok} talks created while scaling 2 → 4 → 1 → 2 → 1, ${failures.length} failures`);
  assert.deepEqual(failures, []);
  assert.ok(ok > 50);
  const scaled = logLines(server).filter((l) => l.event === 'supervisor.scaled').map((l) => `${l.from}→${l.to}`);
  assert.deepEqual(scaled, ['2→4', '4→1', '1→2', '2→1']);
  assert.match(logLines(server).find((l) => l.event === 'supervisor.scale_refused').reason, /from 1 to 64, not 0/);
  assert.equal(logLines(server).filter((l) => l.event === 'worker.restarting').length, 0, 'removed workers are not restarted');
});

test('scale refuses what it cannot do: 0 or 65 workers (exit 2), the windows profile, a server not running (exit 1)', async (t) => {
  for (const n of ['0', '65', 'x']) {
    const r = await runCli(['scale', n, '--data-dir', '/nonexistent']);
    assert.equal(r.exitCode, 2, `${n}: ${r.stderr}`);
  }
  const none = await runCli(['scale', '2', '--data-dir', '/nonexistent/none']);
  assert.equal(none.exitCode, 1);
  assert.match(none.stderr, /not running/);
  const windows = await startServer(t, { args: ['--profile', 'windows'] });
  const r = await runCli(['scale', '2', '--data-dir', windows.dataDir]);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /refused `scale`: the windows profile serves from one process/);
});

// serve --profile advanced as Windows runs it (Node for Windows under Wine): two workers share
// the port (the supervisor hands connections over IPC), a killed worker is replaced, a hung one
// is killed at --timeout, --max-requests recycles, and stop drains both workers. These are the
// supervisor features the README's table lists for the profiles with workers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { Agent } from 'undici';
import { ROOT, sleep } from '../helpers/cli.js';
import { api, waitForStatus, waitUntil } from '../helpers/http.js';
import { logLinesWin, runWin, startServeWin, toWin, wineProgram, wineSkip } from './helpers/wine.js';

const skip = await wineSkip();

async function statusJson(t, server) {
  const r = await runWin(t, ['status', '--json', '--data-dir', server.winDataDir]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The status once both workers are ready: /readyz answers as soon as one is. */
function bothReady(t, server) {
  return waitUntil('both workers ready', async () => {
    const s = await statusJson(t, server);
    return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready') && s;
  }, 60_000, 250);
}

/** `n` requests, each on a new connection, answered by whichever worker the supervisor picks. */
async function spread(server, n) {
  for (let i = 0; i < n; i++) {
    const dispatcher = new Agent({ pipelining: 0 });
    const res = await fetch(`${server.url}/healthz`, { dispatcher });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await dispatcher.close();
  }
}

/**
 * POST a talk whose body is sent in two halves: the second once `when()` is true. `halfSent`
 * settles after the first half; `answer` with the status, body and Connection header.
 */
function slowPost(server, when) {
  const body = JSON.stringify({ title: 'Drain', content: `# Drain\n\n${'words and more words. '.repeat(500)}` });
  const half = Math.floor(body.length / 2);
  let finishedAt = 0;
  let markHalf;
  const halfSent = new Promise((resolve) => (markHalf = resolve));
  const answer = new Promise((resolve, reject) => {
    const req = request(`${server.url}/api/presentations`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.write(body.slice(0, half), () => markHalf());
    void (async () => {
      const deadline = Date.now() + 120_000;
      while (!when() && Date.now() < deadline) await sleep(100);
      await sleep(500);
      finishedAt = Date.now();
      req.end(body.slice(half));
    })();
  });
  return { halfSent, answer, finishedAt: () => finishedAt };
}

/** When a Linux process started, in clock ticks since boot (/proc/<pid>/stat, field 22). */
function startTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/**
 * The Linux pids of this server's worker processes. Under Wine each Windows process is a Linux
 * process (a child of init, with none of its Windows environment): a worker is a node.exe running
 * this checkout's dist\worker\entry.js, started after the server (the lane runs one at a time).
 */
function workerUnixPids(server) {
  const since = server.startTicks;
  const entry = `${toWin(ROOT)}\\dist\\worker\\entry.js\0`;
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (/^Z:\\.*node\.exe\0/.test(cmd) && cmd.includes(entry) && startTicks(name) >= since) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

test('advanced on win32: two workers share the port, a worker killed with taskkill /F is replaced, stop drains both with a request in flight', { skip, timeout: 300_000 }, async (t) => {
  const server = await startServeWin(t, {
    args: ['--profile', 'advanced', '--log-level', 'debug'],
  });
  const before = await bothReady(t, server);
  assert.equal(before.profile, 'advanced');
  const pids = before.workers.map((w) => w.pid);
  assert.notEqual(pids[0], pids[1]);

  await spread(server, 12);
  const served = await waitUntil('requests logged by both workers', () => {
    const by = new Set(logLinesWin(server).filter((l) => l.event === 'http.request' && l.path === '/healthz').map((l) => l.pid));
    return pids.every((p) => by.has(p)) && by;
  }, 10_000);
  assert.deepEqual([...served].sort(), [...pids].sort(), 'both workers answered on the one port');

  // taskkill /F is TerminateProcess: the worker gets no say, as with SIGKILL on Linux
  const victim = pids[0];
  const kill = await wineProgram(t, 'taskkill', ['/F', '/PID', String(victim)]);
  assert.equal(kill.exitCode, 0, `${kill.stdout}${kill.stderr}`);
  const exited = await waitUntil('worker.exited', () => logLinesWin(server).find((l) => l.event === 'worker.exited' && l.workerPid === victim), 15_000);
  assert.equal(exited.expected, false);
  const after = await waitUntil('a replacement ready', async () => {
    const s = await statusJson(t, server);
    return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready') && !s.workers.some((w) => w.pid === victim) && s;
  }, 60_000, 250);
  assert.ok(after.workers.some((w) => w.pid === pids[1]), 'the other worker kept serving');
  const replaced = after.workers.find((w) => w.pid !== pids[1]);
  assert.equal(replaced.restarts, 1);
  t.diagnostic(`killed worker's exit as the supervisor saw it: ${replaced.lastExit}`);
  await spread(server, 6);

  // A request in flight on a worker when stop arrives (its body half sent, the rest only once the
  // supervisor logged that it is stopping): the worker finishes it before it exits.
  const workerPids = after.workers.map((w) => w.pid);
  const slow = slowPost(server, () => logLinesWin(server).some((l) => l.event === 'supervisor.stopping'));
  await slow.halfSent;
  const stop = await runWin(t, ['stop', '--data-dir', server.winDataDir]);
  const answer = await slow.answer;
  assert.equal(answer.status, 201, answer.body);
  assert.equal(answer.connection, 'close', 'a draining worker closes the connection after the answer');
  assert.equal(stop.exitCode, 0, stop.stderr);
  const exit = await server.result;
  assert.equal(exit.exitCode, 0, exit.stderr);
  const lines = logLinesWin(server);
  const stopping = lines.find((l) => l.event === 'supervisor.stopping');
  assert.ok(slow.finishedAt() > stopping.time, 'the body was finished after the stop began');
  for (const pid of workerPids) {
    const line = lines.find((l) => l.event === 'worker.exited' && l.workerPid === pid);
    assert.ok(line, `worker ${pid} exited`);
    assert.equal(line.expected, true, `worker ${pid} was drained, not killed: ${JSON.stringify(line)}`);
  }
  assert.deepEqual(workerUnixPids(server), [], 'no worker process left');
});

test('advanced on win32: a hung worker (frozen) is killed at --timeout and replaced; --max-requests recycles workers with no failed request', { skip, timeout: 300_000 }, async (t) => {
  const server = await startServeWin(t, {
    args: ['--profile', 'advanced', '--timeout', '3', '--max-requests', '40', '--max-requests-jitter', '10'],
    env: { PRESENTER_AI_PROVIDER: 'noop' },
  });
  const before = await bothReady(t, server);
  assert.equal(before.workers.length, 2);

  // Windows has no SIGSTOP; under Wine the worker is a Linux process, which SIGSTOP freezes whole
  const unix = workerUnixPids(server);
  assert.equal(unix.length, 2, `two worker processes under Wine: ${unix}`);
  const frozenAt = Date.now();
  process.kill(unix[0], 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(unix[0], 'SIGCONT');
    } catch {
      // already gone: killed as hung
    }
  });
  const hung = await waitUntil('worker.hung', () => logLinesWin(server).find((l) => l.event === 'worker.hung'), 20_000, 100);
  t.diagnostic(`frozen → worker.hung ${hung.time - frozenAt} ms (silent ${hung.silentMs} ms)`);
  assert.equal(hung.timeoutMs, 3000);
  assert.ok(hung.silentMs >= 3000 && hung.silentMs < 8000, `silent ${hung.silentMs} ms`);
  assert.ok(before.workers.some((w) => w.pid === hung.workerPid), 'one of the two workers');
  await waitUntil('the frozen process gone', () => !workerUnixPids(server).includes(unix[0]), 15_000, 100);
  await waitUntil('a replacement ready', async () => {
    const s = await statusJson(t, server);
    return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready') && !s.workers.some((w) => w.pid === hung.workerPid);
  }, 60_000, 250);

  // --max-requests: keep-alive clients send until two workers were recycled
  const recycled = () => logLinesWin(server).filter((l) => l.event === 'worker.recycled');
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 2 });
  const failures = [];
  let ok = 0;
  const deadline = Date.now() + 120_000;
  await Promise.all(
    [0, 1].map(async (c) => {
      for (let i = 0; recycled().length < 2 && Date.now() < deadline; i++) {
        try {
          const created = await fetch(`${server.url}/api/presentations`, { dispatcher, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `T ${c}-${i}`, content: '# T\n\nwords' }) });
          if (created.status !== 201) failures.push(`POST ${created.status}`);
          const { id } = await created.json();
          const got = await fetch(`${server.url}/api/presentations/${id}`, { dispatcher });
          if (got.status !== 200) failures.push(`GET ${got.status}`);
          await got.arrayBuffer();
          ok++;
        } catch (error) {
          failures.push(`${error.message} ${error.cause?.code ?? ''}`);
          await sleep(100);
        }
      }
    }),
  );
  await dispatcher.close();
  t.diagnostic(`${ok} rounds (POST + GET), ${recycled().length} workers recycled, failures: ${failures.length}`);
  assert.deepEqual(failures, []);
  const lines = recycled();
  assert.ok(lines.length >= 2);
  for (const l of lines) {
    assert.equal(l.reason, 'max-requests');
    assert.ok(l.limit >= 40 && l.limit <= 50, `limit ${l.limit}`);
  }
  const id = (await api(server, '/api/presentations', { method: 'POST', json: { title: 'Last', content: '# Last\n\nwords' } })).data.id;
  assert.equal((await waitForStatus(server, id)).status, 'done');
});

// Hung workers (#11 item 2): the heartbeat's bookkeeping with a fake clock, then real workers
// frozen with SIGSTOP under a real supervisor: shown `unresponsive`, killed at --timeout with what
// they were doing, replaced; a slow model call (an idle event loop) is never taken for a hang.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Heartbeats } from '../dist/supervisor/heartbeat.js';
import { runCli, sleep, startServer } from './helpers/cli.js';
import { completion, feedbackJson, startFakeOpenAI } from './helpers/fake-openai.js';
import { api, logLines, waitForStatus, waitUntil } from './helpers/http.js';
import { alive } from './helpers/proc.js';
import { notPosix } from './helpers/skip.js';

test('heartbeats: silence counts from ready or the last answer; unresponsive before hung; each hung worker is taken once', () => {
  const h = new Heartbeats(3000);
  assert.equal(h.intervalMs, 600);
  h.watch('a', 0);
  h.watch('b', 0);
  h.answered('b', 2900, 3, 1);
  assert.equal(h.unresponsive('a', 1400), false);
  assert.equal(h.unresponsive('a', 1500), true, 'two missed pings and a margin');
  assert.deepEqual(h.takeHung(3000), [], 'not before the timeout');
  const hung = h.takeHung(3001);
  assert.deepEqual(hung, [{ worker: 'a', silentMs: 3001, at: 0, requests: 0, activeJobs: 0 }]);
  assert.deepEqual(h.takeHung(9999).map((x) => x.worker), ['b'], 'a is not taken twice; b went silent after its last answer');
  assert.deepEqual(h.takeHung(99_999), []);
  h.answered('a', 100_000, 1, 1);
  assert.deepEqual(h.watched(), [], 'an answer from a forgotten worker does not bring it back');
  const off = new Heartbeats(0);
  off.watch('a', 0);
  assert.equal(off.enabled, false);
  assert.deepEqual(off.takeHung(1e9), []);
  assert.equal(off.unresponsive('a', 1e9), false);
  assert.equal(new Heartbeats(30_000).intervalMs, 1000);
  assert.equal(new Heartbeats(200).intervalMs, 100);
});

async function statusOf(server) {
  const r = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('a worker frozen with SIGSTOP is shown unresponsive, killed at --timeout with what it held, and replaced', { skip: notPosix, timeout: 90_000 }, async (t) => {
  // a model call in flight when the worker freezes: the hung line must say it held a job
  const model = await startFakeOpenAI(t, async () => {
    await sleep(2500);
    return { body: completion(JSON.stringify(feedbackJson())) };
  });
  const server = await startServer(t, {
    args: ['--profile', 'safe', '--timeout', '3'],
    env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.url, PRESENTER_AI_MODEL: 'fake', PRESENTER_LEASE_MS: '2000' },
  });
  const [before] = (await statusOf(server)).workers;
  assert.equal(before.state, 'ready');
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Held', content: '# Held\n\nwords' } });
  await waitUntil('the job to start', () => logLines(server).some((l) => l.event === 'feedback.started'));
  // and one request in flight: a create whose body is half sent. Reads answered at once (the fast
  // path) and an idle keep-alive connection are not in flight.
  const partial = net.connect(server.port, '127.0.0.1');
  t.after(() => partial.destroy());
  partial.on('error', () => {});
  await new Promise((resolve) => partial.once('connect', resolve));
  partial.write('POST /api/presentations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"title":"half"');
  for (let i = 0; i < 20; i++) assert.equal((await api(server, `/api/presentations/${created.data.id}`)).status, 200);
  await sleep(800); // one heartbeat (600 ms) answered while the job runs: that answer is what the hung line reports
  const frozenAt = Date.now();
  process.kill(before.pid, 'SIGSTOP');
  t.after(() => alive(before.pid) && process.kill(before.pid, 'SIGCONT'));
  await waitUntil('status to show the worker unresponsive', async () => (await statusOf(server)).workers.some((w) => w.pid === before.pid && w.state === 'unresponsive'), 10_000, 100);
  const hung = await waitUntil('worker.hung', () => logLines(server).find((l) => l.event === 'worker.hung'), 15_000, 50);
  assert.equal(hung.level, 50);
  assert.equal(hung.workerPid, before.pid);
  assert.equal(hung.timeoutMs, 3000);
  assert.equal(hung.activeJobs, 1, 'it held the job');
  assert.equal(hung.requests, 1, 'it was serving the half-sent create, not the answered reads');
  assert.ok(hung.silentMs >= 3000 && hung.silentMs < 6000, `silent ${hung.silentMs} ms`);
  assert.match(hung.msg, /has not answered for \d s \(--timeout 3 s\) while serving 1 request\(s\) and holding 1 job\(s\): killing it/);
  const replaced = await waitUntil('a new worker ready', async () => (await statusOf(server)).workers.find((w) => w.state === 'ready' && w.pid !== before.pid), 30_000, 100);
  const replacedMs = Date.now() - frozenAt;
  t.diagnostic(`frozen → hung line ${hung.time - frozenAt} ms; frozen → replacement ready (seen by status) ${replacedMs} ms`);
  await waitUntil('the frozen worker gone', () => !alive(before.pid), 5000);
  // the job it held is taken over once its lease expires, and finishes on the new worker
  const done = await waitForStatus(server, created.data.id);
  assert.equal(done.status, 'done');
  assert.equal(done.attempts, 2);
  assert.ok(logLines(server).some((l) => l.event === 'job.lease_expired' && l.previousPid === before.pid));
  assert.equal(replaced.restarts, 1);
  assert.equal((await api(server, '/healthz')).status, 200);
});

test('a model call slower than --timeout is no hang (the event loop is free); --timeout 0 never kills', { skip: notPosix, timeout: 90_000 }, async (t) => {
  const model = await startFakeOpenAI(t, async () => {
    await sleep(3500);
    return { body: completion(JSON.stringify(feedbackJson())) };
  });
  const server = await startServer(t, {
    args: ['--profile', 'safe', '--timeout', '1'],
    env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.url, PRESENTER_AI_MODEL: 'fake' },
  });
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Slow', content: '# Slow\n\nwords' } });
  assert.equal((await waitForStatus(server, created.data.id)).status, 'done');
  assert.equal(logLines(server).filter((l) => l.event === 'worker.hung').length, 0);

  const off = await startServer(t, { args: ['--profile', 'safe', '--timeout', '0'] });
  const [w] = (await statusOf(off)).workers;
  process.kill(w.pid, 'SIGSTOP');
  try {
    await sleep(2500);
    assert.ok(alive(w.pid), 'not killed with --timeout 0');
    assert.equal(logLines(off).filter((l) => l.event === 'worker.hung').length, 0);
  } finally {
    process.kill(w.pid, 'SIGCONT');
  }
  assert.equal((await api(off, '/healthz')).status, 200);
});

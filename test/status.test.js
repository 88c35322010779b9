// status (#11 item 8): per worker CPU, requests/s, event-loop delay, the last exit's reason; the
// queue's depth; --watch; exit 3 when not running (test/serve.test.js covers the pid-file cases).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, ROOT, cleanEnv, runCli, sleep, startServer } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';
import { notPosix } from './helpers/skip.js';

async function status(server) {
  const r = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('status shows load per worker, the queue, and why a slot restarted', { skip: notPosix, timeout: 90_000 }, async (t) => {
  // a slow model keeps jobs queued: the depth is visible
  const server = await startServer(t, { args: ['--profile', 'advanced', '--threads', '1'], env: { PRESENTER_AI_PROVIDER: 'noop', PRESENTER_AI_DELAY_MS: '5000' } });
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await fetch(`${server.url}/api/presentations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `T${i}`, content: '# T\n\nwords' }) });
      await r.arrayBuffer();
      if (i > 40) await sleep(20);
    }
  })();
  const busy = await waitUntil('a worker under load in status', async () => {
    const s = await status(server);
    return s.workers.some((w) => w.requestsPerSec > 0) && s.queueDepth > 0 ? s : undefined;
  }, 30_000, 300);
  stop = true;
  await load;
  for (const w of busy.workers) {
    assert.equal(typeof w.cpuPercent, 'number');
    assert.ok(w.cpuPercent >= 0 && w.cpuPercent < 400, `cpu ${w.cpuPercent}`);
    assert.equal(typeof w.eventLoopDelayMs, 'number');
    assert.ok(w.eventLoopDelayMs >= 0 && w.eventLoopDelayMs < 5000);
    assert.equal(w.lastExit, null);
  }
  assert.ok(busy.queueDepth > 0, `queue ${busy.queueDepth}`);

  const victim = busy.workers[0];
  process.kill(victim.pid, 'SIGKILL');
  const after = await waitUntil('the slot restarted and ready', async () => {
    const s = await status(server);
    return s.workers.find((w) => w.slot === victim.slot && w.state === 'ready' && w.pid !== victim.pid) ? s : undefined;
  }, 30_000, 200);
  const row = after.workers.find((w) => w.slot === victim.slot && w.state === 'ready');
  assert.equal(row.restarts, 1);
  assert.match(row.lastExit, /^signal SIGKILL/);

  const text = await runCli(['status', '--data-dir', server.dataDir]);
  assert.match(text.stdout, /queue \d+ job\(s\) waiting/);
  assert.match(text.stdout, /^WORKER +PID +STATE +UPTIME +RESTARTS +CPU +REQ\/S +ELD P99 +RSS +JOBS +LAST EXIT$/m);
  assert.match(text.stdout, /signal SIGKILL/);
});

test('status --watch refreshes until Ctrl-C (exit 0), and ends with exit 3 when the server stops', { skip: notPosix, timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const watch = execa(process.execPath, [BIN, 'status', '--watch', '--data-dir', server.dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
  let watchText = '';
  watch.stdout.on('data', (d) => (watchText += d));
  await waitUntil('three refreshes', () => (watchText.match(/^--- \d{4}-/gm) ?? []).length >= 3, 15_000, 100);
  watch.kill('SIGINT');
  const r = await watch;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok((watchText.match(/presenter-serve running: pid \d+/g) ?? []).length >= 3);
  assert.ok(!watchText.includes('\u001b['), 'plain lines when piped: no escape sequences');

  const second = execa(process.execPath, [BIN, 'status', '--watch', '--json', '--data-dir', server.dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
  await sleep(2500);
  await runCli(['stop', '--data-dir', server.dataDir]);
  const ended = await second;
  assert.equal(ended.exitCode, 3, ended.stderr);
  assert.match(ended.stderr, /not running/);
  const lines = ended.stdout.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.every((l) => JSON.parse(l).pid > 0), 'one JSON document per line');
});

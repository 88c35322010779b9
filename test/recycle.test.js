// Recycling (#11 item 4): --max-requests (with jitter) and --max-memory replace a worker the
// reload way while clients keep sending: no request fails, and each replacement is logged with
// its reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from 'undici';
import { readFileSync, writeFileSync } from 'node:fs';
import { runCli, startServer } from './helpers/cli.js';
import { BROKEN_ENTRY, installCopy } from './helpers/install-copy.js';
import { logLines, waitUntil } from './helpers/http.js';

/** Clients on keep-alive connections, a POST and a GET each round, until `until()`; every failure kept. */
async function load(server, { clients = 4, until }) {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: clients });
  const failures = [];
  let ok = 0;
  const deadline = Date.now() + 90_000; // bounded, even when the server fails
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; !until(ok) && Date.now() < deadline; i++) {
        try {
          const created = await fetch(`${server.url}/api/presentations`, { dispatcher, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `T ${c}-${i}`, content: '# T\n\nwords' }) });
          if (created.status !== 201) failures.push(`POST ${created.status} ${await created.text()}`);
          else {
            const { id } = await created.json();
            const got = await fetch(`${server.url}/api/presentations/${id}`, { dispatcher });
            if (got.status !== 200) failures.push(`GET ${got.status}`);
            else await got.arrayBuffer();
            ok++;
          }
        } catch (error) {
          failures.push(`${error.message} ${error.cause?.code ?? ''}`);
          await new Promise((r) => setTimeout(r, 100)); // never a busy loop against a dead server
        }
      }
    }),
  );
  await dispatcher.close();
  return { ok, failures };
}

test('--max-requests: workers are replaced after their requests, while 4 keep-alive clients see no failure', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--max-requests', '60', '--max-requests-jitter', '20'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const recycled = () => logLines(server).filter((l) => l.event === 'worker.recycled');
  const { ok, failures } = await load(server, { until: (n) => recycled().length >= 4 || n >= 5000 });
  t.diagnostic(`${ok} rounds (POST + GET), ${recycled().length} workers replaced, ${failures.length} failures`);
  assert.deepEqual(failures, []);
  const lines = recycled();
  assert.ok(lines.length >= 4, `${lines.length} replacements`);
  for (const l of lines) {
    assert.equal(l.reason, 'max-requests');
    assert.ok(l.limit >= 60 && l.limit <= 80, `limit ${l.limit} within --max-requests + jitter`);
    assert.ok(l.served >= l.limit);
  }
  assert.equal(new Set(lines.map((l) => l.workerPid)).size, lines.length, 'each worker replaced once');
  await waitUntil('the replaced workers to be gone, the slots served', async () => {
    const status = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
    return status.workers.length === 2 && status.workers.every((w) => w.state === 'ready' && !lines.some((l) => l.workerPid === w.pid));
  }, 30_000, 200);
  assert.equal(logLines(server).filter((l) => l.event === 'worker.restarting' || l.event === 'worker.crash_loop').length, 0, 'replaced, not crashed');
});

test('--max-memory: a worker above the limit (after 5 s of service) is replaced with no failed request; then its replacement too, not in a tight loop', { timeout: 120_000 }, async (t) => {
  // 16 MB is below any Node process: every worker is over it, so the limit shows its pacing too
  const server = await startServer(t, { args: ['--profile', 'safe', '--max-memory', '16'], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  const recycled = () => logLines(server).filter((l) => l.event === 'worker.recycled');
  const started = Date.now();
  const { ok, failures } = await load(server, { clients: 2, until: () => recycled().length >= 2 || Date.now() - started > 60_000 });
  t.diagnostic(`${ok} rounds, ${recycled().length} replacements in ${Date.now() - started} ms, ${failures.length} failures`);
  assert.deepEqual(failures, []);
  const lines = recycled();
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.equal(l.reason, 'max-memory');
    assert.equal(l.limitBytes, 16 * 1024 * 1024);
    assert.ok(l.rssBytes > l.limitBytes);
    assert.match(l.msg, /^Replacing worker \d+ \(pid \d+\): \d+ MB is above --max-memory 16 MB$/);
  }
  assert.ok(lines[1].time - lines[0].time >= 5000, `the replacement served ${lines[1].time - lines[0].time} ms before its own replacement (at least 5 s)`);
});

test('bad recycling flags exit 2 naming them', async () => {
  for (const [args, message] of [
    [['--max-memory', '8'], /--max-memory/],
    [['--max-requests', '0'], /--max-requests/],
    [['--max-requests-jitter', '-1'], /--max-requests-jitter/],
  ]) {
    const r = await runCli(['serve', ...args, '--data-dir', '/nonexistent/never']);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('--max-requests with an install broken on disk: the replacement cannot start, the worker serves on, and recycling tries again with backoff, not at every heartbeat', { timeout: 120_000 }, async (t) => {
  const install = installCopy(t);
  const server = await startServer(t, { args: ['--profile', 'advanced', '--workers', '1', '--max-requests', '20', '--max-requests-jitter', '0'], bin: install.bin });
  const good = readFileSync(install.workerEntry);
  writeFileSync(install.workerEntry, BROKEN_ENTRY);
  const [before] = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout).workers;
  // past the limit; then ~9 s of heartbeats (one a second), each of which finds it over its limit
  const started = Date.now();
  const { failures } = await load(server, { clients: 2, until: () => Date.now() - started > 9000 });
  assert.deepEqual(failures, [], 'the worker over its limit serves every request');
  const failed = logLines(server).filter((l) => l.event === 'worker.recycle_failed');
  t.diagnostic(`recycle_failed retryInMs: ${failed.map((l) => l.retryInMs).join(', ')}`);
  assert.ok(failed.length >= 2, `${failed.length} failed replacements`);
  assert.ok(failed.length <= 5, `${failed.length} failed replacements in ~9 s: tried at every heartbeat, not backing off`);
  assert.deepEqual(failed.map((l) => l.retryInMs), [1000, 2000, 4000, 8000, 16000].slice(0, failed.length));
  const [now] = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout).workers;
  assert.equal(now.pid, before.pid, 'the worker over its limit is the one serving');
  // repaired: the next try replaces it
  writeFileSync(install.workerEntry, good);
  await waitUntil('the worker recycled once the install is repaired', async () => {
    const [w] = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout).workers;
    return w.pid !== before.pid && w.state === 'ready';
  }, 40_000, 250);
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, cleanEnv, freePort, makeDataDir, ROOT, runCli, sleep, startServer } from './helpers/cli.js';
import { notPosix } from './helpers/skip.js';
import { alive } from './helpers/proc.js';

async function status(dataDir) {
  const result = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(result.exitCode, 0, result.stderr);
  return JSON.parse(result.stdout);
}

async function waitFor(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('serve answers /healthz and status --json shows the workers', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok' });
  const s = await status(server.dataDir);
  assert.equal(s.pid, server.child.pid);
  assert.equal(s.profile, 'advanced');
  assert.equal(s.mode, 'cluster');
  assert.equal(s.workers.length, 2);
  for (const w of s.workers) {
    assert.equal(w.state, 'ready');
    assert.ok(alive(w.pid));
    assert.ok(w.rssBytes > 10 * 1024 * 1024, `rss ${w.rssBytes}`);
    assert.equal(w.restarts, 0);
  }
  const text = await runCli(['status', '--data-dir', server.dataDir]);
  assert.match(text.stdout, /presenter-serve running: pid \d+, profile advanced/);
});

test('a SIGKILLed worker is replaced by a new pid and requests succeed again', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const [before] = (await status(server.dataDir)).workers;
  process.kill(before.pid, 'SIGKILL');
  const after = await waitFor('a replacement worker', async () => {
    const [w] = (await status(server.dataDir)).workers;
    return w.pid && w.pid !== before.pid && w.state === 'ready' ? w : undefined;
  });
  assert.equal(after.restarts, 1);
  assert.equal(alive(before.pid), false);
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
});

test('SIGTERM while a slow request is in flight: it completes, exit 0, no process left', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  const workerPids = (await status(server.dataDir)).workers.map((w) => w.pid);
  const body = JSON.stringify({ title: 'Slow upload', content: `# Slow\n${'word '.repeat(2000)}` });
  // A slow client: the body arrives in pieces over ~1.5 s, so the request is in flight at SIGTERM.
  const response = new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/api/presentations`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    const chunks = body.match(/[\s\S]{1,1000}/g);
    let i = 0;
    const timer = setInterval(() => {
      req.write(chunks[i++]);
      if (i === chunks.length) {
        clearInterval(timer);
        req.end();
      }
    }, 1500 / chunks.length);
  });
  await sleep(400);
  server.child.kill('SIGTERM');
  const res = await response;
  assert.equal(res.status, 201, res.body);
  assert.match(JSON.parse(res.body).id, /^[0-9a-f-]{36}$/);
  const result = await server.child;
  assert.equal(result.exitCode, 0, result.all);
  for (const pid of workerPids) assert.equal(alive(pid), false, `worker ${pid} still running`);
  assert.match(result.all, /"event":"supervisor.stopped"/);
});

test('reload under a loop of requests: 0 failed requests, every worker pid changed', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  const before = (await status(server.dataDir)).workers.map((w) => w.pid);
  let ok = 0;
  const failures = [];
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const res = await fetch(`${server.url}/healthz`);
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else failures.push(`status ${res.status}`);
      } catch (error) {
        failures.push(String(error.cause ?? error));
      }
    }
  };
  const loops = [loop(), loop(), loop(), loop()];
  await sleep(300);
  const reload = await runCli(['reload', '--data-dir', server.dataDir]);
  await sleep(300);
  running = false;
  await Promise.all(loops);
  assert.equal(reload.exitCode, 0, reload.stderr);
  assert.match(reload.stdout, /reloaded 2 worker\(s\)/);
  const after = (await status(server.dataDir)).workers;
  assert.equal(after.length, 2);
  for (const w of after) {
    assert.equal(w.state, 'ready');
    assert.ok(!before.includes(w.pid), `pid ${w.pid} was not replaced`);
  }
  for (const pid of before) assert.equal(alive(pid), false);
  assert.deepEqual(failures, []);
  assert.ok(ok > 100, `only ${ok} requests ran during the reload`);
  t.diagnostic(`${ok} requests during the reload, ${failures.length} failed`);
});

test('SIGHUP reloads too', { skip: notPosix }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const [before] = (await status(server.dataDir)).workers;
  server.child.kill('SIGHUP');
  await waitFor('the reloaded worker', async () => {
    const [w] = (await status(server.dataDir)).workers;
    return w.pid !== before.pid && w.state === 'ready';
  });
  // the old worker drains its connections, then exits
  await waitFor('the old worker to exit', () => !alive(before.pid));
});

test('a worker that always crashes: crash loop detected, exit 1 with its error', { timeout: 90_000 }, async (t) => {
  const dataDir = makeDataDir(t);
  const port = await freePort();
  const started = Date.now();
  const result = await execa(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: cleanEnv({ NODE_OPTIONS: `--import ${join(ROOT, 'test/fixtures/crash-worker.mjs')}` }),
    extendEnv: false,
    reject: false,
    timeout: 80_000,
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /error: crash loop: workers crashed 10 times within 60 s/);
  assert.match(result.stderr, /fixture: this worker always crashes at start-up/);
  assert.ok(seconds < 60, `took ${seconds} s`);
  const restarts = result.stdout.split('\n').filter((l) => l.includes('"event":"worker.restarting"')).map((l) => JSON.parse(l).delayMs);
  // PM2's policy: 100 ms doubling, capped at 15 s.
  assert.deepEqual(restarts, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000]);
  t.diagnostic(`crash loop detected after ${seconds.toFixed(1)} s`);
});

test('a port already in use: exit 2 with a message naming the port', async (t) => {
  const blocker = createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const { port } = blocker.address();
  const dataDir = makeDataDir(t);
  const result = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir]);
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, new RegExp(`^error: Port ${port} on 127.0.0.1 is already in use.\\n  fix: `));
});

test('a data dir that is not writable: exit 2 naming it', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const result = await runCli(['serve', '--data-dir', join(file, 'data'), '--port', String(await freePort())]);
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /^error: The data dir .*a-file\/data cannot be created: a file is in the way \(ENOTDIR\)\.\n {2}fix: /);
});

test('status and stop find no server, or say the pid file is stale', async (t) => {
  const dataDir = makeDataDir(t);
  const none = await runCli(['status', '--data-dir', dataDir]);
  assert.equal(none.exitCode, 3, 'status: not running is exit 3 (LSB)');
  assert.match(none.stderr, /is not running on .* \(no pid file\)/);
  writeFileSync(join(dataDir, 'presenter.pid'), '999999\n');
  const stale = await runCli(['status', '--data-dir', dataDir]);
  assert.equal(stale.exitCode, 3);
  assert.match(stale.stderr, /pid file .* is stale: pid 999999 is not running/);
  const stopNone = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stopNone.exitCode, 1, 'stop keeps exit 1');
  writeFileSync(join(dataDir, 'presenter.pid'), '999999\n'); // stop removed the stale one; serve must replace it
  const server = await startServer(t, { dataDir });
  const stop = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  assert.match(stop.stdout, /stopped presenter-serve/);
  const result = await server.child;
  assert.equal(result.exitCode, 0);
  assert.match(result.all, /Replaced a stale pid file \(pid 999999 is not running\)/);
});

test('a database that is not SQLite, or a bad model URL: exit 2 before any worker starts', async (t) => {
  const dataDir = makeDataDir(t);
  writeFileSync(join(dataDir, 'presenter.db'), 'not a database '.repeat(20));
  const corrupt = await runCli(['serve', '--data-dir', dataDir, '--port', String(await freePort())]);
  assert.equal(corrupt.exitCode, 2);
  assert.match(corrupt.stderr, /^error: The database .*presenter\.db cannot be used: file is not a database\.\n {2}fix: Restore it from a backup/);
  const other = makeDataDir(t);
  const badUrl = await runCli(['serve', '--data-dir', other, '--port', String(await freePort())], { env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: 'ftp://models' } });
  assert.equal(badUrl.exitCode, 2);
  assert.match(badUrl.stderr, /^error: Expected the AI base URL to be an http\(s\) URL, got `ftp:\/\/models`/);
  assert.doesNotMatch(badUrl.stdout, /worker.started/);
});

// A request whose body never finishes: in flight until the server gives up on it.
function stuckUpload(url) {
  const req = httpRequest(`${url}/api/presentations`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 100_000 } });
  req.on('error', () => {});
  req.write('{"title": "never ends", "content": "');
  return req;
}

test('--graceful-timeout bounds the wait for in-flight requests; a second signal forces exit', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--graceful-timeout', '1'] });
  const workerPids = (await status(server.dataDir)).workers.map((w) => w.pid);
  const req = stuckUpload(server.url);
  await sleep(300);
  const started = Date.now();
  server.child.kill('SIGTERM');
  const result = await server.child;
  req.destroy();
  assert.equal(result.exitCode, 0);
  assert.match(result.all, /"event":"worker.graceful_timeout"/);
  assert.ok(Date.now() - started < 10_000, 'the stuck request did not hold the stop for the default 30 s');
  for (const pid of workerPids) assert.equal(alive(pid), false);

  const second = await startServer(t, { args: ['--profile', 'advanced'] });
  const pids = (await status(second.dataDir)).workers.map((w) => w.pid);
  const stuck = stuckUpload(second.url);
  await sleep(300);
  second.child.kill('SIGTERM');
  await sleep(300);
  second.child.kill('SIGTERM');
  const forced = await second.child;
  stuck.destroy();
  assert.equal(forced.exitCode, 1);
  assert.match(forced.all, /Second SIGTERM: forcing exit/);
  await waitFor('the workers to be gone', () => pids.every((pid) => !alive(pid)));
});

// Limits: creates and regenerations per client (429 RATE_LIMITED, counted once for all workers),
// the queue cap (503 QUEUE_FULL), --trust-proxy, and a worker that runs out of file descriptors.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import test from 'node:test';
import { execa } from 'execa';
import { BIN, cleanEnv, freePort, makeDataDir, ROOT, runCli, sleep, startServer } from './helpers/cli.js';
import { api, logLines, openDb, waitUntil } from './helpers/http.js';
import { noPrlimit } from './helpers/skip.js';

const create = (server, i, headers = {}) => api(server, '/api/presentations', { method: 'POST', json: { title: `Talk ${i}`, content: 'Some words.' }, headers });

/** A create on a connection of its own (no keep-alive). */
function createOnNewConnection(server, i) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ title: `Talk ${i}`, content: 'Some words.' });
    const req = request(`${server.url}/api/presentations`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: { get: (name) => res.headers[name] ?? null }, data: JSON.parse(text)}));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertRefusal(res, status, code) {
  assert.equal(res.status, status, JSON.stringify(res.data));
  assert.equal(res.data.error.code, code);
  assert.match(res.data.error.message, /./);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${res.headers.get('retry-after')}`);
}

test('creates per client are limited once for all workers: 429 RATE_LIMITED with Retry-After', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'], env: { PRESENTER_RATE_LIMIT: '5' }, readyTimeout: 60_000 });
  // each request on a connection of its own: the supervisor hands connections to the two workers
  // in turn (round-robin), so counts kept per worker would let 10 through
  const results = [];
  for (let i = 0; i < 16; i++) results.push(await createOnNewConnection(server, i));
  assert.deepEqual(results.map((r) => r.status), [...Array(5).fill(201), ...Array(11).fill(429)]);
  for (const res of results.slice(5)) assertRefusal(res, 429, 'RATE_LIMITED');
  const created = results.slice(0, 5);

  // reading is not limited; regenerating has a count of its own
  const id = created[0].data.id;
  for (let i = 0; i < 10; i++) assert.equal((await api(server, `/api/presentations/${id}`)).status, 200);
  const regenerations = [];
  for (let i = 0; i < 6; i++) regenerations.push(await api(server, `/api/presentations/${id}/feedback`, { method: 'POST' }));
  assert.deepEqual(regenerations.map((r) => r.status), [202, 202, 202, 202, 202, 429]);
  assertRefusal(regenerations[5], 429, 'RATE_LIMITED');
});

test('the windows profile (no workers) counts in its own process', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'windows'], env: { PRESENTER_RATE_LIMIT: '2' }, readyTimeout: 60_000 });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await create(server, i)).status);
  assert.deepEqual(statuses, [201, 201, 429, 429]);
});

test('the default limit lets 60 creates a minute through; PRESENTER_RATE_LIMIT=0 turns it off', async (t) => {
  const limited = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_RATE_LIMIT: '' }, readyTimeout: 60_000 });
  const unlimited = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_RATE_LIMIT: '0' }, readyTimeout: 60_000 });
  const statuses = async (server) => {
    const out = [];
    for (let i = 0; i < 70; i++) out.push((await create(server, i)).status);
    return out;
  };
  const [a, b] = await Promise.all([statuses(limited), statuses(unlimited)]);
  assert.deepEqual(a, [...Array(60).fill(201), ...Array(10).fill(429)]);
  assert.deepEqual(b, Array(70).fill(201));
});

test('--trust-proxy: X-Forwarded-For names the client only when the peer is a listed proxy', async (t) => {
  const env = { PRESENTER_RATE_LIMIT: '2' };
  const trusting = await startServer(t, { args: ['--profile', 'safe', '--trust-proxy', '127.0.0.1,::1'], env, readyTimeout: 60_000 });
  const other = await startServer(t, { args: ['--profile', 'safe', '--trust-proxy', '10.0.0.0/8'], env, readyTimeout: 60_000 });
  const none = await startServer(t, { args: ['--profile', 'safe'], env, readyTimeout: 60_000 });
  const from = (ip) => ({ 'x-forwarded-for': ip });
  const run = async (server) => {
    const out = [];
    for (const ip of ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.3']) out.push((await create(server, ip, from(ip))).status);
    return out;
  };
  // behind the trusted proxy each address is its own client; otherwise all are the proxy
  assert.deepEqual(await run(trusting), [201, 201, 429, 201, 201]);
  assert.deepEqual(await run(other), [201, 201, 429, 429, 429]);
  assert.deepEqual(await run(none), [201, 201, 429, 429, 429]);
});

test('a bad --trust-proxy or limit stops serve with exit 2 naming the value', async (t) => {
  const dataDir = makeDataDir(t);
  const proxy = await runCli(['serve', '--data-dir', dataDir, '--port', '0', '--trust-proxy', '127.0.0.1,nginx']);
  assert.equal(proxy.exitCode, 2);
  assert.match(proxy.stderr, /--trust-proxy .*`nginx`/);
  const limit = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], { env: { PRESENTER_RATE_LIMIT: '-1' } });
  assert.equal(limit.exitCode, 2);
  assert.match(limit.stderr, /PRESENTER_RATE_LIMIT .*`-1`/);
  const queue = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], { env: { PRESENTER_MAX_QUEUE: 'lots' } });
  assert.equal(queue.exitCode, 2);
  assert.match(queue.stderr, /PRESENTER_MAX_QUEUE .*`lots`/);
});

test('a full queue refuses new jobs with 503 QUEUE_FULL and Retry-After; 0 means no cap', async (t) => {
  // one slot, each job takes a minute: whatever is created stays queued
  const slow = { PRESENTER_AI_PROVIDER: 'noop', PRESENTER_AI_DELAY_MS: '60000' };
  const args = ['--profile', 'safe', '--threads', '1', '--graceful-timeout', '0'];
  const capped = await startServer(t, { args, env: { ...slow, PRESENTER_MAX_QUEUE: '3' }, readyTimeout: 60_000 });
  const uncapped = await startServer(t, { args, env: { ...slow, PRESENTER_MAX_QUEUE: '0' }, readyTimeout: 60_000 });
  const queuedNow = () => {
    const db = openDb(capped);
    try {
      return db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'").get().n;
    } finally {
      db.close();
    }
  };
  // the one slot takes the first job and holds it for a minute: from then on the queue only grows
  const first = await create(capped, 0);
  assert.equal(first.status, 201);
  await waitUntil('the slot to hold the first job', () => {
    const db = openDb(capped);
    try {
      return db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status = 'running'").get().n === 1;
    } finally {
      db.close();
    }
  }, 20_000);
  const statuses = [];
  for (let i = 1; i < 8; i++) statuses.push(await create(capped, i));
  const created = statuses.filter((r) => r.status === 201);
  const refused = statuses.filter((r) => r.status === 503);
  assert.equal(created.length + refused.length, 7);
  assert.ok(refused.length >= 4, `refused ${refused.length}`);
  for (const res of refused) assertRefusal(res, 503, 'QUEUE_FULL');
  // never more than the cap waits (the count may be up to 250 ms old, so it errs on refusing)
  assert.ok(queuedNow() <= 3, `queued ${queuedNow()}`);
  // once the count is fresh the queue fills to the cap exactly, and then refuses
  for (let i = 8; queuedNow() < 3 && i < 20; i++) {
    await sleep(300);
    await create(capped, i);
  }
  assert.equal(queuedNow(), 3);
  await sleep(300);
  assertRefusal(await create(capped, 99), 503, 'QUEUE_FULL');
  // a regeneration queues a job too
  assertRefusal(await api(capped, `${first.data.url}/feedback`, { method: 'POST' }), 503, 'QUEUE_FULL');

  for (let i = 0; i < 8; i++) assert.equal((await create(uncapped, i)).status, 201);
});

test('out of file descriptors: the worker logs http.out_of_files and keeps serving', async (t) => {
  const dataDir = makeDataDir(t);
  const port = await freePort();
  // the shell lowers the limit for this test only; the worker inherits it
  const child = execa('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${BIN}" serve --profile safe --host 127.0.0.1 --port ${port} --data-dir "${dataDir}"`], {
    cwd: ROOT,
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    all: true,
  });
  t.after(async () => {
    child.kill('SIGTERM');
    await child;
  });
  const server = { port, dataDir, url: `http://127.0.0.1:${port}` };
  await waitUntil('serve to be ready', async () => (await api(server, '/readyz').catch(() => ({ status: 0 }))).status === 200, 60_000);
  const started = logLines(server).find((l) => l.event === 'supervisor.started');
  assert.deepEqual(started.nofile, { soft: 256, hard: 256 });

  const sockets = [];
  for (let i = 0; i < 300; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    sockets.push(socket);
  }
  await waitUntil('http.out_of_files in the log', () => logLines(server).find((l) => l.event === 'http.out_of_files'), 10_000);
  const line = logLines(server).find((l) => l.event === 'http.out_of_files');
  assert.equal(line.code, 'MAX_CONNECTIONS');
  assert.equal(line.maxConnections, 128);
  assert.equal(line.level, 50);
  assert.match(line.msg, /open-file limit/);
  for (const socket of sockets) socket.destroy();
  await sleep(200);
  assert.equal((await api(server, '/healthz')).status, 200);
  assert.equal(child.exitCode, null);
});

// /proc/<pid>/limits' soft and hard "Max open files"
function nofileOf(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.trim().split(/\s+/).slice(3, 5).map(Number);
  return { soft, hard };
}

// Node raises RLIMIT_NOFILE's soft limit to the hard one when it starts (POSIX), and the workers are
// Node processes too: a distribution's low soft limit (1024) never caps the server, the hard one does.
test('the supervisor and its workers run at the hard open-file limit even when started with a low soft one', { skip: noPrlimit }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'], launcher: ['prlimit', '--nofile=512:4096', '--'] });
  assert.deepEqual(nofileOf(server.child.pid), { soft: 4096, hard: 4096 });
  const status = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  const workers = JSON.parse(status.stdout).workers.filter((w) => w.pid);
  assert.equal(workers.length, 2);
  for (const w of workers) assert.deepEqual(nofileOf(w.pid), { soft: 4096, hard: 4096 }, `worker ${w.pid}`);
  assert.deepEqual(logLines(server).find((l) => l.event === 'supervisor.started').nofile, { soft: 4096, hard: 4096 });
});

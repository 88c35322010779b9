// The LISTEN connection kept down while the database stays up (#13): the runners poll every
// 250 ms meanwhile, so a job queued by another host still starts at once, and the LISTEN
// connection is opened again with backoff (100 ms doubling to 30 s).
//
// To keep LISTEN down and nothing else, the server reaches PostgreSQL through a TCP proxy of the
// test's that reads each connection's startup packet and closes those whose application_name is
// the listener's ('presenter-serve listen', store/postgres.ts) while told to: the pools connect
// as ever, every LISTEN attempt fails at connect. (Killing the backend again and again cannot do
// that: the reconnect, 100 ms later, gets through in a few ms, logs store.listening and wakes the
// runners itself, and then polling is not what started the job.)
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { ROOT, startServer } from './helpers/cli.js';
import { logLines, waitUntil } from './helpers/http.js';
import { createDatabase, PG_HOST, PG_PORT, pgUnreachable } from './helpers/pg.js';

const pgMissing = await pgUnreachable();
const { PostgresStore, migratePostgresUrl } = await import(pathToFileURL(join(ROOT, 'dist/store/postgres.js')).href);

const LISTEN_APP = 'presenter-serve listen';
const SSL_REQUEST = 80877103;

/** The startup packet's parameters (user, database, application_name …): pairs of C strings. */
function startupParameters(body) {
  const parts = body.toString('utf8').split('\0');
  const params = {};
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params[parts[i]] = parts[i + 1];
  return params;
}

/**
 * A TCP proxy to the test server that closes, before PostgreSQL sees them, the connections whose
 * application_name is in `refuse`; every other connection is passed through untouched.
 */
async function startPgProxy(t) {
  const proxy = { refuse: new Set(), refused: [], passed: [], port: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 8 || head.length < head.readInt32BE(0)) return;
      client.off('data', onData);
      client.pause();
      const length = head.readInt32BE(0);
      if (head.readInt32BE(4) === SSL_REQUEST) {
        // no TLS here: say so, as a server with ssl = off does, and read the startup packet next
        client.write('N');
        head = head.subarray(length);
        client.on('data', onData);
        client.resume();
        if (head.length > 0) onData(Buffer.alloc(0));
        return;
      }
      const app = startupParameters(head.subarray(8, length)).application_name ?? '';
      if (proxy.refuse.has(app)) {
        proxy.refused.push({ app, at: Date.now() });
        client.destroy();
        return;
      }
      proxy.passed.push({ app, at: Date.now() });
      const upstream = connect(PG_PORT, PG_HOST);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    client.on('data', onData);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}

// captured before any test mocks the timers: a real wait while the store's timers are mocked
const realSetTimeout = globalThis.setTimeout;
const sleepReal = (ms) => new Promise((resolve) => realSetTimeout(resolve, ms));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test('LISTEN kept down while PostgreSQL is up: jobs queued by another host start by polling (within 250 ms, not at the 1 s idle poll), no store.listening meanwhile; the retries back off 100, 200, 400 … ms', { skip: pgMissing, timeout: 120_000 }, async (t) => {
  const db = await createDatabase(t);
  const proxy = await startPgProxy(t);
  const viaProxy = `postgres://postgres@127.0.0.1:${proxy.port}/${db.name}`;
  // one worker: one LISTEN connection, one runner, one idle-poll timer
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_DATABASE_URL: viaProxy, PRESENTER_AI_PROVIDER: 'noop' } });
  // "another host": a store of its own on the database, straight, not through the proxy
  const other = await PostgresStore.open(db.url, { poolSize: 1 });
  t.after(() => other.close());
  const listeners = async () => (await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, [db.name, LISTEN_APP])).rows.map((r) => r.pid);
  await waitUntil('the worker to listen', async () => (await listeners()).length === 1);
  const worker = logLines(server).find((l) => l.event === 'worker.started')?.workerPid;
  assert.ok(Number.isInteger(worker), 'the worker.started line names the worker');

  const queueElsewhere = async (i) => {
    const { id } = await other.createPresentation({ title: `Elsewhere ${i}`, content: `# Elsewhere ${i}\n\nA few words.`, language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3);
    const job = (await db.query('SELECT id, created_at FROM jobs WHERE presentation_id = $1', [id])).rows[0];
    return { id, jobId: job.id, createdAt: job.created_at };
  };
  const done = (jobId) => waitUntil(`job ${jobId} done`, async () => (await db.query('SELECT status FROM jobs WHERE id = $1', [jobId])).rows[0]?.status === 'done', 10_000, 10);
  const startedLine = (jobId) => waitUntil(`feedback.started for ${jobId}`, () => logLines(server).find((l) => l.event === 'feedback.started' && l.jobId === jobId), 10_000, 10);

  // with LISTEN up, a job from another host starts on its NOTIFY
  const first = await queueElsewhere('first');
  await done(first.jobId);

  // LISTEN down from here on: the proxy refuses the listener, its backend is killed
  proxy.refuse.add(LISTEN_APP);
  const [pid] = await listeners();
  await db.query('SELECT pg_terminate_backend($1)', [pid]);
  const lostAt = Date.now();
  // the first retries (after 100 and 200 ms) are refused too: the listener stays down
  await waitUntil('three store.listen_lost lines', () => logLines(server).filter((l) => l.event === 'store.listen_lost').length >= 3, 10_000, 10);
  assert.ok(proxy.refused.length >= 2, `${proxy.refused.length} LISTEN connections refused by the proxy`);

  // Each job is queued right after the one before finished: the runner has just claimed (and found
  // nothing) and set its idle poll 1 s ahead, so only the 250 ms polling starts the job sooner.
  const latencies = [];
  let previous = first;
  for (let i = 0; i < 5; i++) {
    await done(previous.jobId);
    const job = await queueElsewhere(i);
    const started = await startedLine(job.jobId);
    latencies.push(started.time - job.createdAt);
    previous = job;
  }
  await done(previous.jobId);
  const downFor = Date.now() - lostAt;
  t.diagnostic(`LISTEN down for ${downFor} ms; start latencies of jobs queued elsewhere meanwhile: ${latencies.join(', ')} ms; ${proxy.refused.length} LISTEN connections refused`);

  // no LISTEN connection came up meanwhile, and the log says none did: polling started the jobs
  assert.deepEqual(await listeners(), [], 'no LISTEN connection while the proxy refuses it');
  assert.deepEqual(logLines(server).filter((l) => l.event === 'store.listening'), [], 'no store.listening line while LISTEN is down');
  assert.ok(median(latencies) < 600, `median start latency ${median(latencies)} ms (${latencies.join(', ')}): the 250 ms polling, not the runner's 1 s idle poll`);
  for (const ms of latencies) assert.ok(ms < 3000, `a job queued elsewhere started within 3 s on a loaded machine (${ms} ms)`);

  // the backoff: one worker's retry delays double from 100 ms (far from the 30 s cap here)
  const lost = logLines(server).filter((l) => l.event === 'store.listen_lost');
  assert.ok(lost.every((l) => l.pid === worker), 'every store.listen_lost line is the one worker\'s');
  const delays = lost.map((l) => l.retryInMs);
  assert.ok(delays.length >= 4, `${delays.length} retries in ${downFor} ms`);
  assert.deepEqual(delays, delays.map((_, i) => 100 * 2 ** i), `the retry delays double: ${delays.join(', ')}`);
  assert.match(lost[0].error, /terminat/i, 'the first loss is the killed backend');
  for (const l of lost.slice(1)) assert.match(l.msg, new RegExp(`; polling every 250 ms, listening again in ${l.retryInMs} ms$`));
  assert.equal(lost[0].level, 40);

  // let it in again: the next retry listens, says after how many failures, and NOTIFY works again
  proxy.refuse.clear();
  const back = await waitUntil('store.listening', () => logLines(server).find((l) => l.event === 'store.listening'), 40_000, 20);
  assert.equal(back.level, 30);
  assert.equal(back.failures, logLines(server).filter((l) => l.event === 'store.listen_lost').length, 'store.listening counts the failed attempts');
  await waitUntil('one LISTEN connection again', async () => (await listeners()).length === 1);
  const after = await queueElsewhere('after');
  await done(after.jobId);
  assert.equal(logLines(server).filter((l) => l.event === 'worker.exited').length, 0, 'the worker never died');
});

test('PostgresStore.listen: while every LISTEN attempt fails, the runners are woken every 250 ms and the retry delay doubles from 100 ms to the 30 s cap; once back, one wake-up and no more polling', { skip: pgMissing, timeout: 60_000 }, async (t) => {
  const db = await createDatabase(t);
  await migratePostgresUrl(db.url);
  const proxy = await startPgProxy(t);
  proxy.refuse.add(LISTEN_APP);
  const events = [];
  let changed = () => {};
  const store = await PostgresStore.open(`postgres://postgres@127.0.0.1:${proxy.port}/${db.name}`, {
    poolSize: 1,
    onListener: (event) => {
      events.push(event);
      changed();
    },
  });
  t.after(() => {
    t.mock.timers.reset(); // the pool's idle timers are real ones: the real clearTimeout must clear them
    return store.close();
  });
  // The store's timers (the retry, the 250 ms poll) run on mocked time: 50 s of backoff in a
  // moment. Each connection attempt is real I/O (the proxy closes it): awaited as an event.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const nextEvent = (n) =>
    events.length >= n
      ? Promise.resolve()
      : new Promise((resolve) => {
          changed = () => {
            if (events.length < n) return;
            changed = () => {};
            resolve();
          };
        });

  let wakes = 0;
  store.onJobQueued(() => wakes++);
  const FAILURES = 12;
  let ticked = 0; // mocked milliseconds since the first loss
  for (let n = 1; n <= FAILURES; n++) {
    await nextEvent(n);
    const e = events[n - 1];
    assert.equal(e.type, 'lost', JSON.stringify(e));
    assert.equal(wakes, Math.floor(ticked / 250), `woken every 250 ms while down: ${wakes} wake-ups in ${ticked} ms`);
    if (n === FAILURES) break;
    // a moment before the retry is due nothing is tried; at the due time the next attempt goes out
    t.mock.timers.tick(e.retryInMs - 1);
    await sleepReal(20);
    assert.equal(events.length, n, `no attempt before ${e.retryInMs} ms`);
    t.mock.timers.tick(1);
    ticked += e.retryInMs;
  }
  assert.deepEqual(events.map((e) => e.retryInMs), [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
  assert.equal(proxy.refused.length, FAILURES);

  // let it in: the next attempt listens, tells after how many failures, wakes the runners once
  // (jobs queued meanwhile were announced to no one) and stops polling
  proxy.refuse.clear();
  t.mock.timers.tick(30_000);
  ticked += 30_000;
  await nextEvent(FAILURES + 1);
  assert.deepEqual(events[FAILURES], { type: 'listening', after: FAILURES });
  assert.equal(wakes, Math.floor(ticked / 250) + 1);
  t.mock.timers.tick(5000);
  assert.equal(wakes, Math.floor(ticked / 250) + 1, 'no polling once listening');
  t.mock.timers.reset();
  await store.close();
});

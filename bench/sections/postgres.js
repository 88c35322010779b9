// PostgreSQL section (#13): jobs/s and enqueue→start with 1 and 3 hosts on one PostgreSQL
// database, next to SQLite (the jobs section), and HTTP through nginx in front of 3 hosts.
// A "host" here is a whole `presenter-serve serve` (supervisor + workers, its own data dir and
// port) on this machine: the hosts share the machine's 2 cores with PostgreSQL, nginx and the
// load generator, so the figures are a floor for hosts on machines of their own.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { percentile, readLogEvents } from '../lib/db.js';
import { runMix } from '../lib/load.js';
import { BIN, freePort, sleep, startServe, stop, removeDir, tempDir } from '../lib/proc.js';
import { createTalks, talkJson } from '../lib/talk.js';

const ADMIN_URL = process.env.PRESENTER_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NGINX = '/usr/sbin/nginx';
const SERVE_ENV = { PRESENTER_AI_PROVIDER: 'noop' };

async function pgReachable() {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function withAdmin(fn) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freshDatabase() {
  const name = `presenter_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function dropDatabase(name) {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => {});
}

async function startHosts(n, url, { workers = 2, threads = 4, env = {} } = {}) {
  const hosts = [];
  // one after the other: the first migrates, the others find the schema there
  for (let i = 0; i < n; i++) {
    hosts.push(await startServe({ profile: 'advanced', args: ['--workers', String(workers), '--threads', String(threads)], env: { ...SERVE_ENV, PRESENTER_DATABASE_URL: url, ...env } }));
  }
  return hosts;
}

async function stopHosts(hosts) {
  await Promise.all(hosts.map((h) => stop(h)));
  for (const h of hosts) removeDir(h.dataDir);
}

/**
 * Start the hosts on an empty queue, then queue `total` jobs straight in the database in one
 * transaction that NOTIFYs (no HTTP): jobs/s of the runners alone, with every host up when the
 * first job lands.
 */
async function drain({ hosts: hostCount, jobs: total, workers, threads, timeoutSec }) {
  const db = await freshDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let hosts = [];
  try {
    hosts = await startHosts(hostCount, db.url, { workers, threads });
    const content = JSON.parse(talkJson(1)).content;
    await client.query('BEGIN');
    await client.query(`INSERT INTO presentations (id, title, content, language, created_at, current_version)
      SELECT gen_random_uuid()::text, 'Drain ' || i, $1, 'en', presenter_now_ms(), 1 FROM generate_series(1, $2) i`, [content, total]);
    await client.query(`INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at)
      SELECT gen_random_uuid()::text, id, 1, 'queued', 5, created_at, created_at FROM presentations`);
    await client.query(`SELECT pg_notify('presenter_jobs', '')`);
    await client.query('COMMIT');
    const deadline = Date.now() + timeoutSec * 1000;
    let done = 0;
    while (Date.now() < deadline) {
      done = (await client.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'done'`)).rows[0].n;
      if (done >= total) break;
      await sleep(100);
    }
    const span = (await client.query(`SELECT max(finished_at)::float8 AS last, sum(attempts)::int AS attempts,
      (SELECT count(*)::int FROM feedback) AS rows, (SELECT count(*)::int FROM (SELECT 1 FROM feedback GROUP BY presentation_id, version HAVING count(*) > 1) d) AS dup FROM jobs`)).rows[0];
    await Promise.all(hosts.map((h) => stop(h)));
    let first = Infinity;
    for (const h of hosts) await readLogEvents(h.dataDir, ['feedback.started'], (e) => (first = Math.min(first, e.time)));
    const seconds = (span.last - first) / 1000;
    return { hosts: hostCount, workersPerHost: workers, slotsPerWorker: threads, jobs: total, done, seconds, jobsPerSec: Math.round(done / seconds), feedbackRows: span.rows, duplicateRows: span.dup, attempts: span.attempts };
  } finally {
    await client.end();
    await stopHosts(hosts);
    await dropDatabase(db.name);
  }
}

/**
 * Talks POSTed at `rate`/s to the first host only; every host's runners compete for them.
 * enqueue→start = the `feedback.started` line's time − jobs.created_at (the database clock; one
 * machine, one clock), split by where the job started: on the host that took the POST, or on
 * another one (woken by NOTIFY).
 */
async function enqueueToStart({ hosts: hostCount, rate, seconds: durationSec, workers, threads }) {
  const db = await freshDatabase();
  const hosts = await startHosts(hostCount, db.url, { workers, threads });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const amount = Math.round(rate * durationSec);
    const post = await new Promise((ok, fail) =>
      autocannon(
        { url: `${hosts[0].url}/api/presentations`, method: 'POST', headers: { 'content-type': 'application/json' }, body: talkJson(1), amount, connections: 8, overallRate: rate, timeout: 20 },
        (error, r) => (error ? fail(error) : ok(r)),
      ),
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await client.query(`SELECT count(*)::int AS n FROM jobs WHERE status <> 'done'`)).rows[0].n > 0) await sleep(100);
    const createdAt = new Map((await client.query('SELECT id, created_at::float8 AS c FROM jobs')).rows.map((r) => [r.id, r.c]));
    await Promise.all(hosts.map((h) => stop(h)));
    const local = [];
    const remote = [];
    for (const [i, h] of hosts.entries()) {
      await readLogEvents(h.dataDir, ['feedback.started'], (e) => {
        const c = createdAt.get(e.jobId);
        if (e.attempt === 1 && c !== undefined) (i === 0 ? local : remote).push(e.time - c);
      });
    }
    const all = [...local, ...remote].sort((a, b) => a - b);
    local.sort((a, b) => a - b);
    remote.sort((a, b) => a - b);
    const stats = (xs) => ({ samples: xs.length, p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99) });
    return { hosts: hostCount, rate, submitted: post['2xx'], errors: post.errors + post.non2xx + post.timeouts, all: stats(all), sameHost: stats(local), otherHost: stats(remote) };
  } finally {
    await client.end();
    await stopHosts(hosts);
    await dropDatabase(db.name);
  }
}

/** The config `presenter-serve nginx-config --full` prints for these hosts, as operators would use it. */
function nginxConfig(prefix, port, upstreams) {
  chmodSync(prefix, 0o755); // nginx's workers run as nobody under root
  return execFileSync(process.execPath, [BIN, 'nginx-config', '--full', '--prefix', prefix, '--listen', `127.0.0.1:${port}`, ...upstreams.flatMap((u) => ['--upstream', u])], { encoding: 'utf8' });
}

async function startNginx(upstreams) {
  const prefix = tempDir('presenter-bench-nginx-');
  const port = await freePort();
  writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(prefix, port, upstreams));
  const child = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, prefix, url };
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('nginx did not start');
}

/** The HTTP mix through nginx to 3 hosts, next to one host direct, both on PostgreSQL. */
async function httpThroughNginx({ connections, durationSec, quick }) {
  const db = await freshDatabase();
  const rows = [];
  let hosts = [];
  let nginx;
  try {
    hosts = await startHosts(3, db.url, { env: { PRESENTER_TRUST_PROXY: '127.0.0.1' } });
    nginx = await startNginx(hosts.map((h) => `127.0.0.1:${h.port}`));
    const { ids } = await createTalks(nginx.url, quick ? 50 : 200, { concurrency: 8 });
    for (const [label, url] of [
      ['1 host direct', hosts[0].url],
      ['nginx → 3 hosts', nginx.url],
    ]) {
      await runMix(url, ids, { connections: 50, durationSec: 1 }); // warm-up
      for (const c of connections) rows.push({ target: label, connections: c, ...(await runMix(url, ids, { connections: c, durationSec })) });
    }
    return rows;
  } finally {
    nginx?.child.kill('SIGTERM');
    await stopHosts(hosts);
    await dropDatabase(db.name);
  }
}

export async function postgresSection({ quick, jobs, connections, durationSec, log, timeoutSec }) {
  if (!(await pgReachable())) {
    log(`skipped: PostgreSQL is not reachable at ${ADMIN_URL.replace(/:[^@/]*@/, ':***@')} (set PRESENTER_BENCH_PG)`);
    return { skipped: 'PostgreSQL not reachable' };
  }
  const out = { drain: [], enqueue: [], http: null };
  for (const hosts of [1, 3]) {
    const r = await drain({ hosts, jobs, workers: 2, threads: 4, timeoutSec });
    out.drain.push(r);
    log(`drain, ${hosts} host(s) × 2 workers × 4 slots: ${r.done}/${r.jobs} in ${r.seconds.toFixed(2)} s = ${r.jobsPerSec} jobs/s; ${r.feedbackRows} feedback rows, ${r.duplicateRows} duplicated, ${r.attempts} attempts`);
  }
  for (const hosts of [1, 3]) {
    const r = await enqueueToStart({ hosts, rate: quick ? 100 : 200, seconds: quick ? 3 : 10, workers: 2, threads: 4 });
    out.enqueue.push(r);
    log(`enqueue→start, ${hosts} host(s), ${r.rate} talks/s to host 1: p50 ${r.all.p50Ms} ms p99 ${r.all.p99Ms} ms (same host p50 ${r.sameHost.p50Ms} ms n=${r.sameHost.samples}; other hosts p50 ${r.otherHost.p50Ms} ms n=${r.otherHost.samples})`);
  }
  if (existsSync(NGINX)) {
    out.http = await httpThroughNginx({ connections: quick ? [50] : connections.filter((c) => c <= 200), durationSec, quick });
    for (const r of out.http) log(`HTTP ${r.target}, ${r.connections} conns: ${r.rps} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}`);
  } else {
    log(`HTTP through nginx skipped: ${NGINX} not installed (apt-get install nginx)`);
  }
  return out;
}

// Jobs section: N talks submitted as fast as the API takes them, run by W workers × S slots with
// the noop provider. jobs/s = N / (last job done − first job enqueued), both from the database.
// Enqueue→start per job = the `time` of its first `feedback.started` log line − jobs.created_at.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { migrateDatabase, SqliteStore } from '../../dist/store/sqlite.js';
import { openReadOnly, percentile, readLogEvents } from '../lib/db.js';
import { sleep, startServe, stop, removeDir, tempDir } from '../lib/proc.js';
import { talkJson } from '../lib/talk.js';

function submit(url, amount, connections, overallRate) {
  return new Promise((ok, fail) => {
    autocannon(
      { url: `${url}/api/presentations`, method: 'POST', headers: { 'content-type': 'application/json' }, body: talkJson(1), amount, connections, timeout: 20, ...(overallRate ? { overallRate } : {}) },
      (error, r) => (error ? fail(error) : ok(r)),
    );
  });
}

// `rate` (submissions/s) keeps the queue below capacity: enqueue→start then measures how fast an
// idle slot picks up a new job, not how long a saturated queue is.
export async function jobsSection({ jobs: total, workers = 2, slots = 4, rate, log, timeoutSec }) {
  const server = await startServe({ profile: 'advanced', args: ['--workers', String(workers), '--threads', String(slots)], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  let result;
  try {
    const db = openReadOnly(server.dataDir);
    const doneCount = db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'done'");
    const t0 = Date.now();
    const submitted = submit(server.url, total, 32, rate);
    let done = 0;
    const deadline = t0 + timeoutSec * 1000;
    while (Date.now() < deadline) {
      done = doneCount.get().n;
      if (done >= total) break;
      await sleep(100);
    }
    const post = await submitted;
    const created = post['2xx'];
    while (done < created && Date.now() < deadline) {
      await sleep(100);
      done = doneCount.get().n;
    }
    const span = db.prepare("SELECT min(created_at) AS first, max(created_at) AS lastEnqueued, max(finished_at) AS last, count(*) AS n, sum(attempts) AS attempts FROM jobs").get();
    const byStatus = Object.fromEntries(db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status').all().map((r) => [r.status, r.n]));
    const createdAt = new Map(db.prepare('SELECT id, created_at FROM jobs').all().map((r) => [r.id, r.created_at])); // no .raw() in node:sqlite
    db.close();
    await stop(server); // flushes the workers' log buffers into presenter.log
    const waits = [];
    await readLogEvents(server.dataDir, ['feedback.started'], (e) => {
      if (e.attempt !== 1) return;
      const c = createdAt.get(e.jobId);
      if (c !== undefined) waits.push(e.time - c);
    });
    waits.sort((a, b) => a - b);
    const seconds = (span.last - span.first) / 1000;
    result = {
      jobs: span.n,
      submitted: created,
      submitErrors: post.errors + post.timeouts + post.non2xx,
      done,
      byStatus,
      attempts: span.attempts,
      workers,
      slotsPerWorker: slots,
      rate: rate ?? null,
      submitSeconds: (span.lastEnqueued - span.first) / 1000,
      seconds,
      jobsPerSec: Math.round(done / seconds),
      enqueueToStart: { source: 'log feedback.started time − jobs.created_at (attempt 1)', samples: waits.length, p50Ms: percentile(waits, 50), p99Ms: percentile(waits, 99), maxMs: waits.at(-1) ?? null },
    };
    log(`jobs: ${result.done}/${total} done in ${seconds.toFixed(2)} s = ${result.jobsPerSec} jobs/s (submission took ${result.submitSeconds} s); enqueue→start p50 ${result.enqueueToStart.p50Ms} ms p99 ${result.enqueueToStart.p99Ms} ms`);
  } finally {
    await stop(server);
    removeDir(server.dataDir);
  }
  return result;
}

// Drain: the queue is filled before the workers start (through the real store code), so jobs/s
// measures the job runner alone: claims, provider call, group-committed completions, logging.
// jobs/s = N / (last job finished − first feedback.started), from the database and the log.
/** `feedback.marked` lines in a data dir's log files so far (rotated ones included). */
function markedLines(dataDir) {
  const dir = join(dataDir, 'logs');
  const needle = Buffer.from('"event":"feedback.marked"');
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('presenter.log') || name.endsWith('.gz')) continue;
    const text = readFileSync(join(dir, name));
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n += 1;
  }
  return n;
}

export async function drainSection({ jobs: total, workers = 2, slots = 4, log, timeoutSec }) {
  const dataDir = tempDir('presenter-drain-');
  const file = join(dataDir, 'presenter.db');
  migrateDatabase(file);
  const store = new SqliteStore(file);
  const content = JSON.parse(talkJson(1)).content;
  for (let i = 0; i < total; i++) await store.createPresentation({ title: `Drain ${i}`, content, language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 5);
  await store.close();
  const server = await startServe({ profile: 'advanced', dataDir, args: ['--workers', String(workers), '--threads', String(slots)], env: { PRESENTER_AI_PROVIDER: 'noop' } });
  let result;
  try {
    const db = openReadOnly(dataDir);
    const doneCount = db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'done'");
    const deadline = Date.now() + timeoutSec * 1000;
    let done = 0;
    while (Date.now() < deadline && (done = doneCount.get().n) < total) await sleep(50);
    const span = db.prepare("SELECT max(finished_at) AS last, sum(attempts) AS attempts, (SELECT count(*) FROM feedback) AS feedbackRows FROM jobs").get();
    db.close();
    // How far the log trails the work: the workers write their lines through a pipe to the
    // supervisor, which writes the file. How long after the last job was done the file had all
    // its lines (10 s at most: lines were lost).
    while (markedLines(dataDir) < done && Date.now() - span.last < 10_000) await sleep(20);
    const logCaughtUpMs = Math.max(0, Date.now() - span.last);
    await stop(server);
    let first = Infinity;
    await readLogEvents(dataDir, ['feedback.started'], (e) => {
      if (e.time < first) first = e.time;
    });
    const seconds = (span.last - first) / 1000;
    result = { jobs: total, done, workers, slotsPerWorker: slots, attempts: span.attempts, feedbackRows: span.feedbackRows, seconds, jobsPerSec: Math.round(done / seconds), logCaughtUpMs };
    log(`jobs (pre-filled queue): ${done}/${total} done in ${seconds.toFixed(2)} s = ${result.jobsPerSec} jobs/s; ${span.feedbackRows} feedback rows, ${span.attempts} attempts; the log had every feedback.marked line ${logCaughtUpMs} ms after the last job was done`);
  } finally {
    await stop(server);
    removeDir(dataDir);
  }
  return result;
}

// Item 10 of #10: a store error while committing a good result retries the commit, never the
// model; a failing releaseJob never becomes an unhandled rejection.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { JobRunner } from '../dist/jobs/runner.js';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { makeDataDir, sleep } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';

const FEEDBACK = { provider: 'counting', language: 'en', score: 50, summary: 's', strengths: [], improvements: [], slides: [], metrics: { slides: 1, words: 2, estimatedMinutes: 1, wordsPerSlideMax: 2, readability: 50 } };

/** A real SQLite store whose chosen methods throw what SQLite throws, as long as `failing(name)` says so. */
function flakyStore(t, failing) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const real = new SqliteStore(file);
  const calls = {};
  const store = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (typeof value !== 'function') return value;
      return (...args) => {
        calls[name] = (calls[name] ?? 0) + 1;
        const error = failing(name, calls[name]);
        if (error) return Promise.reject(error);
        return value.apply(target, args);
      };
    },
  });
  t.after(() => real.close());
  return { store, real, calls, file };
}

function sqliteError(code) {
  return Object.assign(new Error(code === 'SQLITE_BUSY' ? 'database is locked' : 'disk I/O error'), { name: 'SqliteError', code });
}

/** A logger whose lines land in an array. */
function memoryLogger() {
  const lines = [];
  const logger = pino({ level: 'debug' }, { write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const newTalk = async (store) => (await store.createPresentation({ title: 'T', content: '# T\n\nwords', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3)).id;

test('the commit fails 6 times (BUSY, then IOERR): the model is called once, the result committed once the store recovers, within a renewed lease', { timeout: 30_000 }, async (t) => {
  const leaseMs = 600;
  // 6 failures back off 50, 100, 200 ms, then a renewal period (leaseMs / 3) each: past one lease, so it must be renewed meanwhile
  const { store, real, calls } = flakyStore(t, (name, n) => (name === 'completeJobs' && n <= 6 ? sqliteError(n <= 3 ? 'SQLITE_BUSY' : 'SQLITE_IOERR_WRITE') : undefined));
  let modelCalls = 0;
  const provider = { name: 'counting', generate: async () => (modelCalls++, { feedback: FEEDBACK, raw: 'answer' }) };
  const { logger, lines } = memoryLogger();
  const runner = new JobRunner({ store, provider, logger, slots: 2, leaseMs, idlePollMs: 50, retryBaseMs: 10 });
  const id = await newTalk(real);
  runner.start();
  t.after(() => runner.stop(1000));
  await waitUntil('the talk to be done or failed', async () => ['done', 'failed'].includes((await real.getPresentation(id)).status), 15_000);
  const view = await real.getPresentation(id);
  assert.equal(view.status, 'done', JSON.stringify(view));
  assert.equal(modelCalls, 1, 'the model is never called again for a commit error');
  assert.equal(calls.completeJobs, 7);
  assert.ok(calls.renewLease >= 2, `the lease was renewed while the commit was retried (${calls.renewLease} renewals)`);
  assert.equal(view.attempts, 1);
  const retries = lines.filter((l) => l.event === 'job.commit_failed');
  assert.equal(retries.length, 6);
  assert.deepEqual(retries.map((l) => l.retryInMs), [50, 100, 200, 200, 200, 200]);
  assert.equal(lines.filter((l) => l.event === 'feedback.failed').length, 0);
  assert.equal(lines.filter((l) => l.event === 'feedback.marked').length, 1);
});

test('a commit that keeps failing gives up when the lease runs out: the job is not failed for good, another worker runs it', { timeout: 30_000 }, async (t) => {
  let broken = true;
  const { store, real } = flakyStore(t, (name) => (broken && (name === 'completeJobs' || name === 'renewLease') ? sqliteError('SQLITE_IOERR_WRITE') : undefined));
  let modelCalls = 0;
  const provider = { name: 'counting', generate: async () => (modelCalls++, { feedback: FEEDBACK, raw: 'answer' }) };
  const { logger, lines } = memoryLogger();
  const runner = new JobRunner({ store, provider, logger, slots: 1, leaseMs: 400, idlePollMs: 50, retryBaseMs: 10 });
  const id = await newTalk(real);
  runner.start();
  t.after(() => runner.stop(1000));
  await waitUntil('the commit to be given up', () => lines.some((l) => l.event === 'job.commit_failed' && l.retryInMs === null), 10_000);
  assert.notEqual((await real.getPresentation(id)).status, 'failed');
  broken = false;
  await waitUntil('the talk to be done', async () => (await real.getPresentation(id)).status === 'done', 10_000);
  assert.equal(modelCalls, 2, 'run again after the lease expired, as after a crash');
  assert.equal(lines.filter((l) => l.event === 'feedback.failed').length, 0);
});

test('the lease taken by another worker while the commit is retried: the first renewal that finds it gone ends the retries, and the job is not written', { timeout: 30_000 }, async (t) => {
  const { store, real, calls, file } = flakyStore(t, (name) => (name === 'completeJobs' ? sqliteError('SQLITE_BUSY') : undefined));
  const provider = { name: 'counting', generate: async () => ({ feedback: FEEDBACK, raw: 'answer' }) };
  const { logger, lines } = memoryLogger();
  // renewals every 1 s, retries capped at that: the lease is long, so only a renewal can end them
  const runner = new JobRunner({ store, provider, logger, slots: 1, leaseMs: 3000, idlePollMs: 50, retryBaseMs: 10 });
  const id = await newTalk(real);
  runner.start();
  t.after(() => runner.stop(1000));
  await waitUntil('the commit failing', () => lines.some((l) => l.event === 'job.commit_failed'), 10_000, 5);
  const { openSqlite } = await import('../dist/store/sqlite-driver.js');
  const other = openSqlite(file);
  t.after(() => other.close());
  other.prepare("UPDATE jobs SET lease_token = 'another worker'").run();
  const stolenAt = Date.now();
  const lost = await waitUntil('job.lease_lost', () => lines.find((l) => l.event === 'job.lease_lost'), 10_000, 5);
  assert.match(lost.msg, /lost its lease; its result was discarded$/);
  t.diagnostic(`given up ${Date.now() - stolenAt} ms after the lease was taken`);
  const attempts = calls.completeJobs;
  await sleep(600);
  assert.equal(calls.completeJobs, attempts, 'no commit after the lease was found gone');
  assert.equal((await real.getPresentation(id)).status, 'processing');
  // given up because a renewal found the lease taken, not because it ran out
  assert.equal(lines.filter((l) => l.event === 'job.commit_failed' && l.retryInMs === null).length, 0, 'not "the lease runs out": it was taken');
});

test('releaseJob throwing after a lost lease: no unhandled rejection, the worker lives on', { timeout: 30_000 }, async (t) => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  // renewLease answers "lost" (another worker took the job); releasing it then fails in the store
  const { store, real } = flakyStore(t, (name) => (name === 'releaseJob' ? sqliteError('SQLITE_IOERR_WRITE') : undefined));
  const lying = new Proxy(store, { get: (target, name) => (name === 'renewLease' ? async () => false : Reflect.get(target, name)) });
  const provider = {
    name: 'hanging',
    generate: (_request, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  };
  const { logger, lines } = memoryLogger();
  const runner = new JobRunner({ store: lying, provider, logger, slots: 1, leaseMs: 150, idlePollMs: 50 });
  await newTalk(real);
  runner.start();
  await waitUntil('the release to fail', () => lines.some((l) => l.event === 'job.release_failed'), 5000);
  await sleep(100); // an unhandled rejection is reported after the microtask queue drains
  await runner.stop(500);
  assert.deepEqual(unhandled, []);
  assert.equal(lines.find((l) => l.event === 'job.release_failed').level, 40);
});

test('claims that keep failing back off exponentially: a bounded number of error lines, and wake() does not bypass the backoff', { timeout: 30_000 }, async (t) => {
  let broken = true;
  const { store, real, calls } = flakyStore(t, (name) => (broken && name === 'claimJobs' ? Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }) : undefined));
  const { logger, lines } = memoryLogger();
  const provider = { name: 'counting', generate: async () => ({ feedback: FEEDBACK, raw: 'answer' }) };
  const runner = new JobRunner({ store, provider, logger, slots: 2, leaseMs: 1000, idlePollMs: 10 });
  const id = await newTalk(real);
  runner.start();
  t.after(() => runner.stop(1000));
  // 2 s of failures, with a wake() every 5 ms (as every POST does)
  const waker = setInterval(() => runner.wake(), 5);
  await sleep(2000);
  clearInterval(waker);
  const failed = lines.filter((l) => l.event === 'job.claim_failed');
  // 100, 200, 400, 800 ms: the 5th attempt is at 1.5 s, the 6th at 3.1 s
  assert.ok(failed.length >= 3 && failed.length <= 6, `${failed.length} claim error lines in 2 s`);
  assert.equal(calls.claimJobs, failed.length, 'one claim per backoff step');
  assert.deepEqual(failed.slice(0, 4).map((l) => l.retryInMs), [100, 200, 400, 800]);
  assert.ok(runner.lastClaimError, 'not ready while claims fail');
  broken = false;
  await waitUntil('the talk to be done once claims work again', async () => (await real.getPresentation(id)).status === 'done', 10_000);
  assert.equal(runner.lastClaimError, undefined);
  assert.equal(lines.filter((l) => l.event === 'job.claim_recovered').length, 1);
});
